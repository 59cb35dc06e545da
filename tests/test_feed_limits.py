"""A feed takes at most `collect.max_entries_per_feed` entries a run, a search at most
`collect.max_results_per_search` results (issue 17, item 10): the newest by date, the rest named in
the report. Leaving entries is not a failure: exit 0 with a note.

A real local server serves a synthetic feed of 5,000 entries (and a SearXNG answer of 80 results)
to the real `briefbot` of this venv.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from _collect_servers import FeedServer, Route
from briefbot.config import load_feeds_file
from briefbot.errors import ConfigError

BRIEFBOT = str(Path(sys.executable).parent / "briefbot")  # this venv's, not PATH's
ENTRIES = 5000
LIMIT = 50
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _when(n: int) -> dt.datetime:
    return START + dt.timedelta(hours=n)  # entry n is n hours after the first: higher is newer


def _big_feed(base: str) -> bytes:
    # Shuffled: the newest are not simply the first (or last) ones in the file.
    order = list(range(ENTRIES))
    random.Random(17).shuffle(order)
    items = "".join(
        f"<item><title>Entry {n}</title><link>{base}/p/{n}</link>"
        f"<pubDate>{email.utils.format_datetime(_when(n))}</pubDate>"
        f"<description>Entry number {n}.</description></item>"
        for n in order
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Firehose</title>'
        f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def _page(n: int) -> bytes:
    words = f"Entry {n} reports that the open model narrowed the gap on the benchmark that matters. " * 8
    return f"<html><head><title>Entry {n}</title></head><body><article><p>{words}</p></article></body></html>".encode()


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        srv.routes["/big.xml"] = Route(
            body=_big_feed(srv.base), headers={"Content-Type": "application/rss+xml"}
        )
        # The night fetches the pages of what it took; only those can be asked for.
        for n in range(ENTRIES - LIMIT, ENTRIES):
            srv.routes[f"/p/{n}"] = Route(body=_page(n), headers={"Content-Type": "text/html"})
        results = [
            {
                "url": f"{srv.base}/r/{n}",
                "title": f"Result {n}",
                "content": f"Result number {n}.",
                "publishedDate": _when(n).isoformat(),
            }
            for n in range(80)
        ]
        srv.routes["/search"] = Route(
            body=json.dumps({"results": results}).encode(), headers={"Content-Type": "application/json"}
        )
        yield srv


def _project(
    tmp_path: Path, server: FeedServer, *, collect: str, search: bool = False, name: str = "root"
) -> Path:
    root = tmp_path / name
    root.mkdir()
    text = f"feeds:\n  - name: firehose\n    url: {server.url('/big.xml')}\n"
    if search:
        text += f"search:\n  - {{type: searxng, name: sx, base_url: '{server.base}'}}\n"
        brief = root / "briefs" / "gap"
        brief.mkdir(parents=True)
        (brief / "brief.yaml").write_text(
            "scope: Open models.\nqueries: [open models]\nfeeds: {names: [firehose]}\n", encoding="utf-8"
        )
    text += f"collect: {collect}\nhttp:\n  allow_private_networks: true\n"
    (root / "feeds.yaml").write_text(text, encoding="utf-8")
    return root


def _briefbot(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFBOT_"))}
    # `run` needs an LLM endpoint that wants no key; with no brief it never calls it.
    env |= {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "COLUMNS": "250"}
    return subprocess.run(
        [BRIEFBOT, "--root", str(root), *args], capture_output=True, text=True, env=env, timeout=300
    )


def _stored(root: Path) -> list[str]:
    conn = sqlite3.connect(root / ".briefbot" / "state.db")
    try:
        return sorted(row[0] for row in conn.execute("SELECT title FROM items"))
    finally:
        conn.close()


NEWEST = sorted(f"Entry {n}" for n in range(ENTRIES - LIMIT, ENTRIES))
NOTE = "feed firehose: took 50 of 5,000 entries, the newest (feeds.yaml collect.max_entries_per_feed: 50)"


def test_collect_takes_the_newest_entries_up_to_the_limit(tmp_path: Path, server: FeedServer) -> None:
    root = _project(tmp_path, server, collect=f"{{max_entries_per_feed: {LIMIT}}}")
    done = _briefbot(root, "collect")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.strip() == "", done.stderr
    assert _stored(root) == NEWEST
    lines = [line.rstrip() for line in done.stdout.splitlines()]
    assert "50 new, 0 duplicate, 0 of 1 sources failed" in lines, done.stdout
    assert NOTE in lines, done.stdout
    # As JSON: the source's report says how many entries there were and how many were left.
    other = _project(tmp_path, server, collect=f"{{max_entries_per_feed: {LIMIT}}}", name="other")
    as_json = _briefbot(other, "collect", "--json")
    assert as_json.returncode == 0, as_json.stderr
    (source,) = json.loads(as_json.stdout)["sources"]
    assert (source["status"], source["entries"], source["new"], source["left"]) == (200, 5000, 50, 4950)


def test_the_nights_report_notes_what_was_left(tmp_path: Path, server: FeedServer) -> None:
    root = _project(tmp_path, server, collect=f"{{max_entries_per_feed: {LIMIT}}}")
    night = _briefbot(root, "run", "--date", "2026-05-24")
    assert night.returncode == 0, night.stdout + night.stderr
    report = json.loads((root / ".briefbot" / "runs" / "1" / "report.json").read_text(encoding="utf-8"))
    assert report["collected"] == LIMIT and report["failures"] == []
    assert NOTE in report["notes"]
    assert NOTE in night.stdout
    assert _stored(root) == NEWEST


def test_a_search_takes_its_newest_results_up_to_the_cap(tmp_path: Path, server: FeedServer) -> None:
    root = _project(
        tmp_path, server, collect="{max_entries_per_feed: 10, max_results_per_search: 20}", search=True
    )
    done = _briefbot(root, "collect", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    feed, search = json.loads(done.stdout)["sources"]
    assert (feed["new"], feed["left"]) == (10, 4990)
    assert (search["kind"], search["new"], search["left"]) == ("search", 20, 60)
    titles = _stored(root)
    assert [t for t in titles if t.startswith("Result")] == sorted(f"Result {n}" for n in range(60, 80))


def test_the_default_limit_holds_without_configuration(tmp_path: Path, server: FeedServer) -> None:
    root = _project(tmp_path, server, collect="{}")
    done = _briefbot(root, "collect")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(_stored(root)) == 200
    assert "feed firehose: took 200 of 5,000 entries, the newest" in done.stdout


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        (
            "{max_entries_per_feed: 0}",
            "collect.max_entries_per_feed: Input should be greater than or equal to 1",
        ),
        ("{max_results_per_search: many}", "collect.max_results_per_search: Input should be a valid integer"),
        ("{max_entries: 5}", "collect.max_entries: Extra inputs are not permitted"),
    ],
)
def test_a_bad_limit_names_the_file_and_key(tmp_path: Path, setting: str, problem: str) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds: []\ncollect: {setting}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_feeds_file(path)
    assert str(err.value).startswith(f"{path}: {problem}"), str(err.value)
