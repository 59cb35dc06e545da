"""`briefbot amend` (issue 18, item 3, the CLI side) through the real binary, on the demo night's
pending proposal: --text and the other field options, --edit through a real $EDITOR program, and the
merger's refusals (exit 2, the reason, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _review_cli import SLUG, cli, editor_script, pending, pending_path
from _review_cli import root as root  # the fixture
from _review_cli import template as template  # the fixture

NEW_TEXT = "GLM-5.1 tops SWE-Bench Pro and reaches #3 on Code Arena [new:1][new:3]"


def test_amend_text_rewrites_the_edit_and_says_what_changed(root: Path) -> None:
    out = cli(root, "amend", SLUG, "7", "--text", NEW_TEXT, "--by", "ada").stdout
    lines = out.splitlines()
    assert lines[0] == (
        f"amended edit 7 of {SLUG} (add_timeline_entry · Timeline, after entry 7, dated 2026-05), revision 2:"
    )
    assert "  text was: GLM-5.1 tops SWE-Bench Pro and reaches #3 on Code Arena, with coverage" in out
    assert f"  text now: {NEW_TEXT}" in lines
    assert "edit 7: applied, accepted by the editor" in lines
    assert lines[-1] == (f"v7: 16 applied, 0 rejected, 15 undecided; approve with: briefbot approve {SLUG}")

    proposal = pending(root)
    assert proposal.batch.edits[6].text == NEW_TEXT
    (amendment,) = proposal.amendments
    assert (amendment.number, amendment.by) == (7, "ada")
    assert amendment.original.text.endswith(
        "beating closed-source models on coding tasks [new:1][new:2][new:3]"
    )
    # What review shows, and what would be published, carry the amendment.
    report = json.loads(cli(root, "review", SLUG, "--json").stdout)
    assert report["edits"][6]["edit"]["text"] == NEW_TEXT
    assert report["edits"][6]["decision"] == "accepted"
    assert any(
        "GLM-5.1 tops SWE-Bench Pro and reaches #3 on Code Arena [" in line
        for line in report["diff"].splitlines()
    )


def test_amend_several_fields_at_once(root: Path) -> None:
    out = cli(
        root,
        "amend",
        SLUG,
        "13",
        "--stance",
        "Chinese open-weight labs can compete on coding; GLM-5.1 topped SWE-Bench Pro [new:1]",
        "--summary",
        "Z.ai claims a leaderboard lead [new:1]",
    ).stdout
    assert "(update_perspective · Perspective: Z.ai / GLM team, stance and evolution)" in out
    assert (
        "  stance now: Chinese open-weight labs can compete on coding; GLM-5.1 topped SWE-Bench Pro [new:1]"
        in out
    )
    assert "  summary now: Z.ai claims a leaderboard lead [new:1]" in out
    edit = pending(root).batch.edits[12]
    assert edit.summary == "Z.ai claims a leaderboard lead [new:1]"
    assert edit.evolution is not None and edit.evolution.startswith("Significantly strengthened")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        # A citation of an item the night did not bring.
        (["7", "--text", "GLM-5.1 tops SWE-Bench Pro [new:9]"], "new:9"),
        # A source number the brief does not have.
        (["14", "--text", "CAISI says the gap widens [99]; Brand disagrees [1]"], "[99]"),
        (["7", "--text", "GLM-5.1 tops SWE-Bench Pro"], "cites nothing"),
        (["7", "--date", "2026-07-01"], "later than the run date"),
        (["7", "--date", "May 2026"], "date"),
        (["14", "--date", "2026-05-01"], "(revise_tension) has no date; it has: text, summary"),
        (["99", "--text", "x [new:1]"], "there is no edit 99: the proposal has edits 1 to 16"),
    ],
)
def test_a_bad_amendment_is_refused_with_the_reason_and_nothing_is_written(
    root: Path, args: list[str], reason: str
) -> None:
    before = pending_path(root).read_bytes()
    result = cli(root, "amend", SLUG, *args, code=2)
    assert reason in result.stderr, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    assert pending_path(root).read_bytes() == before


def test_an_invented_figure_needs_allow_warnings(root: Path) -> None:
    before = pending_path(root).read_bytes()
    text = "GLM-5.1 tops SWE-Bench Pro with 91% of tasks solved [new:1][new:3]"
    refused = cli(root, "amend", SLUG, "7", "--text", text, code=2)
    assert "edit 7 as amended is refused" in refused.stderr and "91%" in refused.stderr
    assert "--allow-warnings" in refused.stderr
    assert pending_path(root).read_bytes() == before

    out = cli(root, "amend", SLUG, "7", "--text", text, "--allow-warnings").stdout
    assert "  warning: " in out and "91%" in out
    assert pending(root).batch.edits[6].text == text


def test_amend_needs_exactly_one_way_of_giving_the_text(root: Path) -> None:
    before = pending_path(root).read_bytes()
    assert "give --text" in cli(root, "amend", SLUG, "7", code=2).stderr
    both = cli(root, "amend", SLUG, "7", "--edit", "--text", NEW_TEXT, code=2)
    assert "--edit or field options" in both.stderr
    assert pending_path(root).read_bytes() == before


def test_amend_edit_opens_the_fields_in_the_editor(root: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    # The editor rewrites the text, wrapping it over two lines as an editor with a text width would.
    env = editor_script(
        tmp_path / "editor.py",
        f"Path({str(seen)!r}).write_text(text, encoding='utf-8')\n"
        "lines = [l for l in text.splitlines() if not l.startswith('text:')]\n"
        "lines.append('text: GLM-5.1 tops SWE-Bench Pro and reaches')\n"
        "lines.append('  #3 on Code Arena [new:1][new:3]')\n"
        "path.write_text('\\n'.join(lines) + '\\n', encoding='utf-8')\n",
    )
    out = cli(root, "amend", SLUG, "7", "--edit", "--by", "ada", env=env).stdout
    opened = seen.read_text(encoding="utf-8")
    assert f"# Amend edit 7 of {SLUG}'s proposal: add_timeline_entry" in opened
    assert "# Where it lands: Timeline, after entry 7, dated 2026-05" in opened
    assert [line.split(":")[0] for line in opened.splitlines() if not line.startswith("#") and line] == [
        "date",
        "text",
        "summary",
    ]
    assert "date: 2026-05\n" in opened
    assert f"  text now: {NEW_TEXT}" in out
    assert "date was:" not in out and "summary was:" not in out  # only what changed is listed
    proposal = pending(root)
    assert proposal.batch.edits[6].text == NEW_TEXT
    assert proposal.amendments[0].by == "ada"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "the editor was closed without saving"),  # quit without writing
        ("path.write_text(text, encoding='utf-8')\n", "no field was changed"),  # saved as it was
        ("path.write_text('', encoding='utf-8')\n", "no field was changed"),  # emptied
    ],
)
def test_amend_edit_left_unchanged_amends_nothing_and_exits_1(
    root: Path, tmp_path: Path, body: str, message: str
) -> None:
    before = pending_path(root).read_bytes()
    env = editor_script(tmp_path / "editor.py", body)
    result = cli(root, "amend", SLUG, "7", "--edit", env=env, code=1)
    assert message in result.stderr and "nothing was amended" in result.stderr
    assert pending_path(root).read_bytes() == before


def test_amend_edit_refused_keeps_the_editors_text(root: Path, tmp_path: Path) -> None:
    """A refusal after --edit names the reason, and the next --edit of that edit starts from the
    text the editor wrote, with the reason in its header, not from the proposal's text again."""
    before = pending_path(root).read_bytes()
    seen = tmp_path / "seen.txt"
    bad = "lines = [l for l in text.splitlines() if not l.startswith('text:')]\n" + (
        "path.write_text('\\n'.join(lines + ['text: GLM-5.1 tops SWE-Bench Pro [new:9]']) + '\\n', encoding='utf-8')\n"
    )
    refused = cli(root, "amend", SLUG, "7", "--edit", env=editor_script(tmp_path / "bad.py", bad), code=2)
    assert "new:9" in refused.stderr
    assert "--edit again starts from your text" in refused.stderr
    assert pending_path(root).read_bytes() == before

    fix = (
        f"Path({str(seen)!r}).write_text(text, encoding='utf-8')\n"
        "path.write_text(text.replace('[new:9]', '[new:1][new:3]'), encoding='utf-8')\n"
    )
    cli(root, "amend", SLUG, "7", "--edit", env=editor_script(tmp_path / "fix.py", fix))
    opened = seen.read_text(encoding="utf-8")
    assert "text: GLM-5.1 tops SWE-Bench Pro [new:9]" in opened
    assert "# Refused last time:" in opened and "new:9" in opened
    assert pending(root).batch.edits[6].text == "GLM-5.1 tops SWE-Bench Pro [new:1][new:3]"
    # Once amended, the kept text is gone: the next --edit starts from the proposal again.
    cli(root, "amend", SLUG, "7", "--edit", env=editor_script(tmp_path / "look.py", fix), code=1)
    assert "# Refused last time:" not in seen.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        (
            "Some words before any field\ntext: GLM-5.1 tops SWE-Bench Pro [new:1]\n",
            "line 1: text before the first field",
        ),
        ("text: GLM-5.1 tops [new:1]\ntext: GLM-5.1 leads [new:1]\n", "line 2: 'text:' is given twice"),
    ],
)
def test_amend_edit_that_cannot_be_read_names_the_line_and_keeps_the_text(
    root: Path, tmp_path: Path, written: str, reason: str
) -> None:
    before = pending_path(root).read_bytes()
    env = editor_script(tmp_path / "editor.py", f"path.write_text({written!r}, encoding='utf-8')\n")
    result = cli(root, "amend", SLUG, "7", "--edit", env=env, code=2)
    assert reason in result.stderr and "--edit again starts from your text" in result.stderr
    assert pending_path(root).read_bytes() == before
    (kept,) = (root / ".briefbot" / "amend").iterdir()
    assert kept.read_text(encoding="utf-8").endswith(written)
