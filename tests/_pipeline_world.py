"""The small world of the nightly-run tests (test_pipeline.py, test_pipeline_resume.py): one feed
and its pages on pytest-httpserver, a scripted OpenAI-compatible responder, a project root reading
them, and running `briefbot run` through the real CLI.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response

from _openai_server import OpenAIServer, Reply, Request, fenced_items
from briefbot.cli import main
from briefbot.project import Project
from conftest import REPO

SLUG = "gap"
DATE = "2026-05-24"
V6 = REPO / "fixtures" / "demo" / "root" / "briefs" / "open-model-capability-gap" / "versions" / "v0006.json"
STORIES = [
    ("Lab Alpha opens Model A weights", "2026-05-20"),
    ("Model B tops a coding leaderboard", "2026-05-21"),
    ("Consortium Gamma funds open models", "2026-05-22"),
]
ETAG = '"feed-v3"'


def rss(base: str, stories: list[tuple[str, str | None]]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{base}/p/{n}</link><guid>{base}/p/{n}</guid>"
        + (f"<pubDate>{rfc(day)}</pubDate>" if day else "")
        + f"<description>Summary of story {n}.</description></item>"
        for n, (title, day) in enumerate(stories, start=1)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test wire</title>{items}</channel></rss>'


def rfc(day: str) -> str:
    y, m, d = (int(p) for p in day.split("-"))
    return email.utils.format_datetime(dt.datetime(y, m, d, 8, 0, tzinfo=dt.UTC))


def page_html(n: int, stories: list[tuple[str, str | None]]) -> str:
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
        body = rss(base, server.stories)
        return Response(body, content_type="application/rss+xml", headers={"ETag": etag})

    def page(request: WRequest) -> Response:
        n = int(request.path.rsplit("/", 1)[1])
        if n in server.held:
            server.release.wait(20)
        if n in server.gone:
            return Response("gone", status=404)
        return Response(page_html(n, server.stories), content_type="text/html; charset=utf-8")

    server.expect_request("/feed.xml").respond_with_handler(feed)
    server.expect_request("/bad.xml").respond_with_data("boom", status=500)
    server.expect_request(re.compile(r"^/p/\d+$")).respond_with_handler(page)
    yield server
    server.release.set()
    server.clear()
    if server.is_running():
        server.stop()


def responder(*, propose_delay: float = 0.0):
    state = {"proposes": 0}

    def respond(request: Request, index: int) -> Reply:
        kind = request.body["response_format"]["json_schema"]["name"]
        refs = [ref for ref, _, _ in fenced_items(request.user)]
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


def make_root(tmp_path: Path, world: World, *, broken: bool = False) -> Project:
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


def llm_env(llm: OpenAIServer) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "test-key",
        "BRIEFBOT_TRIAGE_MODEL": "",
        "BRIEFBOT_PROPOSE_MODEL": "",
    }


def run_night(project: Project, llm: OpenAIServer) -> tuple[int, dict, str]:
    result = CliRunner().invoke(main, ["--root", str(project.root), "run", "--date", DATE], env=llm_env(llm))
    reports = sorted(
        (project.state_dir / "runs").glob("*/report.json"),
        key=lambda p: int(p.parent.name),
    )
    report = json.loads(reports[-1].read_text(encoding="utf-8")) if reports else {}
    return result.exit_code, report, result.output
