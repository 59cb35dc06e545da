"""The nightly run: collect -> extract -> triage -> propose -> merge for every active brief.

The night builds the I/O (HTTP client, LLM client, store, clock) and hands it to each stage
explicitly; `briefbot extract` and `briefbot propose` call the same stage functions. Each stage's
output is stored as it is made (items in one transaction, each document as its page finishes, LLM answers
in the call cache, the proposal as one atomic file, item statuses last), so a run killed at any
moment is resumed by the next: collected items wait at status `new`, extracted ones at
`extracted`, and the LLM calls already answered are served from the cache.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field

from briefbot._fs import atomic_write
from briefbot.collect.freshness import source_urls
from briefbot.collect.stage import CollectReport, SourceReport, collect
from briefbot.config import Config, http_settings, load_config
from briefbot.errors import NotFoundError
from briefbot.http import make_client
from briefbot.llm import LLMClient, LLMSettings
from briefbot.models import StrictModel
from briefbot.pipeline.bookkeeping import Bookkeeping, Progress
from briefbot.pipeline.brief import brief_stage
from briefbot.pipeline.items import ExtractTally, extract_queue, extract_waiting, page_store
from briefbot.pipeline.report import BriefReport, RunReport, RunStatus
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store import runs as ledger
from briefbot.store.lock import RUN_LOCK_FILE, RunLock


class RunOptions(StrictModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    briefs: list[str] = []  # empty = every active brief
    run_date: dt.date
    now: dt.datetime  # the run's clock (stamps, proposal times); fixed when replaying
    record_dir: Path | None = None
    replay_dir: Path | None = None
    llm: LLMSettings | None = None  # None = feeds.yaml's `llm:` plus the environment
    # A brief with no published version is drafted from at least this many relevant items
    # (None: each brief's own `draft_min_items` in brief.yaml).
    draft_min_items: int | None = Field(default=None, ge=1)

    @property
    def mode(self) -> Literal["live", "record", "replay"]:
        return "record" if self.record_dir else "replay" if self.replay_dir else "live"


class Night:
    """One run's state while it goes; `run()` is the whole night."""

    def __init__(self, project: Project, options: RunOptions, progress: Progress | None) -> None:
        self.project = project
        self.options = options
        self.progress = progress or (lambda stage, label, total: None)
        self.conn = connect(project.state_db)
        self.run_dir: Path = project.state_dir / "runs"
        self.report: RunReport
        self.book: Bookkeeping

    async def run(self) -> RunReport:
        options, conn = self.options, self.conn
        interrupted = ledger.interrupted_runs(conn)
        for run_id in interrupted:
            ledger.mark_interrupted(conn, run_id)
        run_id = ledger.start_run(conn, run_date=options.run_date.isoformat(), mode=options.mode)
        self.run_dir = self.project.state_dir / "runs" / str(run_id)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.report = RunReport(
            run_id=run_id,
            run_date=options.run_date,
            mode=options.mode,
            started_at=dt.datetime.now(dt.UTC),
            resumed=interrupted,
        )
        self.book = Bookkeeping(conn, self.report, progress=self.progress)
        try:
            await self._night()
        except BaseException as exc:
            self.report.failures.append(f"run stopped: {type(exc).__name__}: {exc}")
            try:
                self._close(status="failed", exit_code=2)
            except (OSError, sqlite3.Error):
                pass  # a full or read-only disk: the original error is the one to tell
            raise
        return self.report

    async def _night(self) -> None:
        config = load_config(self.project)
        active = config.active_briefs()
        unknown = [s for s in self.options.briefs if s not in config.briefs]
        if unknown:
            self.project.require_brief(unknown[0])  # a mistyped slug: the nearest briefs and the list
            raise NotFoundError(f"no brief {unknown[0]!r} in {self.project.briefs_dir} (with a brief.yaml)")
        slugs = [s for s in active if not self.options.briefs or s in self.options.briefs]
        http = http_settings(
            config, self.project, record=self.options.record_dir, replay=self.options.replay_dir
        )
        llm_settings = self.options.llm or LLMSettings.load(
            config.feeds.llm, source=str(self.project.feeds_file)
        )
        async with make_client(http) as client:
            collected = await self._collect(config, client, slugs)
            await self._extract(client)
            async with LLMClient(llm_settings, conn=self.conn, http_settings=http) as llm:
                # Listed before they start, in `slugs` order, whatever finishes first: a night
                # stopped mid-way still reports how far each brief got.
                briefs = [BriefReport(slug=slug) for slug in slugs]
                self.report.briefs.extend(briefs)
                # Briefs share the LLM client's concurrency: one brief's propose call overlaps the
                # next brief's triage batches instead of waiting for them. Each brief writes only
                # its own proposal.
                await asyncio.gather(
                    *(
                        brief_stage(
                            out,
                            project=self.project,
                            conn=self.conn,
                            llm=llm,
                            scope=config.briefs[out.slug].scope,
                            book=self.book,
                            run_date=self.options.run_date,
                            now=self.options.now,
                            draft_min_items=self.options.draft_min_items
                            or config.briefs[out.slug].draft_min_items,
                        )
                        for out in briefs
                    )
                )
        self._finish(collected)

    # -- collect ---------------------------------------------------------------------------
    async def _collect(self, config: Config, client, slugs: list[str]) -> list[CollectReport]:
        reports: list[CollectReport] = []
        with self.book.stage("collect") as stage:
            sourced = source_urls(self.project, slugs)

            def done(source: SourceReport) -> None:
                self.progress("collect", source.label, None)

            # One brief asked for: its feeds and searches only; several: each in turn (feeds they
            # share answer 304 the second time, their items already linked to every reader).
            targets: list[str | None] = [None] if not self.options.briefs else list(slugs)
            for only in targets:
                reports.append(
                    await collect(
                        config,
                        client=client,
                        conn=self.conn,
                        sourced=sourced,
                        only=only,
                        now=self.options.now,
                        night=self.options.run_date,
                        on_done=done,
                        on_planned=lambda n: self.progress("collect", "planned", n),
                    )
                )
            r = self.report
            for rep in reports:
                r.sources_checked += len(rep.sources)
                r.not_modified += sum(1 for s in rep.sources if s.not_modified)
                r.collected += rep.new
                r.stale += rep.stale
                r.duplicates += rep.duplicate
                r.failures += [f"{s.kind} {s.label}: {'; '.join(s.errors)}" for s in rep.failed]
                r.notes += rep.notes  # entries the per-run limits left out
            stage.counts = {
                "new": r.collected,
                "stale": r.stale,
                "duplicates": r.duplicates,
                "sources": r.sources_checked,
                "failed": sum(len(rep.failed) for rep in reports),
            }
        return reports

    # -- extract ---------------------------------------------------------------------------
    async def _extract(self, client) -> None:
        with self.book.stage("extract") as stage:
            waiting = extract_queue(self.conn)
            self.progress("extract", "pages", len(waiting))
            tally = ExtractTally()
            if waiting:  # an idle night starts no worker process
                tally = await extract_waiting(
                    self.conn,
                    client,
                    waiting,
                    pages=page_store(self.project),
                    now=self.options.now,
                    on_done=lambda label: self.progress("extract", label[:40], None),
                )
            r = self.report
            r.pages_fetched += tally.pages_fetched
            r.extracted += tally.documents
            r.page_fallbacks += tally.fallbacks
            r.failures += tally.failures
            stage.counts = {"pages": r.pages_fetched, "extracted": r.extracted, "fallbacks": r.page_fallbacks}

    # -- closing -----------------------------------------------------------------------------
    def _finish(self, collected: list[CollectReport]) -> None:
        r = self.report
        for b in r.briefs:
            r.llm.add(b.llm)
            b.stale = sum(rep.stale_by_brief.get(b.slug, 0) for rep in collected)
        sources = [s for rep in collected for s in rep.sources]
        all_sources_failed = bool(sources) and all(s.errors for s in sources)
        worked = (
            r.collected or r.extracted or any(b.proposal for b in r.briefs) or r.llm.calls or r.llm.cache_hits
        )
        idle = not r.collected and not r.extracted and not r.llm.calls and not r.llm.cache_hits
        if idle and not r.failures:
            r.notes.append(
                f"idle night: nothing new ({r.sources_checked} feeds/searches asked, "
                f"{r.not_modified} not modified); no page fetched, no LLM call"
            )
            self._close(status="idle", exit_code=0)
        elif r.failures and (all_sources_failed and not worked):
            self._close(status="failed", exit_code=2)
        elif r.failures:
            self._close(status="partial", exit_code=1)
        else:
            self._close(status="done", exit_code=0)

    def _close(self, *, status: RunStatus, exit_code: int) -> None:
        r = self.report
        r.status = status
        r.exit_code = exit_code
        r.finished_at = dt.datetime.now(dt.UTC)
        data = r.model_dump(mode="json")
        atomic_write(self.run_dir / "report.json", r.model_dump_json(indent=2) + "\n")
        ledger.finish_run(self.conn, r.run_id, status=status, exit_code=exit_code, report=data)

    def close(self) -> None:
        self.conn.close()


async def run_night(project: Project, options: RunOptions, *, progress: Progress | None = None) -> RunReport:
    """One nightly run under the project's run lock (LockedError if another run holds it)."""
    with RunLock(project.state_dir / RUN_LOCK_FILE, command="run"):
        night = Night(project, options, progress)
        try:
            return await night.run()
        finally:
            night.close()
