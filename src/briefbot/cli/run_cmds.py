"""`briefbot run`, `briefbot runs` and `briefbot demo`: the nightly run, its ledger, the offline demo."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sqlite3
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from briefbot.cli._common import (
    console,
    errors_as_json_logs,
    json_logs,
    project,
    record_replay_options,
    shown_markup,
)
from briefbot.cli.demo import (
    DEMO_DATE,
    DEMO_SLUG,
    demo_llm_settings,
    prepare_root,
    recording_dir,
)
from briefbot.cli.review_cmds import review_cmd
from briefbot.errors import StoreError
from briefbot.llm import LLMSettings
from briefbot.pipeline.night import RunOptions, run_night
from briefbot.pipeline.notify import notify_night
from briefbot.pipeline.report import FailureSummary, RunReport, report_renderable, runs_table
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store import runs as ledger

_DATE = click.DateTime(formats=["%Y-%m-%d"])
log = logging.getLogger(__name__)


def _execute(proj: Project, options: RunOptions, out: Console | None) -> RunReport:
    """Run the night with a progress bar per stage on stderr (none with JSON logs); print the
    closing report on `out` (None: print nothing)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=json_logs(),
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, label: str, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=None)
            if total is not None:
                bar.update(tasks[stage], total=total)
            else:
                bar.update(tasks[stage], advance=1, description=f"{stage} [dim]{shown_markup(label[:40])}")

        try:
            report = asyncio.run(run_night(proj, options, progress=progress))
        except sqlite3.Error as exc:
            # e.g. "database or disk is full": the store's transactions rolled back, nothing is half-written.
            raise StoreError(f"state database {proj.state_db}: {exc}; nothing was half-written") from exc
        except OSError as exc:
            where = exc.filename or proj.root
            raise StoreError(f"cannot write {where}: {exc.strerror or exc}") from exc
    path = proj.state_dir / "runs" / str(report.run_id) / "report.json"
    if out is not None:
        out.print(report_renderable(report))
        out.print(f"report: {path}", soft_wrap=True)
    if json_logs():
        _log_finished(report, path)
    return report


def _log_finished(report: RunReport, path: Path) -> None:
    """One JSON log line closing the night, in place of the tables: the scheduler's record of it."""
    summary = FailureSummary.of(report.failures)
    level = (
        logging.INFO if report.exit_code == 0 else logging.WARNING if report.exit_code == 1 else logging.ERROR
    )
    log.log(
        level,
        "run %s %s: exit %s, %s new items, %s pages, %s LLM calls, %s failures",
        report.run_id,
        report.status,
        report.exit_code,
        report.collected,
        report.pages_fetched,
        report.llm.calls,
        summary.total,
        extra={
            "event": "run_finished",
            "run_id": report.run_id,
            "run_date": report.run_date.isoformat(),
            "mode": report.mode,
            "status": report.status,
            "exit_code": report.exit_code,
            "sources_checked": report.sources_checked,
            "collected": report.collected,
            "pages_fetched": report.pages_fetched,
            "extracted": report.extracted,
            "llm_calls": report.llm.calls,
            "cost_usd": report.llm.cost_usd,
            "proposals": [b.proposal for b in report.briefs if b.proposal],
            "failures": summary.model_dump(),
            "report": str(path),
        },
    )


@click.command("run")
@click.option(
    "--brief",
    "briefs",
    multiple=True,
    help="Only this brief (repeatable; default: every active brief).",
)
@record_replay_options(replay_must_exist=True)
@click.option(
    "--date",
    "run_date",
    type=_DATE,
    default=None,
    help="Run date YYYY-MM-DD (default: today, UTC).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the report (report.json) on stdout as one JSON document."
)
@errors_as_json_logs
def run_cmd(
    briefs: tuple[str, ...],
    record: Path | None,
    replay: Path | None,
    run_date: dt.datetime | None,
    as_json: bool,
) -> None:
    """Collect, extract, triage, propose and merge for every active brief, leaving one pending proposal each.

    Exit status: 0 done (or idle), 1 partial (some feeds, pages or calls failed, the rest went
    on), 2 nothing could be done (every feed and search failed, or an error stopped the run).
    With --log-format json, stdout stays empty (or holds --json's document) and the night's
    summary is one JSON log line on stderr.
    """
    clock = dt.datetime.now(dt.UTC)
    day = run_date.date() if run_date else clock.date()
    # A replay re-enacts a past night: its clock is that night's, so proposals come out byte-identical.
    now = dt.datetime.combine(day, dt.time(), dt.UTC) if replay else clock
    options = RunOptions(briefs=list(briefs), run_date=day, now=now, record_dir=record, replay_dir=replay)
    out = None if as_json or json_logs() else console()
    report = _execute(project(), options, out)
    _notify(report)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    click.get_current_context().exit(report.exit_code)


def _notify(report: RunReport) -> None:
    """Tell the editors (BRIEFBOT_NOTIFY) which proposals wait; a failed notifier is a warning only."""
    outcome = notify_night(report)
    if outcome.sent:
        log.info("notified: %s", ", ".join(dict.fromkeys(outcome.sent)), extra={"event": "notified"})
    for failure in outcome.failures:
        log.warning("%s", failure, extra={"event": "notify_failed"})


@click.command("runs")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the runs (with their reports) as JSON.",
)
@click.option("--limit", default=20, show_default=True, help="How many of the latest runs.")
def runs_cmd(as_json: bool, limit: int) -> None:
    """List past runs, newest first, with their figures."""
    conn = connect(project().state_db)
    try:
        runs = ledger.list_runs(conn, limit=limit)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(runs, indent=2, sort_keys=True))
    else:
        console().print(runs_table(runs))


@click.command("demo")
@click.option(
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("briefbot-demo"),
    show_default=True,
    help="Working folder for the demo project (created; an earlier demo there is replaced, anything else refused).",
)
@click.pass_context
def demo_cmd(ctx: click.Context, root: Path) -> None:
    """Replay the recorded night v6 became v7, fully offline, then show the report and the proposal."""
    recording = recording_dir()
    proj = Project(prepare_root(root))
    click.echo(f"demo project: {proj.root} (a copy of fixtures/demo/root); replaying {recording}")
    settings: LLMSettings = demo_llm_settings()
    options = RunOptions(
        run_date=DEMO_DATE,
        now=dt.datetime.combine(DEMO_DATE, dt.time(), dt.UTC),
        replay_dir=recording,
        llm=settings,
    )
    report = _execute(proj, options, console())
    if report.exit_code == 2:
        ctx.exit(2)
    # The recorded night has failures on purpose (a page that times out, one that is gone, a
    # malformed feed): the demo succeeds when the replay ran through, whatever the night's status.
    ctx.find_root().obj = proj
    click.echo("")
    ctx.invoke(review_cmd, slug=DEMO_SLUG, as_json=False)
    click.echo(
        f"\nnext: briefbot --root {proj.root} decide {DEMO_SLUG} --accept 1,2 ... ; "
        f"briefbot --root {proj.root} approve {DEMO_SLUG}"
    )


COMMANDS: list[click.Command] = [run_cmd, runs_cmd, demo_cmd]
