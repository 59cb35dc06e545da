"""The pipeline's item plumbing: which items the extract stage takes and the stage itself (over
`extract.stage`), the brief's BatchItems.

Documents live in the state database's `documents` table (`store/documents.py`), one row per item
written as its page finishes, so a run killed mid-extract refetches only the pages it had not
finished.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Sequence

import httpx2
from pydantic import Field

from briefbot.collect.dedupe import canonical_url
from briefbot.extract.pool import DEFAULT_TIMEOUT, ExtractPool
from briefbot.extract.stage import (
    DEFAULT_CONCURRENCY,
    ExtractReport,
    ItemOutcome,
    extract_items,
    http_fetcher,
)
from briefbot.http.types import FetchResult
from briefbot.models import BatchItem, Brief, CandidateItem, Document, StrictModel
from briefbot.project import Project
from briefbot.store import items as item_store
from briefbot.store.documents import PageStore, get_documents, mark_extracted
from briefbot.store.items import StoredItem


class ExtractTally(StrictModel):
    """What the extract stage did: pages fetched, and one outcome per item it took."""

    pages_fetched: int = 0
    report: ExtractReport = Field(default_factory=ExtractReport)

    @property
    def documents(self) -> int:
        """Documents made tonight, or found stored for an item linked anew to a brief."""
        return self.report.total

    @property
    def fallbacks(self) -> int:
        return self.report.fallback + self.report.failed

    @property
    def failures(self) -> list[str]:
        # The reason names the URL.
        return [f"page: {entry.reason}" for entry in self.report.outcomes if entry.outcome == "failed"]


def extract_queue(conn: sqlite3.Connection, *, brief: str | None = None) -> list[StoredItem]:
    """The items the extract stage takes: those at status `new` (of `brief`, or of any brief).

    The status, not the want of a document, is the hand-off between stages: an item of an
    earlier night newly linked to another brief has a document already but is still `new` for
    that brief, and triage (which takes `extracted`) would never see it if extract passed it by.
    A `stale` item (too old for the brief, see `collect.stage`) is not taken: its page is never
    fetched, and it never reaches triage.
    """
    return item_store.list_items(conn, brief=brief, status=item_store.NEW)


def page_store(project: Project) -> PageStore:
    """Where fetched pages are kept, by content hash."""
    return PageStore(project.state_dir / "pages")


async def extract_waiting(
    conn: sqlite3.Connection,
    client: httpx2.AsyncClient,
    waiting: Sequence[StoredItem],
    *,
    pages: PageStore,
    now: dt.datetime,
    on_done: Callable[[str], None],
    workers: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> ExtractTally:
    """A stored document for every waiting item, through the extract stage and its process pool:
    the one extract stage of both the night and `briefbot extract`.

    Items that already have a document (an item of an earlier night newly linked to another
    brief) are only moved on to `extracted`; the rest are fetched and extracted by
    `extract.stage.extract_items`, which stores each document (and advances its item) as it
    finishes, so a run killed mid-extract redoes only the pages it had not finished.
    """
    started = time.monotonic()
    tally = ExtractTally()
    ids = [row_id(s) for s in waiting]
    stored = get_documents(conn, ids)
    for item_id, document in stored.items():
        mark_extracted(conn, item_id, now=now)
        tally.report.add(document)
    todo = [s.item for s in waiting if row_id(s) not in stored]
    if todo:
        titles = {row_id(s): s.item.title for s in waiting}
        fetch = http_fetcher(client)

        async def counted(url: str) -> FetchResult:
            result = await fetch(url)
            tally.pages_fetched += 1
            return result

        def done(entry: ItemOutcome) -> None:
            on_done(titles.get(entry.item_id, entry.url))

        # The pool is closed on every way out (a replay miss, a cancel, a full disk), its stuck
        # workers killed: `run_async` lets its thread leave before `__exit__` closes it.
        with ExtractPool(workers=workers, timeout=timeout) as pool:
            fetched = await extract_items(
                todo,
                fetcher=counted,
                pages=pages,
                pool=pool,
                conn=conn,
                concurrency=concurrency,
                on_done=done,
            )
        tally.report.extend(fetched)
    tally.report.seconds = time.monotonic() - started
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
