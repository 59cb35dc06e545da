"""The terminal's review matches the web's (issue 18, items 4 and 6), through the real binary on the
demo night's pending proposal: review cards name each edit's target, decide ends with a summary
line, history has a header row and the approver, whats-new reads stdin and $EDITOR, and restore
brings back a discarded proposal."""

from __future__ import annotations

import json
from pathlib import Path

from _review_cli import SLUG, cli, demo_project, editor_script, pending, pending_path
from _review_cli import root as root  # the fixture
from _review_cli import template as template  # the fixture
from briefbot.project import Project
from conftest import as_project


def test_review_cards_name_each_edits_target(root: Path) -> None:
    out = cli(root, "review", SLUG).stdout
    cards = {block.split(".", 1)[0]: block for block in out.split("\n\n") if block[:1].isdigit()}
    assert cards["1"].splitlines()[:2] == ["1. revise_section — applied", "   What"]
    assert cards["3"].splitlines()[1] == "   Open questions, question 1"
    assert cards["7"].splitlines()[1] == "   Timeline, after entry 7, dated 2026-05"
    assert cards["8"].splitlines()[1] == "   Timeline, entry 9"
    assert cards["10"].splitlines()[1] == "   Perspective: Florian Brand (Interconnects), evolution"
    assert cards["13"].splitlines()[1] == "   Perspective: Z.ai / GLM team, stance and evolution"
    assert cards["14"].splitlines()[1] == "   Tensions, entry 1"

    report = json.loads(cli(root, "review", SLUG, "--json").stdout)
    assert [e["target"] for e in report["edits"]][6:9] == [
        "Timeline, after entry 7, dated 2026-05",
        "Timeline, entry 9",
        "Perspective: CAISI (NIST), evolution",
    ]


def test_review_cards_show_who_amended_an_edit(root: Path) -> None:
    cli(root, "amend", SLUG, "14", "--summary", "GLM-5.1 joins the evidence [new:1]", "--by", "ada")
    out = cli(root, "review", SLUG).stdout
    card = next(b for b in out.split("\n\n") if b.startswith("14."))
    assert card.splitlines()[0] == "14. revise_tension — applied · accepted by the editor"
    assert card.splitlines()[2].startswith("   amended by ada, 20")
    assert json.loads(cli(root, "review", SLUG, "--json").stdout)["edits"][13]["amendments"][0]["by"] == "ada"


def test_decide_ends_with_a_summary_line(root: Path) -> None:
    out = cli(root, "decide", SLUG, "--accept", "1-14", "--reject", "15", "--by", "ed").stdout
    assert out.splitlines()[-1] == (
        f"accepted 14, rejected 1: 15 applied, 1 rejected, 1 undecided; approve with: briefbot approve {SLUG}"
    )
    out = cli(root, "decide", SLUG, "--reject", "1-16").stdout
    assert out.splitlines()[-1] == (
        f"accepted 0, rejected 16: 0 applied, 16 rejected, 0 undecided; "
        f"nothing to publish; discard with: briefbot discard {SLUG}"
    )


def test_history_has_a_header_and_the_approver(root: Path) -> None:
    cli(root, "approve", SLUG, "--by", "chief")
    rows = [line.split("\t") for line in cli(root, "history", SLUG).stdout.splitlines()]
    assert rows[0] == ["version", "date", "state", "items", "approved by", "what's new"]
    assert [row[:5] for row in rows[1:]] == [
        ["v6", "2026-05-23", "closed", "113 items", "-"],  # imported, not approved here
        ["v7", "2026-05-24", "closed", "118 items", "chief"],
    ]
    assert all(len(row) == 6 for row in rows)


def test_whats_new_from_stdin_and_from_the_editor(root: Path, tmp_path: Path) -> None:
    out = cli(root, "whats-new", SLUG, "--set", "-", input="From stdin [43].\n\nSecond paragraph.\n").stdout
    assert f"What's new of {SLUG} v7 set (2 paragraphs)" in out
    assert pending(root).whats_new_override == ["From stdin [43].", "Second paragraph."]

    env = editor_script(
        tmp_path / "editor.py",
        "assert 'From stdin [43].' in text\n"
        "path.write_text('Edited in the editor [43].\\n', encoding='utf-8')\n",
    )
    cli(root, "whats-new", SLUG, "--edit", env=env)
    assert pending(root).whats_new_override == ["Edited in the editor [43]."]

    # Saved without a change: nothing set, exit 1, as amend --edit.
    before = pending_path(root).read_bytes()
    unchanged = editor_script(tmp_path / "same.py", "path.write_text(text, encoding='utf-8')\n")
    result = cli(root, "whats-new", SLUG, "--edit", env=unchanged, code=1)
    assert "What's new unchanged" in result.stderr
    assert pending_path(root).read_bytes() == before


def test_restore_brings_back_the_discarded_proposal(root: Path) -> None:
    cli(root, "decide", SLUG, "--reject", "15")
    cli(root, "amend", SLUG, "14", "--summary", "GLM-5.1 joins the evidence [new:1]")
    before = pending(root)
    cli(root, "discard", SLUG, "--by", "ed")
    assert not pending_path(root).exists()

    out = cli(root, "restore", SLUG, "--by", "chief").stdout.splitlines()
    assert out == [
        f"restored the proposal for {SLUG} v7 (from v6, revision 5): 15 applied, 1 rejected, 14 undecided",
        f"review it with: briefbot review {SLUG}; approve with: briefbot approve {SLUG}",
    ]
    restored = pending(root)
    assert restored.verdicts == before.verdicts and restored.amendments == before.amendments
    assert restored.restored_by == "chief" and restored.restored_at is not None
    at = restored.restored_at.strftime("%Y-%m-%d %H:%M UTC")
    assert cli(root, "review", SLUG).stdout.splitlines()[1] == f"restored by chief, {at}, after a discard"
    report = json.loads(cli(root, "review", SLUG, "--json").stdout)
    assert (report["restored_by"], report["restored_at"]) == ("chief", restored.restored_at.isoformat())

    again = cli(root, "restore", SLUG, code=2)
    assert "already has a pending proposal" in again.stderr and "Traceback" not in again.stderr


def test_restore_with_nothing_discarded_says_so(tmp_path: Path) -> None:
    root = demo_project(tmp_path / "root")
    refused = cli(root, "restore", SLUG, code=2)
    assert "already has a pending proposal (v7, revision 1); discard it first" in refused.stderr

    cli(root, "approve", SLUG, "--by", "chief")
    approved = cli(root, "restore", SLUG, code=2)
    assert (
        f"error: the last proposal of '{SLUG}' was approved (published as v7); "
        "there is no discarded proposal after it to restore"
    ) in approved.stderr

    fresh = Project(as_project(tmp_path / "fresh"))
    fresh.publish(SLUG, Project(root).load(SLUG, 6))
    never = cli(fresh.root, "restore", SLUG, code=2)
    assert never.stderr == f"error: brief '{SLUG}' has no discarded proposal to restore\n"
    unknown = cli(fresh.root, "restore", "no-such-brief", code=2)
    assert "no-such-brief" in unknown.stderr and "Traceback" not in unknown.stderr


def test_decide_with_a_reason_keeps_it_on_each_card_it_decided(root: Path) -> None:
    said = "\x1b]0;owned\x07Too speculative:\none blog post, \x1b[31mno second source  "
    out = cli(root, "decide", SLUG, "--reject", "15", "--accept", "14", "--reason", said, "--by", "ed").stdout
    reason = "Too speculative: one blog post, no second source"  # cleaned, one line
    assert f"[rejected: {reason}]: rejected by the editor" in out
    assert out.splitlines()[-1].startswith("accepted 1, rejected 1: 15 applied, 1 rejected")
    proposal = pending(root)
    assert [v.decision_reason for v in proposal.verdicts[12:]] == [None, reason, reason, None]

    card = next(b for b in cli(root, "review", SLUG).stdout.split("\n\n") if b.startswith("15."))
    assert card.splitlines()[:3] == [
        "15. revise_tension — rejected · rejected by the editor",
        "   Tensions, entry 4",
        f"   the editor's reason: {reason}",
    ]
    report = json.loads(cli(root, "review", SLUG, "--json").stdout)
    assert [e["decision_reason"] for e in report["edits"]][12:] == [None, reason, reason, None]

    # Deciding again without a reason keeps it while the decision stands; a new decision drops it.
    cli(root, "decide", SLUG, "--reject", "15")
    cli(root, "decide", SLUG, "--reject", "14")
    assert [v.decision_reason for v in pending(root).verdicts[13:15]] == [None, reason]


def test_an_over_long_reason_is_refused_and_nothing_written(root: Path) -> None:
    before = pending_path(root).read_bytes()
    result = cli(root, "decide", SLUG, "--reject", "15", "--reason", "x" * 301, code=2)
    assert result.stderr == "error: the reason is 301 characters long; at most 300, please shorten it\n"
    assert pending_path(root).read_bytes() == before


def test_restore_without_by_records_the_os_user(root: Path) -> None:
    cli(root, "discard", SLUG, "--by", "ed")
    cli(root, "restore", SLUG, env={"LOGNAME": "night-editor", "USER": "night-editor"})
    assert pending(root).restored_by == "night-editor"
    assert cli(root, "review", SLUG).stdout.splitlines()[1].startswith("restored by night-editor, ")
