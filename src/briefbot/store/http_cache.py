"""Conditional-GET validators (ETag / Last-Modified) per URL: the storage half of the HTTP cache.

The policy half (sending If-None-Match / If-Modified-Since, reading a 304) is `briefbot.http.client.fetch`.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from briefbot.errors import StoreError
from briefbot.http.types import Validators


def load_validators(conn: sqlite3.Connection, url: str) -> Validators | None:
    """The validators stored for `url`, or None if it was never fetched with any."""
    try:
        row = conn.execute("SELECT etag, last_modified FROM http_validators WHERE url = ?", (url,)).fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"reading HTTP validators for {url}: {exc}") from exc
    if row is None:
        return None
    return Validators(etag=row[0], last_modified=row[1])


def save_validators(conn: sqlite3.Connection, url: str, validators: Validators) -> None:
    """Keep `validators` for `url`; empty validators forget the URL (nothing to revalidate with)."""
    try:
        if validators.is_empty():
            conn.execute("DELETE FROM http_validators WHERE url = ?", (url,))
            return
        conn.execute(
            "INSERT INTO http_validators (url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
            "updated_at = excluded.updated_at",
            (url, validators.etag, validators.last_modified, datetime.now(UTC).isoformat(timespec="seconds")),
        )
    except sqlite3.Error as exc:
        raise StoreError(f"writing HTTP validators for {url}: {exc}") from exc
