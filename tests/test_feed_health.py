"""Feed health: collect records every feed fetch; the store reads it back per feed and window;
the web's /feeds page shows it escaped, under the CSP, linked from the index."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from briefbot.errors import StoreError
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store.feed_health import FeedFetch, FeedHealth, feed_health, read_feed_health, record_fetches
from briefbot.web import create_app
from briefbot.web.security import CONTENT_SECURITY_POLICY

NOW = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def night(conn: sqlite3.Connection, days_ago: float, *fetches: FeedFetch) -> None:
    record_fetches(conn, list(fetches), now=NOW - dt.timedelta(days=days_ago))


def ok(feed: str, *, new: int = 0, not_modified: bool = False) -> FeedFetch:
    return FeedFetch(
        feed=feed,
        url=f"https://{feed}.example/f",
        status=304 if not_modified else 200,
        not_modified=not_modified,
        new=new,
    )


def failed(feed: str, error: str) -> FeedFetch:
    return FeedFetch(feed=feed, url=f"https://{feed}.example/f", error=error)


def test_health_window_last_success_error_and_recovery() -> None:
    conn = connect(":memory:")
    night(conn, 10, ok("a", new=50), failed("b", "old failure"), ok("c"))
    night(conn, 3, ok("a", new=2), ok("b", new=1), failed("c", "c: HTTP 500"))
    night(conn, 2, ok("a", not_modified=True), failed("b", "b: timed out"), failed("c", "c: HTTP 404"))
    night(conn, 1, ok("a", not_modified=True), ok("b", not_modified=True), failed("c", "c: HTTP 404"))
    health = feed_health(conn, ["a", "b", "c", "never"], now=NOW)
    a, b, c, never = health["a"], health["b"], health["c"], health["never"]
    # Only the last 7 days count for fetches, new items and the 304 rate.
    assert (a.fetches, a.new_in_window, a.not_modified_rate, a.last_error) == (3, 2, 0.667, None)
    assert a.last_success == (NOW - dt.timedelta(days=1)).isoformat()
    # b failed two nights ago but succeeded since: healthy again, its old error not shown.
    assert (b.last_error, b.failing, b.not_modified_rate) == (None, False, 0.5)
    # c's last success is ten days old and it has failed since: the newest error is shown.
    assert c.failing and c.last_error == "c: HTTP 404"
    assert c.last_error_at == (NOW - dt.timedelta(days=1)).isoformat()
    assert c.last_success == (NOW - dt.timedelta(days=10)).isoformat()
    assert (c.not_modified_rate, c.fetches) == (None, 3)
    assert (never.fetches, never.last_success, never.last_error, never.not_modified_rate) == (
        0,
        None,
        None,
        None,
    )


def test_read_health_from_a_missing_an_old_and_a_broken_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    assert read_feed_health(db, ["a"], now=NOW)["a"].fetches == 0
    assert not db.exists()
    sqlite3.connect(db).execute("CREATE TABLE other (x)").connection.commit()  # before feed health
    assert read_feed_health(db, ["a"], now=NOW)["a"].fetches == 0
    db.write_bytes(b"this is not a database, just bytes" * 200)
    with pytest.raises(StoreError, match="reading feed health"):
        read_feed_health(db, ["a"], now=NOW)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "feeds.yaml").write_text(
        "feeds:\n"
        "  - name: healthy\n    url: https://healthy.example/feed?a=1&b=<2>\n    tags: [ai]\n"
        "  - name: broken\n    url: https://broken.example/feed\n    enabled: false\n"
    )
    proj = Project(tmp_path)
    conn = connect(proj.state_db)
    try:
        night(conn, 1, ok("healthy", new=4), failed("broken", XSS))
        night(conn, 0.5, ok("healthy", not_modified=True))
    finally:
        conn.close()
    return proj


def test_feeds_page_lists_health_escaped_under_the_csp(project: Project) -> None:
    with TestClient(create_app(project, clock=lambda: NOW)) as client:
        index = client.get("/")
        page = client.get("/feeds")
    assert 'href="/feeds"' in index.text
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    html = page.text
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "https://healthy.example/feed?a=1&amp;b=&lt;2&gt;" in html
    healthy = html[html.index("healthy") : html.index("broken")]
    assert "<td>4</td>" in healthy and "<td>50%</td>" in healthy and "<td>yes</td>" in healthy
    broken = html[html.index('<tr class="failing">') :]
    assert "broken" in broken and "never" in broken and "<td>no</td>" in broken


def test_feeds_page_without_feeds_or_state(tmp_path: Path) -> None:
    with TestClient(create_app(Project(tmp_path), clock=lambda: NOW)) as client:
        page = client.get("/feeds")
    assert page.status_code == 200 and "No feeds are configured" in page.text


def test_feeds_page_with_a_broken_feeds_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: [unclosed\n")
    with TestClient(create_app(Project(tmp_path), clock=lambda: NOW)) as client:
        page = client.get("/feeds")
    assert page.status_code == 400 and "YAML syntax error" in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_error_is_shown_without_the_feeds_own_url() -> None:
    health = FeedHealth(feed="a", last_error="https://a.example/f: HTTP 500")
    assert health.error_without("https://a.example/f") == "HTTP 500"
    assert health.error_without("https://b.example/f") == "https://a.example/f: HTTP 500"
    assert FeedHealth(feed="a").error_without("https://a.example/f") is None
