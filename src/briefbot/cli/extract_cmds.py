"""`briefbot extract`: pages to documents, for given files/URLs or for the pending collected items."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import io
import json
import logging
import time
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
)
from briefbot.config import http_settings, load_config
from briefbot.errors import BriefbotError, ExtractError, NotFoundError
from briefbot.extract.document import MAX_INPUT_BYTES, extract_document
from briefbot.extract.pool import DEFAULT_TIMEOUT
from briefbot.extract.stage import DEFAULT_CONCURRENCY, ExtractReport
from briefbot.http import HttpSettings, fetch, make_client
from briefbot.models import Document
from briefbot.pipeline.items import ExtractTally, extract_queue, extract_waiting, page_store
from briefbot.pipeline.report import FailureSummary, failures_renderable
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store.lock import RUN_LOCK_FILE, RunLock

log = logging.getLogger(__name__)

_JSON_FIELDS = ("url", "title", "author", "date", "sitename", "language", "text")


def _settings(proj: Project, *, record: Path | None, replay: Path | None) -> HttpSettings:
    # feeds.yaml's `http:` section when there is one; a bare folder still extracts with defaults.
    if proj.feeds_file.exists():
        return http_settings(load_config(proj), proj, record=record, replay=replay)
    return HttpSettings(record_dir=record, replay_dir=replay)


def read_page_file(path: Path) -> bytes:
    """A saved page, gunzipped when it is gzip (by its magic bytes, not its name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            # Bounded: a small gzip bomb must not expand past the extraction cap.
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as handle:
                raw = handle.read(MAX_INPUT_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise ExtractError(f"{path}: broken gzip file: {exc}") from exc
    return raw


async def _fetch_urls(
    urls: list[str], settings: HttpSettings
) -> list[tuple[str, bytes | BriefbotError, str | None]]:
    async with make_client(settings) as client:

        async def one(url: str) -> tuple[str, bytes | BriefbotError, str | None]:
            try:
                result = await fetch(client, url)
            except BriefbotError as exc:
                return url, exc, None
            return result.final_url, result.body, result.headers.get("content-type")

        return list(await asyncio.gather(*(one(url) for url in urls)))


def _emit(document: Document, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({f: getattr(document, f) for f in _JSON_FIELDS}, ensure_ascii=False))
        return
    click.echo(f"# {document.title or '(no title)'}")
    meta = [
        f"{f}: {getattr(document, f)}"
        for f in ("url", "author", "date", "sitename", "language")
        if getattr(document, f)
    ]
    if document.fallback_reason:
        meta.append(f"fallback: {document.fallback_reason}")
    click.echo("\n".join(meta) + "\n\n" + document.text + "\n")


def _extract_given(
    targets: tuple[str, ...],
    *,
    url: str | None,
    as_json: bool,
    proj: Project,
    record: Path | None,
    replay: Path | None,
) -> int:
    if url is not None and len(targets) != 1:
        raise click.UsageError("--url gives the address of one file; pass exactly one FILE with it")
    remote = [t for t in targets if t.startswith(("http://", "https://"))]
    fetched = {}
    if remote:
        settings = _settings(proj, record=record, replay=replay)
        fetched = dict(zip(remote, asyncio.run(_fetch_urls(remote, settings)), strict=False))
    failures = 0
    for target in targets:
        try:
            if target in fetched:
                final_url, body, content_type = fetched[target]
                if isinstance(body, BriefbotError):
                    raise body
                document = extract_document(body, url=final_url, content_type=content_type, summary=None)
            else:
                path = Path(target)
                page_url = url or path.resolve().as_uri()
                document = extract_document(
                    read_page_file(path), url=page_url, content_type=None, summary=None
                )
        except BriefbotError as exc:
            # One bad page is reported and skipped; the others still print.
            if json_logs():
                log.error("page %s failed: %s", target, exc, extra={"event": "page_failed", "target": target})
            else:
                click.echo(f"error: {exc}", err=True)
            failures += 1
            continue
        _emit(document, as_json=as_json)
    return failures


def _report_table(report: ExtractReport) -> Table:
    table = Table(title="extract")
    for name in ("extracted", "fallback", "failed", "time"):
        table.add_column(name, justify="right")
    table.add_row(
        str(report.extracted),
        str(report.fallback),
        str(report.failed),
        f"{report.seconds:.1f}s",
    )
    return table


def _extract_pending(
    slug: str | None,
    *,
    workers: int | None,
    timeout: float,
    concurrency: int,
    as_json: bool,
    record: Path | None,
    replay: Path | None,
) -> int:
    """The night's extract stage on the pending items; the exit status."""
    proj = project()
    if slug is not None:
        proj.require_brief(slug)  # a mistyped slug: the nearest briefs and the list
    settings = _settings(proj, record=record, replay=replay)
    # The night's lock, as `collect` takes it: an extract beside a night or another extract would
    # fetch and extract the same pages twice. Refused at once (exit 2), before any fetch.
    with RunLock(proj.state_dir / RUN_LOCK_FILE, command="extract"):
        return _extract_locked(
            proj, slug, settings, workers=workers, timeout=timeout, concurrency=concurrency, as_json=as_json
        )


def _extract_locked(
    proj: Project,
    slug: str | None,
    settings: HttpSettings,
    *,
    workers: int | None,
    timeout: float,
    concurrency: int,
    as_json: bool,
) -> int:
    conn = connect(proj.state_db)
    try:
        # The night's extract stage, on the same items: those waiting at status `new`.
        waiting = extract_queue(conn, brief=slug)
        if not waiting:
            click.echo(
                "nothing to extract: no collected item"
                + (f" of {slug}" if slug else "")
                + " is at status new"
            )
            return 0
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        quiet = as_json or json_logs()
        with Progress(*columns, console=Console(stderr=True), transient=True, disable=quiet) as progress:
            task = progress.add_task("extracting", total=len(waiting))

            async def run() -> ExtractTally:
                async with make_client(settings) as client:
                    return await extract_waiting(
                        conn,
                        client,
                        waiting,
                        pages=page_store(proj),
                        now=dt.datetime.now(dt.UTC),
                        on_done=lambda label: progress.update(task, advance=1),
                        workers=workers,
                        timeout=timeout,
                        concurrency=concurrency,
                    )

            tally = asyncio.run(run())
    finally:
        conn.close()
    report = tally.report
    # A page that failed still leaves the feed's summary as its document; the stage did nothing
    # of its own when every page failed.
    code = exit_status(done=report.extracted + report.fallback, failed=report.failed)
    if json_logs():
        log.log(
            logging.INFO if code == 0 else logging.WARNING if code == 1 else logging.ERROR,
            "extract: %s extracted, %s on the feed summary, %s failed",
            report.extracted,
            report.fallback,
            report.failed,
            extra={
                "event": "extract_finished",
                "exit_code": code,
                "extracted": report.extracted,
                "fallback": report.fallback,
                "failed": report.failed,
                "pages_fetched": tally.pages_fetched,
                "failures": FailureSummary.of(tally.failures).model_dump(),
            },
        )
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    elif not json_logs():
        out = console()
        out.print(_report_table(report))
        # The reasons name the URL (or stored file) already.
        out.print(*failures_renderable(tally.failures, listed="all in `briefbot extract --json`"))
    return code


@click.command("extract")
@click.argument("targets", nargs=-1, metavar="[FILE_OR_URL]...")
@click.option(
    "--url",
    default=None,
    help="The address of the one FILE given (for relative links and dates in URLs).",
)
@click.option(
    "--brief",
    "slug",
    default=None,
    help="Only the pending items of this brief (without FILE_OR_URL).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object a line (url, title, author, date, sitename, language, text).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Extraction processes (default: all cores).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.01),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds one page may take to extract before its worker is killed.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Page fetches in flight at once (per-host limits still apply).",
)
@record_replay_options()
@errors_as_json_logs
def extract_cmd(
    targets: tuple[str, ...],
    url: str | None,
    slug: str | None,
    as_json: bool,
    workers: int | None,
    timeout: float,
    concurrency: int,
    record: Path | None,
    replay: Path | None,
) -> None:
    """Extract article text and metadata.

    With FILE_OR_URL arguments, print a document for each page (a file may be gzip). Without,
    run the night's extract stage: every collected item still at status `new` gets a stored
    document (its page fetched and extracted, or one stored earlier reused).

    Exit status: 0 every page extracted (or nothing to do), 1 some pages failed (their items
    keep the feed's summary), 2 every page failed.
    """
    if targets:
        if slug is not None:
            raise click.UsageError("--brief selects pending items; it does not combine with FILE_OR_URL")
        started = time.monotonic()
        failures = _extract_given(
            targets,
            url=url,
            as_json=as_json,
            proj=project(require=False),  # pages given by name: no project state is touched
            record=record,
            replay=replay,
        )
        if failures and not json_logs():
            click.echo(
                f"{failures} of {len(targets)} page(s) failed ({time.monotonic() - started:.1f}s)",
                err=True,
            )
        click.get_current_context().exit(exit_status(done=len(targets) - failures, failed=failures))
    if url is not None:
        raise click.UsageError("--url needs a FILE")
    code = _extract_pending(
        slug,
        workers=workers,
        timeout=timeout,
        concurrency=concurrency,
        as_json=as_json,
        record=record,
        replay=replay,
    )
    click.get_current_context().exit(code)


COMMANDS: list[click.Command] = [extract_cmd]
