"""`briefbot feeds`: list, add, remove and check the feeds of feeds.yaml; import and export OPML.

`list` shows each feed's health as the state database has it (collect records every feed fetch);
`check` fetches every feed once, now, through the project's HTTP client (its address rule and caps)
and parses it, without touching the state database. `add`, `remove` and `import` edit feeds.yaml
as text so its comments survive (see `_feeds_file`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Literal

import click
import httpx2
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from briefbot._fs import atomic_write
from briefbot.cli._common import (
    EXIT_DONE,
    EXIT_ERROR,
    EXIT_PARTIAL,
    console,
    errors_as_json_logs,
    json_logs,
    project,
)
from briefbot.cli._feeds_file import add_feeds, remove_feed
from briefbot.collect.feeds import FeedParseError, parse_feed
from briefbot.collect.opml import feed_url, read_opml, unique_name, url_key, write_opml
from briefbot.config import (
    FeedConfig,
    FeedsFile,
    describe_error,
    load_brief_config,
    load_feeds_file,
)
from briefbot.errors import BlockedAddressError, ConfigError, FetchError
from briefbot.http import FetchStatusError, HttpSettings, fetch, make_client
from briefbot.http.redact import redact, redact_url, url_secrets
from briefbot.models import StrictModel
from briefbot.project import Project
from briefbot.store.feed_health import HEALTH_WINDOW, FeedHealth, read_feed_health

log = logging.getLogger(__name__)


@click.group("feeds")
def feeds() -> None:
    """List, add, remove and check feeds; import and export OPML."""


# -- list --------------------------------------------------------------------------------------


def _ago(stamp: str | None, now: dt.datetime) -> str:
    if stamp is None:
        return "never"
    seconds = (now - dt.datetime.fromisoformat(stamp)).total_seconds()
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def _rate(health: FeedHealth) -> str:
    return "-" if health.not_modified_rate is None else f"{round(health.not_modified_rate * 100)}%"


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
def list_cmd(as_json: bool) -> None:
    """Every feed with its tags, whether it is enabled, and its health over the last 7 days:
    last success, last error (when newer), new items, share of fetches answered 304 Not Modified."""
    proj = project()
    configured = load_feeds_file(proj.feeds_file)
    now = dt.datetime.now(dt.UTC)
    health = read_feed_health(proj.state_db, [f.name for f in configured.feeds], now=now)
    if as_json:
        rows = [
            {**feed.model_dump(), "url": redact_url(feed.url), "health": health[feed.name].model_dump()}
            for feed in configured.feeds
        ]
        click.echo(json.dumps({"window_days": HEALTH_WINDOW.days, "feeds": rows}, indent=2))
        return
    if not configured.feeds:
        click.echo(f"no feeds in {proj.feeds_file}; add one with `briefbot feeds add NAME URL`")
        return
    days = HEALTH_WINDOW.days
    table = Table(title="feeds")
    table.add_column("name", no_wrap=True)
    table.add_column("url", overflow="fold")  # shown whole: it is what you would paste
    for column in ("tags", "enabled", "last success", "last error", f"new ({days} d)"):
        table.add_column(column)
    table.add_column(f"304 ({days} d)", justify="right")
    for feed in configured.feeds:
        h = health[feed.name]
        error = "" if h.last_error is None else f"{_ago(h.last_error_at, now)}: {h.error_without(feed.url)}"
        table.add_row(
            escape(feed.name),
            escape(redact_url(feed.url)),
            escape(", ".join(feed.tags)),
            "yes" if feed.enabled else "no",
            _ago(h.last_success, now),
            escape(error),
            str(h.new_in_window),
            _rate(h),
        )
    console().print(table)


# -- add / remove ------------------------------------------------------------------------------


def _new_feed(name: str, url: str, tags: tuple[str, ...], enabled: bool) -> FeedConfig:
    # Pasted with spaces around it, as feed://, or in capitals: stored as the http(s) URL it is.
    url = feed_url(url) or url
    try:
        return FeedConfig(name=name, url=url, tags=list(tags), enabled=enabled)
    except ValidationError as exc:
        lines = describe_error(exc, Path("feed"))
        raise click.BadParameter(lines.replace("feed: ", "").replace("\n", "; ")) from None


def _duplicate(feed: FeedConfig, existing: FeedsFile) -> str | None:
    for other in existing.feeds:
        if other.name == feed.name:
            return f"a feed named {feed.name!r} exists already ({redact_url(other.url)})"
        if url_key(other.url) == url_key(feed.url):
            return f"{redact_url(feed.url)} is already the feed {other.name!r}"
    return None


def _comments_note(kept: bool, path: Path) -> None:
    if not kept:
        click.echo(f"note: {path} was rewritten from its data; its comments were not kept", err=True)


@feeds.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--tag", "tags", multiple=True, help="A tag briefs can select the feed by (repeatable).")
@click.option("--disabled", is_flag=True, help="Add it switched off (enabled: false).")
def add_cmd(name: str, url: str, tags: tuple[str, ...], disabled: bool) -> None:
    """Add feed NAME at URL to feeds.yaml (an http(s) URL; a name of letters, digits, '.', '_', '-')."""
    proj = project()
    feed = _new_feed(name, url, tags, not disabled)
    existing = load_feeds_file(proj.feeds_file)
    clash = _duplicate(feed, existing)
    if clash is not None:
        raise click.UsageError(clash)
    _comments_note(add_feeds(proj.feeds_file, [feed]), proj.feeds_file)
    click.echo(f"added {feed.name} ({redact_url(feed.url)}) to {proj.feeds_file}")


def _readers(proj: Project, feed: FeedConfig, remaining: list[FeedConfig]) -> list[str]:
    """Briefs whose selection would name nothing real without `feed` (config would not load)."""
    tags = {t for f in remaining for t in f.tags}
    broken = []
    for slug in proj.slugs():
        path = proj.brief_config_file(slug)
        if not path.exists():
            continue
        selection = load_brief_config(path).feeds
        if feed.name in selection.names or any(t not in tags for t in selection.tags):
            broken.append(slug)
    return broken


@feeds.command("remove")
@click.argument("name")
def remove_cmd(name: str) -> None:
    """Remove the feed called NAME from feeds.yaml (its collected items stay in the state database)."""
    proj = project()
    existing = load_feeds_file(proj.feeds_file)
    feed = next((f for f in existing.feeds if f.name == name), None)
    if feed is None:
        known = ", ".join(f.name for f in existing.feeds) or "none"
        raise click.UsageError(f"no feed named {name!r} in {proj.feeds_file} (feeds: {known})")
    remaining = [f for f in existing.feeds if f.name != name]
    broken = _readers(proj, feed, remaining)
    if broken:
        raise click.UsageError(
            f"briefs {', '.join(broken)} select {name!r} by name or by a tag only it has; "
            "change their brief.yaml first"
        )
    _comments_note(remove_feed(proj.feeds_file, name), proj.feeds_file)
    click.echo(f"removed {name} from {proj.feeds_file}")


# -- check -------------------------------------------------------------------------------------

Outcome = Literal["ok", "http", "parse", "blocked", "timeout", "network"]


class CheckResult(StrictModel):
    name: str
    url: str
    outcome: Outcome
    status: int | None = None
    entries: int = 0
    detail: str = ""


async def _check_one(client: httpx2.AsyncClient, feed: FeedConfig) -> CheckResult:
    result = CheckResult(name=feed.name, url=feed.url, outcome="ok")
    try:
        answer = await fetch(client, feed.url)
        result.status = answer.status
        parsed = parse_feed(
            answer.body,
            url=answer.final_url,
            headers=answer.headers,
            origin=f"feed:{feed.name}",
            fetched_at=dt.datetime.now(dt.UTC),
        )
        result.entries = parsed.entries
        result.detail = f"{parsed.entries} {'entry' if parsed.entries == 1 else 'entries'}" + (
            f", {len(parsed.warnings)} warning(s)" if parsed.warnings else ""
        )
    except FetchStatusError as exc:
        result.outcome, result.status, result.detail = "http", exc.status, f"HTTP {exc.status}"
    except BlockedAddressError as exc:
        result.outcome, result.detail = "blocked", str(exc)
    except FeedParseError as exc:
        result.outcome, result.detail = "parse", str(exc)
    except FetchError as exc:
        # httpx's own read/connect timeouts are the cause; the client's total timeout (anyio's
        # TimeoutError) is raised `from None`, so it is only the suppressed context.
        timed_out = isinstance(exc.__cause__, httpx2.TimeoutException) or isinstance(
            exc.__context__, TimeoutError
        )
        result.outcome, result.detail = ("timeout" if timed_out else "network"), str(exc)
    # What check prints (table, --json, JSON logs) never shows the URL's credentials.
    result.detail = redact(result.detail, url_secrets(feed.url))
    result.url = redact_url(feed.url)
    return result


async def _check_all(feeds: list[FeedConfig], settings: HttpSettings) -> list[CheckResult]:
    async with make_client(settings) as client:
        return list(await asyncio.gather(*(_check_one(client, feed) for feed in feeds)))


_LABELS = {
    "ok": "ok",
    "http": "HTTP error",
    "parse": "parse error",
    "blocked": "blocked address",
    "timeout": "timeout",
    "network": "network error",
}


@feeds.command("check")
@click.argument("names", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Check disabled feeds too.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Seconds per fetch (default: the HTTP settings').",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@errors_as_json_logs
def check_cmd(names: tuple[str, ...], everything: bool, timeout: float | None, as_json: bool) -> None:
    """Fetch each enabled feed (or those NAMES) once, now, and parse it: ok, HTTP status, parse error,
    blocked address, timeout or network error. The state database is not touched.

    Exit 0 when every feed is ok, 1 when some failed, 2 when none could be fetched or feeds.yaml
    cannot be read."""
    proj = project()
    try:
        configured = load_feeds_file(proj.feeds_file)
        settings = HttpSettings(**configured.http)
        if timeout is not None:
            settings = settings.model_copy(
                update={"connect_timeout": timeout, "read_timeout": timeout, "total_timeout": timeout}
            )
    except ValidationError as exc:  # an unreadable feeds.yaml is a ConfigError: exit 2 either way
        raise ConfigError(describe_error(exc, proj.feeds_file, prefix=("http",))) from None
    known = {f.name: f for f in configured.feeds}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.UsageError(f"no feed named {', '.join(map(repr, unknown))} in {proj.feeds_file}")
    chosen = [known[n] for n in names] if names else [f for f in configured.feeds if everything or f.enabled]
    if not chosen:
        click.echo("no feeds to check")
        return
    results = asyncio.run(_check_all(chosen, settings))
    failed = [r for r in results if r.outcome != "ok"]
    code = EXIT_DONE if not failed else EXIT_ERROR if len(failed) == len(results) else EXIT_PARTIAL
    if json_logs() and not as_json:
        # A scheduled check: one JSON line a failing feed and a summary on stderr, nothing on stdout.
        for r in failed:
            log.warning(
                "feeds check: %s: %s",
                r.name,
                r.detail,
                extra={
                    "event": "feed_check",
                    "feed": r.name,
                    "url": r.url,
                    "outcome": r.outcome,
                    "status": r.status,
                },
            )
        log.log(
            logging.INFO if code == EXIT_DONE else logging.WARNING if code == EXIT_PARTIAL else logging.ERROR,
            "feeds check: %s of %s feeds ok",
            len(results) - len(failed),
            len(results),
            extra={"event": "feeds_checked", "feeds": len(results), "failed": len(failed), "exit_code": code},
        )
    elif as_json:
        click.echo(json.dumps({"feeds": [r.model_dump() for r in results]}, indent=2))
    else:
        table = Table(title="feeds check")
        for column in ("name", "result", "detail"):
            table.add_column(column)
        for r in results:
            table.add_row(escape(r.name), _LABELS[r.outcome], escape(r.detail.removeprefix(f"{r.url}: ")))
        console().print(table)
        click.echo(f"{len(results) - len(failed)} of {len(results)} feeds ok")
    sys.exit(code)


# -- OPML --------------------------------------------------------------------------------------


def _read_input(file: Path) -> tuple[str, bytes]:
    """The file's name as errors show it, and its bytes; an unreadable file is `error: FILE: why`."""
    if str(file) == "-":
        return "<stdin>", sys.stdin.buffer.read()
    try:
        return str(file), file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read it ({exc.strerror or exc})") from None


@feeds.command("import")
@click.argument("file", type=click.Path(allow_dash=True, path_type=Path))
@click.option("--tag", "tags", multiple=True, help="A tag added to every imported feed (repeatable).")
def import_cmd(file: Path, tags: tuple[str, ...]) -> None:
    """Add the feeds of an OPML FILE ('-' for standard input) to feeds.yaml, named after their
    titles; feeds whose URL is already configured are skipped and reported."""
    proj = project()
    source, data = _read_input(file)
    listing = read_opml(data, source=source)
    existing = load_feeds_file(proj.feeds_file)
    taken = {f.name for f in existing.feeds}
    urls = {url_key(f.url): f.name for f in existing.feeds}
    added: list[FeedConfig] = []
    counters: dict[str, int] = {}
    for reason in listing.skipped:
        click.echo(f"skipped {redact_url(reason.partition(': ')[0])}: {reason.partition(': ')[2]}")
    for entry in listing.feeds:
        if url_key(entry.url) in urls:
            click.echo(f"skipped {redact_url(entry.url)}: already the feed {urls[url_key(entry.url)]!r}")
            continue
        name = unique_name(entry.title, entry.url, taken, counters)
        feed_tags = list(dict.fromkeys([*entry.tags, *tags]))
        added.append(FeedConfig(name=name, url=entry.url, tags=feed_tags, enabled=entry.enabled))
        taken.add(name)
        urls[url_key(entry.url)] = name
    if added:
        _comments_note(add_feeds(proj.feeds_file, added), proj.feeds_file)
    for feed in added:
        click.echo(f"added {feed.name} ({redact_url(feed.url)})")
    click.echo(f"{len(added)} added, {len(listing.feeds) - len(added) + len(listing.skipped)} skipped")


@feeds.command("export")
@click.argument("file", type=click.Path(allow_dash=True, path_type=Path))
def export_cmd(file: Path) -> None:
    """Write the configured feeds as OPML 2.0 to FILE ('-' for standard output)."""
    proj = project()
    configured = load_feeds_file(proj.feeds_file)
    text = write_opml(
        configured.feeds, title=f"briefbot feeds ({proj.root.name})", now=dt.datetime.now(dt.UTC)
    )
    if str(file) == "-":
        click.echo(text, nl=False)
        return
    if file.is_dir():
        raise ConfigError(f"{file}: is a directory; give the OPML file's name")
    try:
        atomic_write(file, text)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot write it ({exc.strerror or exc})") from None
    click.echo(f"wrote {len(configured.feeds)} feeds to {file}")


COMMANDS: list[click.Command] = [feeds]
