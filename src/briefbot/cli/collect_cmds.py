"""`briefbot collect` and `briefbot items`: gather feeds and searches, list what was gathered."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from briefbot.cli._common import (
    console,
    errors_as_json_logs,
    exit_status,
    json_logs,
    project,
    record_replay_options,
    shown,
)
from briefbot.collect.freshness import source_urls
from briefbot.collect.stage import (
    DEFAULT_CONCURRENCY,
    CollectReport,
    SourceReport,
    collect,
)
from briefbot.config import Config, http_settings, load_config
from briefbot.errors import NotFoundError
from briefbot.http import HttpSettings, make_client
from briefbot.pipeline.report import FailureSummary
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store import items as item_store
from briefbot.store.lock import RUN_LOCK_FILE, RunLock

log = logging.getLogger(__name__)


async def _collect(
    config: Config,
    proj: Project,
    settings: HttpSettings,
    *,
    slug: str | None,
    concurrency: int,
    progress: Progress,
) -> CollectReport:
    task = progress.add_task("collecting", total=None)

    def planned(total: int) -> None:
        progress.update(task, total=total)

    def done(report: SourceReport) -> None:
        progress.update(task, advance=1, description=f"collecting [dim]{report.label[:40]}")

    conn = connect(proj.state_db)
    try:
        async with make_client(settings) as client:
            return await collect(
                config,
                client=client,
                conn=conn,
                sourced=source_urls(proj, config.active_briefs()),
                only=slug,
                concurrency=concurrency,
                on_planned=planned,
                on_done=done,
            )
    finally:
        conn.close()


def failure_lines(report: CollectReport) -> list[str]:
    """Each failed source as the night names it: "<kind> <label>: <errors>"."""
    return [f"{s.kind} {s.label}: {'; '.join(s.errors)}" for s in report.failed]


def report_table(report: CollectReport) -> Table:
    table = Table(title="collect", show_lines=False)
    table.add_column("feed / provider", overflow="fold")
    table.add_column("HTTP", justify="right")
    table.add_column("new", justify="right")
    # Only when some source's items were too old to weigh, so the usual table stays as it was.
    with_stale = report.stale > 0
    if with_stale:
        table.add_column("stale", justify="right")
    table.add_column("duplicate", justify="right")
    # Likewise only when the per-run limit left some source's oldest entries out.
    with_left = report.left > 0
    if with_left:
        table.add_column("left", justify="right")
    table.add_column("errors", overflow="fold")
    for source in report.sources:
        status = "-" if source.status is None else str(source.status)
        errors = "; ".join(source.errors)
        if not errors and source.warnings:
            errors = f"[yellow]{len(source.warnings)} warning(s)[/yellow]"
        stale = [str(source.stale)] if with_stale else []
        left = [str(source.left)] if with_left else []
        table.add_row(source.label, status, str(source.new), *stale, str(source.duplicate), *left, errors)
    return table


@click.command("collect")
@click.option("--brief", "slug", default=None, help="Only the feeds and searches of this brief.")
@record_replay_options()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Fetches in flight at once (per-host limits still apply).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@errors_as_json_logs
def collect_cmd(
    slug: str | None, record: Path | None, replay: Path | None, concurrency: int, as_json: bool
) -> None:
    """Fetch feeds and run each brief's searches into deduplicated candidate items.

    Takes the project's run lock: while `briefbot run` or another collect holds it, this one
    refuses at once, naming the holder's PID and command.

    A feed adds at most `collect.max_entries_per_feed` items a run and a search at most
    `collect.max_results_per_search` (feeds.yaml; the newest), and the report says what was left.

    Exit status: 0 every feed and search answered (or there was none; entries left by those limits
    are no failure), 1 some failed and the others were collected, 2 every one failed or another run
    holds the lock.
    """
    proj = project()
    config = load_config(proj)
    if slug is not None and slug not in config.briefs:
        proj.require_brief(slug)  # a mistyped slug: the nearest briefs and the list
        raise NotFoundError(f"no brief {slug!r}: {proj.brief_config_file(slug)} does not exist")
    settings = http_settings(config, proj, record=record, replay=replay)
    quiet = as_json or json_logs()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # The night's lock: a second collect, or one during a night, would fetch everything again and
    # then store the same items twice. Refused at once (exit 2), before any fetch or store write.
    with (
        RunLock(proj.state_dir / RUN_LOCK_FILE, command="collect"),
        Progress(*columns, console=Console(stderr=True), transient=True, disable=quiet) as progress,
    ):
        report = asyncio.run(
            _collect(config, proj, settings, slug=slug, concurrency=concurrency, progress=progress)
        )
    code = exit_status(done=len(report.sources) - len(report.failed), failed=len(report.failed))
    ctx = click.get_current_context()
    if json_logs():
        log.log(
            logging.INFO if code == 0 else logging.WARNING if code == 1 else logging.ERROR,
            "collect: %s new, %s duplicate, %s of %s sources failed",
            report.new,
            report.duplicate,
            len(report.failed),
            len(report.sources),
            extra={
                "event": "collect_finished",
                "exit_code": code,
                "sources": len(report.sources),
                "new": report.new,
                "stale": report.stale,
                "duplicate": report.duplicate,
                "left": report.left,
                "notes": report.notes,
                "failures": FailureSummary.of(failure_lines(report)).model_dump(),
            },
        )
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        ctx.exit(code)
    if json_logs():
        ctx.exit(code)
    if not report.sources:
        if slug is not None and not config.briefs[slug].active:
            click.echo(
                f"nothing to collect: brief {slug!r} is inactive (active: false in {proj.brief_config_file(slug)})"
            )
        else:
            click.echo("nothing to collect: no enabled feeds read by an active brief, and no searches")
        return
    out = console()
    out.print(report_table(report))
    failed = len(report.failed)
    out.print(
        f"{report.new} new, {f'{report.stale} stale, ' if report.stale else ''}{report.duplicate} duplicate, "
        f"{failed} of {len(report.sources)} sources failed",
        soft_wrap=True,
    )
    for note in report.notes:  # what the per-run limits left out: no failure, the exit status stays
        out.print(note, soft_wrap=True, markup=False, highlight=False)
    ctx.exit(code)


@click.command("items")
@click.option("--brief", "slug", default=None, help="Only candidates of this brief.")
@click.option("--status", default=None, help="Only items in this status (new, extracted, ...).")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array) instead of a table.")
def items_cmd(slug: str | None, status: str | None, limit: int | None, as_json: bool) -> None:
    """List collected items, newest first."""
    proj = project()
    if slug is not None:
        proj.require_brief(slug)  # a mistyped slug: the nearest briefs and the list
    conn = connect(proj.state_db)
    try:
        found = item_store.list_items(conn, brief=slug, status=status)
    finally:
        conn.close()
    found = found[:limit] if limit else found
    if as_json:
        click.echo(
            json.dumps([json.loads(entry.model_dump_json()) for entry in found], indent=2, ensure_ascii=False)
        )
        return
    table = Table(title=f"{len(found)} item(s)")
    for name in ("id", "published", "origin", "title", "briefs"):
        table.add_column(name, overflow="fold")
    for entry in found:
        item = entry.item
        briefs = ", ".join(f"{b}:{s}" for b, s in entry.briefs.items())
        table.add_row(
            str(item.id),
            item.published.strftime("%Y-%m-%d %H:%M"),
            shown(item.origin),
            shown(item.title),
            briefs,
        )
    console().print(table)


COMMANDS: list[click.Command] = [collect_cmd, items_cmd]
