"""Triage, propose and merge for one brief: the per-brief part of the nightly run.

`brief_stage` is a sequence of named steps, each given what it needs: `pick_items` (which of the
store's items the brief weighs tonight), `triage_step`, `propose_step`, `merge_step` (which
`briefbot propose` runs too, on the items it is given) and `record_statuses`. Every step's
bookkeeping is `Bookkeeping.stage`'s.

Item statuses are written last, in one transaction, after the proposal file: a run killed before
that redoes the brief, its finished LLM calls answered from the call cache.

A brief with a brief.yaml and no published version is drafted, not skipped: its base is the v0
skeleton, the propose step asks for a first version (`propose.propose` picks the draft prompt) and
the merger judges those edits as it judges any. With fewer relevant items than `draft_min_items`
nothing is asked and the items stay `extracted`, weighed again beside the next night's.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass

from briefbot.llm import LLMClient
from briefbot.merge import merge
from briefbot.merge.proposal import Proposal, StaleProposalError
from briefbot.models import BatchItem, Brief, Document, EditBatch
from briefbot.pipeline.bookkeeping import Bookkeeping
from briefbot.pipeline.items import already_sourced, batch_items, is_sourced, row_id
from briefbot.pipeline.report import BriefReport
from briefbot.project import Project
from briefbot.propose import DRAFT_MIN_ITEMS, ProposeResult, TooFewItemsError, check_draft_items, propose
from briefbot.review import make_proposal
from briefbot.store import items as item_store
from briefbot.store import transaction
from briefbot.store.documents import get_documents
from briefbot.store.items import StoredItem
from briefbot.store.proposals import ProposalStore
from briefbot.triage import TriagedItem, TriageResult, triage


def _untouched(proposal: Proposal) -> bool:
    """No editor has acted on it: replacing it loses nobody's work."""
    return (
        proposal.decided_at is None
        and proposal.whats_new_override is None
        and all(v.decision is None for v in proposal.verdicts)
    )


def _tonights(
    conn: sqlite3.Connection,
    store: ProposalStore,
    pending: Proposal | None,
    waiting: list[StoredItem],
    *,
    slug: str,
    run_date: dt.date,
) -> list[StoredItem]:
    """The items tonight's batch weighs: those waiting, and, on a second run of the same night that
    no editor has acted on, every item an earlier run of this night triaged.

    So a night cut short (a feed failed, the run was killed) and then completed proposes from the
    same items, numbered the same, as one uninterrupted run would: an undecided proposal of
    tonight is remade from all of them, nothing it cited is lost, and items an earlier run found
    irrelevant are weighed again beside the late ones. Not after an editor approved or discarded
    a proposal of tonight: those items have had their turn.
    """
    rows = list(waiting)
    closed = store.last_closed() if pending is None else None
    if closed is not None and closed.run_date == run_date:
        return rows
    seen = {row_id(s) for s in rows}
    again = item_store.triaged_on(conn, brief=slug, night=run_date)
    if pending is not None:
        # Its items come along even when triaged before nights were recorded.
        urls = {i.url for i in pending.batch.items}
        again += [s for s in item_store.list_items(conn, brief=slug, status="proposed") if s.item.url in urls]
    for stored in again:
        if row_id(stored) not in seen:
            seen.add(row_id(stored))
            rows.append(stored)
    return rows


def _full_text(conn: sqlite3.Connection, kept: list[TriagedItem], ids: dict[str, int]) -> list[TriagedItem]:
    """The kept items with their documents' whole text (triage read only excerpts)."""
    full = get_documents(conn, [ids[t.item.url] for t in kept])
    out = []
    for triaged in kept:
        document = full.get(ids[triaged.item.url])
        if document is not None:
            item = triaged.item.model_copy(update={"text": document.text or None})
            triaged = triaged.model_copy(update={"item": item})
        out.append(triaged)
    return out


@dataclass(frozen=True)
class Tonight:
    """The items one brief weighs tonight, numbered into the BatchItems triage sees."""

    items: list[BatchItem]
    excluded: list[StoredItem]  # already among the brief's sources: marked `sourced`, not weighed
    ids: dict[str, int]  # item URL -> its row


def pick_items(
    conn: sqlite3.Connection,
    store: ProposalStore,
    pending: Proposal | None,
    brief: Brief,
    *,
    slug: str,
    run_date: dt.date,
    excerpt_chars: int,
    out: BriefReport,
    book: Bookkeeping,
) -> Tonight | None:
    """Tonight's items of the brief, or None when there are none or they must wait (`out.note` says
    why): a pending proposal an editor has acted on, or one of an earlier night, is reviewed first.
    """
    waiting = item_store.list_items(conn, brief=slug, status="extracted")
    if not waiting:
        out.note = "nothing new"
        return None
    if pending is not None and not (_untouched(pending) and pending.run_date == run_date):
        why = "is under review" if not _untouched(pending) else f"of {pending.run_date} awaits review"
        out.note = f"held back {len(waiting)} item(s): the pending proposal {why}"
        book.note(f"{slug}: {out.note}; they wait for the next run after it is decided")
        return None
    rows = _tonights(conn, store, pending, waiting, slug=slug, run_date=run_date)
    sourced = already_sourced(brief)
    pairs, excluded = [], []
    # Triage sees an excerpt of each text: only that much is read now, the full text of the
    # items it keeps afterwards (`_full_text`), so a big night never holds every page's text.
    documents = get_documents(conn, [row_id(s) for s in rows], max_text=excerpt_chars)
    for stored in rows:
        if is_sourced(stored.item, sourced):
            excluded.append(stored)
            continue
        document = documents.get(row_id(stored)) or Document(
            url=stored.item.url,
            text=stored.item.summary or "",
            text_source="summary",
            fallback_reason="document missing",
        )
        pairs.append((stored.item, document))
    out.excluded = len(excluded)
    items = batch_items(pairs)
    out.candidates = len(items)
    return Tonight(items=items, excluded=excluded, ids={s.item.url: row_id(s) for s in rows})


async def triage_step(
    llm: LLMClient,
    brief: Brief,
    items: list[BatchItem],
    *,
    slug: str,
    scope: str | None,
    out: BriefReport,
    book: Bookkeeping,
) -> TriageResult | None:
    """Label the items (no items, no call). None: the triage failed, recorded in `out` and the
    night's report; the brief's items stay `extracted` for the next run."""
    with book.stage("triage", slug, label=slug, recover=True) as stage:
        triaged = await triage(llm, brief, items, slug=slug, scope=scope)
        out.llm.add(triaged.stats)
        out.warnings += triaged.warnings()
        out.failures += triaged.failures
        book.fail(*(f"triage {slug}: {f}" for f in triaged.failures))
        for t in triaged.items:
            setattr(out, t.relevance, getattr(out, t.relevance) + 1)
        stage.counts = {"relevant": out.relevant, "background": out.background, "irrelevant": out.irrelevant}
    if stage.error is not None:
        out.failures.append(str(stage.error))
        return None
    return triaged


async def propose_step(
    llm: LLMClient,
    brief: Brief,
    kept: list[TriagedItem],
    *,
    slug: str,
    scope: str | None,
    run_date: dt.date,
    out: BriefReport,
    book: Bookkeeping,
) -> ProposeResult | None:
    """Ask for edits from the kept items (a first version when `brief` is the v0 skeleton). None: the
    call failed, recorded as for triage."""
    with book.stage("propose", slug, label=slug, recover=True) as stage:
        proposed = await propose(llm, brief, kept, slug=slug, run_date=run_date, scope=scope)
        out.llm.add(proposed.stats)
        stage.counts = {"edits": len(proposed.batch.edits)}
    if stage.error is not None:
        out.failures.append(str(stage.error))
        return None  # items stay `extracted`: the next run asks again (triage from the cache)
    return proposed


@dataclass(frozen=True)
class Merged:
    trial: Proposal  # the batch merged into the brief as read: the verdicts, whether any applied
    proposal: Proposal | None  # the pending proposal written (None: no edit applied, or held back)
    held_back: bool = False  # an editor acted on the pending proposal meanwhile: nothing written


def merge_step(
    project: Project,
    brief: Brief,
    batch: EditBatch,
    *,
    slug: str,
    run_date: dt.date,
    now: dt.datetime,
    replace: bool,
    expected_revision: int | None,
    held: int,
    out: BriefReport,
    book: Bookkeeping,
) -> Merged:
    """Merge the batch; when an edit applies, store the result as the brief's pending proposal.

    `expected_revision` is the pending proposal's revision the batch was made against (0: none;
    None: no check): an editor who acted on it meanwhile wins, and the `held` items wait.
    """
    with book.stage("merge", slug) as stage:
        trial = merge(brief, batch, run_date=run_date)
        out.edits_applied = len(trial.applied())
        out.edits_rejected = len(trial.verdicts) - out.edits_applied
        proposal = None
        if out.edits_applied:
            try:
                proposal = make_proposal(
                    project,
                    slug,
                    batch,
                    run_date=run_date,
                    now=now,
                    replace=replace,
                    expected_revision=expected_revision,
                )
            except StaleProposalError as exc:
                out.note = f"held back {held} item(s): {exc}"
                book.note(f"{slug}: {out.note}; they wait for the next run")
                stage.counts = {"applied": 0, "held_back": held}
                return Merged(trial=trial, proposal=None, held_back=True)
            out.proposal = str(ProposalStore(project, slug).pending_path.relative_to(project.root))
            out.replaced = replace
        else:
            out.note = "no edit applied: no proposal"
        stage.counts = {"applied": out.edits_applied, "rejected": out.edits_rejected}
    return Merged(trial=trial, proposal=proposal)


def record_statuses(
    conn: sqlite3.Connection,
    tonight: Tonight,
    triaged: TriageResult,
    proposal: Proposal | None,
    *,
    slug: str,
    now: dt.datetime,
    run_date: dt.date,
) -> None:
    """Each item's status for the brief: `sourced`, `proposed` (sent in the proposal) or its label."""
    sent = {i.url for i in proposal.batch.items} if proposal else set()
    labels = {t.item.url: t.relevance for t in triaged.items}
    with transaction(conn):
        for stored in tonight.excluded:
            item_store.set_status(conn, row_id(stored), slug, "sourced", now=now, night=run_date)
        for url, label in labels.items():
            status = "proposed" if url in sent else label
            item_store.set_status(conn, tonight.ids[url], slug, status, now=now, night=run_date)


async def brief_stage(
    out: BriefReport,
    *,
    project: Project,
    conn: sqlite3.Connection,
    llm: LLMClient,
    scope: str | None,
    book: Bookkeeping,
    run_date: dt.date,
    now: dt.datetime,
    draft_min_items: int = DRAFT_MIN_ITEMS,
) -> BriefReport:
    """Triage, propose and merge tonight's items of the brief `out.slug`; returns `out`, filled.

    `out` is the brief's line in the night's report: the night lists it before the stage starts,
    so a night stopped mid-way still shows how far each brief got.
    """
    slug = out.slug
    brief = project.current(slug)  # the v0 skeleton of a brief not drafted yet
    store = ProposalStore(project, slug)
    pending = store.load()
    excerpt = llm.settings.triage_excerpt_chars + 1
    tonight = pick_items(
        conn, store, pending, brief, slug=slug, run_date=run_date, excerpt_chars=excerpt, out=out, book=book
    )
    if tonight is None:
        return out
    triaged = await triage_step(llm, brief, tonight.items, slug=slug, scope=scope, out=out, book=book)
    if triaged is None:
        return out
    kept = _full_text(conn, triaged.kept(), tonight.ids)
    if brief.version == 0 and kept:
        try:
            check_draft_items(slug, out.relevant, minimum=draft_min_items)
        except TooFewItemsError as exc:
            # Not a failure of the night: the brief waits for news. Its items stay `extracted`.
            out.note = str(exc)
            book.note(out.note)
            return out
    proposal: Proposal | None = None
    if kept:
        proposed = await propose_step(
            llm, brief, kept, slug=slug, scope=scope, run_date=run_date, out=out, book=book
        )
        if proposed is None:
            return out
        merged = merge_step(
            project,
            brief,
            proposed.batch,
            slug=slug,
            run_date=run_date,
            now=now,
            replace=pending is not None,
            # An editor who acted on the pending proposal while this run worked wins.
            expected_revision=pending.revision if pending is not None else 0,
            held=len(tonight.items),
            out=out,
            book=book,
        )
        if merged.held_back:
            return out  # items stay `extracted`, as when the proposal is under review
        proposal = merged.proposal
    elif tonight.items:
        out.note = "nothing relevant: no proposal"
    # Statuses last: a run killed before this line redoes the brief from the call cache.
    record_statuses(conn, tonight, triaged, proposal, slug=slug, now=now, run_date=run_date)
    return out
