"""The What's new through the real CLI: what `review` and the proposal say after a decision re-merges
it, and the checks on an editor's own text (`whats-new --set FILE | - | --edit`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from _review_cli import BIN, DEMO, SLUG, cli, pending, pending_path
from conftest import as_project


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v6 imported and the demo night's batch merged, both through the CLI."""
    root = as_project(tmp_path_factory.mktemp("wn") / "root")
    cli(root, "import", str(DEMO / "v6.txt"), "--slug", SLUG)
    cli(root, "edit", SLUG, "--from", str(DEMO / "edits.json"), "--date", "2026-05-24")
    return root


@pytest.fixture
def root(edited: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "root"
    subprocess.run(["cp", "-a", str(edited), str(copy)], check=True)
    return copy


def test_a_decision_that_unseats_the_draft_says_the_assembly_is_shown(root: Path) -> None:
    assert "(the proposer's draft, checked)" in cli(root, "review", SLUG).stdout
    cli(root, "decide", SLUG, "--reject", "6,8,12")
    shown = cli(root, "review", SLUG).stdout
    assert "(the proposer's draft, checked)" not in shown
    assert "What's new (assembled: the What's new draft cites" in shown
    stored = json.loads(pending_path(root).read_text(encoding="utf-8"))
    assert stored["whats_new_origin"] == "assembled"
    assert "which no applied edit cites" in stored["whats_new_note"]
    report = json.loads(cli(root, "review", SLUG, "--json").stdout)
    assert report["whats_new_origin"] == "assembled"
    # Taking the rejections back brings the draft back, with its own note.
    cli(root, "decide", SLUG, "--accept", "6,8,12")
    assert pending(root).whats_new_origin == "draft"
    assert pending(root).whats_new_note == "the proposer's draft passed every check"


def test_decide_says_in_one_line_when_it_drops_the_editors_text(root: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("GLM-5.1 tops SWE-Bench Pro [43].\n", encoding="utf-8")
    cli(root, "whats-new", SLUG, "--set", str(mine))
    kept = cli(root, "decide", SLUG, "--accept", "1").stdout
    assert "dropped" not in kept and pending(root).whats_new_override is not None
    out = cli(root, "decide", SLUG, "--reject", "6").stdout
    lines = [line for line in out.splitlines() if "What's new was dropped" in line]
    assert len(lines) == 1 and "the applied edits changed" in lines[0]
    assert pending(root).whats_new_override is None


def test_unreadable_text_for_whats_new_is_an_error_naming_it(root: Path, tmp_path: Path) -> None:
    before = pending_path(root).read_bytes()
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Caf\xe9 society moved [43].\n".encode("latin-1"))
    result = cli(root, "whats-new", SLUG, "--set", str(latin), code=2)
    assert result.stderr.startswith("error: ") and "latin1.txt is not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
    piped = subprocess.run(
        [str(BIN), "--root", str(root), "whats-new", SLUG, "--set", "-"],
        input=latin.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 2, piped.stderr
    assert b"error: standard input is not UTF-8" in piped.stderr and b"Traceback" not in piped.stderr
    missing = cli(root, "whats-new", SLUG, "--set", str(tmp_path / "absent.txt"), code=2)
    assert "error: cannot read " in missing.stderr and "absent.txt" in missing.stderr
    assert pending_path(root).read_bytes() == before


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("GLM-5.1 tops SWE-Bench Pro [new:1].\n", "[new:1]"),
        ("GLM-5.1 tops SWE-Bench Pro [12, 13].\n", "[12, 13]"),
        ("GLM-5.1 tops SWE-Bench Pro [ 43 ].\n", "[ 43 ]"),
        ("GLM-5.1 tops SWE-Bench Pro [NEW:1].\n", "[NEW:1]"),
        ("One [43].\n\nTwo [44].\n\nThree [45].\n", "3 paragraphs (at most 2)"),
        ("GLM-5.1 " + "moved " * 130 + "[43].\n", "words (at most 120)"),
        ("GLM-5.1 tops SWE-Bench Pro [43][44][45][46].\n", "4 sources at once"),
        ("GLM-5.1 tops SWE-Bench Pro [99].\n", "cites [99], which is not a source"),
    ],
)
def test_the_editors_whats_new_passes_a_drafts_citation_and_shape_rules(
    root: Path, tmp_path: Path, text: str, reason: str
) -> None:
    before = pending_path(root).read_bytes()
    result = cli(root, "whats-new", SLUG, "--set", "-", input=text, code=2)
    assert result.stderr.startswith("error: the new What's new ") and reason in result.stderr
    assert "nothing was changed" in result.stderr
    assert pending_path(root).read_bytes() == before


def test_the_editors_whats_new_with_plain_markers_and_brackets_that_are_no_markers_is_set(root: Path) -> None:
    text = "GLM-5.1 tops [sic] SWE-Bench Pro [43][44][45] and NVIDIA pays [46].\n\nNothing else moved.\n"
    assert "(2 paragraphs)" in cli(root, "whats-new", SLUG, "--set", "-", input=text).stdout
    assert pending(root).whats_new_override == [
        "GLM-5.1 tops [sic] SWE-Bench Pro [43][44][45] and NVIDIA pays [46].",
        "Nothing else moved.",
    ]


def test_the_editors_invented_figure_is_warned_not_refused(root: Path) -> None:
    text = "GLM-5.1 tops SWE-Bench Pro [43] on $7 trillion of compute, Zorblax says.\n"
    out = cli(root, "whats-new", SLUG, "--set", "-", input=text).stdout
    assert (
        "warning: What's new: figures found neither in the cited items nor in the brief: $7 trillion" in out
    )
    assert "warning: What's new: names found neither in the cited items nor in the brief: Zorblax" in out
    assert pending(root).whats_new_override == [text.strip()]
    shown = cli(root, "review", SLUG).stdout
    assert (
        "warning: What's new: figures found neither in the cited items nor in the brief: $7 trillion" in shown
    )
    # Figures the cited item carries pass: [43] is the GLM-5.1 story ("#3 on Code Arena").
    fine = cli(root, "whats-new", SLUG, "--set", "-", input="GLM-5.1 reached #3 on Code Arena [43].\n")
    assert "warning" not in fine.stdout


def test_a_drafts_invented_figure_is_shown_by_review_and_survives_a_decision(tmp_path: Path) -> None:
    root = as_project(tmp_path / "root")
    cli(root, "import", str(DEMO / "v6.txt"), "--slug", SLUG)
    data = json.loads((DEMO / "edits.json").read_text(encoding="utf-8"))
    data["whats_new"] = [data["whats_new"][0].replace("#3 on Code Arena", "#2 on Code Arena")]
    edits = tmp_path / "edits.json"
    edits.write_text(json.dumps(data), encoding="utf-8")
    cli(root, "edit", SLUG, "--from", str(edits), "--date", "2026-05-24")
    warning = "warning: What's new: figures found neither in the cited items nor in the brief: #2"
    assert warning in cli(root, "review", SLUG).stdout
    cli(root, "decide", SLUG, "--accept", "1")
    assert pending(root).whats_new_origin == "draft"
    assert warning in cli(root, "review", SLUG).stdout
