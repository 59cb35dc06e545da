"""Amending an edit (issue 18.3) and restoring a discarded proposal, through `review`'s functions,
the core the web form and the CLI both call."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from _merge_briefs import RUN_DATE, batch, edit, funding_entry, small_brief
from briefbot import review
from briefbot.errors import ReviewError
from briefbot.merge.proposal import Proposal, StaleProposalError
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from conftest import as_project

SLUG = "gap"
NOW = dt.datetime(2026, 5, 31, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)


def _edits() -> list[dict]:
    return [
        funding_entry(),
        edit("add_tension", text="Mistral AI doubts NVIDIA's terms [new:2]", summary="A fault line [new:2]."),
        edit(
            "update_perspective",
            actor="NVIDIA / Nemotron Coalition",
            stance="Funds labs [new:1]",
            evolution=None,
        ),
        edit("add_open_question", text="Will NVIDIA's terms last [new:9]?", summary="Durability [new:2]."),
    ]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = Project(as_project(tmp_path))
    project.publish(SLUG, small_brief())
    review.make_proposal(project, SLUG, batch(_edits()), run_date=RUN_DATE, now=NOW)
    return project


def _pending(project: Project):
    proposal = ProposalStore(project, SLUG).load()
    assert proposal is not None
    return proposal


def test_amend_rewrites_the_text_records_both_and_re_merges(project: Project) -> None:
    before = _pending(project)
    updated = review.amend(
        project, SLUG, 2, text="Mistral AI questions NVIDIA's terms [new:2]", now=LATER, by="ada"
    )
    assert updated.revision == before.revision + 1
    assert updated.batch.edits[1].text == "Mistral AI questions NVIDIA's terms [new:2]"
    assert updated.verdicts[1].status == "applied" and updated.verdicts[1].decision == "accepted"
    (amendment,) = updated.amendments
    assert amendment.number == 2 and amendment.by == "ada" and amendment.at == LATER
    assert amendment.original.text == "Mistral AI doubts NVIDIA's terms [new:2]"
    assert amendment.amended.text == "Mistral AI questions NVIDIA's terms [new:2]"
    # The candidate carries the amendment, with [new:2] mapped to its source number.
    assert any("Mistral AI questions NVIDIA's terms [" in t for t in updated.candidate.tensions)
    assert not any("doubts" in t for t in updated.candidate.tensions)
    assert _pending(project) == updated  # stored


def test_amend_date_and_actor_where_the_op_has_them(project: Project) -> None:
    updated = review.amend(project, SLUG, 1, date="2026-05", now=LATER, by="ada")
    assert updated.batch.edits[0].date == "2026-05"
    assert any(e.date == "2026-05" and "coalition funding" in e.text for e in updated.candidate.timeline)
    with pytest.raises(ReviewError, match=r"\(add_tension\) has no date; it has: text, summary"):
        review.amend(project, SLUG, 2, date="2026-05-27", now=LATER, by="ada")
    with pytest.raises(ReviewError, match="nothing to amend"):
        review.amend(project, SLUG, 2, now=LATER, by="ada")


def test_a_bad_amendment_is_refused_with_the_mergers_reason_and_nothing_changes(project: Project) -> None:
    path = ProposalStore(project, SLUG).pending_path
    before = path.read_bytes()
    for number, fields, reason in [
        (2, {"text": "Mistral AI doubts the terms [new:7]"}, "not an item of this batch"),
        (2, {"text": "Mistral AI doubts the terms", "summary": "A fault line."}, "cites nothing"),
        (1, {"date": "2026-06-30"}, "later than the run date"),
        (1, {"date": "May 2026"}, "malformed date"),
        (
            1,
            {"date": "2026-05-16", "text": "Florian Brand covers the open model release wave [1]"},
            "duplicates",
        ),
        (3, {"actor": "Nvidia"}, "unknown actor"),
        (2, {"text": "Mistral AI says 73% of terms fail [new:2]"}, "figures found neither"),
    ]:
        with pytest.raises(ReviewError, match=reason):
            review.amend(project, SLUG, number, now=LATER, by="ada", **fields)
    assert path.read_bytes() == before
    with pytest.raises(ReviewError, match="there is no edit 9"):
        review.amend(project, SLUG, 9, text="x [new:1]", now=LATER, by="ada")


def test_a_warning_the_editor_accepts_goes_through(project: Project) -> None:
    updated = review.amend(
        project,
        SLUG,
        2,
        text="Mistral AI says 73% of terms fail [new:2]",
        now=LATER,
        by="ada",
        allow_warnings=True,
    )
    assert updated.verdicts[1].status == "applied"
    assert any("73%" in w for w in updated.verdicts[1].warnings)


def test_amending_an_edit_the_merger_rejected_can_fix_it(project: Project) -> None:
    assert _pending(project).verdicts[3].status == "rejected"
    updated = review.amend(project, SLUG, 4, text="Will NVIDIA's terms last [new:2]?", now=LATER, by="ada")
    assert updated.verdicts[3].status == "applied"
    assert any("terms last" in q for q in updated.candidate.open_questions)


def test_amend_keeps_other_decisions_and_the_chain_of_amendments(project: Project) -> None:
    review.decide(project, SLUG, reject=[1], now=NOW, by="ada")
    review.amend(project, SLUG, 2, text="Mistral AI questions NVIDIA's terms [new:2]", now=LATER, by="ada")
    updated = review.amend(
        project, SLUG, 2, text="Mistral AI disputes NVIDIA's terms [new:2]", now=LATER, by="bob"
    )
    assert updated.verdicts[0].decision == "rejected" and updated.verdicts[0].status == "rejected"
    first, second = updated.amendments
    assert second.original.text == first.amended.text and second.by == "bob"


def test_amend_with_a_stale_revision_changes_nothing(project: Project) -> None:
    with pytest.raises(StaleProposalError):
        review.amend(project, SLUG, 2, text="x [new:2]", now=LATER, by="ada", expected_revision=99)
    assert _pending(project).amendments == []


def test_an_amended_proposal_publishes_the_amendment(project: Project) -> None:
    review.amend(project, SLUG, 2, text="Mistral AI questions NVIDIA's terms [new:2]", now=LATER, by="ada")
    brief, _, archived = review.approve(project, SLUG, by="ada", now=LATER)
    assert any("questions NVIDIA's terms" in t for t in brief.tensions)
    assert '"amendments"' in archived.read_text()


def test_restore_brings_back_the_last_discarded_proposal(project: Project) -> None:
    review.decide(project, SLUG, reject=[1], now=NOW, by="ada")
    kept = _pending(project)
    review.discard(project, SLUG, by="ada", now=LATER)
    assert ProposalStore(project, SLUG).load() is None
    restored = review.restore(project, SLUG, by="bob", now=LATER + dt.timedelta(minutes=1))
    assert restored.state == "pending" and restored.closed_at is None and restored.closed_by is None
    assert (restored.restored_by, restored.restored_at) == ("bob", LATER + dt.timedelta(minutes=1))
    assert restored.verdicts == kept.verdicts and restored.revision > kept.revision
    assert _pending(project) == restored
    with pytest.raises(ReviewError, match="already has a pending proposal"):
        review.restore(project, SLUG, by="bob", now=LATER)


def test_restore_refuses_when_nothing_was_discarded_or_the_brief_moved_on(project: Project) -> None:
    with pytest.raises(ReviewError, match="already has a pending proposal"):
        review.restore(project, SLUG, by="bob", now=LATER)
    review.approve(project, SLUG, by="ada", now=LATER)
    with pytest.raises(ReviewError, match="was approved"):
        review.restore(project, SLUG, by="bob", now=LATER)
    review.make_proposal(project, SLUG, batch(_edits()[1:2]), run_date=RUN_DATE, now=LATER)
    review.discard(project, SLUG, by="ada", now=LATER + dt.timedelta(seconds=1))
    brief = project.load(SLUG).model_copy(update={"version": 9})
    project.publish(SLUG, brief)
    with pytest.raises(ReviewError, match="moved on to v9"):
        review.restore(project, SLUG, by="bob", now=LATER + dt.timedelta(seconds=2))


def test_restore_with_no_proposal_ever(tmp_path: Path) -> None:
    project = Project(as_project(tmp_path))
    project.publish(SLUG, small_brief())
    with pytest.raises(ReviewError, match="no discarded proposal"):
        review.restore(project, SLUG, by="bob", now=NOW)


def test_reset_takes_a_decision_back(project: Project) -> None:
    review.decide(project, SLUG, reject=[1], accept=[2], now=NOW, by="ada")
    updated = review.decide(project, SLUG, reset=[1, 2], now=LATER, by="ada")
    assert [v.decision for v in updated.verdicts[:2]] == [None, None]
    assert updated.verdicts[0].status == "applied"  # the merger's verdict again
    with pytest.raises(ReviewError, match="both decided and reset"):
        review.decide(project, SLUG, accept=[1], reset=[1], now=LATER, by="ada")


def test_proposals_written_before_reasons_and_restores_still_load(project: Project) -> None:
    """Proposal files older than `decision_reason` and `restored_by`/`restored_at` load as they were."""
    proposal = review.decide(project, SLUG, reject=[1], now=NOW, by="ada")
    data = json.loads(ProposalStore(project, SLUG).pending_path.read_text(encoding="utf-8"))
    for verdict in data["verdicts"]:
        del verdict["decision_reason"]
    del data["restored_by"], data["restored_at"]
    old = Proposal.model_validate(data)
    assert old == proposal and old.verdicts[0].decision_reason is None and old.restored_by is None
