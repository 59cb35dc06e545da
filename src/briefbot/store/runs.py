"""The run ledger: runs and their stages, recorded as they progress."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def start_run(conn: sqlite3.Connection, *, run_date: str, mode: str) -> int:
    cur = conn.execute(
        "INSERT INTO runs (started_at, run_date, mode, status) VALUES (?, ?, ?, 'running')",
        (_now(), run_date, mode),
    )
    assert cur.lastrowid is not None  # an INSERT always sets it
    return cur.lastrowid


def interrupted_runs(conn: sqlite3.Connection) -> list[int]:
    """Runs left `running` by a process that died (the caller holds the run lock)."""
    return [row[0] for row in conn.execute("SELECT id FROM runs WHERE status = 'running' ORDER BY id")]


def mark_interrupted(conn: sqlite3.Connection, run_id: int) -> None:
    conn.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?", (_now(), run_id))


def stage_started(conn: sqlite3.Connection, run_id: int, stage: str, brief: str = "") -> None:
    conn.execute(
        "INSERT OR REPLACE INTO run_stages (run_id, stage, brief, status, started_at) VALUES (?, ?, ?, 'running', ?)",
        (run_id, stage, brief, _now()),
    )


def stage_finished(
    conn: sqlite3.Connection,
    run_id: int,
    stage: str,
    *,
    brief: str = "",
    status: str = "done",
    seconds: float,
    counts: dict[str, Any],
) -> None:
    conn.execute(
        "UPDATE run_stages SET status = ?, finished_at = ?, seconds = ?, counts = ? WHERE run_id = ? AND stage = ? AND brief = ?",
        (status, _now(), seconds, json.dumps(counts, sort_keys=True), run_id, stage, brief),
    )


def finish_run(
    conn: sqlite3.Connection, run_id: int, *, status: str, exit_code: int, report: dict[str, Any]
) -> None:
    conn.execute(
        "UPDATE runs SET status = ?, exit_code = ?, finished_at = ?, report = ? WHERE id = ?",
        (status, exit_code, _now(), json.dumps(report, sort_keys=True), run_id),
    )


def list_runs(conn: sqlite3.Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    result = []
    for row in rows:
        record = dict(row)
        record["report"] = json.loads(record["report"]) if record["report"] else None
        result.append(record)
    return result
