"""The one stage bookkeeping (pipeline/bookkeeping.py): what a finished, a failed and a stopped
stage leave in the ledger and the run's report."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from briefbot.errors import LLMError, ReplayMissError
from briefbot.pipeline.bookkeeping import Bookkeeping
from briefbot.pipeline.report import RunReport
from briefbot.store import connect
from briefbot.store import runs as ledger


def _books(tmp_path):
    conn = connect(tmp_path / "state.db")
    run_id = ledger.start_run(conn, run_date="2026-05-24", mode="live")
    report = RunReport(
        run_id=run_id, run_date=dt.date(2026, 5, 24), mode="live", started_at=dt.datetime.now(dt.UTC)
    )
    shown: list[tuple[str, str, int | None]] = []
    return conn, report, Bookkeeping(conn, report, progress=lambda *a: shown.append(a)), shown


def _rows(conn) -> dict[tuple[str, str], tuple[str, dict]]:
    rows = conn.execute("SELECT stage, brief, status, counts FROM run_stages").fetchall()
    return {(r["stage"], r["brief"]): (r["status"], json.loads(r["counts"] or "{}")) for r in rows}


def test_a_stage_is_timed_recorded_and_reported(tmp_path) -> None:
    conn, report, book, shown = _books(tmp_path)
    with book.stage("triage", "gap", label="gap") as stage:
        stage.counts = {"relevant": 2}
    assert _rows(conn) == {("triage", "gap"): ("done", {"relevant": 2})}
    assert [(s.stage, s.brief, s.status) for s in report.stages] == [("triage", "gap", "done")]
    assert shown == [("triage", "gap", None)] and stage.error is None


def test_a_recovered_failure_is_the_stages_and_the_night_goes_on(tmp_path) -> None:
    conn, report, book, _ = _books(tmp_path)
    with book.stage("propose", "gap", recover=True) as stage:
        raise LLMError("no answer")
    assert isinstance(stage.error, LLMError)
    assert _rows(conn) == {("propose", "gap"): ("failed", {})}
    assert report.failures == ["propose gap: no answer"] and report.stages[0].status == "failed"


@pytest.mark.parametrize(
    "error", [ReplayMissError("not recorded"), LLMError("stops the night"), OSError("disk")]
)
def test_a_replay_miss_or_an_unrecovered_error_stops_the_night(tmp_path, error) -> None:
    conn, report, book, _ = _books(tmp_path)
    recover = not isinstance(error, LLMError)  # a replay miss passes through even with recover
    with pytest.raises(type(error)), book.stage("collect", recover=recover):
        raise error
    # Left `running`, as a killed run leaves it; the next run marks the run interrupted.
    assert _rows(conn) == {("collect", ""): ("running", {})}
    assert report.failures == [] and report.stages == []


def test_without_a_run_there_are_no_books_and_errors_are_the_callers(tmp_path) -> None:
    book = Bookkeeping()
    with pytest.raises(LLMError), book.stage("triage", "gap", recover=True):
        raise LLMError("the command's error")
    book.fail("nowhere to go")
    book.note("nor this")
