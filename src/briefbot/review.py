"""The editor's review: explicit transitions of the one pending proposal of a brief.

    (none) --make_proposal--> pending --decide / amend / set_whats_new--> pending --approve--> published + archived
                                      \\--discard--> archived --restore (the last one)--> pending

Every transition loads the pending proposal, checks it is allowed, and saves it with its revision
advanced, so two editors working at once get an error instead of a lost update.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from briefbot.errors import NotFoundError, ReviewError
from briefbot.merge import merge
from briefbot.merge.amendments import AMENDABLE_FIELDS as AMENDABLE_FIELDS  # read here by the CLI, web
from briefbot.merge.amendments import AmendmentWarningError as AmendmentWarningError
from briefbot.merge.amendments import amended_edit, check_amendment
from briefbot.merge.proposal import Amendment, Decision, Proposal
from briefbot.merge.whats_new import shape_fault
from briefbot.merge.whats_new_checks import editor_text_warnings
from briefbot.models import CITATION_RE, Brief, EditBatch
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.untrusted import clean_text

PUBLISHED_STATE = "closed"
# A decision's reason is a line on a card, not an essay.
MAX_REASON_CHARS = 300


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


def decision_reason(text: str | None) -> str | None:
    """The editor's reason as stored: one line, controls removed (it is printed on a terminal),
    whitespace collapsed; None when blank. Over MAX_REASON_CHARS is refused, not cut."""
    if text is None:
        return None
    line = " ".join(clean_text(text, multiline=False).split())
    if len(line) > MAX_REASON_CHARS:
        raise ReviewError(
            f"the reason is {len(line)} characters long; at most {MAX_REASON_CHARS}, please shorten it"
        )
    return line or None


def decide(
    project: Project,
    slug: str,
    *,
    accept: Iterable[int] = (),
    reject: Iterable[int] = (),
    reset: Iterable[int] = (),
    reason: str | None = None,
    now: dt.datetime,
    by: str | None = None,
    expected_revision: int | None = None,
) -> Proposal:
    """Record the editor's decisions and re-merge the candidate from the edits not rejected.

    `reset` takes a decision back (an undo): the edit is again as the merger left it, undecided.
    `reason` goes with each edit accepted or rejected here; without one, an edit whose decision
    is unchanged keeps the reason it had."""
    said = decision_reason(reason)
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        accept, reject, reset = set(accept), set(reject), set(reset)
        if accept & reject:
            raise ReviewError(f"edits {sorted(accept & reject)} are both accepted and rejected")
        if (accept | reject) & reset:
            raise ReviewError(f"edits {sorted((accept | reject) & reset)} are both decided and reset")
        if said is not None and not accept | reject:
            raise ReviewError("a reason goes with a decision: accept or reject an edit with it")
        for number in accept | reject | reset:
            proposal.verdict(number)
        decisions: dict[int, Decision | None] = {v.number: v.decision for v in proposal.verdicts}
        decisions.update({n: "accepted" for n in accept})
        decisions.update({n: "rejected" for n in reject})
        decisions.update({n: None for n in reset})
        merged = _remerge(project, slug, proposal, proposal.batch, decisions)
        for number in sorted(accept):
            verdict = merged.verdicts[number - 1]
            if verdict.status == "rejected":
                # Accepting means "publish this"; saying yes to an edit that cannot apply would mislead.
                raise ReviewError(
                    f"edit {number} cannot be accepted: the merger rejects it ({verdict.reason})"
                )
        reasons = {n: said for n in accept | reject} if said is not None else {}
        updated = _decided(proposal, merged, decisions, now=now, by=by, reasons=reasons)
        store.save(updated)
    return updated


def _remerge(
    project: Project, slug: str, proposal: Proposal, batch: EditBatch, decisions: dict[int, Decision | None]
) -> Proposal:
    """The merger's proposal for `batch` from the proposal's base, leaving out the edits rejected."""
    kept = {n for n, d in decisions.items() if d != "rejected"}
    base = project.load(slug, proposal.base_version)
    return merge(base, batch, run_date=proposal.run_date, accepted=kept)


def _decided(
    proposal: Proposal,
    merged: Proposal,
    decisions: dict[int, Decision | None],
    *,
    now: dt.datetime,
    by: str | None,
    reasons: dict[int, str] | None = None,
    **update: Any,
) -> Proposal:
    """`proposal` with the re-merged candidate and verdicts and the editor's decisions on them.

    A decision keeps its reason while it stands; `reasons` gives new ones."""
    old = {v.number: v for v in proposal.verdicts}

    def reason(number: int) -> str | None:
        if reasons and number in reasons:
            return reasons[number]
        before = old.get(number)
        if before is None or before.decision != decisions[number]:
            return None
        return before.decision_reason

    verdicts = [
        v.model_copy(update={"decision": decisions[v.number], "decision_reason": reason(v.number)})
        for v in merged.verdicts
    ]
    before = [v.number for v in proposal.applied()]
    after = [v.number for v in verdicts if v.status == "applied"]
    return _touch(
        proposal,
        now=now,
        verdicts=verdicts,
        candidate=merged.candidate,
        # Which What's new the re-merge kept (the draft, or the assembly it fell back to) and why:
        # the origin and note always travel with the text they describe.
        whats_new=merged.whats_new,
        whats_new_origin=merged.whats_new_origin,
        whats_new_note=merged.whats_new_note,
        whats_new_warnings=merged.whats_new_warnings,
        # The editor's What's new described other edits; keeping it would misreport the version.
        whats_new_override=proposal.whats_new_override if before == after else None,
        decided_at=now,
        decided_by=by,
        **update,
    )


def amend(
    project: Project,
    slug: str,
    number: int,
    *,
    text: str | None = None,
    date: str | None = None,
    actor: str | None = None,
    stance: str | None = None,
    evolution: str | None = None,
    summary: str | None = None,
    now: dt.datetime,
    by: str | None = None,
    allow_warnings: bool = False,
    expected_revision: int | None = None,
) -> Proposal:
    """Rewrite fields of edit `number` (1-based) and re-merge: the amended edit goes through the
    merger's checks like any other (citations, dates, duplicates, figures), and is then accepted.

    A refused amendment is a ReviewError with the merger's reason, and nothing is written. The
    proposal keeps every amendment (what stood before, what replaced it, who, when); its batch
    holds the amended edit, so the candidate, the preview and the published version carry it."""
    given = {
        "text": text,
        "date": date,
        "actor": actor,
        "stance": stance,
        "evolution": evolution,
        "summary": summary,
    }
    changes = {name: value.strip() for name, value in given.items() if value is not None}
    if not changes:
        raise ReviewError(f"nothing to amend: give edit {number} a new {', '.join(AMENDABLE_FIELDS)}")
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        proposal.verdict(number)  # an edit of this proposal, or an error naming the range
        original = proposal.batch.edits[number - 1]
        amended = amended_edit(original, number, changes)
        if amended == original:
            raise ReviewError(f"edit {number} already says that; nothing to amend")
        edits = list(proposal.batch.edits)
        edits[number - 1] = amended
        batch = proposal.batch.model_copy(update={"edits": edits})
        decisions: dict[int, Decision | None] = {v.number: v.decision for v in proposal.verdicts}
        decisions[number] = "accepted"  # the editor wrote it: what they amend, they accept
        merged = _remerge(project, slug, proposal, batch, decisions)
        check_amendment(number, proposal.verdicts, merged.verdicts, allow_warnings=allow_warnings)
        amendment = Amendment(number=number, original=original, amended=amended, by=by, at=now)
        updated = _decided(
            proposal,
            merged,
            decisions,
            now=now,
            by=by,
            batch=batch,
            amendments=[*proposal.amendments, amendment],
        )
        store.save(updated)
    return updated


def set_whats_new(
    project: Project, slug: str, text: str, *, now: dt.datetime, expected_revision: int | None = None
) -> Proposal:
    """Replace the merger's What's new with the editor's text (paragraphs split on blank lines).

    It passes a draft's shape rules (`whats_new.shape_fault`): every bracket that reads as a marker
    is a plain `[N]` citing a source of the candidate, at most 2 paragraphs and 120 words, at most 3
    sources in a run of markers; otherwise it is refused and nothing is written."""
    store = ProposalStore(project, slug)
    with store.guard():
        proposal = _current(store, expected_revision)
        paragraphs = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        if not paragraphs:
            raise ReviewError("the new What's new is empty")
        fault = shape_fault(paragraphs, allow_new=False)
        if fault is not None:
            raise ReviewError(f"the new What's new {fault}; nothing was changed")
        for number in sorted({int(n) for p in paragraphs for n in CITATION_RE.findall(p)}):
            if proposal.candidate.source(number) is None:
                raise ReviewError(
                    f"the new What's new cites [{number}], which is not a source of the candidate; "
                    "nothing was changed"
                )
        updated = _touch(proposal, now=now, whats_new_override=paragraphs)
        store.save(updated)
    return updated


def whats_new_warnings(proposal: Proposal) -> list[str]:
    """The names and figures warnings on the What's new the proposal would publish: the editor's
    text when set (checked now, against the candidate and the items its sources came from), else
    the merger's, as it recorded them for a draft it kept (an assembly repeats checked summaries)."""
    if proposal.whats_new_override is None:
        return list(proposal.whats_new_warnings)
    return editor_text_warnings(
        proposal.whats_new_override, candidate=proposal.candidate, items=proposal.batch.items
    )


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


def restore(project: Project, slug: str, *, by: str, now: dt.datetime) -> Proposal:
    """Bring back the last discarded proposal as the pending one, decisions and amendments intact,
    recording who restored it and when.

    Only the last closed proposal, and only if it was discarded: one that was approved is published,
    and one discarded before it was superseded. Refused when a proposal is pending or the brief has
    moved on since the discarded one was made (its candidate would undo the newer version)."""
    project.require_brief(slug)
    store = ProposalStore(project, slug)
    with store.guard():
        current = store.load()
        if current is not None:
            raise ReviewError(
                f"brief {slug!r} already has a pending proposal (v{current.candidate.version}, "
                f"revision {current.revision}); discard it first to restore the last discarded one"
            )
        last = store.last_closed()
        if last is None:
            raise ReviewError(f"brief {slug!r} has no discarded proposal to restore")
        if last.state != "discarded":
            raise ReviewError(
                f"the last proposal of {slug!r} was approved (published as v{last.published_version}); "
                "there is no discarded proposal after it to restore"
            )
        versions = project.versions(slug)
        latest = versions[-1] if versions else 0
        if latest != last.base_version:
            raise ReviewError(
                f"brief {slug!r} moved on to v{latest} since the discarded proposal was made from "
                f"v{last.base_version}; it can no longer be restored"
            )
        restored = _touch(
            last,
            now=now,
            state="pending",
            closed_at=None,
            closed_by=None,
            restored_by=by,
            restored_at=now,
        )
        store.save(restored, replace=True)
    return restored


def pending(project: Project, slug: str) -> Proposal:
    project.require_brief(slug)  # an unknown brief is reported as such, not as "no proposal"
    proposal = ProposalStore(project, slug).load()
    if proposal is None:
        raise NotFoundError(
            f"brief {slug!r} has no pending proposal; make one with `briefbot edit {slug} --from FILE`"
        )
    return proposal
