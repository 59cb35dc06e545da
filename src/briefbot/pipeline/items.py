"""The pipeline's item plumbing: the extract step (over `extract_stage`), BatchItems.

Documents live in the state database's `documents` table (`store/documents.py`), one row per item
written as its page finishes, so a run killed mid-extract refetches only the pages it had not
finished.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence

import httpx2

from briefbot.collect.dedupe import canonical_url
from briefbot.extract.pool import ExtractPool
from briefbot.extract.stage import ItemOutcome, extract_items, http_fetcher
from briefbot.http.types import FetchResult
from briefbot.models import BatchItem, Brief, CandidateItem, Document, StrictModel
from briefbot.store.documents import PageStore, get_documents, mark_extracted, outcome_of
from briefbot.store.items import StoredItem


class ExtractTally(StrictModel):
    """What the pipeline's extract step did: pages fetched, documents made or reused, failures."""

    pages_fetched: int = 0
    documents: int = 0  # made tonight, or found stored for an item linked anew to a brief
    fallbacks: int = 0
    failures: list[str] = []


async def extract_waiting(
    conn: sqlite3.Connection,
    client: httpx2.AsyncClient,
    waiting: Sequence[StoredItem],
    *,
    pages: PageStore,
    now: dt.datetime,
    on_done: Callable[[str], None],
) -> ExtractTally:
    """A stored document for every waiting item, through the extract stage and its process pool.

    Items that already have a document (an item of an earlier night newly linked to another
    brief) are only moved on to `extracted`; the rest are fetched and extracted by
    `extract_stage.extract_items`, which stores each document (and advances its item) as it
    finishes, so a run killed mid-extract redoes only the pages it had not finished.
    """
    tally = ExtractTally()
    ids = [row_id(s) for s in waiting]
    stored = get_documents(conn, ids)
    for item_id, document in stored.items():
        mark_extracted(conn, item_id, now=now)
        tally.documents += 1
        tally.fallbacks += document.text_source == "summary"
        if outcome_of(document) == "failed":
            # This night hands the item on with the summary standing in: say why, as for a new page.
            tally.failures.append(f"page: {document.error}")
    todo = [s.item for s in waiting if row_id(s) not in stored]
    if not todo:
        return tally
    titles = {row_id(s): s.item.title for s in waiting}
    fetch = http_fetcher(client)

    async def counted(url: str) -> FetchResult:
        result = await fetch(url)
        tally.pages_fetched += 1
        return result

    def done(entry: ItemOutcome) -> None:
        tally.documents += 1
        if entry.outcome != "extracted":
            tally.fallbacks += 1
        if entry.outcome == "failed":
            tally.failures.append(f"page: {entry.reason}")  # the reason names the URL
        on_done(titles.get(entry.item_id, entry.url))

    # Workers = cores. The pool is closed on every way out (a replay miss, a cancel, a full disk),
    # its stuck workers killed: `run_async` lets its thread leave before `__exit__` closes it.
    with ExtractPool() as pool:
        await extract_items(todo, fetcher=counted, pages=pages, pool=pool, conn=conn, on_done=done)
    return tally


def row_id(stored: StoredItem) -> int:
    assert stored.item.id is not None  # items read from the store always have their row id
    return stored.item.id


def _norm_title(title: str) -> str:
    return " ".join(title.casefold().split())


def already_sourced(brief: Brief) -> tuple[set[str], set[str]]:
    """Canonical URLs and normalised titles of the brief's sources."""
    urls, titles = set(), set()
    for source in brief.sources:
        titles.add(_norm_title(source.title))
        if source.url:
            with contextlib.suppress(ValueError):
                urls.add(canonical_url(source.url))
    return urls, titles


def is_sourced(item: CandidateItem, sourced: tuple[set[str], set[str]]) -> bool:
    urls, titles = sourced
    return item.url in urls or _norm_title(item.title) in titles


def batch_items(rows: list[tuple[CandidateItem, Document]]) -> list[BatchItem]:
    """The brief's BatchItems, numbered `new:1..` by (published, canonical URL): stable across runs.

    Titles are the feed's or search result's; a search find has no publisher (its origin
    `reactive:<slug>` is its label); a date is the page's own, else the item's when it is not the
    fetch-time fallback.
    """
    ordered = sorted(rows, key=lambda pair: (pair[0].published, pair[0].url))
    out: list[BatchItem] = []
    for number, (item, document) in enumerate(ordered, start=1):
        published = document.date
        if published is None and not item.published_is_fetch_time:
            published = item.published.date().isoformat()
        reactive = item.origin.startswith("reactive:")
        out.append(
            BatchItem(
                ref=f"new:{number}",
                url=item.url,
                title=item.title,
                publisher=None if reactive else item.publisher,
                published=published,
                origin=item.origin,
                text=document.text or None,
            )
        )
    return out
