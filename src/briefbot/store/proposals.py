"""Storage of proposals: one pending proposal per brief, and the archive of closed ones.

`briefs/<slug>/proposals/pending.json` holds the proposal under review; approving or discarding it
moves it to `proposals/archive/<timestamp>-vN.json` with its decisions and who made them, so the
history of what was proposed and what was refused is never lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from briefbot._fs import atomic_create, atomic_write
from briefbot.errors import NotFoundError, ReviewError, StoreError
from briefbot.merge.proposal import Proposal, StaleProposalError, proposal_json
from briefbot.project import Project, read_json_model
from briefbot.store.lock import flocked

__all__ = ["ProposalStore", "StaleProposalError", "proposal_json"]


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
        path = self.directory / ".lock"
        with ExitStack() as stack:
            try:
                stack.enter_context(flocked(path))
            except OSError as exc:
                raise StoreError(f"cannot lock {path}: {exc.strerror or exc}") from exc
            yield

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
        return read_json_model(self.pending_path, Proposal, "proposal")

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
        return read_json_model(archived[-1], Proposal, "proposal")

    def archived(self) -> list[Path]:
        if not self.archive_dir.is_dir():
            return []
        return sorted(self.archive_dir.glob("*.json"))
