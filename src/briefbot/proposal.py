"""The proposal: a batch of edits with the merger's verdicts, the candidate next version, and the
editor's decisions; plus its storage, one pending proposal per brief.

`briefs/<slug>/proposals/pending.json` holds the proposal under review; approving or discarding it
moves it to `proposals/archive/<timestamp>-vN.json` with its decisions and who made them, so the
history of what was proposed and what was refused is never lost.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._fs import atomic_create, atomic_write
from .errors import NotFoundError, ReviewError, StoreError
from .models import Brief, EditBatch, WhatsNew
from .project import Project

Status = Literal["applied", "rejected"]
Decision = Literal["accepted", "rejected"]
# Why an edit the merger would have considered was left out: the editor said no.
EDITOR_REJECTED = "rejected by the editor"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EditVerdict(_Model):
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


class Proposal(_Model):
    """One proposed next version of a brief, from creation to approval or discard."""

    slug: str | None = None
    state: Literal["pending", "approved", "discarded"] = "pending"
    base_version: int = Field(ge=1)
    run_date: dt.date
    batch: EditBatch
    verdicts: list[EditVerdict]
    candidate: Brief
    # What's new as the merger assembled it from the applied edits' summaries.
    whats_new: WhatsNew | None
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
            update={"whats_new": WhatsNew(version=self.candidate.version, paragraphs=list(self.whats_new_override))}
        )


class StaleProposalError(ReviewError):
    """The pending proposal is not the revision the caller acted on: someone changed it meanwhile."""

    def __init__(self, message: str, *, current: Proposal | None) -> None:
        super().__init__(message)
        self.current = current


def proposal_json(proposal: Proposal) -> str:
    return proposal.model_dump_json(indent=2) + "\n"


class ProposalStore:
    """The pending proposal of one brief and the archive of closed ones."""

    def __init__(self, project: Project, slug: str) -> None:
        self.project = project
        self.slug = slug
        self.directory = project.proposals_dir(slug)

    @property
    def pending_path(self) -> Path:
        return self.directory / "pending.json"

    @property
    def archive_dir(self) -> Path:
        return self.directory / "archive"

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Hold the brief's proposal lock while reading, deciding and writing, so the nightly run,
        the CLI and the web app (processes or threads) never interleave a read and a write.

        An `flock` on `proposals/.lock`, blocking: every holder only reads and writes one small
        file. Not re-entrant: take it once, around the whole read-check-write."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot lock {self.directory / '.lock'}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def expect(self, revision: int | None) -> Proposal | None:
        """The pending proposal, checked to be at `revision` (0: that there is none; None: no check).

        Call it under `guard()`."""
        current = self.load()
        if revision is None:
            return current
        seen = current.revision if current is not None else 0
        if seen != revision:
            now = f"revision {current.revision}" if current is not None else "no pending proposal"
            raise StaleProposalError(
                f"the pending proposal of {self.slug!r} changed meanwhile (now {now}, expected "
                f"{'none' if revision == 0 else f'revision {revision}'}); review it again",
                current=current,
            )
        return current

    def load(self) -> Proposal | None:
        try:
            raw = self.pending_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return Proposal.model_validate_json(raw)
        except ValidationError as exc:
            raise StoreError(f"{self.pending_path}: not a valid proposal: {exc}") from exc

    def require(self) -> Proposal:
        proposal = self.load()
        if proposal is None:
            raise NotFoundError(
                f"brief {self.slug!r} has no pending proposal ({self.pending_path}); make one with `briefbot edit`"
            )
        return proposal

    def _check_revision(self, proposal: Proposal, *, replace: bool) -> None:
        current = self.load()
        if current is None or replace:
            return
        # The caller started from revision N-1; anything else means someone changed it meanwhile.
        if current.revision != proposal.revision - 1:
            raise ReviewError(
                f"the pending proposal of {self.slug!r} changed meanwhile (revision {current.revision}, "
                f"expected {proposal.revision - 1}); review it again"
            )

    def save(self, proposal: Proposal, *, replace: bool = False) -> Path:
        self._check_revision(proposal, replace=replace)
        try:
            atomic_write(self.pending_path, proposal_json(proposal))
        except OSError as exc:
            raise StoreError(f"cannot write {self.pending_path}: {exc.strerror or exc}") from exc
        return self.pending_path

    def archive(self, proposal: Proposal, *, stamp: dt.datetime) -> Path:
        """Store the closed proposal in the archive, then drop the pending file."""
        self._check_revision(proposal, replace=False)
        name = f"{stamp.strftime('%Y%m%dT%H%M%S%fZ')}-v{proposal.candidate.version}.json"
        path = self.archive_dir / name
        try:
            atomic_create(path, proposal_json(proposal))
            self.pending_path.unlink(missing_ok=True)
        except FileExistsError:
            raise StoreError(f"archive entry {path} already exists") from None
        except OSError as exc:
            raise StoreError(f"cannot archive the proposal to {path}: {exc.strerror or exc}") from exc
        return path

    def last_closed(self) -> Proposal | None:
        """The most recently approved or discarded proposal, if any."""
        archived = self.archived()
        if not archived:
            return None
        try:
            return Proposal.model_validate_json(archived[-1].read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{archived[-1]}: not a readable proposal: {exc}") from exc

    def archived(self) -> list[Path]:
        if not self.archive_dir.is_dir():
            return []
        return sorted(self.archive_dir.glob("*.json"))
