"""The proposal: a batch of edits with the merger's verdicts, the candidate next version, and the
editor's decisions. Pure data; its storage is `briefbot.store.proposals`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from briefbot.errors import ReviewError
from briefbot.models import Brief, Edit, EditBatch, StrictModel, WhatsNew

Status = Literal["applied", "rejected"]
Decision = Literal["accepted", "rejected"]
# Why an edit the merger would have considered was left out: the editor said no.
EDITOR_REJECTED = "rejected by the editor"


class EditVerdict(StrictModel):
    """What the merger made of one edit, and what the editor decided about it."""

    number: int = Field(ge=1, description="1-based position of the edit in its batch")
    op: str
    status: Status
    reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    # The citation markers as the edit wrote them (`new:2`, `12`), in order of first appearance.
    cites: list[str] = Field(default_factory=list)
    # The source numbers those markers became in the candidate (applied edits only).
    sources: list[int] = Field(default_factory=list)
    decision: Decision | None = None
    # Why the editor decided so, when they said (`decide --reason`, the reject form's field); it
    # goes with the decision: a new decision drops it, a reset clears it.
    decision_reason: str | None = None


class Amendment(StrictModel):
    """The editor's rewrite of one edit: what stood before, what replaced it, who and when."""

    number: int = Field(ge=1)
    original: Edit
    amended: Edit
    by: str | None = None
    at: dt.datetime


class Proposal(StrictModel):
    """One proposed next version of a brief, from creation to approval or discard."""

    slug: str | None = None
    state: Literal["pending", "approved", "discarded"] = "pending"
    base_version: int = Field(ge=0)  # 0: a first draft, merged into the brief's v0 skeleton
    run_date: dt.date
    batch: EditBatch
    verdicts: list[EditVerdict]
    candidate: Brief
    # What's new as the merger made it: the proposer's draft if it passed, else assembled.
    whats_new: WhatsNew | None
    # Which ("draft" or "assembled") and why (the draft's fault, if it had one).
    whats_new_origin: Literal["draft", "assembled"] | None = None
    whats_new_note: str | None = None
    # The names and figures checks on the draft the merger kept (warnings, as for an edit).
    whats_new_warnings: list[str] = Field(default_factory=list)
    # The editor's replacement What's new, if any; it wins over the assembled one.
    whats_new_override: list[str] | None = None
    # Incremented on every change, so two editors cannot silently overwrite each other.
    revision: int = Field(default=0, ge=0)
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    published_version: int | None = None
    # Who last brought it back after a discard, and when (restoring clears `closed_*`).
    restored_by: str | None = None
    restored_at: dt.datetime | None = None
    # The editor's amendments, oldest first; the batch holds the amended edits.
    amendments: list[Amendment] = Field(default_factory=list)

    def applied(self) -> list[EditVerdict]:
        return [v for v in self.verdicts if v.status == "applied"]

    def verdict(self, number: int) -> EditVerdict:
        if not 1 <= number <= len(self.verdicts):
            raise ReviewError(f"there is no edit {number}: the proposal has edits 1 to {len(self.verdicts)}")
        return self.verdicts[number - 1]

    def final_brief(self) -> Brief:
        """The candidate as it would be published: the editor's What's new, if set, replaces the merger's."""
        if self.whats_new_override is None:
            return self.candidate
        return self.candidate.model_copy(
            update={
                "whats_new": WhatsNew(
                    version=self.candidate.version, paragraphs=list(self.whats_new_override)
                )
            }
        )


class StaleProposalError(ReviewError):
    """The pending proposal is not the revision the caller acted on: someone changed it meanwhile."""

    def __init__(self, message: str, *, current: Proposal | None) -> None:
        super().__init__(message)
        self.current = current


def proposal_json(proposal: Proposal) -> str:
    return proposal.model_dump_json(indent=2) + "\n"
