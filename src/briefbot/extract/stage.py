"""The extract stage: fetch each item's page safely, store its bytes, extract a Document per item.

Fetching and extracting overlap. Each page is fetched through the one safe HTTP client (bounded
concurrency, the client's own per-host politeness) and its bytes stored by content hash; as each
page is stored it is queued for the worker pool, which extracts while other pages are still
arriving. Fetching is network-bound and extraction CPU-bound, so the night takes about the
longer of the two rather than their sum. Only the pages in flight are ever held in memory.

Every item ends with exactly one stored Document: the page's text (`extracted`), the feed's
summary for a content reason such as a PDF or an empty extraction (`fallback`), or the summary
plus the error when fetching or extracting failed (`failed`). None is silently dropped.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import httpx2

from briefbot.errors import BriefbotError, FetchError, ReplayMissError
from briefbot.extract.pool import ExtractJob, ExtractPool, ExtractResult
from briefbot.http import fetch
from briefbot.http.types import FetchResult
from briefbot.models import CandidateItem, Document, StrictModel
from briefbot.store.documents import Outcome, PageStore, outcome_of, store_document

DEFAULT_CONCURRENCY = 16


class Fetcher(Protocol):
    """What the stage needs of the HTTP layer: `briefbot.http.client.fetch` bound to a client."""

    async def __call__(self, url: str) -> FetchResult: ...


class ItemOutcome(StrictModel):
    item_id: int
    url: str
    outcome: Outcome
    reason: str | None = None


class ExtractReport(StrictModel):
    """The closing tally of one extract run."""

    extracted: int = 0
    fallback: int = 0
    failed: int = 0
    seconds: float = 0.0
    outcomes: list[ItemOutcome] = []

    @property
    def total(self) -> int:
        return self.extracted + self.fallback + self.failed

    def add(self, document: Document) -> ItemOutcome:
        outcome = outcome_of(document)
        setattr(self, outcome, getattr(self, outcome) + 1)
        assert document.item_id is not None
        entry = ItemOutcome(
            item_id=document.item_id,
            url=document.url,
            outcome=outcome,
            reason=document.error or document.fallback_reason,
        )
        self.outcomes.append(entry)
        return entry

    def extend(self, other: ExtractReport) -> None:
        """`other`'s outcomes after these (the time is the caller's to set)."""
        self.extracted += other.extracted
        self.fallback += other.fallback
        self.failed += other.failed
        self.outcomes += other.outcomes


class _Fetched(StrictModel):
    item: CandidateItem
    sha256: str
    content_type: str | None
    final_url: str


def failed_document(
    item: CandidateItem,
    error: str,
    *,
    reason: str,
    sha256: str | None = None,
    content_type: str | None = None,
) -> Document:
    """The feed's summary standing in for a page that could not be had, with the error."""
    assert item.id is not None
    return Document(
        item_id=item.id,
        url=item.url,
        title=item.title,
        text=(item.summary or "").strip(),
        text_source="summary",
        fallback_reason=reason,
        error=error,
        raw_sha256=sha256,
        content_type=content_type,
    )


def http_fetcher(client: httpx2.AsyncClient) -> Fetcher:
    """`briefbot.http.fetch` on `client` (a client from `briefbot.http.make_client`)."""

    async def fetcher(url: str) -> FetchResult:
        return await fetch(client, url)

    return fetcher


async def _fetch_all(
    items: Sequence[CandidateItem],
    *,
    fetcher: Fetcher,
    pages: PageStore,
    concurrency: int,
    on_failed: Callable[[Document], None],
    on_fetched: Callable[[_Fetched], None],
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: CandidateItem) -> None:
        async with gate:
            try:
                result = await fetcher(item.link or item.url)
            except ReplayMissError:
                raise  # a replay that lacks a page is a broken recording, not a failed page
            except FetchError as exc:
                on_failed(failed_document(item, str(exc), reason="fetch failed"))
                return
            except Exception as exc:
                on_failed(
                    failed_document(
                        item,
                        f"{item.link}: {type(exc).__name__}: {exc}",
                        reason="fetch failed",
                    )
                )
                return
        try:
            sha = pages.put(result.body)
        except BriefbotError as exc:
            on_failed(failed_document(item, str(exc), reason="page not stored"))
            return
        on_fetched(
            _Fetched(
                item=item,
                sha256=sha,
                content_type=result.headers.get("content-type"),
                final_url=result.final_url,
            )
        )

    await asyncio.gather(*(one(item) for item in items))


def _jobs(
    fetched: queue.Queue[_Fetched | None], pages: PageStore, refused: list[Document]
) -> Iterator[ExtractJob]:
    # Read lazily, on the pool's thread: the pool asks for the next page only when a worker is
    # free, and waits here for the next fetched page until the fetching side says it is done.
    for entry in iter(fetched.get, None):
        try:
            raw = pages.get(entry.sha256)
        except BriefbotError as exc:
            refused.append(
                failed_document(
                    entry.item,
                    str(exc),
                    reason="stored page unreadable",
                    sha256=entry.sha256,
                )
            )
            continue
        yield ExtractJob(
            key=str(entry.item.id),
            raw=raw,
            url=entry.final_url,
            content_type=entry.content_type,
            summary=entry.item.summary,
            raw_sha256=entry.sha256,
        )


def _document(entry: _Fetched, result: ExtractResult) -> Document:
    if result.document is None:
        return failed_document(
            entry.item,
            result.error or "extraction failed",
            reason="extraction failed",
            sha256=entry.sha256,
            content_type=entry.content_type,
        )
    # The canonical URL stays the key; the item's own title stands in for a page without one.
    return result.document.model_copy(
        update={
            "item_id": entry.item.id,
            "url": entry.item.url,
            "title": result.document.title or entry.item.title,
        }
    )


async def extract_items(
    items: Sequence[CandidateItem],
    *,
    fetcher: Fetcher,
    pages: PageStore,
    pool: ExtractPool,
    conn: sqlite3.Connection | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[ItemOutcome], None] | None = None,
) -> ExtractReport:
    """Fetch, store and extract `items` (each must have an id); store each Document in `conn`."""
    started = time.monotonic()
    report = ExtractReport()
    missing = [item for item in items if item.id is None]
    if missing:
        raise BriefbotError(f"extract needs stored items; {missing[0].url} has no id")

    def finish(document: Document) -> None:
        if conn is not None:
            store_document(conn, document)
        entry = report.add(document)
        if on_done is not None:
            on_done(entry)

    fetched: queue.Queue[_Fetched | None] = queue.Queue()
    by_key: dict[str, _Fetched] = {}

    def queue_page(entry: _Fetched) -> None:
        by_key[str(entry.item.id)] = entry
        fetched.put(entry)

    async def fetch_then_close() -> None:
        try:
            await _fetch_all(
                items,
                fetcher=fetcher,
                pages=pages,
                concurrency=concurrency,
                on_failed=finish,
                on_fetched=queue_page,
            )
        finally:
            fetched.put(None)  # always: the pool's thread waits for it

    fetching = asyncio.ensure_future(fetch_then_close())
    refused: list[Document] = []
    results = pool.run_async(_jobs(fetched, pages, refused))
    try:
        async for result in results:
            finish(_document(by_key[result.key], result))
        await fetching  # a replay miss (or a full disk) while fetching ends the stage here
    finally:
        # On any way out: stop fetching (its end-of-pages mark frees the pool's thread), collect
        # its outcome so no error goes unretrieved, then close the pool's results before the
        # caller closes the pool itself.
        if not fetching.done():
            fetching.cancel()
        await asyncio.gather(fetching, return_exceptions=True)
        await results.aclose()
    for document in refused:
        finish(document)
    report.seconds = time.monotonic() - started
    return report
