"""`briefbot status`: every brief, where it stands and what it needs next.

Read-only: versions and proposals are read from their files, the run ledger through a read-only
connection to the state database (no state database means no night has run). A file that cannot
be read is reported on its brief's row and makes the exit code 1; the other briefs are still shown.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from briefbot.cli._common import json_logs, project
from briefbot.config import load_brief_config
from briefbot.errors import BriefbotError
from briefbot.merge.proposal import Proposal
from briefbot.project import Project
from briefbot.store.proposals import ProposalStore
from briefbot.store.runs import list_runs

# How many recent runs to look through for the last one that included a brief.
_RUNS_SCANNED = 50


def read_runs(state_db: Path) -> list[dict[str, Any]]:
    """The most recent runs, newest first, read without creating or migrating the database.

    An absent database, or one without a run ledger yet, holds no runs. Raises sqlite3.Error or
    ValueError (a report that is not JSON) when the database cannot be read."""
    if not state_db.exists():
        return []
    if not state_db.is_file():  # a folder of that name: no night can run until it is moved away
        raise ValueError("not a file")
    conn = sqlite3.connect(f"{state_db.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return list_runs(conn, limit=_RUNS_SCANNED)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def _age(since: dt.datetime | None, now: dt.datetime) -> str | None:
    if since is None:
        return None
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _proposal_status(proposal: Proposal, latest: int | None, now: dt.datetime) -> dict[str, Any]:
    applied = proposal.applied()
    return {
        "version": proposal.candidate.version,
        "base_version": proposal.base_version,
        "revision": proposal.revision,
        "run_date": proposal.run_date.isoformat(),
        "created_at": proposal.created_at.isoformat() if proposal.created_at else None,
        "age": _age(proposal.created_at, now),
        "edits": len(proposal.verdicts),
        "applied": len(applied),
        "rejected": len(proposal.verdicts) - len(applied),
        "accepted_by_editor": sum(v.decision == "accepted" for v in proposal.verdicts),
        "rejected_by_editor": sum(v.decision == "rejected" for v in proposal.verdicts),
        "undecided": sum(v.decision is None for v in applied),
        "stale": latest is not None and latest != proposal.base_version,
    }


def _next_action(row: dict[str, Any], has_config: bool) -> str:
    proposal = row["proposal"]
    if proposal is not None:
        # Approving is refused for a proposal that applies nothing or was made from an older version.
        if proposal["applied"] == 0 or proposal["stale"]:
            return "discard"
        return "review" if proposal["undecided"] else "approve"
    if row["version"] is None and has_config:
        return "draft"
    return ""


def _last_run(slug: str, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    for run in runs:
        for entry in (run["report"] or {}).get("briefs", []):
            if entry.get("slug") == slug:
                return {
                    "run_id": run["id"],
                    "run_date": run["run_date"],
                    "status": run["status"],
                    "edits_applied": entry.get("edits_applied", 0),
                    "edits_rejected": entry.get("edits_rejected", 0),
                    "failures": len(entry.get("failures", [])),
                    "note": entry.get("note"),
                }
    return None


def brief_status(
    proj: Project, slug: str, runs: list[dict[str, Any]] | None, *, now: dt.datetime
) -> dict[str, Any]:
    """One brief's row; `runs` None means the ledger could not be read."""
    row: dict[str, Any] = {"slug": slug, "version": None, "date": None, "state": None, "proposal": None}
    problems: list[str] = []
    config_file = proj.brief_config_file(slug)
    has_config = config_file.exists()  # a folder of that name is read, and named as the problem
    if has_config:
        try:
            load_brief_config(config_file)
        except BriefbotError as exc:
            problems.append(str(exc))
    versions = proj.versions(slug)
    if versions:
        row["version"] = versions[-1]
        try:
            latest = proj.load(slug, versions[-1])
            row["date"], row["state"] = latest.date.isoformat(), latest.state
        except BriefbotError as exc:
            problems.append(str(exc))
    elif not has_config:
        problems.append(f"neither a brief.yaml nor a published version in {proj.brief_dir(slug)}")
    try:
        proposal = ProposalStore(proj, slug).load()
        if proposal is not None:
            row["proposal"] = _proposal_status(proposal, row["version"], now)
    except BriefbotError as exc:
        problems.append(str(exc))
    row["last_run"] = None if runs is None else _last_run(slug, runs)
    row["next"] = _next_action(row, has_config)
    row["problems"] = problems
    return row


def _proposal_cell(proposal: dict[str, Any] | None) -> str:
    if proposal is None:
        return "-"
    parts = [f"v{proposal['version']} rev {proposal['revision']}"]
    parts.append(f"{proposal['applied']} applied, {proposal['rejected']} rejected")
    if proposal["undecided"]:
        parts.append(f"{proposal['undecided']} undecided")
    if proposal["stale"]:
        parts.append(f"stale: made from v{proposal['base_version']}")
    if proposal["age"]:
        parts.append(f"{proposal['age']} old")
    return ", ".join(parts)


def _run_cell(run: dict[str, Any] | None, ledger: str) -> str:
    if run is None:
        return ledger
    text = f"#{run['run_id']} {run['run_date']} {run['status']}: {run['edits_applied']} applied, {run['edits_rejected']} rejected"
    if run["failures"]:
        text += f", {run['failures']} failed"
    if run["note"]:
        text += f" ({run['note']})"
    return text


def _table(rows: list[dict[str, Any]], ledger: str) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("brief", "version", "proposal", "last run", "next"):
        table.add_column(name, overflow="fold")
    for row in rows:
        version = f"v{row['version']} {row['date'] or '?'}" if row["version"] else "none"
        table.add_row(
            row["slug"],
            version,
            _proposal_cell(row["proposal"]),
            _run_cell(row["last_run"], ledger),
            row["next"] or "-",
        )
    return table


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON document.")
def status_cmd(as_json: bool) -> None:
    """List every brief: latest version and date, pending proposal, last run, and the next action.

    The next action is `review` (a proposal has edits not yet decided), `approve` (all decided),
    `discard` (the proposal applies nothing or was made from an older version), `draft` (a
    brief.yaml but no version yet) or nothing. Exit 1 if a brief's files or the run ledger could
    not be read (the problem is shown), else 0.
    """
    proj = project()
    now = dt.datetime.now(dt.UTC)
    ledger_problem = None
    runs: list[dict[str, Any]] | None
    try:
        runs = read_runs(proj.state_db)
    except (sqlite3.Error, ValueError) as exc:
        runs, ledger_problem = None, f"cannot read the run ledger in {proj.state_db}: {exc}"
    rows = [brief_status(proj, slug, runs, now=now) for slug in proj.slugs()]
    last = runs[0] if runs else None
    ledger = "unreadable" if runs is None else "not run yet" if runs else "never run"
    failed = ledger_problem is not None or any(row["problems"] for row in rows)
    if as_json:
        document = {
            "root": str(proj.root),
            "last_run": None
            if last is None
            else {k: last[k] for k in ("id", "run_date", "mode", "status", "exit_code", "finished_at")},
            "ledger_problem": ledger_problem,
            "briefs": rows,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        click.get_current_context().exit(1 if failed else 0)
    err = _Notes()
    if not rows:
        err.print(f"no briefs under {proj.briefs_dir}", event="no_briefs")
    else:
        # Piped output is not cut to 80 columns: the table takes the width its cells need.
        terminal = sys.stdout.isatty()
        console = Console(highlight=False, width=None if terminal else 100_000)
        console.print(_table(rows, ledger))
    if last is not None:
        err.print(
            f"last run: #{last['id']} {last['run_date']} ({last['mode']}) {last['status']}, exit {last['exit_code']}"
        )
    for problem in ([ledger_problem] if ledger_problem else []) + [
        f"{row['slug']}: {p}" for row in rows for p in row["problems"]
    ]:
        err.print(f"problem: {problem}", event="problem")
    click.get_current_context().exit(1 if failed else 0)


class _Notes:
    """Status's lines beside the table, on stderr: plain text, or with `--log-format json` JSON log
    lines (stderr then carries nothing else)."""

    def __init__(self) -> None:
        self.json = json_logs()
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)

    def print(self, text: str, *, event: str = "last_run") -> None:
        if self.json:
            level = logging.WARNING if event == "problem" else logging.INFO
            logging.getLogger("briefbot.status").log(level, "%s", text, extra={"event": event})
        else:
            self.console.print(text, markup=False)


COMMANDS: list[click.Command] = [status_cmd]
