"""SQL for extracted documents (migration 0200_documents.sql) and the raw-page store on disk.

A document row is written once per item as soon as its page is done, so an interrupted extract
run resumes with the items that have none. Raw pages live by content hash under
`.briefbot/pages/<sha256[:2]>/<sha256>`: the same bytes fetched twice are stored once.

A document's fields are cleaned of terminal controls and bidi overrides as they are stored
(`untrusted.clean_text`), like an item's; the raw page keeps its bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from briefbot._fs import atomic_write
from briefbot.errors import StoreError
from briefbot.models import Document
from briefbot.store import transaction
from briefbot.untrusted import clean_optional

Outcome = Literal["extracted", "fallback", "failed"]
_FIELDS = (
    "title",
    "author",
    "date",
    "sitename",
    "language",
    "text",
    "text_source",
    "fallback_reason",
    "error",
    "raw_sha256",
    "content_type",
)
# The fields that may hold line breaks; every other text field is one line.
_MULTILINE = frozenset({"text", "fallback_reason", "error"})


class PageStore:
    """Raw fetched bytes by SHA-256, written atomically (a reader never sees half a page)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise StoreError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, raw: bytes) -> str:
        sha = hashlib.sha256(raw).hexdigest()
        target = self.path(sha)
        try:
            whole = target.stat().st_size == len(raw)  # a page torn by a power cut is written again
        except OSError:
            whole = False
        if not whole:
            try:
                # No fsync: a page is a cache named by its hash, checked on every read (`get`),
                # and fetched again if a power cut lost it. Thousands of fsyncs a night were the
                # extract stage's largest cost.
                atomic_write(target, raw, durable=False)
            except OSError as exc:
                raise StoreError(f"cannot store page {target}: {exc}") from exc
        return sha

    def get(self, sha256: str) -> bytes:
        target = self.path(sha256)
        try:
            raw = target.read_bytes()
        except OSError as exc:
            raise StoreError(f"cannot read stored page {target}: {exc}") from exc
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise StoreError(f"stored page {target} is damaged (its content does not match its name)")
        return raw


def outcome_of(document: Document) -> Outcome:
    """`failed` carries an error; `fallback` used the summary for a content reason; else `extracted`."""
    if document.error:
        return "failed"
    return "extracted" if document.text_source == "page" else "fallback"


def save_document(conn: sqlite3.Connection, document: Document, *, now: dt.datetime | None = None) -> None:
    """Store (or replace) the document of `document.item_id`."""
    if document.item_id is None:
        raise StoreError(f"document for {document.url} has no item id to store it under")
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat()
    values = [clean_optional(getattr(document, f), multiline=f in _MULTILINE) for f in _FIELDS]
    conn.execute(
        f"INSERT OR REPLACE INTO documents (item_id, url, outcome, {', '.join(_FIELDS)}, extracted_at)"
        f" VALUES (?, ?, ?, {', '.join('?' * len(_FIELDS))}, ?)",
        (document.item_id, document.url, outcome_of(document), *values, stamp),
    )


def _document(row: sqlite3.Row) -> Document:
    return Document(item_id=row["item_id"], url=row["url"], **{f: row[f] for f in _FIELDS})


def get_documents(
    conn: sqlite3.Connection, item_ids: Iterable[int], *, max_text: int | None = None
) -> dict[int, Document]:
    """The stored documents of `item_ids`; with `max_text`, each text cut to that many characters
    (by SQLite, so a night of thousands of pages never holds every full text at once)."""
    wanted = list(item_ids)
    found: dict[int, Document] = {}
    text = "text" if max_text is None else "substr(text, 1, ?) AS text"
    columns = ", ".join(["item_id", "url", *(text if f == "text" else f for f in _FIELDS)])
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT {columns} FROM documents WHERE item_id IN ({marks})",
            ([max_text] if max_text is not None else []) + chunk,
        ):
            found[row["item_id"]] = _document(row)
    return found


def mark_extracted(conn: sqlite3.Connection, item_id: int, *, now: dt.datetime | None = None) -> None:
    """Move the item's `new` brief links to `extracted` (the items table's status hand-off)."""
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat()
    conn.execute(
        "UPDATE item_briefs SET status = 'extracted', updated_at = ? WHERE item_id = ? AND status = 'new'",
        (stamp, item_id),
    )


def store_document(conn: sqlite3.Connection, document: Document, *, now: dt.datetime | None = None) -> None:
    """Save the document and advance its item's status in one transaction."""
    if document.item_id is None:
        raise StoreError(f"document for {document.url} has no item id to store it under")
    with transaction(conn):
        save_document(conn, document, now=now)
        mark_extracted(conn, document.item_id, now=now)
