"""The stage bookkeeping, written once: every stage of a night runs inside `Bookkeeping.stage()`.

A stage's timer, its ledger rows (`store.runs`: started, then finished with its counts), its line
in the report's `stages`, its progress, and what becomes of its failure are decided here and
nowhere else, so the collect, extract and per-brief stages cannot drift apart in what they record.
A command run outside a night (`briefbot propose`) passes `Bookkeeping()`: there is no run to
keep books for, and a failure is the command's own error.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from briefbot.errors import BriefbotError, ReplayMissError
from briefbot.pipeline.report import RunReport, StageTime
from briefbot.store import runs as ledger

Progress = Callable[[str, str, int | None], None]  # (stage, label, total or None = advance one)


def _quiet(stage: str, label: str, total: int | None) -> None:
    """No progress display."""


@dataclass
class Stage:
    """One stage while it runs: the counts its ledger row keeps, and the error it failed with."""

    name: str
    brief: str
    counts: dict[str, object] = field(default_factory=dict)
    error: BriefbotError | None = None


class Bookkeeping:
    """The books of one run (`report` and the ledger in `conn`), or of none (`Bookkeeping()`)."""

    def __init__(
        self,
        conn: sqlite3.Connection | None = None,
        report: RunReport | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        self.conn = conn
        self.report = report
        self.progress: Progress = progress or _quiet

    @contextmanager
    def stage(
        self, name: str, brief: str = "", *, label: str | None = None, recover: bool = False
    ) -> Iterator[Stage]:
        """Time, record and report the stage run in the `with` block; set `counts` inside it. A
        `label` is shown on the stage's progress bar as it starts.

        With `recover`, a `BriefbotError` is the stage's failure: it is recorded (ledger, report,
        `Stage.error`) and the block's caller goes on, so one brief's failed call does not stop the
        others. Without, and for any other exception, it stops the night and the stage stays
        `running` in the ledger, as a killed run leaves it. A `ReplayMissError` always stops it:
        a recording that lacks a request is broken, which is not the stage's failure.
        """
        entry = Stage(name=name, brief=brief)
        if self.report is None or self.conn is None:
            yield entry  # no run: nothing to record, and every error is the command's
            return
        started = time.perf_counter()
        ledger.stage_started(self.conn, self.report.run_id, name, brief)
        if label is not None:
            self.progress(name, label, None)
        try:
            yield entry
        except ReplayMissError:
            raise
        except BriefbotError as exc:
            if not recover:
                raise
            entry.error = exc
            self.fail(f"{name} {brief}: {exc}")
            self._finished(entry, started, status="failed", counts={})
            return
        self._finished(entry, started, status="done", counts=entry.counts)

    def _finished(self, entry: Stage, started: float, *, status: str, counts: dict[str, object]) -> None:
        assert self.report is not None and self.conn is not None
        seconds = round(time.perf_counter() - started, 3)
        ledger.stage_finished(
            self.conn,
            self.report.run_id,
            entry.name,
            brief=entry.brief,
            status=status,
            seconds=seconds,
            counts=counts,
        )
        self.report.stages.append(
            StageTime(
                stage=entry.name,
                brief=entry.brief,
                seconds=seconds,
                status="failed" if status == "failed" else "done",
            )
        )

    def fail(self, *failures: str) -> None:
        """Failures the run's report names (a command outside a run reports its own)."""
        if self.report is not None:
            self.report.failures.extend(failures)

    def note(self, note: str) -> None:
        if self.report is not None:
            self.report.notes.append(note)
