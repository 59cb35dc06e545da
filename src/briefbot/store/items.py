"""SQL for collected items (migrations 0110_items.sql, 0111_items_fetch_time.sql,
0112_item_briefs_night.sql): each item stored once, linked to briefs.

`item_briefs.status` is the hand-off between stages: collect inserts `new` (or `stale`: too old
for the brief to weigh, stored and never triaged); extract, triage and propose move it along with
`set_status`.

What a feed or a search provider said about an item is cleaned of terminal controls and bidi
overrides as it is stored (`untrusted.clean_text`): every command that later prints a title or a
summary, and every brief made from them, gets it clean. URLs and GUIDs are stored as given: they are
dedupe keys, and a changed key would no longer match the same item's next sighting.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence

from briefbot.errors import NotFoundError, StoreError
from briefbot.models import CandidateItem, KnownItem, StrictModel, guid_key
from briefbot.untrusted import clean_optional, clean_text

NEW = "new"
# Published too long before the brief's latest version (or, before a first version, the run date):
# kept so it is known to dedupe, never extracted or triaged. Set only at link time or by
# `mark_stale`, never by a later stage.
STALE = "stale"
# The statuses triage leaves an item in (for one brief).
TRIAGED = ("relevant", "background", "irrelevant", "proposed")


class StoredItem(StrictModel):
    """An item as stored, with the briefs it is a candidate for and its status in each."""

    item: CandidateItem
    first_seen: dt.datetime
    briefs: dict[str, str]  # slug -> status


def _now(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat()


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _candidate(row: sqlite3.Row) -> CandidateItem:
    return CandidateItem(
        id=row["id"],
        url=row["url"],
        link=row["link"],
        guid=row["guid"],
        title=row["title"],
        summary=row["summary"],
        published=dt.datetime.fromisoformat(row["published"]),
        published_is_fetch_time=bool(row["published_is_fetch_time"]),
        origin=row["origin"],
        publisher=row["publisher"],
        content_hash=row["content_hash"],
    )


# What the feed or provider said about an item (everything but its canonical URL and first sighting).
_DESCRIBED = (
    "link",
    "guid",
    "guid_key",
    "title",
    "summary",
    "published",
    "published_is_fetch_time",
    "origin",
    "publisher",
    "content_hash",
)


def _description(item: CandidateItem) -> tuple[object, ...]:
    """The values of `_DESCRIBED` for `item`, in that order."""
    return (
        item.link,
        item.guid,
        guid_key(item.guid, item.origin),
        clean_text(item.title, multiline=False),
        clean_optional(item.summary, multiline=True),
        _iso(item.published),
        int(item.published_is_fetch_time),
        item.origin,
        clean_optional(item.publisher, multiline=False),
        item.content_hash,
    )


def insert_item(conn: sqlite3.Connection, item: CandidateItem, *, now: dt.datetime | None = None) -> int:
    """Store a new item; returns its id. Its canonical URL must not be stored yet."""
    try:
        cursor = conn.execute(
            f"INSERT INTO items (url, {', '.join(_DESCRIBED)}, first_seen) VALUES ({', '.join('?' * (len(_DESCRIBED) + 2))})",
            (item.url, *_description(item), _now(now)),
        )
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"item {item.url} is already stored: {exc}") from exc
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def origin_of(conn: sqlite3.Connection, item_id: int) -> str | None:
    row = conn.execute("SELECT origin FROM items WHERE id = ?", (item_id,)).fetchone()
    return row[0] if row else None


def adopt_copy(
    conn: sqlite3.Connection,
    item_id: int,
    item: CandidateItem,
    *,
    night: dt.date | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """The stored item becomes `item`, a better-ranked copy of it (the caller ranks); True if it did.

    One collection keeps the copy of the best-ranked source (feeds in configuration order, then
    searches); a night when that source failed stores another copy. Adopting the better copy
    when it comes makes the stored item, and the source it becomes, independent of which fetch
    happened to fail:
    - the same URL: the item takes the copy's provenance (origin, publisher, title, date); an
      undecided proposal citing it is remade on the next run (its links go back to `extracted`);
    - another URL (a syndicated copy, found by GUID, content or title): the item takes the URL
      too, the old one stays as an alias, and its document is dropped so the page is extracted
      anew. Only while no triage has decided the item on an earlier night (every link `new`,
      `extracted`, or triaged on `night`): an item already weighed keeps the URL it was weighed by.
    """
    stamp, tonight = _now(now), (night.isoformat() if night else None)
    row = conn.execute("SELECT url FROM items WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        return False
    if row[0] == item.url:
        conn.execute(
            f"UPDATE items SET {', '.join(f'{c} = ?' for c in _DESCRIBED)} WHERE id = ?",
            (*_description(item), item_id),
        )
        conn.execute(
            "UPDATE item_briefs SET status = 'extracted', updated_at = ?"
            " WHERE item_id = ? AND status = 'proposed' AND night = ?",
            (stamp, item_id, tonight),
        )
        return True
    links = conn.execute("SELECT status, night FROM item_briefs WHERE item_id = ?", (item_id,)).fetchall()
    waiting = (NEW, "extracted", STALE)
    if not all(st in waiting or (st in TRIAGED and tonight and n == tonight) for st, n in links):
        return False
    if conn.execute("SELECT 1 FROM items WHERE url = ?", (item.url,)).fetchone():
        return False  # the copy's URL is another stored item: two items, not one to rename
    conn.execute("DELETE FROM item_aliases WHERE url = ?", (item.url,))
    conn.execute(
        f"UPDATE items SET url = ?, {', '.join(f'{c} = ?' for c in _DESCRIBED)} WHERE id = ?",
        (item.url, *_description(item), item_id),
    )
    conn.execute(
        "INSERT OR IGNORE INTO item_aliases (url, item_id, reason, seen_at) VALUES (?, ?, ?, ?)",
        (row[0], item_id, "copy", stamp),
    )
    conn.execute("DELETE FROM documents WHERE item_id = ?", (item_id,))
    # A stale link stays stale: a copy of old news is old news.
    conn.execute(
        "UPDATE item_briefs SET status = ?, updated_at = ? WHERE item_id = ? AND status NOT IN ('sourced', ?)",
        (NEW, stamp, item_id, STALE),
    )
    return True


def add_alias(
    conn: sqlite3.Connection, url: str, item_id: int, *, reason: str, now: dt.datetime | None = None
) -> None:
    """Remember `url` as a copy of item `item_id` (ignored if the URL is already known)."""
    conn.execute(
        "INSERT OR IGNORE INTO item_aliases (url, item_id, reason, seen_at) "
        "SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM items WHERE url = ?)",
        (url, item_id, reason, _now(now), url),
    )


# An item is too old to weigh when it has a real date (not only its fetch time) before the cutoff.
# Both sides are UTC ISO 8601 strings (`_iso`), which compare as the instants they name.
_TOO_OLD = "published_is_fetch_time = 0 AND published < ?"


def link_brief(
    conn: sqlite3.Connection, item_id: int, slug: str, *, status: str = NEW, now: dt.datetime | None = None
) -> bool:
    """Make the item a candidate for brief `slug` at `status` (`new`, or `stale`); True if it was
    not one already (an existing link is left as it is)."""
    stamp = _now(now)
    cursor = conn.execute(
        "INSERT OR IGNORE INTO item_briefs (item_id, brief, status, added_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (item_id, slug, status, stamp, stamp),
    )
    return cursor.rowcount > 0


def too_old(conn: sqlite3.Connection, item_id: int, *, fresh_since: dt.datetime) -> bool:
    """True when the stored item has a real date (not only its fetch time) before `fresh_since`."""
    row = conn.execute(
        f"SELECT 1 FROM items WHERE id = ? AND {_TOO_OLD}", (item_id, _iso(fresh_since))
    ).fetchone()
    return row is not None


def mark_stale(
    conn: sqlite3.Connection, slug: str, *, fresh_since: dt.datetime, now: dt.datetime | None = None
) -> int:
    """Candidates of `slug` never triaged (`new` or `extracted`, no triage night) and published
    before `fresh_since` become `stale`; returns how many.

    Catches what link time could not: items collected before the brief's latest version was
    published (or before this rule existed) that no triage has weighed yet. An item a triage has
    decided, tonight's included (a rerun weighs them again), keeps its status.
    """
    cursor = conn.execute(
        "UPDATE item_briefs SET status = ?, updated_at = ?"
        " WHERE brief = ? AND status IN (?, 'extracted') AND night IS NULL"
        f" AND item_id IN (SELECT id FROM items WHERE {_TOO_OLD})",
        (STALE, _now(now), slug, NEW, _iso(fresh_since)),
    )
    return cursor.rowcount


def set_status(
    conn: sqlite3.Connection,
    item_id: int,
    slug: str,
    status: str,
    *,
    now: dt.datetime | None = None,
    night: dt.date | None = None,
) -> None:
    """Move the item along for brief `slug`; `night` is the run date of the triage that decided it."""
    cursor = conn.execute(
        "UPDATE item_briefs SET status = ?, updated_at = ?, night = coalesce(?, night)"
        " WHERE item_id = ? AND brief = ?",
        (status, _now(now), night.isoformat() if night else None, item_id, slug),
    )
    if cursor.rowcount == 0:
        raise NotFoundError(f"item {item_id} is not a candidate for brief {slug!r}")


def known_items(conn: sqlite3.Connection, *, fuzzy_since: dt.datetime | None = None) -> list[KnownItem]:
    """Every stored item's dedupe keys, with its aliases.

    URL, GUID and hash matches hold over all time; only items published or first seen since
    `fuzzy_since` take part in the (costlier) near-duplicate comparison.
    """
    aliases: dict[int, list[str]] = {}
    for row in conn.execute("SELECT url, item_id FROM item_aliases"):
        aliases.setdefault(row["item_id"], []).append(row["url"])
    cutoff = _iso(fuzzy_since) if fuzzy_since else ""
    rows = conn.execute(
        "SELECT id, url, origin, guid, content_hash, title, summary, published, first_seen FROM items ORDER BY id"
    )
    return [
        KnownItem(
            id=row["id"],
            url=row["url"],
            origin=row["origin"],
            guid=row["guid"],
            content_hash=row["content_hash"],
            title=row["title"],
            summary=row["summary"],
            aliases=aliases.get(row["id"], []),
            fuzzy=max(row["published"], row["first_seen"]) >= cutoff,
        )
        for row in rows
    ]


def list_items(
    conn: sqlite3.Connection, *, brief: str | None = None, status: str | None = None
) -> list[StoredItem]:
    """Stored items, newest first; only candidates of `brief` (optionally in `status`) if given."""
    where, params = [], []
    if brief is not None:
        where.append(
            "EXISTS (SELECT 1 FROM item_briefs b WHERE b.item_id = items.id AND b.brief = ?"
            + (" AND b.status = ?" if status else "")
            + ")"
        )
        params += [brief] + ([status] if status else [])
    elif status is not None:
        where.append("EXISTS (SELECT 1 FROM item_briefs b WHERE b.item_id = items.id AND b.status = ?)")
        params.append(status)
    return _stored(conn, where, params)


def _stored(conn: sqlite3.Connection, where: list[str], params: Sequence[object]) -> list[StoredItem]:
    condition = " WHERE " + " AND ".join(where) if where else ""
    rows = conn.execute(f"SELECT * FROM items{condition} ORDER BY published DESC, id DESC", params).fetchall()
    links: dict[int, dict[str, str]] = {}
    # Only the links of the items selected, not every link in the store on every call.
    for row in conn.execute(
        f"SELECT item_id, brief, status FROM item_briefs WHERE item_id IN (SELECT id FROM items{condition})"
        " ORDER BY brief",
        params,
    ):
        links.setdefault(row["item_id"], {})[row["brief"]] = row["status"]
    return [
        StoredItem(
            item=_candidate(row),
            first_seen=dt.datetime.fromisoformat(row["first_seen"]),
            briefs=links.get(row["id"], {}),
        )
        for row in rows
    ]


def triaged_on(conn: sqlite3.Connection, *, brief: str, night: dt.date) -> list[StoredItem]:
    """The items of `brief` that the triage of run date `night` decided (any triaged status)."""
    marks = ", ".join("?" for _ in TRIAGED)
    clause = (
        "EXISTS (SELECT 1 FROM item_briefs b WHERE b.item_id = items.id AND b.brief = ?"
        f" AND b.night = ? AND b.status IN ({marks}))"
    )
    return _stored(conn, [clause], [brief, night.isoformat(), *TRIAGED])
