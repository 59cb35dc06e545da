"""The editor's review: explicit transitions of the one pending proposal of a brief.

    (none) --make_proposal--> pending --decide / set_whats_new--> pending --approve--> published + archived
                                      \\--discard--> archived

Every transition loads the pending proposal, checks it is allowed, and saves it with its revision
advanced, so two editors working at once get an error instead of a lost update.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from briefbot.errors import MergeError, NotFoundError, ReviewError
from briefbot.merge import merge
from briefbot.merge.proposal import Proposal
from briefbot.models import CITATION_RE, EDIT_TYPES, Brief, EditBatch
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore

PUBLISHED_STATE = "closed"
_OPS = {get_args(cls.model_fields["op"].annotation)[0]: cls.__name__ for cls in EDIT_TYPES}


# -- reading a batch ---------------------------------------------------------------------------


def _json_path(loc: Iterable[Any]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _batch_errors(data: Any, exc: ValidationError) -> list[str]:
    """Pydantic's errors, keeping for each edit only those of the union member its `op` names."""
    member_names = set(_OPS.values())
    edits = data.get("edits") if isinstance(data, dict) else None
    messages: list[str] = []
    for error in exc.errors():
        loc = list(error["loc"])
        if (
            len(loc) >= 3
            and loc[0] == "edits"
            and isinstance(loc[1], int)
            and loc[2] in member_names
            and isinstance(edits, list)
        ):
            raw = edits[loc[1]]
            op = raw.get("op") if isinstance(raw, dict) else None
            if op not in _OPS:
                message = (
                    f"{_json_path(loc[:2])}.op: unknown op {op!r} (expected one of {', '.join(sorted(_OPS))})"
                )
                if message not in messages:
                    messages.append(message)
                continue
            if loc[2] != _OPS[op]:
                continue
            del loc[2]
        messages.append(f"{_json_path(loc)}: {error['msg']}")
    return messages


def read_batch(raw: str | bytes, *, path: str) -> EditBatch:
    """Parse an edit batch; a malformed one is a MergeError naming the file and the JSON path."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MergeError(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    try:
        return EditBatch.model_validate(data)
    except ValidationError as exc:
        problems = _batch_errors(data, exc)
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise MergeError(f"{path}: not a valid edit batch: {'; '.join(problems[:5])}{more}") from None


# -- transitions -------------------------------------------------------------------------------


def _require_latest(project: Project, slug: str, proposal: Proposal) -> None:
    versions = project.versions(slug)
    latest = versions[-1] if versions else 0  # 0: none published, a first draft's base
    if latest != proposal.base_version:
        raise ReviewError(
            f"brief {slug!r} moved on to v{latest} since this proposal was made from v{proposal.base_version}; "
            "discard it and make a new one"
        )


def _touch(proposal: Proposal, *, now: dt.datetime, **update: Any) -> Proposal:
    return proposal.model_copy(update={**update, "revision": proposal.revision + 1, "updated_at": now})


def make_proposal(
    project: Project,
    slug: str,
    batch: EditBatch,
    *,
    run_date: dt.date,
    now: dt.datetime,
    replace: bool = False,
    expected_revision: int | None = None,
) -> Proposal:
    """Merge `batch` into the latest version of `slug` (its v0 skeleton when none is published: a
    first draft) and store the result as the pending proposal.

    `expected_revision` is the revision of the pending proposal the caller based its batch on (0:
    none): if an editor changed or closed it meanwhile, nothing is written (`StaleProposalError`)."""
    store = ProposalStore(project, slug)
    with store.guard():
        pending = store.expect(expected_revision)
        if pending is not None and not replace:
            raise ReviewError(
                f"brief {slug!r} already has a pending proposal (v{pending.candidate.version}, made {pending.created_at}); "
                "approve or discard it, or pass --replace"
            )
        base = project.current(slug)
        proposal = merge(base, batch, run_date=run_date).model_copy(
            # The revision continues from the replaced proposal so a stale editor cannot overwrite this one.
            update={
                "slug": slug,
                "created_at": now,
                "updated_at": now,
                "revision": (pending.revision if pending else 0) + 1,
            }
        )
        store.save(proposal, replace=True)
    return proposal


def _current(store: ProposalStore, expected_revision: int | None) -> Proposal:
    """The pending proposal (under the store's guard), at `expected_revision` when one is given."""
    proposal = store.expect(expected_revision)
    return proposal if proposal is not None else store.require()  # none: require() says so


def decide(
    project: Project,
    slug: str,
    *,
    accept: Iterable[int] = (),
    reject: Iterable[int] = (),
    now: dt.datetime,
    by: str | None = None,
    expected_revision: int | None = None,
) -> Proposal:
    """Record the editor's decisions and re-merge the candidate from the edits not rejected."""
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        accept, reject = set(accept), set(reject)
        if accept & reject:
            raise ReviewError(f"edits {sorted(accept & reject)} are both accepted and rejected")
        for number in accept | reject:
            proposal.verdict(number)
        decisions = {v.number: v.decision for v in proposal.verdicts}
        decisions.update({n: "accepted" for n in accept})
        decisions.update({n: "rejected" for n in reject})
        kept = {n for n, d in decisions.items() if d != "rejected"}

        base = project.load(slug, proposal.base_version)
        merged = merge(base, proposal.batch, run_date=proposal.run_date, accepted=kept)
        for number in sorted(accept):
            verdict = merged.verdicts[number - 1]
            if verdict.status == "rejected":
                # Accepting means "publish this"; saying yes to an edit that cannot apply would mislead.
                raise ReviewError(
                    f"edit {number} cannot be accepted: the merger rejects it ({verdict.reason})"
                )
        verdicts = [v.model_copy(update={"decision": decisions[v.number]}) for v in merged.verdicts]
        before = [v.number for v in proposal.applied()]
        after = [v.number for v in verdicts if v.status == "applied"]
        updated = _touch(
            proposal,
            now=now,
            verdicts=verdicts,
            candidate=merged.candidate,
            whats_new=merged.whats_new,
            # The editor's What's new described other edits; keeping it would misreport the version.
            whats_new_override=proposal.whats_new_override if before == after else None,
            decided_at=now,
            decided_by=by,
        )
        store.save(updated)
    return updated


def set_whats_new(
    project: Project, slug: str, text: str, *, now: dt.datetime, expected_revision: int | None = None
) -> Proposal:
    """Replace the assembled What's new with the editor's text (paragraphs split on blank lines)."""
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        paragraphs = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        if not paragraphs:
            raise ReviewError("the new What's new is empty")
        for number in sorted({int(n) for p in paragraphs for n in CITATION_RE.findall(p)}):
            if proposal.candidate.source(number) is None:
                raise ReviewError(
                    f"the new What's new cites [{number}], which is not a source of the candidate"
                )
        updated = _touch(proposal, now=now, whats_new_override=paragraphs)
        store.save(updated)
    return updated


def approve(
    project: Project,
    slug: str,
    *,
    by: str,
    now: dt.datetime,
    date: dt.date | None = None,
    expected_revision: int | None = None,
) -> tuple[Brief, Path, Path]:
    """Publish the candidate as the next immutable version; return it, its file and the archive entry."""
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        if not proposal.applied():
            raise ReviewError(
                f"the proposal for {slug!r} applies no edit; nothing to publish (discard it instead)"
            )
        _require_latest(project, slug, proposal)
        brief = proposal.final_brief().model_copy(
            update={"state": PUBLISHED_STATE, "date": date or proposal.candidate.date}
        )
        brief = Brief.model_validate(brief.model_dump())
        path = project.publish(slug, brief)
        closed = _touch(
            proposal, now=now, state="approved", closed_at=now, closed_by=by, published_version=brief.version
        )
        return brief, path, store.archive(closed, stamp=now)


def discard(
    project: Project, slug: str, *, by: str, now: dt.datetime, expected_revision: int | None = None
) -> Path:
    """Drop the pending proposal into the archive unpublished."""
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        closed = _touch(proposal, now=now, state="discarded", closed_at=now, closed_by=by)
        return store.archive(closed, stamp=now)


def pending(project: Project, slug: str) -> Proposal:
    project.require_brief(slug)  # an unknown brief is reported as such, not as "no proposal"
    proposal = ProposalStore(project, slug).load()
    if proposal is None:
        raise NotFoundError(
            f"brief {slug!r} has no pending proposal; make one with `briefbot edit {slug} --from FILE`"
        )
    return proposal
