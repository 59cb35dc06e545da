"""Feed health: each feed fetch's outcome, written by collect and read by `feeds list` and /feeds.

A row per fetch (table `feed_fetches`), kept whatever happened: a success (200 or 304) or the
error text. Health is read per feed name: the last success, the last error (shown only when it is
newer than the last success, since a feed that recovered is healthy), the new items it brought and
the share of its successful fetches answered 304 within a window (7 days by default).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from pydantic import ConfigDict

from briefbot.errors import StoreError
from briefbot.models import StrictModel

HEALTH_WINDOW = dt.timedelta(days=7)


class FeedFetch(StrictModel):
    """One fetch of one feed, as collect ended it."""

    model_config = ConfigDict(frozen=True)

    feed: str
    url: str
    status: int | None = None
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    error: str | None = None


class FeedHealth(StrictModel):
    """What the state database says about one feed."""

    model_config = ConfigDict(frozen=True)

    feed: str
    fetches: int = 0  # in the window
    last_success: str | None = None  # ISO 8601 UTC
    last_error: str | None = None  # the error text, when newer than the last success
    last_error_at: str | None = None
    new_in_window: int = 0
    not_modified_rate: float | None = None  # None: no successful fetch in the window

    @property
    def failing(self) -> bool:
        return self.last_error is not None

    def error_without(self, url: str) -> str | None:
        """The last error without its leading `url: ` (the feed's own URL, shown beside it)."""
        if self.last_error is None:
            return None
        return self.last_error.removeprefix(f"{url}: ")


def record_fetches(conn: sqlite3.Connection, fetches: list[FeedFetch], *, now: dt.datetime) -> None:
    """Store the outcome of each feed fetch; the caller holds the transaction."""
    at = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    try:
        conn.executemany(
            "INSERT INTO feed_fetches (feed, url, fetched_at, status, not_modified, entries, new, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(f.feed, f.url, at, f.status, int(f.not_modified), f.entries, f.new, f.error) for f in fetches],
        )
    except sqlite3.Error as exc:
        raise StoreError(f"recording feed fetches: {exc}") from exc


def feed_health(
    conn: sqlite3.Connection,
    names: list[str],
    *,
    now: dt.datetime,
    window: dt.timedelta = HEALTH_WINDOW,
) -> dict[str, FeedHealth]:
    """The health of every feed in `names` (a feed never fetched has an empty record)."""
    since = (now - window).astimezone(dt.UTC).isoformat(timespec="seconds")
    out: dict[str, FeedHealth] = {}
    for name in names:
        success = conn.execute(
            "SELECT MAX(fetched_at) FROM feed_fetches WHERE feed = ? AND error IS NULL", (name,)
        ).fetchone()[0]
        error = conn.execute(
            "SELECT fetched_at, error FROM feed_fetches WHERE feed = ? AND error IS NOT NULL "
            "ORDER BY fetched_at DESC, id DESC LIMIT 1",
            (name,),
        ).fetchone()
        recent = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(new), 0), SUM(error IS NULL), "
            "SUM(error IS NULL AND not_modified = 1) FROM feed_fetches WHERE feed = ? AND fetched_at >= ?",
            (name, since),
        ).fetchone()
        count, new, ok, not_modified = recent[0], recent[1], recent[2] or 0, recent[3] or 0
        failing = error is not None and (success is None or error[0] >= success)
        out[name] = FeedHealth(
            feed=name,
            fetches=count,
            last_success=success,
            last_error=error[1] if failing else None,
            last_error_at=error[0] if failing else None,
            new_in_window=new,
            not_modified_rate=round(not_modified / ok, 3) if ok else None,
        )
    return out


def read_feed_health(
    state_db: Path,
    names: list[str],
    *,
    now: dt.datetime,
    window: dt.timedelta = HEALTH_WINDOW,
) -> dict[str, FeedHealth]:
    """`feed_health` through a read-only connection: no database (or one from before feed health
    was recorded) means no fetch yet, and nothing is created or migrated by reading.

    Raises StoreError when the database exists but cannot be read."""
    empty = {name: FeedHealth(feed=name) for name in names}
    if not state_db.is_file():
        return empty
    try:
        conn = sqlite3.connect(f"{state_db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open state database {state_db}: {exc}") from exc
    try:
        return feed_health(conn, names, now=now, window=window)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return empty
        raise StoreError(f"reading feed health from {state_db}: {exc}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"reading feed health from {state_db}: {exc}") from exc
    finally:
        conn.close()
