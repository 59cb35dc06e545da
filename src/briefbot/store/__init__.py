"""The SQLite state database: connection and named, ordered migrations.

Migrations are the files `migrations/NNNN_name.sql`, applied once each in number order and
recorded in `_migrations`. Number ranges by area keep parallel work from colliding:
0001-0099 core, 0100-0199 HTTP/collect, 0200-0299 extract, 0300-0399 LLM, 0400-0499 runs.
Query code lives in the sibling modules of this package, one per area.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from briefbot.errors import StoreError


def _migrations() -> list[tuple[str, str]]:
    folder = resources.files(__package__).joinpath("migrations")
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    )
    return files


def connect(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the state database and bring its schema up to date."""
    target = Path(path)
    try:
        if str(target) != ":memory:":
            target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open state database {target}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot prepare state database {target}: {exc}") from exc
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception. The one way the project writes.

    IMMEDIATE takes the write lock at once, so two processes cannot both read and then both try to
    write. On SQLITE_FULL or an I/O error SQLite may already have rolled back and ended the
    transaction; a second ROLLBACK would then fail, and its "no transaction is active" would
    replace the error that says what went wrong, so the rollback is only tried while one is open
    and its own failure is dropped in favour of the original.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error, re-raised below, is the one worth reporting
        raise


class _AlreadyApplied(Exception):
    """Another process applied this migration meanwhile: roll back and go on."""


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet applied; return the names applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, sql in _migrations():
        if name in done:
            continue
        try:
            with transaction(conn):
                # Re-check inside the write lock: another process may have migrated meanwhile.
                if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                    raise _AlreadyApplied(name)
                for statement in _split(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
        except _AlreadyApplied:
            continue
        applied.append(name)
    return applied


def _split(sql: str) -> list[str]:
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return [s for s in statements if s]
