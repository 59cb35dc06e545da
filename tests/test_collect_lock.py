"""`briefbot collect` takes the project's run lock, as `briefbot run` does (issue 17, item 6).

Without it a second collect started while one was fetching fetched everything again and died on
the items' UNIQUE constraint, and a collect ran in the middle of a night. Every process here is a
real `briefbot` of this venv; the feed server holds each answer until the test lets it go, so "the
first one is mid-fetch" is a fact the test waits for, not a guess about timing.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BRIEFBOT = str(Path(sys.executable).parent / "briefbot")  # this venv's, not PATH's


class GatedFeed:
    """An RSS feed of `count` items whose answers wait until `release()`; counts arrivals."""

    def __init__(self, count: int) -> None:
        self.arrived = 0
        self.changed = threading.Condition()
        self.gate = threading.Event()
        body = _rss(count)
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with feed.changed:
                    feed.arrived += 1
                    feed.changed.notify_all()
                feed.gate.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a refused or killed client went away

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/feed.xml"

    def wait_arrivals(self, n: int, *, timeout: float = 60) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.arrived >= n, timeout=timeout)

    def release(self) -> None:
        self.gate.set()

    def __enter__(self) -> GatedFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _rss(count: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>http://news.example.com/s/{i}</link>"
        f"<description>Story number {i}.</description></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>http://news.example.com/</link><description>d</description>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def feed() -> Iterator[GatedFeed]:
    with GatedFeed(40) as server:
        yield server


def _project(tmp_path: Path, feed_url: str) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "feeds.yaml").write_text(
        f"feeds:\n  - name: wire\n    url: {feed_url}\nhttp:\n  allow_private_networks: true\n",
        encoding="utf-8",
    )
    return root


def _env() -> dict[str, str]:
    # `run` needs an LLM endpoint that wants no key; with no brief it never calls it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BRIEFBOT_"))}
    return env | {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "COLUMNS": "200"}


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [BRIEFBOT, "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _items(root: Path) -> int:
    conn = sqlite3.connect(root / ".briefbot" / "state.db")
    try:
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    finally:
        conn.close()


def _state_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / ".briefbot").glob("state.db*"))}


def _finish(proc: subprocess.Popen[str], *, timeout: float = 120) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"briefbot {proc.args} did not finish: {out}{err}")
    return proc.returncode, out, err


def _assert_refused(code: int, out: str, err: str, *, holder: subprocess.Popen[str], command: str) -> None:
    assert code == 2, (out, err)
    assert "Traceback" not in out + err and "UNIQUE" not in out + err, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: another briefbot run"), err
    assert f"pid {holder.pid}" in lines[0] and f"briefbot {command}" in lines[0], err
    assert "run.lock" in lines[0] and "wait for it to finish" in lines[0], err


@contextmanager
def _night_holding_the_lock(root: Path, feed: GatedFeed) -> Iterator[subprocess.Popen[str]]:
    """`briefbot run` holding the lock, waiting on the gated feed (it has stored no item yet);
    killed afterwards: the night's own outcome is not these tests' business (its pages are on no server)."""
    night = _start(root, "run")
    try:
        assert feed.wait_arrivals(1), "the night never fetched the feed"
        yield night
    finally:
        night.kill()
        night.communicate()


def _refused_beside(night: subprocess.Popen[str], root: Path, command: str) -> None:
    """`briefbot command`, started while `night` holds the lock, is refused and writes nothing."""
    before = _state_files(root)
    code, out, err = _finish(_start(root, command), timeout=30)
    _assert_refused(code, out, err, holder=night, command="run")
    assert _state_files(root) == before, f"the refused {command} changed the state database"


def test_collect_refuses_while_a_night_holds_the_lock(tmp_path: Path, feed: GatedFeed) -> None:
    root = _project(tmp_path, feed.url)
    with _night_holding_the_lock(root, feed) as night:
        _refused_beside(night, root, "collect")
        assert feed.arrived == 1, "the refused collect fetched the feed"
        assert _items(root) == 0


def test_two_concurrent_collects_one_collects_the_other_refuses(tmp_path: Path, feed: GatedFeed) -> None:
    root = _project(tmp_path, feed.url)
    first = _start(root, "collect")
    try:
        assert feed.wait_arrivals(1), "the first collect never fetched the feed"
        second = _start(root, "collect")
        # Either the second refuses at once (the fix) or it reaches the feed too (the bug).
        refused = second.poll
        deadline = time.monotonic() + 60
        while refused() is None and feed.arrived < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        feed.release()
        code, out, err = _finish(second)
    finally:
        feed.release()
        first_code, first_out, first_err = _finish(first)
    _assert_refused(code, out, err, holder=first, command="collect")
    assert feed.arrived == 1, "the refused collect fetched the feed"
    assert first_code == 0, (first_out, first_err)
    assert "40 new, 0 duplicate, 0 of 1 sources failed" in first_out
    assert _items(root) == 40
    # The lock is gone with its holder: the next collect runs (every item now a duplicate).
    again = subprocess.run(
        [BRIEFBOT, "--root", str(root), "collect"], capture_output=True, text=True, env=_env(), timeout=120
    )
    feed.release()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 new, 40 duplicate" in again.stdout


def test_extract_refuses_while_a_night_holds_the_lock(tmp_path: Path, feed: GatedFeed) -> None:
    # `briefbot extract` (the pending items) writes the store as the night's extract stage does.
    root = _project(tmp_path, feed.url)
    with _night_holding_the_lock(root, feed) as night:
        _refused_beside(night, root, "extract")
