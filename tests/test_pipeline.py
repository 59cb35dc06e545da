"""The nightly run end to end over real local servers: a small world (pytest-httpserver) and a
scripted OpenAI-compatible server (tests/_openai_server.py).

Covers: a full run leaves a proposal; the same night again is idle (only conditional GETs, no
page, no LLM call); a failing feed gives exit 1 and is named; the lock refuses a second run; a run
SIGKILLed mid-way is resumed without duplicated items or sources and without repaying LLM calls.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _openai_server import OpenAIServer, Reply, Request
from click.testing import CliRunner
from conftest import REPO
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response

from briefbot.cli import main
from briefbot.lock import RunLock
from briefbot.project import Project

SLUG = "gap"
DATE = "2026-05-24"
V6 = (
    REPO
    / "fixtures"
    / "demo"
    / "root"
    / "briefs"
    / "open-model-capability-gap"
    / "versions"
    / "v0006.json"
)
STORIES = [
    ("Lab Alpha opens Model A weights", "2026-05-20"),
    ("Model B tops a coding leaderboard", "2026-05-21"),
    ("Consortium Gamma funds open models", "2026-05-22"),
]
ETAG = '"feed-v3"'


def _rss(base: str, stories: list[tuple[str, str | None]]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/p/{n}</link><guid>{base}/p/{n}</guid>"
        + (f"<pubDate>{_rfc(day)}</pubDate>" if day else "")
        + f"<description>Summary of story {n}.</description></item>"
        for n, (title, day) in enumerate(stories, start=1)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test wire</title>{items}</channel></rss>'


def _rfc(day: str) -> str:
    y, m, d = (int(p) for p in day.split("-"))
    return email.utils.format_datetime(dt.datetime(y, m, d, 8, 0, tzinfo=dt.UTC))


def _page(n: int, stories: list[tuple[str, str | None]]) -> str:
    title, day = stories[n - 1]
    para = (
        f"{title}. {f'On {day} t' if day else 'T'}he announcement was made public, and analysts said the result narrows the "
        "gap between open-weight and closed frontier models on the benchmarks that matter to developers. "
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        + f"<p>{para}</p>" * 4
        + "</article></body></html>"
    )


class World(HTTPServer):
    """The small world: one feed whose stories a test may add to (its ETag changes with them).

    A test may make pages gone (404) or held (answered only once `release` is set).
    """

    stories: list[tuple[str, str | None]]
    gone: set[int]
    held: set[int]
    release: threading.Event


@pytest.fixture
def world() -> Iterator[World]:
    server = World(host="127.0.0.1", threaded=True)
    server.stories = list(STORIES)
    server.gone, server.held, server.release = set(), set(), threading.Event()
    server.start()
    base = server.url_for("").rstrip("/")

    def feed(request: WRequest) -> Response:
        etag = f'"feed-v{len(server.stories)}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        body = _rss(base, server.stories)
        return Response(
            body, content_type="application/rss+xml", headers={"ETag": etag}
        )

    def page(request: WRequest) -> Response:
        n = int(request.path.rsplit("/", 1)[1])
        if n in server.held:
            server.release.wait(20)
        if n in server.gone:
            return Response("gone", status=404)
        return Response(
            _page(n, server.stories), content_type="text/html; charset=utf-8"
        )

    server.expect_request("/feed.xml").respond_with_handler(feed)
    server.expect_request("/bad.xml").respond_with_data("boom", status=500)
    server.expect_request(re.compile(r"^/p/\d+$")).respond_with_handler(page)
    yield server
    server.release.set()
    server.clear()
    if server.is_running():
        server.stop()


def _responder(*, propose_delay: float = 0.0):
    state = {"proposes": 0}

    def respond(request: Request, index: int) -> Reply:
        kind = request.body["response_format"]["json_schema"]["name"]
        refs = [
            line.split("ref=")[1].rstrip(">")
            for line in request.user.splitlines()
            if line.startswith("<<<BEGIN ")
        ]
        if kind == "TriageAnswer":
            return Reply.json(
                {
                    "items": [
                        {
                            "ref": ref,
                            "relevance": "relevant",
                            "reason": "on scope",
                            "perspectives": [],
                            "tensions": [],
                        }
                        for ref in refs
                    ]
                }
            )
        state["proposes"] += 1
        # Items are numbered by published time: new:2 is Model B (2026-05-21).
        edit = {
            "op": "add_timeline_entry",
            "date": "2026-05-21",
            "significance": "major",
            "summary": "Model B tops a coding leaderboard [new:2]",
            "text": "Model B tops a coding leaderboard, narrowing the gap [new:2]",
        }
        delay = propose_delay if state["proposes"] == 1 else 0.0
        return Reply.json({"edits": [edit]}, delay=delay)

    return respond


def _root(tmp_path: Path, world: World, *, broken: bool = False) -> Project:
    root = tmp_path / "root"
    versions = root / "briefs" / SLUG / "versions"
    versions.mkdir(parents=True)
    shutil.copy(V6, versions / "v0006.json")
    (root / "briefs" / SLUG / "brief.yaml").write_text(
        "scope: How far open models trail closed ones.\n", encoding="utf-8"
    )
    feeds = [f"  - name: wire\n    url: {world.url_for('/feed.xml')}\n"]
    if broken:
        feeds.append(f"  - name: broken\n    url: {world.url_for('/bad.xml')}\n")
    (root / "feeds.yaml").write_text(
        "feeds:\n" + "".join(feeds) + "http:\n  allow_private_networks: true\n",
        encoding="utf-8",
    )
    return Project(root)


def _env(llm: OpenAIServer) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "BRIEFBOT_TRIAGE_MODEL": "",
        "BRIEFBOT_PROPOSE_MODEL": "",
    }


def _run(project: Project, llm: OpenAIServer) -> tuple[int, dict, str]:
    result = CliRunner().invoke(
        main, ["--root", str(project.root), "run", "--date", DATE], env=_env(llm)
    )
    reports = sorted(
        (project.state_dir / "runs").glob("*/report.json"),
        key=lambda p: int(p.parent.name),
    )
    report = json.loads(reports[-1].read_text(encoding="utf-8")) if reports else {}
    return result.exit_code, report, result.output


def test_full_run_then_idle_night(tmp_path: Path, world: World) -> None:
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        code, report, output = _run(project, llm)
        assert code == 0, output
        assert (report["status"], report["collected"], report["pages_fetched"]) == (
            "done",
            3,
            3,
        )
        (brief,) = report["briefs"]
        assert (brief["candidates"], brief["relevant"], brief["edits_applied"]) == (
            3,
            3,
            1,
        )
        proposal = json.loads(
            (project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8")
        )
        new = proposal["candidate"]["sources"][-1]
        assert (
            new["title"] == "Model B tops a coding leaderboard"
            and new["date"] == "2026-05-21"
        )
        assert [i["ref"] for i in proposal["batch"]["items"]] == [
            "new:1",
            "new:2",
            "new:3",
        ]
        assert report["llm"]["calls"] == 2 and report["llm"]["prompt_tokens"] == 2000
        assert {s["stage"] for s in report["stages"]} == {
            "collect",
            "extract",
            "triage",
            "propose",
            "merge",
        }
        calls_before = len(llm.requests)
        world.clear_log()

        code, report, output = _run(project, llm)
        assert code == 0, output
        assert (
            report["status"] == "idle"
            and "idle night" in " ".join(report["notes"])
            and "idle night" in output
        )
        assert len(llm.requests) == calls_before  # no LLM call
        assert [
            (r.path, r.headers.get("If-None-Match"), resp.status_code)
            for r, resp in world.log
        ] == [("/feed.xml", ETAG, 304)]
        # The same night's proposal is left as it was.
        assert (
            json.loads(
                (project.proposals_dir(SLUG) / "pending.json").read_text(
                    encoding="utf-8"
                )
            )["revision"]
            == 1
        )

        listing = CliRunner().invoke(
            main, ["--root", str(project.root), "runs", "--json"]
        )
        runs = json.loads(listing.output)
        assert [(r["id"], r["status"], r["exit_code"]) for r in runs] == [
            (2, "idle", 0),
            (1, "done", 0),
        ]


def test_a_failing_feed_is_named_and_exits_1(tmp_path: Path, world: World) -> None:
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world, broken=True)
        code, report, output = _run(project, llm)
    assert code == 1, output
    assert report["status"] == "partial"
    assert any(
        f.startswith("feed broken:") and "500" in f for f in report["failures"]
    ), report["failures"]
    assert "failed: feed broken" in output
    assert (
        project.proposals_dir(SLUG) / "pending.json"
    ).exists()  # the other feed's items went on


def test_nothing_possible_exits_2(tmp_path: Path, world: World) -> None:
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        feeds = project.feeds_file.read_text(encoding="utf-8").replace(
            "/feed.xml", "/bad.xml"
        )
        project.feeds_file.write_text(feeds, encoding="utf-8")
        code, report, output = _run(project, llm)
    assert code == 2, output
    assert report["status"] == "failed" and len(llm.requests) == 0


def test_a_held_lock_refuses_the_run(tmp_path: Path, world: World) -> None:
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        with RunLock(project.state_dir / "run.lock"):
            code, _, output = _run(project, llm)
        assert code == 2 and "another briefbot run" in output
        assert world.log == [] and llm.requests == []


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


def test_a_sigkilled_run_is_resumed_without_duplicates_or_repaid_calls(
    tmp_path: Path, world: World
) -> None:
    with OpenAIServer(_responder(propose_delay=30.0)) as llm:
        project = _root(tmp_path, world)
        env = {**os.environ, **_env(llm)}
        command = [
            sys.executable,
            "-c",
            "from briefbot.cli import main; main()",
            "--root",
            str(project.root),
            "run",
            "--date",
            DATE,
        ]
        child = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 30
            # Collect, extract and triage are done and the propose call is in flight: kill it there.
            while (
                _stage_status(project.state_db, "propose") != "running"
                or len(llm.requests) < 2
            ):
                assert child.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline, "the run never reached propose"
                time.sleep(0.05)
            assert _stage_status(project.state_db, "collect") == "done"
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert not (project.proposals_dir(SLUG) / "pending.json").exists()

        code, report, output = _run(project, llm)
        assert code == 0, output
        assert (
            report["resumed"] == [1]
            and report["collected"] == 0
            and report["pages_fetched"] == 0
        )
        # Triage is answered from the call cache; only the propose call that was cut off is asked again.
        assert report["llm"]["cache_hits"] == 1 and report["llm"]["calls"] == 1
        kinds = [r.body["response_format"]["json_schema"]["name"] for r in llm.requests]
        assert kinds == ["TriageAnswer", "EditList", "EditList"]

    conn = sqlite3.connect(project.state_db)
    try:
        assert conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT url) FROM items"
        ).fetchone() == (3, 3)
        assert conn.execute("SELECT status FROM runs ORDER BY id").fetchall() == [
            ("interrupted",),
            ("done",),
        ]
    finally:
        conn.close()
    proposal = json.loads(
        (project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8")
    )
    titles = [s["title"] for s in proposal["candidate"]["sources"]]
    assert len(titles) == len(set(titles)) == 38
    assert not list(
        project.state_dir.rglob("*.tmp*")
    )  # no half-written file left behind


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
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        child = subprocess.Popen(
            [sys.executable, "-c", "from briefbot.cli import main; main()",
             "--root", str(project.root), "run", "--date", DATE],
            env={**os.environ, **_env(llm)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            # Page 1's failure is stored as soon as it is known; page 3 is still being fetched.
            while _documents(project.state_db) < 1:
                assert child.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline, "no document was ever stored"
                time.sleep(0.05)
            assert _stage_status(project.state_db, "extract") == "running"
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert llm.requests == []
        world.gone, world.held = set(), set()
        world.release.set()
        # The killed run's held request to page 3 ends now; out of the log before the rerun.
        deadline = time.monotonic() + 10
        while not any(r.path == "/p/3" for r, _ in world.log):
            assert time.monotonic() < deadline, "the held page never answered"
            time.sleep(0.05)
        world.clear_log()

        code, report, output = _run(project, llm)
    assert code == 0, output
    assert report["resumed"] == [1] and report["pages_fetched"] == 2
    pages = sorted(r.path for r, _ in world.log if r.path.startswith("/p/"))
    assert pages == ["/p/2", "/p/3"]  # page 1 has its (failed) document: not fetched again
    conn = sqlite3.connect(project.state_db)
    try:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM documents").fetchone() == (3, 3)
        # The killed run's 404 stays on record as that item's failed document (summary stands in).
        assert conn.execute("SELECT outcome, error FROM documents WHERE url LIKE '%/p/1'").fetchone()[0] == "failed"
    finally:
        conn.close()
    (brief,) = report["briefs"]
    assert brief["candidates"] == 3 and brief["edits_applied"] == 1


def test_an_undated_item_never_gets_the_fetch_time_as_its_date(
    tmp_path: Path, world: World
) -> None:
    world.stories.append(("Model E ships without a date", None))
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        code, _, output = _run(project, llm)
    assert code == 0, output
    dates = {i["title"]: i["published"] for i in _pending(project)["batch"]["items"]}
    assert dates == {**dict(STORIES), "Model E ships without a date": None}


def _pending(project: Project) -> dict:
    return json.loads(
        (project.proposals_dir(SLUG) / "pending.json").read_text(encoding="utf-8")
    )


def test_same_night_rerun_replaces_the_undecided_proposal_keeping_its_items(
    tmp_path: Path, world: World
) -> None:
    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        assert _run(project, llm)[0] == 0
        v6 = json.loads(V6.read_text(encoding="utf-8"))
        # A new story, and one whose title already is a source of the brief (excluded by title).
        world.stories += [
            ("Model D ships", "2026-05-23"),
            (v6["sources"][0]["title"], "2026-05-23"),
        ]
        code, report, output = _run(project, llm)
    assert code == 0, output
    (brief,) = report["briefs"]
    assert brief["replaced"] and brief["excluded"] == 1 and brief["candidates"] == 4
    proposal = _pending(project)
    assert proposal["revision"] == 2
    assert [i["title"] for i in proposal["batch"]["items"]] == [
        t for t, _ in STORIES
    ] + ["Model D ships"]
    assert "proposal replaced" in output


def test_an_editors_decided_proposal_is_not_clobbered(
    tmp_path: Path, world: World
) -> None:
    from briefbot.review import decide

    with OpenAIServer(_responder()) as llm:
        project = _root(tmp_path, world)
        assert _run(project, llm)[0] == 0
        decide(
            project,
            SLUG,
            accept=[1],
            now=dt.datetime(2026, 5, 24, 7, tzinfo=dt.UTC),
            by="editor",
        )
        before = (project.proposals_dir(SLUG) / "pending.json").read_bytes()
        world.stories.append(("Model D ships", "2026-05-23"))
        calls = len(llm.requests)
        code, report, output = _run(project, llm)
        assert len(llm.requests) == calls
    assert code == 0, output
    assert (project.proposals_dir(SLUG) / "pending.json").read_bytes() == before
    (brief,) = report["briefs"]
    assert brief["proposal"] is None and "under review" in brief["note"]
    assert "held back 1 item(s)" in output
