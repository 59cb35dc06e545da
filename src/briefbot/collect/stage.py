"""The collect stage: fetch every feed and search concurrently, then dedupe and store in order.

Fetching (the slow part) runs with bounded concurrency; parsing happens as each answer arrives;
dedupe and storage then run in the fixed order of the job list, so the same answers always
produce the same items (record/replay relies on it). A failing feed or search is recorded in its
report and never stops the others.

Only fresh news is weighed: an item published before its brief's cutoff (the latest version's
date minus the brief's `fresh_days`; before a first version, the run date minus
`draft_fresh_days`) is stored, so dedupe knows it, but linked to the brief as `stale`, which no
later stage takes. An item dated only by its fetch time is always weighed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Literal

import httpx2
from pydantic import ConfigDict, Field

from briefbot.collect.dedupe import Deduper, KnownItem
from briefbot.collect.feeds import ParsedFeed, newest, parse_feed
from briefbot.collect.freshness import Sourced, fresh_since
from briefbot.collect.search import Provider, make_provider
from briefbot.config import Config
from briefbot.errors import BriefbotError, NotFoundError, ReplayMissError, StoreError
from briefbot.http import FetchStatusError, Validators, fetch
from briefbot.models import CandidateItem, StrictModel
from briefbot.store import items as store
from briefbot.store import transaction
from briefbot.store.feed_health import FeedFetch, record_fetches
from briefbot.store.http_cache import load_validators, save_validators
from briefbot.timestamps import parse_timestamp

# Fetches in flight across all hosts; each host still gets at most the HTTP client's per-host
# limit. A revalidation night is nothing but waiting on 304s, so the wider window is what makes it
# fast (bench/collect.py: all-304 run 0.46 s at 32, 0.39 s at 64, for 200 feeds at 50 ms).
DEFAULT_CONCURRENCY = 64
# Syndicated copies appear within days of each other; older items keep only exact-key dedupe.
NEAR_DUPLICATE_WINDOW = dt.timedelta(days=30)


class SourceReport(StrictModel):
    """One row of the closing table: a feed, or one query on one search provider."""

    kind: Literal["feed", "search"]
    name: str
    brief: str | None = None  # the brief a search ran for
    query: str | None = None
    url: str
    status: int | None = None  # HTTP status; None when no answer arrived
    not_modified: bool = False
    entries: int = 0
    new: int = 0  # stored for the first time, to be weighed
    stale: int = 0  # stored for the first time, too old for every brief it is a candidate of
    duplicate: int = 0
    # Items over the per-run limit (`limit`, feeds.yaml `collect:`), left out: the oldest ones.
    left: int = 0
    limit: int | None = None
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return self.name if self.kind == "feed" else f"{self.name} [{self.brief}] {self.query!r}"

    @property
    def note(self) -> str | None:
        """What the per-run limit left out, as the reports say it; None when nothing was."""
        if not self.left or self.limit is None:
            return None
        what, key = (
            ("entries", "max_entries_per_feed")
            if self.kind == "feed"
            else ("results", "max_results_per_search")
        )
        return (
            f"{self.kind} {self.label}: took {self.limit:,} of {self.limit + self.left:,} {what}, "
            f"the newest (feeds.yaml collect.{key}: {self.limit})"
        )


class CollectReport(StrictModel):
    sources: list[SourceReport]
    new_item_ids: list[int]
    # Per brief: candidates stored as `stale` by this collection, at link time (a source's new
    # item, or a copy of a stored one) or by the sweep of its never-triaged items (`mark_stale`).
    stale_by_brief: dict[str, int] = Field(default_factory=dict)

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def stale(self) -> int:
        return sum(s.stale for s in self.sources)

    @property
    def duplicate(self) -> int:
        return sum(s.duplicate for s in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.errors]

    @property
    def left(self) -> int:
        return sum(s.left for s in self.sources)

    @property
    def notes(self) -> list[str]:
        """One line per source the per-run limit cut; a cut is no failure (exit status unchanged)."""
        return [note for s in self.sources if (note := s.note) is not None]


class _Job(StrictModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    report: SourceReport
    origin: str
    briefs: list[str]  # the briefs found items become candidates for
    limit: int  # at most this many items taken from the answer (the newest)
    provider: object | None = None  # a search Provider; None for a feed
    parsed: ParsedFeed | None = None
    # Kept until the items are stored, so a crash in between never turns into a 304 that hides them.
    validators: Validators | None = None
    # A replay that lacks this request: the recording is broken, which ends the whole collection.
    replay_miss: ReplayMissError | None = None


def plan(config: Config, *, only: str | None = None) -> list[_Job]:
    """The fetches of one collection: feeds (those some active brief reads), then searches."""
    active = [slug for slug in config.active_briefs() if only is None or slug == only]
    readers: dict[str, list[str]] = {feed.name: [] for feed in config.feeds.enabled_feeds()}
    for slug in config.active_briefs():
        for feed in config.feeds_for(slug):
            readers[feed.name].append(slug)
    jobs: list[_Job] = []
    for feed in config.feeds.enabled_feeds():
        # With no briefs at all, feeds are still collected so items are there when briefs arrive.
        wanted = (only is None and not config.briefs) or any(s in active for s in readers[feed.name])
        if wanted:
            report = SourceReport(kind="feed", name=feed.name, url=feed.url)
            # Items go to every brief reading the feed, not only `only`: the feed's validators are
            # shared, so a brief skipped now would never see these items after the next 304.
            jobs.append(
                _Job(
                    report=report,
                    origin=f"feed:{feed.name}",
                    briefs=readers[feed.name],
                    limit=config.feeds.collect.max_entries_per_feed,
                )
            )
    for slug in active:
        for provider_config in config.feeds.enabled_providers():
            provider = make_provider(provider_config)
            for query in config.briefs[slug].queries:
                report = SourceReport(
                    kind="search",
                    name=provider.name,
                    brief=slug,
                    query=query,
                    url=provider.request_url(query),
                )
                jobs.append(
                    _Job(
                        report=report,
                        origin=f"reactive:{slug}",
                        briefs=[slug],
                        provider=provider,
                        limit=config.feeds.collect.max_results_per_search,
                    )
                )
    return jobs


def _fetch_time(headers: Mapping[str, str], fallback: dt.datetime) -> dt.datetime:
    # The server's Date stands in for "fetch time" so a replayed answer dates items identically.
    value = next((v for k, v in headers.items() if k.lower() == "date"), None)
    return parse_timestamp(value) or fallback


async def _run_job(
    job: _Job, client: httpx2.AsyncClient, conn: sqlite3.Connection, *, now: dt.datetime
) -> None:
    report = job.report
    started = time.perf_counter()
    try:
        answer = await fetch(client, report.url, validators=load_validators(conn, report.url))
        report.status = answer.status
        report.not_modified = answer.not_modified
        if answer.not_modified:
            job.validators = answer.validators
            return  # 304: nothing re-parsed
        fetched_at = _fetch_time(answer.headers, now)
        # _Job holds it as `object`: pydantic cannot check a Protocol field; make_provider made it.
        provider: Provider | None = job.provider  # type: ignore[assignment]  # held as object, see above
        parse = provider.parse if provider is not None else parse_feed
        parsed = parse(
            answer.body,
            url=answer.final_url,
            headers=answer.headers,
            origin=job.origin,
            fetched_at=fetched_at,
        )
        kept = newest(parsed.items, job.limit)
        if len(kept) < len(parsed.items):
            report.left, report.limit = len(parsed.items) - len(kept), job.limit
            parsed = parsed.model_copy(update={"items": kept})
        job.parsed = parsed
        job.validators = answer.validators
        report.entries = parsed.entries
        report.warnings.extend(parsed.warnings)
    except FetchStatusError as exc:
        report.status = exc.status
        report.errors.append(str(exc))
    except ReplayMissError as exc:
        # Not this feed's failure: raised by `collect` once every job has ended (see there).
        job.replay_miss = exc
        report.errors.append(str(exc))
    except BriefbotError as exc:
        report.errors.append(str(exc))
    except Exception as exc:
        report.errors.append(f"{report.url}: {type(exc).__name__}: {exc}")
    finally:
        report.seconds = round(time.perf_counter() - started, 3)


def _store(
    jobs: list[_Job],
    conn: sqlite3.Connection,
    *,
    sourced: Mapping[str, Sourced],
    cutoffs: Mapping[str, dt.datetime],
    stale: dict[str, int],
    night: dt.date | None,
    now: dt.datetime,
) -> list[int]:
    upcoming = [item.title for job in jobs if job.parsed is not None for item in job.parsed.items]
    deduper = Deduper(store.known_items(conn, fuzzy_since=now - NEAR_DUPLICATE_WINDOW), upcoming=upcoming)
    new_ids: list[int] = []
    ranks: dict[str, int] = {}
    for index, job in enumerate(jobs):  # plan order: feeds as configured, then searches
        ranks.setdefault(job.origin, index)
    # One transaction: an interrupted collection stores nothing and leaves the validators as they
    # were, so the next run fetches the same answers again instead of a 304 that hides them.
    with transaction(conn):
        for job in jobs:
            if job.validators is not None:
                save_validators(conn, job.report.url, job.validators)
            if job.parsed is None:
                continue
            for item in job.parsed.items:
                new_id = _store_item(
                    item,
                    job,
                    conn,
                    deduper=deduper,
                    sourced=sourced,
                    cutoffs=cutoffs,
                    stale=stale,
                    ranks=ranks,
                    night=night,
                    now=now,
                )
                if new_id is not None:
                    new_ids.append(new_id)
        # Items of earlier collections no triage has weighed yet, now older than the cutoff.
        for slug, cutoff in cutoffs.items():
            swept = store.mark_stale(conn, slug, fresh_since=cutoff, now=now)
            if swept:
                stale[slug] = stale.get(slug, 0) + swept
        # Feed health: every feed's outcome, failures included, in the same transaction as its items.
        record_fetches(
            conn, [_fetch_outcome(job.report) for job in jobs if job.report.kind == "feed"], now=now
        )
    return new_ids


def _fetch_outcome(report: SourceReport) -> FeedFetch:
    return FeedFetch(
        feed=report.name,
        url=report.url,
        status=report.status,
        not_modified=report.not_modified,
        entries=report.entries,
        new=report.new,
        error="; ".join(report.errors) or None,
    )


def _database_file(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return (row[2] if row is not None else "") or "an in-memory database"


def _store_item(
    item: CandidateItem,
    job: _Job,
    conn: sqlite3.Connection,
    *,
    deduper: Deduper,
    sourced: Mapping[str, Sourced],
    cutoffs: Mapping[str, dt.datetime],
    stale: dict[str, int],
    ranks: Mapping[str, int],
    night: dt.date | None,
    now: dt.datetime,
) -> int | None:
    briefs = [slug for slug in job.briefs if slug not in sourced or item.url not in sourced[slug].urls]

    def link(item_id: int) -> bool:
        """Make the stored item a candidate of `briefs`, `stale` for those whose cutoff its stored
        date is before; True when it is stale for every one of them."""
        weighed = False
        for slug in briefs:
            cutoff = cutoffs.get(slug)
            old = cutoff is not None and store.too_old(conn, item_id, fresh_since=cutoff)
            status = store.STALE if old else store.NEW
            if store.link_brief(conn, item_id, slug, status=status, now=now) and old:
                stale[slug] = stale.get(slug, 0) + 1
            weighed = weighed or not old
        return bool(briefs) and not weighed

    match = deduper.check(item)
    if match is not None:
        job.report.duplicate += 1
        if match.item_id is not None:
            # The same article: the copy one whole collection would have kept wins, whatever came
            # first (a feed failed, the run was cut short): feeds in configuration order, then searches.
            stored = store.origin_of(conn, match.item_id)
            better = ranks.get(item.origin, len(ranks)) < ranks.get(stored or "", len(ranks))
            adopted = better and store.adopt_copy(conn, match.item_id, item, night=night, now=now)
            if adopted and match.reason != "url":
                deduper.add(KnownItem.of(item, item_id=match.item_id))
            elif match.reason != "url":
                store.add_alias(conn, item.url, match.item_id, reason=match.reason, now=now)
            # A copy found for another brief still makes the stored item that brief's candidate.
            link(match.item_id)
        return None
    item_id = store.insert_item(conn, item, now=now)
    deduper.add(KnownItem.of(item, item_id=item_id))
    too_old = link(item_id)
    if job.briefs and not briefs:
        # Already one of every target brief's sources: kept as known, but nobody's candidate.
        job.report.duplicate += 1
        return None
    if too_old:
        job.report.stale += 1
        return None
    job.report.new += 1
    return item_id


async def collect(
    config: Config,
    *,
    client: httpx2.AsyncClient,
    conn: sqlite3.Connection,
    sourced: Mapping[str, Sourced] | None = None,
    only: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    now: dt.datetime | None = None,
    night: dt.date | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> CollectReport:
    """Collect every feed and search of `config` (or those of brief `only`) into the store.

    `client` comes from `briefbot.http.client.make_client` (safety rules, caps, record/replay); `conn` is
    the state database (validators and items). `sourced` maps a brief to what its latest version
    holds (see `freshness.source_urls`): its sources, which found items are not candidates for, and its
    date, from which its freshness cutoff counts (`freshness.fresh_since`; a brief absent from it has none).
    `night` is the run date of a nightly run: a better copy of an item that run's night already
    triaged may still replace it (`adopt_copy`), and a brief with no version counts its
    freshness window back from it.

    A failed fetch or parse is that source's error in the report; a replay miss raises
    `ReplayMissError` (nothing stored), and a database failure `StoreError`.
    """
    if only is not None and only not in config.briefs:
        raise NotFoundError(f"no brief {only!r} in the configuration")
    clock = now or dt.datetime.now(dt.UTC)
    jobs = plan(config, only=only)
    if on_planned:
        on_planned(len(jobs))
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(job: _Job) -> None:
        async with gate:
            await _run_job(job, client, conn, now=clock)
        if on_done:
            on_done(job.report)

    await asyncio.gather(*(one(job) for job in jobs))
    # A recording that misses a request does not match this configuration: collecting the rest
    # would pass a half-replayed run off as a replay. Raised before anything is stored, and for
    # the first miss in plan order so the same recording always names the same request.
    missed = next((job.replay_miss for job in jobs if job.replay_miss is not None), None)
    if missed is not None:
        raise missed
    database = _database_file(conn)  # asked now: after a disk error the connection may not answer
    held = sourced or {}
    stale: dict[str, int] = {}
    try:
        new_ids = _store(
            jobs,
            conn,
            sourced=held,
            cutoffs=fresh_since(config, held, night=night),
            stale=stale,
            night=night,
            now=clock,
        )
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorname", None)
        cause = f"{exc} ({code})" if code else str(exc)
        raise StoreError(f"storing collected items in {database} failed: {cause}") from exc
    return CollectReport(
        sources=[job.report for job in jobs], new_item_ids=new_ids, stale_by_brief=dict(sorted(stale.items()))
    )
