"""The editor's workflow through the real CLI: edit -> review -> decide -> whats-new -> approve."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from _merge_briefs import RUN_DATE, batch, edit, funding_entry, item, small_brief, terms_tension
from briefbot import review
from briefbot.cli import main
from briefbot.errors import ReviewError
from briefbot.merge import merge
from briefbot.merge.proposal import Proposal
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from conftest import as_project

SLUG = "gap"
NOW = dt.datetime(2026, 5, 31, 12, 0, tzinfo=dt.UTC)


def _edits() -> list[dict]:
    return [
        funding_entry(),
        terms_tension(),
        edit("update_perspective", actor="Nvidia", stance="Funds labs [new:1]", evolution=None),
        edit(
            "add_open_question",
            text="Will NVIDIA's terms last [new:2][4]?",
            summary="Question on durability [new:2].",
        ),
    ]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Project(as_project(tmp_path)).publish(SLUG, small_brief())
    (tmp_path / "batch.json").write_text(batch(_edits()).model_dump_json(indent=2), encoding="utf-8")
    return tmp_path


def run(root: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(main, ["--root", str(root), *args])
    assert result.exit_code == code, result.output + result.stderr
    return result


def _pending(root: Path) -> Proposal:
    proposal = ProposalStore(Project(root), SLUG).load()
    assert proposal is not None
    return proposal


def test_edit_review_decide_whats_new_approve(root: Path):
    out = run(root, "edit", SLUG, "--from", str(root / "batch.json"), "--date", "2026-05-31").output
    assert "proposal for gap v8 (from v7, revision 1): 3 applied, 1 rejected" in out
    assert (
        "3 rejected update_perspective: unknown actor 'Nvidia'; nearest is 'NVIDIA / Nemotron Coalition'"
        in out
    )

    shown = run(root, "review", SLUG).output
    assert "1. add_timeline_entry — applied" in shown
    assert "reason: unknown actor 'Nvidia'" in shown
    assert "[new:1] Story 1 · Example News · 2026-05-28 · https://news.example/1" in shown
    assert "[4] The inevitable need for an open model consortium · Interconnects · 2026-04-11" in shown
    assert "+ entry 4: 2026-05-28: NVIDIA details coalition funding [5]" in shown
    assert "## Status" not in shown  # untouched sections are not in the diff

    report = json.loads(run(root, "review", SLUG, "--json").output)
    assert [e["verdict"] for e in report["edits"]] == ["applied", "applied", "rejected", "applied"]
    assert report["edits"][0]["cited"][0]["url"] == "https://news.example/1"
    assert report["whats_new"] == [
        "NVIDIA detailed coalition funding [5]. A new fault line [6]. Question on durability [4][6]."
    ]
    assert (
        "~ header: [-closed-] {+open+} · [-v7-] {+v8+} · [-2026-05-24-] {+2026-05-31+} · [-118-] {+120+} items"
        in report["diff"]
    )

    out = run(root, "decide", SLUG, "--accept", "1,4", "--reject", "2", "--by", "ed").output
    assert "2 rejected add_tension [rejected]: rejected by the editor" in out
    decided = _pending(root)
    assert decided.revision == 2 and decided.decided_by == "ed"
    assert decided.candidate.tensions == small_brief().tensions
    assert decided.whats_new.paragraphs[0].endswith("No new fault lines emerged this pass.")

    (root / "wn.txt").write_text(
        "NVIDIA put numbers on the coalition [5].\n\nNothing else moved.\n", encoding="utf-8"
    )
    run(root, "whats-new", SLUG, "--set", str(root / "wn.txt"))
    out = run(root, "approve", SLUG, "--by", "chief", "--date", "2026-06-01").output
    assert "published gap v8 (2026-06-01, 120 items)" in out

    published = Project(root).load(SLUG)
    assert (published.version, published.state, published.date) == (8, "closed", dt.date(2026, 6, 1))
    assert published.whats_new.paragraphs == [
        "NVIDIA put numbers on the coalition [5].",
        "Nothing else moved.",
    ]
    assert published.timeline[3].text == "NVIDIA details coalition funding [5]"
    assert published.open_questions[-1] == "Will NVIDIA's terms last [6][4]?"
    assert not ProposalStore(Project(root), SLUG).pending_path.exists()
    archived = ProposalStore(Project(root), SLUG).archived()
    assert len(archived) == 1 and archived[0].name.endswith("-v8.json")
    record = Proposal.model_validate_json(archived[0].read_text(encoding="utf-8"))
    assert (record.state, record.closed_by, record.published_version) == ("approved", "chief", 8)
    assert [v.decision for v in record.verdicts] == ["accepted", "rejected", None, "accepted"]
    run(root, "review", SLUG, code=2)


def test_remerge_after_decisions_equals_merging_the_accepted_subset(root: Path):
    project = Project(root)
    review.make_proposal(project, SLUG, batch(_edits()), run_date=RUN_DATE, now=NOW)
    decided = review.decide(project, SLUG, accept=[4], reject=[1], now=NOW, by="ed")
    subset = merge(small_brief(), batch([_edits()[i] for i in (1, 2, 3)]), run_date=RUN_DATE)
    assert decided.candidate == subset.candidate
    assert decided.whats_new == subset.whats_new
    # Reversing a rejection brings the edit back, in batch order.
    again = review.decide(project, SLUG, accept=[1], now=NOW, by="ed")
    assert again.candidate == merge(small_brief(), batch(_edits()), run_date=RUN_DATE).candidate
    assert again.revision == 3


def test_malformed_batch_names_the_json_path_and_writes_nothing(root: Path):
    bad = {"items": [item(1, ref="one")], "edits": [edit("add_tension", text=3), {"op": "frob"}]}
    (root / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    result = run(root, "edit", SLUG, "--from", str(root / "bad.json"), code=2)
    assert "bad.json: not a valid edit batch" in result.stderr
    assert "$.items[0].ref: String should match pattern" in result.stderr
    assert "$.edits[0].text: Input should be a valid string" in result.stderr
    assert "$.edits[1].op: unknown op 'frob'" in result.stderr
    (root / "broken.json").write_text('{"items": [', encoding="utf-8")
    assert "not JSON" in run(root, "edit", SLUG, "--from", str(root / "broken.json"), code=2).stderr
    assert not Project(root).proposals_dir(SLUG).exists()


def test_one_pending_proposal_unless_replace(root: Path):
    run(root, "edit", SLUG, "--from", str(root / "batch.json"), "--date", "2026-05-31")
    result = run(root, "edit", SLUG, "--from", str(root / "batch.json"), code=2)
    assert "already has a pending proposal" in result.stderr and "--replace" in result.stderr
    run(root, "edit", SLUG, "--from", str(root / "batch.json"), "--date", "2026-05-31", "--replace")
    assert _pending(root).revision == 2


def test_approving_nothing_applied_is_refused_and_discard_archives(root: Path):
    (root / "nothing.json").write_text(
        batch([edit("add_tension", text="uncited")]).model_dump_json(), encoding="utf-8"
    )
    run(root, "edit", SLUG, "--from", str(root / "nothing.json"), "--date", "2026-05-31")
    assert "applies no edit" in run(root, "approve", SLUG, code=2).stderr
    assert Project(root).versions(SLUG) == [7]
    out = run(root, "discard", SLUG, "--by", "ed").output
    assert "proposal discarded" in out
    record = Proposal.model_validate_json(
        ProposalStore(Project(root), SLUG).archived()[0].read_text(encoding="utf-8")
    )
    assert (record.state, record.closed_by) == ("discarded", "ed")


def test_review_errors(root: Path):
    project = Project(root)
    review.make_proposal(project, SLUG, batch(_edits()), run_date=RUN_DATE, now=NOW)
    with pytest.raises(ReviewError, match="there is no edit 9"):
        review.decide(project, SLUG, accept=[9], now=NOW)
    with pytest.raises(
        ReviewError, match=r"edit 3 cannot be accepted: the merger rejects it \(unknown actor 'Nvidia'"
    ):
        review.decide(project, SLUG, accept=[3], now=NOW)
    with pytest.raises(ReviewError, match="both accepted and rejected"):
        review.decide(project, SLUG, accept=[1], reject=[1], now=NOW)
    with pytest.raises(ReviewError, match=r"cites \[9\], which is not a source of the candidate"):
        review.set_whats_new(project, SLUG, "Something [9].", now=NOW)
    # A second editor working from a stale copy is refused rather than silently overwriting.
    stale = ProposalStore(project, SLUG).require()
    review.decide(project, SLUG, reject=[2], now=NOW)
    with pytest.raises(ReviewError, match="changed meanwhile"):
        ProposalStore(project, SLUG).save(stale.model_copy(update={"revision": stale.revision + 1}))
    # A version published meanwhile makes the proposal stale.
    project.publish(SLUG, small_brief().model_copy(update={"version": 8}))
    with pytest.raises(ReviewError, match="moved on to v8"):
        review.approve(project, SLUG, by="ed", now=NOW)
    assert "give --accept" in run(root, "decide", SLUG, code=2).output


def test_decide_takes_ranges_and_refuses_a_backwards_one(root: Path):
    run(root, "edit", SLUG, "--from", str(root / "batch.json"), "--date", "2026-05-31")
    out = run(root, "decide", SLUG, "--reject", "1-2").output
    assert "1 rejected add_timeline_entry [rejected]: rejected by the editor" in out
    assert "2 rejected add_tension [rejected]: rejected by the editor" in out
    assert "4 applied" in out
    bad = run(root, "decide", SLUG, "--accept", "4-1", code=2)
    assert "not a comma-separated list of edit numbers or ranges" in bad.output


def test_whats_new_from_stdin_and_from_the_editor(root: Path, tmp_path: Path) -> None:
    run(root, "edit", SLUG, "--from", str(root / "batch.json"), "--date", RUN_DATE.isoformat())
    out = run(root, "review", SLUG).output
    # The batch has no draft, so the merger assembled it and says why.
    assert "What's new (assembled: the proposer wrote no What's new draft):" in out

    result = CliRunner().invoke(
        main, ["--root", str(root), "whats-new", SLUG, "--set", "-"], input="From stdin [5].\n\nSecond.\n"
    )
    assert result.exit_code == 0, result.output
    assert _pending(root).whats_new_override == ["From stdin [5].", "Second."]

    # $EDITOR is a real program: a script that rewrites the file it is given, as an editor would.
    editor = tmp_path / "fake-editor.sh"
    editor.write_text(
        '#!/bin/sh\ngrep -q "From stdin" "$1" && printf "Edited in the editor [5].\\n" > "$1"\n'
    )
    editor.chmod(0o755)
    result = CliRunner(env={"EDITOR": str(editor), "VISUAL": str(editor)}).invoke(
        main, ["--root", str(root), "whats-new", SLUG, "--edit"]
    )
    assert result.exit_code == 0, result.output
    assert _pending(root).whats_new_override == ["Edited in the editor [5]."]
    assert "(the editor's)" in run(root, "review", SLUG).output

    # Neither or both sources is a usage error that changes nothing.
    run(root, "whats-new", SLUG, code=2)
    assert _pending(root).whats_new_override == ["Edited in the editor [5]."]
