"""Triage, propose and merge for one brief: the per-brief part of the nightly run.

Item statuses are written last, in one transaction, after the proposal file: a run killed before
that redoes the brief, its finished LLM calls answered from the call cache.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from typing import TYPE_CHECKING

from briefbot.config import Config
from briefbot.errors import BriefbotError, ReplayMissError
from briefbot.llm import LLMClient
from briefbot.merge import merge
from briefbot.merge.proposal import Proposal, StaleProposalError
from briefbot.models import Document
from briefbot.pipeline.items import already_sourced, batch_items, is_sourced, row_id
from briefbot.pipeline.report import BriefReport
from briefbot.propose import propose
from briefbot.review import make_proposal
from briefbot.store import items as item_store
from briefbot.store import runs as ledger
from briefbot.store.documents import get_documents
from briefbot.store.items import StoredItem
from briefbot.store.proposals import ProposalStore
from briefbot.triage import TriagedItem, triage

if TYPE_CHECKING:
    from briefbot.pipeline.night import Night


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


async def brief_stage(night: Night, llm: LLMClient, config: Config, slug: str) -> None:
    conn, now, run_date = night.conn, night.options.now, night.options.run_date
    out = BriefReport(slug=slug)
    night.report.briefs.append(out)
    brief = night.project.load(slug)
    store = ProposalStore(night.project, slug)
    pending = store.load()
    waiting = item_store.list_items(conn, brief=slug, status="extracted")
    if not waiting:
        out.note = "nothing new"
        return
    if pending is not None and not (_untouched(pending) and pending.run_date == run_date):
        why = "is under review" if not _untouched(pending) else f"of {pending.run_date} awaits review"
        out.note = f"held back {len(waiting)} item(s): the pending proposal {why}"
        night.report.notes.append(f"{slug}: {out.note}; they wait for the next run after it is decided")
        return
    rows = _tonights(conn, store, pending, waiting, slug=slug, run_date=run_date)
    sourced = already_sourced(brief)
    pairs, excluded = [], []
    # Triage sees an excerpt of each text: only that much is read now, the full text of the
    # items it keeps afterwards (`_full_text`), so a big night never holds every page's text.
    excerpt = llm.settings.triage_excerpt_chars + 1
    documents = get_documents(conn, [row_id(s) for s in rows], max_text=excerpt)
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
    by_url = {s.item.url: row_id(s) for s in rows}
    out.candidates = len(items)
    scope = config.briefs[slug].scope

    started = time.perf_counter()
    ledger.stage_started(conn, night.report.run_id, "triage", slug)
    night.progress("triage", slug, None)
    try:
        triaged = await triage(llm, brief, items, slug=slug, scope=scope) if items else None
    except ReplayMissError:
        raise  # a broken recording ends the replay (exit 2), it is not this brief's failure
    except BriefbotError as exc:
        out.failures.append(str(exc))
        night.report.failures.append(f"triage {slug}: {exc}")
        night.stage("triage", slug, started, status="failed")
        return
    if triaged is not None:
        out.llm.add(triaged.stats)
        out.warnings += triaged.warnings()
        out.failures += triaged.failures
        night.report.failures += [f"triage {slug}: {f}" for f in triaged.failures]
        for t in triaged.items:
            setattr(out, t.relevance, getattr(out, t.relevance) + 1)
    night.stage(
        "triage",
        slug,
        started,
        relevant=out.relevant,
        background=out.background,
        irrelevant=out.irrelevant,
    )
    kept = _full_text(conn, triaged.kept(), by_url) if triaged else []

    proposal: Proposal | None = None
    if kept:
        started = time.perf_counter()
        ledger.stage_started(conn, night.report.run_id, "propose", slug)
        night.progress("propose", slug, None)
        try:
            proposed = await propose(llm, brief, kept, slug=slug, run_date=run_date, scope=scope)
        except ReplayMissError:
            raise
        except BriefbotError as exc:
            out.failures.append(str(exc))
            night.report.failures.append(f"propose {slug}: {exc}")
            night.stage("propose", slug, started, status="failed")
            return  # items stay `extracted`: the next run asks again (triage from the cache)
        out.llm.add(proposed.stats)
        night.stage("propose", slug, started, edits=len(proposed.batch.edits))

        started = time.perf_counter()
        ledger.stage_started(conn, night.report.run_id, "merge", slug)
        trial = merge(brief, proposed.batch, run_date=run_date)
        out.edits_applied = len(trial.applied())
        out.edits_rejected = len(trial.verdicts) - out.edits_applied
        if out.edits_applied:
            try:
                proposal = make_proposal(
                    night.project,
                    slug,
                    proposed.batch,
                    run_date=run_date,
                    now=now,
                    replace=pending is not None,
                    # An editor who acted on the pending proposal while this run worked wins.
                    expected_revision=pending.revision if pending is not None else 0,
                )
            except StaleProposalError as exc:
                out.note = f"held back {len(items)} item(s): {exc}"
                night.report.notes.append(f"{slug}: {out.note}; they wait for the next run")
                night.stage("merge", slug, started, applied=0, held_back=len(items))
                return  # items stay `extracted`, as when the proposal is under review
            out.proposal = str(store.pending_path.relative_to(night.project.root))
            out.replaced = pending is not None
        else:
            out.note = "no edit applied: no proposal"
        night.stage(
            "merge",
            slug,
            started,
            applied=out.edits_applied,
            rejected=out.edits_rejected,
        )
    elif items:
        out.note = "nothing relevant: no proposal"

    # Statuses last: a run killed before this line redoes the brief from the call cache.
    sent = {i.url for i in proposal.batch.items} if proposal else set()
    labels = {t.item.url: t.relevance for t in triaged.items} if triaged else {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stored in excluded:
            item_store.set_status(conn, row_id(stored), slug, "sourced", now=now, night=run_date)
        for url, label in labels.items():
            item_store.set_status(
                conn,
                by_url[url],
                slug,
                "proposed" if url in sent else label,
                now=now,
                night=run_date,
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
