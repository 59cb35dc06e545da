"""The LLM call log and answer cache (table `llm_calls`, migrations 0300 and 0301)."""

from __future__ import annotations

import datetime as dt
import sqlite3

from briefbot.errors import StoreError
from briefbot.models import StrictModel


class CallRow(StrictModel):
    """One logged exchange. Token counts are None when the endpoint did not report them."""

    id: int | None = None
    created_at: str | None = None
    stage: str
    brief: str
    model: str
    service_tier: str | None = None
    template: str
    template_hash: str
    # The template files the messages were made from, comma-separated in the order read:
    # `builtin:<name>` for a packaged one, `prompts/<name>` for the project's own override.
    # None on rows logged before migration 0301.
    template_files: str | None = None
    fingerprint: str
    ask: int = 1
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    latency_ms: int | None = None
    attempts: int
    outcome: str
    error: str | None = None
    cost_usd: float | None = None
    result: str | None = None


_COLUMNS = [name for name in CallRow.model_fields if name != "id"]


def record(conn: sqlite3.Connection, row: CallRow) -> int:
    """Append `row` to the log (committed before returning) and return its id."""
    values = row.model_copy(
        update={"created_at": row.created_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    ).model_dump()
    sql = f"INSERT INTO llm_calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
    try:
        # The connection is in autocommit mode, so the row is durable once execute returns.
        cursor = conn.execute(sql, [values[name] for name in _COLUMNS])
    except sqlite3.Error as exc:
        raise StoreError(f"cannot log LLM call ({row.stage}, {row.brief}): {exc}") from exc
    return int(cursor.lastrowid or 0)


def cached_result(conn: sqlite3.Connection, fingerprint: str) -> str | None:
    """The validated answer of an earlier successful call with this fingerprint, if any."""
    found = conn.execute(
        "SELECT result FROM llm_calls WHERE fingerprint = ? AND outcome = 'ok' AND result IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
        (fingerprint,),
    ).fetchone()
    return None if found is None else str(found[0])


def list_calls(
    conn: sqlite3.Connection, *, brief: str | None = None, limit: int | None = None
) -> list[CallRow]:
    """Logged calls, oldest first (the last `limit` when given)."""
    where, params = ("WHERE brief = ?", [brief]) if brief else ("", [])
    sql = f"SELECT * FROM llm_calls {where} ORDER BY id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = [CallRow.model_validate(dict(r)) for r in conn.execute(sql, params)]
    return rows[::-1]
