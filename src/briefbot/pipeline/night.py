"""The nightly run: collect -> extract -> triage -> propose -> merge for every active brief.

The only module that wires I/O (HTTP client, LLM client, store, clock) to the stages. Each stage's
output is stored as it is made (items in one transaction, each document as its page finishes, LLM answers
in the call cache, the proposal as one atomic file, item statuses last), so a run killed at any
moment is resumed by the next: collected items wait at status `new`, extracted ones at
`extracted`, and the LLM calls already answered are served from the cache.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict

from briefbot._fs import atomic_write
from briefbot.collect.stage import CollectReport, SourceReport, collect, source_urls
from briefbot.config import Config, http_settings, load_config
from briefbot.errors import NotFoundError
from briefbot.http import make_client
from briefbot.llm import LLMClient, LLMSettings
from briefbot.models import StrictModel
from briefbot.pipeline.brief import brief_stage
from briefbot.pipeline.items import ExtractTally, extract_waiting
from briefbot.pipeline.report import RunReport, StageTime
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store import items as item_store
from briefbot.store import runs as ledger
from briefbot.store.documents import PageStore
from briefbot.store.lock import RunLock

Progress = Callable[[str, str, int | None], None]  # (stage, label, total or None = advance one)


class RunOptions(StrictModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    briefs: list[str] = []  # empty = every active brief
    run_date: dt.date
    now: dt.datetime  # the run's clock (stamps, proposal times); fixed when replaying
    record_dir: Path | None = None
    replay_dir: Path | None = None
    llm: LLMSettings | None = None  # None = feeds.yaml's `llm:` plus the environment

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

    def stage(
        self,
        stage: str,
        brief: str,
        started: float,
        *,
        status: str = "done",
        **counts: object,
    ) -> None:
        seconds = round(time.perf_counter() - started, 3)
        ledger.stage_finished(
            self.conn,
            self.report.run_id,
            stage,
            brief=brief,
            status=status,
            seconds=seconds,
            counts=counts,
        )
        self.report.stages.append(
            StageTime(
                stage=stage,
                brief=brief,
                seconds=seconds,
                status="failed" if status == "failed" else "done",
            )
        )

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
                # Briefs share the LLM client's concurrency: one brief's propose call overlaps the
                # next brief's triage batches instead of waiting for them. Each brief writes only
                # its own proposal; the report lists briefs in `slugs` order whatever finishes first.
                await asyncio.gather(*(brief_stage(self, llm, config, slug) for slug in slugs))
                self.report.briefs.sort(key=lambda b: slugs.index(b.slug))
        self._finish(collected)

    # -- collect ---------------------------------------------------------------------------
    async def _collect(self, config: Config, client, slugs: list[str]) -> list[CollectReport]:
        started = time.perf_counter()
        ledger.stage_started(self.conn, self.report.run_id, "collect")
        sourced = source_urls(self.project, slugs)

        def done(source: SourceReport) -> None:
            self.progress("collect", source.label, None)

        reports: list[CollectReport] = []
        # One brief asked for: its feeds and searches only; several: each in turn (feeds they share
        # answer 304 the second time, their items already linked to every reader).
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
            r.duplicates += rep.duplicate
            r.failures += [f"{s.kind} {s.label}: {'; '.join(s.errors)}" for s in rep.failed]
        self.stage(
            "collect",
            "",
            started,
            new=r.collected,
            duplicates=r.duplicates,
            sources=r.sources_checked,
            failed=sum(len(rep.failed) for rep in reports),
        )
        return reports

    # -- extract ---------------------------------------------------------------------------
    async def _extract(self, client) -> None:
        started = time.perf_counter()
        ledger.stage_started(self.conn, self.report.run_id, "extract")
        waiting = item_store.list_items(self.conn, status=item_store.NEW)
        self.progress("extract", "pages", len(waiting))
        tally = ExtractTally()
        if waiting:  # an idle night starts no worker process
            tally = await extract_waiting(
                self.conn,
                client,
                waiting,
                pages=PageStore(self.project.state_dir / "pages"),
                now=self.options.now,
                on_done=lambda label: self.progress("extract", label[:40], None),
            )
        r = self.report
        r.pages_fetched += tally.pages_fetched
        r.extracted += tally.documents
        r.page_fallbacks += tally.fallbacks
        r.failures += tally.failures
        self.stage(
            "extract",
            "",
            started,
            pages=r.pages_fetched,
            extracted=r.extracted,
            fallbacks=r.page_fallbacks,
        )

    # -- triage, propose, merge for one brief --------------------------------------------------
    # -- closing -----------------------------------------------------------------------------
    def _finish(self, collected: list[CollectReport]) -> None:
        r = self.report
        for b in r.briefs:
            r.llm.calls += b.llm.calls
            r.llm.cache_hits += b.llm.cache_hits
            r.llm.prompt_tokens += b.llm.prompt_tokens
            r.llm.completion_tokens += b.llm.completion_tokens
            r.llm.cached_tokens += b.llm.cached_tokens
            r.llm.cost_usd = round(r.llm.cost_usd + b.llm.cost_usd, 6)
            r.llm.unpriced += b.llm.unpriced
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

    def _close(self, *, status: str, exit_code: int) -> None:
        r = self.report
        r.status = status  # type: ignore[assignment]
        r.exit_code = exit_code
        r.finished_at = dt.datetime.now(dt.UTC)
        data = r.model_dump(mode="json")
        atomic_write(self.run_dir / "report.json", r.model_dump_json(indent=2) + "\n")
        ledger.finish_run(self.conn, r.run_id, status=status, exit_code=exit_code, report=data)

    def close(self) -> None:
        self.conn.close()


async def run_night(project: Project, options: RunOptions, *, progress: Progress | None = None) -> RunReport:
    """One nightly run under the project's run lock (LockedError if another run holds it)."""
    with RunLock(project.state_dir / "run.lock"):
        night = Night(project, options, progress)
        try:
            return await night.run()
        finally:
            night.close()
