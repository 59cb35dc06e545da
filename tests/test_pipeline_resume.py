"""A nightly run SIGKILLed mid-way (a real subprocess) is resumed by the next run: nothing stored
twice, no finished LLM call paid for again, and only the pages without a document fetched again.
The world and helpers are tests/_pipeline_world.py.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _openai_server import OpenAIServer
from _pipeline_world import (  # noqa: F401  # world is a fixture
    DATE,
    SLUG,
    World,
    llm_env,
    make_root,
    responder,
    run_night,
    world,
)
from briefbot.project import Project


def _start(project: Project, llm: OpenAIServer) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from briefbot.cli import main; main()",
            "--root",
            str(project.root),
            "run",
            "--date",
            DATE,
        ],
        env={**os.environ, **llm_env(llm)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill_when(child: subprocess.Popen[bytes], ready: Callable[[], bool], *, waiting_for: str) -> None:
    """SIGKILL the run once `ready()` holds (within 30 s), and reap it whatever happens."""
    try:
        deadline = time.monotonic() + 30
        while not ready():
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, f"the run never got to {waiting_for}"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _stage_status(db: Path, stage: str) -> str | None:
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT status FROM run_stages WHERE stage = ? ORDER BY run_id DESC",
            (stage,),
        ).fetchone()
    except sqlite3.OperationalError:
        return None  # tables not made yet
    finally:
        conn.close()
    return None if row is None else row[0]


def test_a_sigkilled_run_is_resumed_without_duplicates_or_repaid_calls(tmp_path: Path, world: World) -> None:
    with OpenAIServer(responder(propose_delay=30.0)) as llm:
        project = make_root(tmp_path, world)
        child = _start(project, llm)
        # Collect, extract and triage are done and the propose call is in flight: kill it there.
        _kill_when(
            child,
            lambda: _stage_status(project.state_db, "propose") == "running" and len(llm.requests) >= 2,
            waiting_for="propose",
        )
        assert _stage_status(project.state_db, "collect") == "done"
        assert not (project.proposals_dir(SLUG) / "pending.json").exists()

        code, report, output = run_night(project, llm)
        assert code == 0, output
        assert report["resumed"] == [1] and report["collected"] == 0 and report["pages_fetched"] == 0
        # Triage is answered from the call cache; only the propose call that was cut off is asked again.
        assert report["llm"]["cache_hits"] == 1 and report["llm"]["calls"] == 1
        kinds = [r.body["response_format"]["json_schema"]["name"] for r in llm.requests]
        assert kinds == ["TriageAnswer", "EditList", "EditList"]

    conn = sqlite3.connect(project.state_db)
    try:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM items").fetchone() == (3, 3)
        assert conn.execute("SELECT status FROM runs ORDER BY id").fetchall() == [
            ("interrupted",),
            ("done",),
        ]
    finally:
        conn.close()
    proposal = json.loads((project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8"))
    titles = [s["title"] for s in proposal["candidate"]["sources"]]
    assert len(titles) == len(set(titles)) == 38
    assert not list(project.state_dir.rglob("*.tmp*"))  # no half-written file left behind


def _documents(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # tables not made yet
    finally:
        conn.close()


def test_a_run_sigkilled_mid_extract_fetches_only_the_pages_without_a_document(
    tmp_path: Path, world: World
) -> None:
    world.gone, world.held = {1}, {3}
    with OpenAIServer(responder()) as llm:
        project = make_root(tmp_path, world)
        child = _start(project, llm)
        # Page 1's failure is stored as soon as it is known; page 3 is still being fetched.
        _kill_when(child, lambda: _documents(project.state_db) >= 1, waiting_for="store a document")
        assert _stage_status(project.state_db, "extract") == "running"
        assert llm.requests == []
        world.gone, world.held = set(), set()
        world.release.set()
        # The killed run's held request to page 3 ends now; out of the log before the rerun.
        deadline = time.monotonic() + 10
        while not any(r.path == "/p/3" for r, _ in world.log):
            assert time.monotonic() < deadline, "the held page never answered"
            time.sleep(0.05)
        world.clear_log()

        code, report, output = run_night(project, llm)
    assert code == 0, output
    assert report["resumed"] == [1] and report["pages_fetched"] == 2
    pages = sorted(r.path for r, _ in world.log if r.path.startswith("/p/"))
    assert pages == ["/p/2", "/p/3"]  # page 1 has its (failed) document: not fetched again
    conn = sqlite3.connect(project.state_db)
    try:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM documents").fetchone() == (3, 3)
        # The killed run's 404 stays on record as that item's failed document (summary stands in).
        assert (
            conn.execute("SELECT outcome, error FROM documents WHERE url LIKE '%/p/1'").fetchone()[0]
            == "failed"
        )
    finally:
        conn.close()
    (brief,) = report["briefs"]
    assert brief["candidates"] == 3 and brief["edits_applied"] == 1
