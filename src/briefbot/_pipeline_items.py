"""The pipeline's item plumbing: page documents (extract adapter), fetch-time stamps, BatchItems.

Documents are stored one JSON file per item under `.briefbot/documents/`, written atomically, so
a run killed mid-extract refetches only the pages it had not finished.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx2
from pydantic import ValidationError

from ._fs import atomic_write
from .collect.dedupe import canonical_url
from .errors import BriefbotError, ReplayMissError
from .extract import extract_document
from .http import fetch
from .models import BatchItem, Brief, CandidateItem, Document
from .project import Project
from .store.items import StoredItem

EXTRACT_CONCURRENCY = 8


class FetchClock:
    """The Date headers of the collect answers: the stamps collect falls back to for undated items.

    An item whose `published` is exactly one of them carries no date of its own, and the fetch
    time must not become a source's date. Stamps are kept in the run folder (written before collect
    stores its items), so a resumed run still recognises them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamps: set[str] = set()

    async def hook(self, response: httpx2.Response) -> None:
        value = response.headers.get("date")
        if not value:
            return
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if parsed.tzinfo is not None:
            self.stamps.add(parsed.astimezone(dt.UTC).isoformat())

    def add(self, when: dt.datetime) -> None:
        self.stamps.add(when.astimezone(dt.UTC).isoformat())

    def save(self) -> None:
        atomic_write(self.path, json.dumps(sorted(self.stamps), indent=0) + "\n")


def fallback_stamps(runs_dir: Path) -> set[str]:
    """Every fetch-time stamp any run has recorded."""
    stamps: set[str] = set()
    for path in sorted(runs_dir.glob("*/fetch_times.json")):
        try:
            stamps.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a damaged stamp file only costs a date check, never the run
    return stamps


def document_path(project: Project, item_id: int) -> Path:
    return project.state_dir / "documents" / f"{item_id}.json"


def load_document(project: Project, item_id: int) -> Document | None:
    path = document_path(project, item_id)
    try:
        return Document.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValidationError):
        return None  # half a document never exists (atomic writes); a stale schema is refetched


def _summary_document(item: CandidateItem, reason: str, error: str | None) -> Document:
    return Document(
        item_id=item.id,
        url=item.url,
        text=(item.summary or "").strip(),
        text_source="summary",
        fallback_reason=reason,
        error=error,
    )


async def extract_item(
    client: httpx2.AsyncClient, item: CandidateItem
) -> tuple[Document, bool]:
    """Fetch and extract one item's page; returns (document, page fetched). Failures fall back to the summary."""
    try:
        answer = await fetch(client, item.link)
    except ReplayMissError:
        raise  # a replay that lacks a page is a broken recording, not a failed page
    except BriefbotError as exc:
        return _summary_document(item, "page fetch failed", str(exc)), False
    content_type = next(
        (v for k, v in answer.headers.items() if k.lower() == "content-type"), None
    )
    try:
        # trafilatura is CPU-bound; a thread keeps the event loop (other fetches) going meanwhile.
        document = await asyncio.to_thread(
            extract_document,
            answer.body,
            url=answer.final_url,
            content_type=content_type,
            summary=item.summary,
        )
    except BriefbotError as exc:
        return _summary_document(item, "extraction refused", str(exc)), True
    except Exception as exc:  # noqa: BLE001 — one pathological page never aborts the run
        return _summary_document(
            item, "extraction failed", f"{item.link}: {type(exc).__name__}: {exc}"
        ), True
    return document.model_copy(update={"item_id": item.id}), True


async def extract_items(
    project: Project,
    client: httpx2.AsyncClient,
    items: Iterable[StoredItem],
    *,
    on_done: Callable[[StoredItem, Document, bool], None],
) -> None:
    """A document for every item (stored ones reused), `on_done` called as each is ready."""
    gate = asyncio.Semaphore(EXTRACT_CONCURRENCY)

    async def one(stored: StoredItem) -> None:
        assert stored.item.id is not None
        document = load_document(project, stored.item.id)
        fetched = False
        if document is None:
            async with gate:
                document, fetched = await extract_item(client, stored.item)
            atomic_write(
                document_path(project, stored.item.id),
                document.model_dump_json(indent=1) + "\n",
            )
        on_done(stored, document, fetched)

    await asyncio.gather(*(one(s) for s in items))


def _norm_title(title: str) -> str:
    return " ".join(title.casefold().split())


def already_sourced(brief: Brief) -> tuple[set[str], set[str]]:
    """Canonical URLs and normalised titles of the brief's sources."""
    urls, titles = set(), set()
    for source in brief.sources:
        titles.add(_norm_title(source.title))
        if source.url:
            try:
                urls.add(canonical_url(source.url))
            except ValueError:
                pass
    return urls, titles


def is_sourced(item: CandidateItem, sourced: tuple[set[str], set[str]]) -> bool:
    urls, titles = sourced
    return item.url in urls or _norm_title(item.title) in titles


def batch_items(
    rows: list[tuple[CandidateItem, Document]], *, stamps: set[str]
) -> list[BatchItem]:
    """The brief's BatchItems, numbered `new:1..` by (published, canonical URL): stable across runs.

    Titles are the feed's or search result's; a search find has no publisher (its origin
    `reactive:<slug>` is its label); a date is the page's own, else the item's when it is not the
    fetch-time fallback.
    """
    ordered = sorted(rows, key=lambda pair: (pair[0].published, pair[0].url))
    out: list[BatchItem] = []
    for number, (item, document) in enumerate(ordered, start=1):
        published = document.date
        if published is None:
            stamp = item.published.astimezone(dt.UTC).isoformat()
            published = None if stamp in stamps else item.published.date().isoformat()
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
