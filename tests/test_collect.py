"""The collect stage end to end over real local HTTP servers, through the production client."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from _collect_servers import FeedServer, Route, gzip_twice, rss
from briefbot.cli import main
from briefbot.collect.freshness import source_urls
from briefbot.collect.stage import CollectReport, collect
from briefbot.config import load_config
from briefbot.errors import ReplayMissError, StoreError
from briefbot.http import HttpSettings, make_client
from briefbot.project import Project
from briefbot.store import connect
from briefbot.store import items as item_store

# The manifest counts entries of the raw (still gzipped) bytes; served with Content-Encoding: gzip
# the client decodes them and these are the feeds' real entry counts.
GZIP_ENTRIES = {
    "realworld/node-feedparser/compressed.xml": 10,
    "realworld/node-feedparser/invalid-characters-gzipped.xml": 25,
}


def write_project(
    root: Path, feeds: list[tuple[str, str]], *, briefs: dict[str, str] | None = None, search: str = ""
) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    lines = ["feeds:"] + [f"  - name: '{name}'\n    url: {url}\n    tags: [t]" for name, url in feeds]
    (root / "feeds.yaml").write_text("\n".join(lines) + "\n" + search, encoding="utf-8")
    for slug, text in (briefs or {}).items():
        (root / "briefs" / slug).mkdir(parents=True)
        (root / "briefs" / slug / "brief.yaml").write_text(text, encoding="utf-8")
    return Project(root)


def run(
    project: Project, *, settings: HttpSettings | None = None, db: Path | None = None, only: str | None = None
) -> CollectReport:
    settings = settings or HttpSettings(allow_private_networks=True)
    config = load_config(project)

    async def go() -> CollectReport:
        conn = connect(db or project.state_db)
        try:
            async with make_client(settings) as client:
                return await collect(
                    config,
                    client=client,
                    conn=conn,
                    only=only,
                    sourced=source_urls(project, config.active_briefs()),
                )
        finally:
            conn.close()

    return asyncio.run(go())


def stored(project: Project, db: Path | None = None) -> list[item_store.StoredItem]:
    conn = connect(db or project.state_db)
    try:
        return item_store.list_items(conn)
    finally:
        conn.close()


@pytest.mark.corpus
def test_every_corpus_feed_over_http(corpora: Path, tmp_path: Path) -> None:
    manifest = json.loads((corpora / "feeds" / "manifest.json").read_text(encoding="utf-8"))
    routes, feeds, by_name = {}, [], {}
    for index, record in enumerate(manifest):
        headers = dict(record.get("http_headers") or {"Content-Type": "application/xml"})
        if record["gzip_bytes"]:
            headers["Content-Encoding"] = "gzip"
        routes[f"/{index}"] = Route(body=(corpora / "feeds" / record["file"]).read_bytes(), headers=headers)
        feeds.append((f"f{index}", f"/{index}"))
        by_name[f"f{index}"] = record
    with FeedServer(routes) as server:
        project = write_project(tmp_path, [(name, server.url(path)) for name, path in feeds])
        report = run(project)
    assert len(report.sources) == len(manifest)
    for source in report.sources:
        record = by_name[source.name]
        expected = GZIP_ENTRIES.get(record["file"], record["n_entries"])
        json_feed = record["file"].endswith(".json")
        if json_feed:
            # The manifest's labels come from feedparser 6, which cannot read JSON Feed; briefbot
            # reads it itself, so its items are what the document lists.
            expected = len(json.loads((corpora / "feeds" / record["file"]).read_bytes())["items"])
        assert source.status == 200, (record["file"], source.errors)
        assert source.entries == expected, record["file"]
        not_a_feed = (
            record["bozo"] and not record["version"] and record["file"] not in GZIP_ENTRIES and not json_feed
        )
        if not_a_feed:  # HTML page, JSON, empty document: that feed's error, nothing else
            assert source.errors and "not a feed" in source.errors[0], record["file"]
        else:
            assert source.errors == [], (record["file"], source.errors)
        if record["bozo"] and expected and record["file"] not in GZIP_ENTRIES and not json_feed:
            # Malformed but readable: used, with a warning saying so.
            assert any("malformed feed used anyway" in w for w in source.warnings), record["file"]
        # Every entry is accounted for: new, duplicate, or skipped with a warning (no usable link).
        skipped = sum("skipped: no http(s) link" in w for w in source.warnings)
        assert source.new + source.duplicate + skipped == source.entries, record["file"]
    assert sum(s.new for s in report.sources) == len(stored(project)) > 300
    # The gzip feeds arrived decoded and their items are stored.
    gz = [s for s in report.sources if by_name[s.name]["file"] in GZIP_ENTRIES]
    assert all(s.new > 0 for s in gz)
    assert sum(s.entries for s in report.sources if by_name[s.name]["file"].endswith(".json")) == 8


@pytest.mark.corpus
def test_guid_dupes_feed_is_deduplicated(corpora: Path, tmp_path: Path) -> None:
    body = (corpora / "feeds" / "realworld" / "node-feedparser" / "guid-dupes.xml").read_bytes()
    routes = {
        "/a": Route(body=body, headers={"Content-Type": "application/rss+xml"}),
        "/b": Route(body=body, headers={"Content-Type": "application/rss+xml"}),
    }
    with FeedServer(routes) as server:
        project = write_project(tmp_path, [("a", server.url("/a")), ("b", server.url("/b"))])
        report = run(project)
    assert [(s.entries, s.new, s.duplicate) for s in report.sources] == [(1, 1, 0), (1, 0, 1)]
    items = stored(project)
    assert [i.item.url for i in items] == ["http://www.braingle.com/50366.html"]
    assert items[0].item.origin == "feed:a"


def test_failures_are_per_feed(tmp_path: Path) -> None:
    good = rss(
        [
            ("First story about things", "https://news.example/1", "one"),
            ("Second story about stuff", "https://news.example/2", "two"),
        ]
    )
    cap = HttpSettings().max_bytes
    routes = {
        "/ok": Route(body=good, headers={"Content-Type": "application/rss+xml"}),
        "/500": Route(body=b"boom", status=500),
        "/slow": Route(body=good, delay=3.0),
        "/big": Route(body=b"<rss>" + b" " * (10 * 1024 * 1024) + b"</rss>"),
        "/bomb": Route(
            body=gzip_twice(b"<rss>" + b"\0" * (3 * cap)), headers={"Content-Encoding": "gzip, gzip"}
        ),
        "/html": Route(
            body=b"<!doctype html><html><body><p>Just a page</p></body></html>",
            headers={"Content-Type": "text/html"},
        ),
    }
    settings = HttpSettings(allow_private_networks=True, read_timeout=0.5, total_timeout=1.5, max_retries=0)
    with FeedServer(routes) as server:
        names = ["ok", "500", "slow", "big", "bomb", "html"]
        project = write_project(tmp_path, [(n, server.url(f"/{n}")) for n in names])
        report = run(project, settings=settings)
    by = {s.name: s for s in report.sources}
    assert (by["ok"].status, by["ok"].new, by["ok"].errors) == (200, 2, [])
    assert by["500"].status == 500 and "HTTP 500" in by["500"].errors[0]
    for name in ("slow", "big", "bomb", "html"):
        assert by[name].errors, name
        assert by[name].new == 0
    assert "not a feed" in by["html"].errors[0]
    assert len(stored(project)) == 2


def test_dates_fall_back_published_updated_fetch_time(tmp_path: Path) -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
    <entry><title>Has published</title><link href="https://d.example/1"/>
      <published>2026-05-20T10:00:00+02:00</published><updated>2026-05-21T00:00:00Z</updated></entry>
    <entry><title>Has updated only</title><link href="https://d.example/2"/><updated>2026-05-19T23:30:00-01:00</updated></entry>
    <entry><title>Has no date</title><link href="https://d.example/3"/></entry></feed>"""
    with FeedServer({"/atom": Route(body=atom, headers={"Content-Type": "application/atom+xml"})}) as server:
        project = write_project(tmp_path, [("d", server.url("/atom"))])
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        run(project)
        after = dt.datetime.now(dt.UTC)
    dates = {i.item.title: i.item.published for i in stored(project)}
    assert dates["Has published"] == dt.datetime(2026, 5, 20, 8, tzinfo=dt.UTC)
    assert dates["Has updated only"] == dt.datetime(2026, 5, 20, 0, 30, tzinfo=dt.UTC)
    # No date at all: the fetch time, taken from the response's Date header (so replays agree).
    assert dates["Has no date"].tzinfo is not None and before <= dates["Has no date"] <= after
    # ... and marked as such in the store, so it is never cited as the source's date.
    flags = {i.item.title: i.item.published_is_fetch_time for i in stored(project)}
    assert flags == {"Has published": False, "Has updated only": False, "Has no date": True}


def test_conditional_get_second_run_is_all_304(tmp_path: Path) -> None:
    feed = rss([(f"Story number {n} of the day", f"https://news.example/{n}", "text") for n in range(5)])
    routes = {"/a": Route(body=feed), "/b": Route(body=feed.replace(b"news.example", b"other.example"))}
    with FeedServer(routes) as server:
        project = write_project(tmp_path, [("a", server.url("/a")), ("b", server.url("/b"))])
        first = run(project)
        second = run(project)
        sent = [s.headers.get("if-none-match") for s in server.seen]
    assert [s.new for s in first.sources] == [5, 5]
    assert [(s.status, s.not_modified, s.entries, s.new, s.duplicate) for s in second.sources] == [
        (304, True, 0, 0, 0),
        (304, True, 0, 0, 0),
    ]
    assert sent[:2] == [None, None] and all(sent[2:]) and len(sent) == 4
    assert len(stored(project)) == 10


def test_search_providers_make_reactive_items(tmp_path: Path) -> None:
    answer = {
        "results": [
            {
                "url": "https://lab.example/post?utm_source=searx",
                "title": "Open weights close the gap",
                "content": "A long enough summary of the finding for the test.",
                "publishedDate": "2026-05-20T10:00:00",
            },
            {"url": "ftp://nope.example/x", "title": "skipped"},
            {"url": "https://undated.example/y", "title": "A result without any date", "content": "c"},
        ]
    }
    found = rss([("Gap narrows on coding benchmarks", "https://paper.example/a", "An RSS search hit")])
    routes = {
        "/search": Route(body=json.dumps(answer).encode(), headers={"Content-Type": "application/json"}),
        "/rss": Route(body=found),
    }
    with FeedServer(routes) as server:
        search = (
            f"search:\n  - {{type: searxng, name: sx, base_url: '{server.base}'}}\n"
            f"  - {{type: rss_search, name: rs, url_template: '{server.base}/rss?q={{query}}'}}\n"
        )
        project = write_project(
            tmp_path, [], briefs={"gap": "scope: s\nqueries: ['open models']\n"}, search=search
        )
        report = run(project)
        paths = sorted(s.path for s in server.seen)
    assert paths == ["/rss?q=open+models", "/search?q=open+models&format=json"]
    assert [(s.name, s.brief, s.query, s.new) for s in report.sources] == [
        ("sx", "gap", "open models", 2),
        ("rs", "gap", "open models", 1),
    ]
    items = {i.item.url: i for i in stored(project)}
    assert set(items) == {"https://lab.example/post", "https://paper.example/a", "https://undated.example/y"}
    assert {url for url, i in items.items() if i.item.published_is_fetch_time} == {
        "https://undated.example/y",
        "https://paper.example/a",
    }  # the RSS hit has no pubDate either
    assert {i.item.origin for i in items.values()} == {"reactive:gap"}
    assert all(i.briefs == {"gap": "new"} for i in items.values())
    assert items["https://lab.example/post"].item.published.isoformat() == "2026-05-20T10:00:00+00:00"


def test_record_then_replay_gives_identical_items(tmp_path: Path) -> None:
    feed = rss([(f"Recorded story {n}", f"https://rec.example/{n}", f"summary {n}") for n in range(3)])
    answer = {"results": [{"url": "https://found.example/x", "title": "Found by search", "content": "c"}]}
    routes = {
        "/feed": Route(body=gzip.compress(feed), headers={"Content-Encoding": "gzip"}),
        "/search": Route(body=json.dumps(answer).encode()),
        "/down": Route(status=500, body=b"x"),
    }
    recording = tmp_path / "rec"
    with FeedServer(routes) as server:
        search = f"search:\n  - {{type: searxng, name: sx, base_url: '{server.base}'}}\n"
        project = write_project(
            tmp_path / "p",
            [("f", server.url("/feed")), ("d", server.url("/down"))],
            briefs={"b": "scope: s\nqueries: [q]\n"},
            search=search,
        )
        live = run(
            project,
            settings=HttpSettings(allow_private_networks=True, record_dir=recording),
            db=tmp_path / "live.db",
        )
    # Servers stopped: only the recording can answer now.
    replayed = run(project, settings=HttpSettings(replay_dir=recording), db=tmp_path / "replay.db")
    assert live.model_dump(exclude={"sources": {"__all__": {"seconds"}}}) == replayed.model_dump(
        exclude={"sources": {"__all__": {"seconds"}}}
    )
    dump = [i.model_dump(exclude={"first_seen"}) for i in stored(project, tmp_path / "live.db")]
    assert len(dump) == 4
    assert dump == [i.model_dump(exclude={"first_seen"}) for i in stored(project, tmp_path / "replay.db")]


def test_replay_miss_is_fatal_and_typed(tmp_path: Path) -> None:
    feed = rss([("A recorded story for replay", "https://rec.example/1", "s")])
    recording = tmp_path / "rec"
    with FeedServer({"/feed": Route(body=feed), "/down": Route(status=500, body=b"x")}) as server:
        feeds = [("f", server.url("/feed")), ("d", server.url("/down"))]
        project = write_project(tmp_path / "p", feeds)
        run(
            project,
            settings=HttpSettings(allow_private_networks=True, record_dir=recording),
            db=tmp_path / "live.db",
        )
        # The same feeds plus one the recording never saw: the recording does not match.
        project = write_project(tmp_path / "q", [*feeds, ("gone", "http://127.0.0.1:9/never-recorded")])
    replay = HttpSettings(replay_dir=recording)
    with pytest.raises(ReplayMissError, match="never-recorded"):
        run(project, settings=replay, db=tmp_path / "replay.db")
    assert stored(project, tmp_path / "replay.db") == []  # nothing half-collected
    # A recorded failure (the 500) is still only that feed's error when replayed.
    report = run(write_project(tmp_path / "r", feeds), settings=replay, db=tmp_path / "replay2.db")
    assert [(s.name, s.status, s.new, bool(s.errors)) for s in report.sources] == [
        ("f", 200, 1, False),
        ("d", 500, 0, True),
    ]


def test_brief_sources_and_selection(tmp_path: Path) -> None:
    feed = rss(
        [
            ("Already a source of the brief", "https://src.example/a?utm_medium=rss", "x"),
            ("Brand new story for the brief", "https://src.example/b", "y"),
        ]
    )
    with FeedServer({"/a": Route(body=feed), "/z": Route(body=rss([]))}) as server:
        project = write_project(
            tmp_path,
            [("a", server.url("/a")), ("z", server.url("/z"))],
            briefs={"one": "scope: s\nfeeds: {names: [a]}\n", "two": "scope: s\nactive: false\n"},
        )
        from briefbot.models import Brief, Source

        project.publish(
            "one",
            Brief(
                title="T",
                state="open",
                version=1,
                date="2026-05-01",
                item_count=1,
                sources=[Source(number=1, title="A", url="https://SRC.example/a#top")],
            ),
        )
        report = run(project, only="one")
    assert [(s.name, s.new, s.duplicate) for s in report.sources] == [
        ("a", 1, 1)
    ]  # z is read by no active brief
    by_url = {i.item.url: i.briefs for i in stored(project)}
    assert by_url == {"https://src.example/a": {}, "https://src.example/b": {"one": "new"}}


def test_cli_collect_and_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "1")
    monkeypatch.setenv("COLUMNS", "200")  # keep table cells on one line for the asserts
    feed = rss([("A story for the command line", "https://cli.example/1", "words")])
    with FeedServer({"/f": Route(body=feed), "/bad": Route(status=500)}) as server:
        write_project(
            tmp_path, [("good", server.url("/f")), ("bad", server.url("/bad"))], briefs={"demo": "scope: s\n"}
        )
        runner = CliRunner()
        result = runner.invoke(main, ["--root", str(tmp_path), "collect"])
        assert result.exit_code == 1, result.output  # partial: one of two sources failed
        assert "1 new, 0 duplicate, 1 of 2 sources failed" in result.output
        assert "HTTP 500" in result.output
        again = runner.invoke(main, ["--root", str(tmp_path), "collect", "--brief", "demo", "--json"])
        assert json.loads(again.output)["sources"][0]["status"] == 304
    listed = runner.invoke(main, ["--root", str(tmp_path), "items", "--brief", "demo", "--json"])
    assert [(i["item"]["title"], i["briefs"]) for i in json.loads(listed.output)] == [
        ("A story for the command line", {"demo": "new"})
    ]
    table = runner.invoke(main, ["--root", str(tmp_path), "items"])
    assert "A story for the command line" in table.output
    missing = runner.invoke(main, ["--root", str(tmp_path), "collect", "--brief", "nope"])
    assert missing.exit_code == 2 and "no brief 'nope'" in missing.output


def test_json_feed_and_plain_json() -> None:
    from briefbot.collect.feeds import FeedParseError, parse_feed

    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    feed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [
                {
                    "id": 1,
                    "url": "/rel/1",
                    "title": "Relative link",
                    "date_modified": "2026-05-01T12:00:00+02:00",
                },
                {"id": "2", "content_html": "<p>No title, <b>no link</b></p>"},
            ],
        }
    ).encode()
    parsed = parse_feed(feed, url="https://j.example/feed.json", headers={}, origin="feed:j", fetched_at=when)
    assert (parsed.version, parsed.entries, len(parsed.items)) == ("jsonfeed1.1", 2, 1)
    first = parsed.items[0]
    assert (first.url, first.guid, first.publisher) == ("https://j.example/rel/1", "1", "J")
    assert first.published == dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    assert first.published_is_fetch_time is False
    undated = parse_feed(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1",
                "items": [{"id": "3", "url": "https://j.example/3", "title": "No date"}],
            }
        ).encode(),
        url="https://j.example/feed.json",
        headers={},
        origin="feed:j",
        fetched_at=when,
    ).items[0]
    assert (undated.published, undated.published_is_fetch_time) == (when, True)
    assert "entry 2 skipped" in parsed.warnings[0]
    with pytest.raises(FeedParseError, match="not a feed"):
        parse_feed(
            b'{"results": []}', url="https://j.example/api", headers={}, origin="feed:j", fetched_at=when
        )
    with pytest.raises(TypeError):
        parse_feed("https://j.example/feed", url="u", headers={}, origin="feed:j", fetched_at=when)


def _fill_up(project: Project, db: Path, server: FeedServer, *, max_page_count: int | None) -> None:
    async def go() -> None:
        conn = connect(db)
        try:
            if max_page_count is not None:
                # A database that may not grow: SQLITE_FULL, as on a full disk.
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.execute(f"PRAGMA max_page_count = {pages + max_page_count}")
            async with make_client(HttpSettings(allow_private_networks=True)) as client:
                await collect(load_config(project), client=client, conn=conn)
        finally:
            conn.close()

    asyncio.run(go())


def _big_feed() -> bytes:
    return rss(
        [(f"Story {n} with a long summary", f"https://full.example/{n}", "words " * 400) for n in range(60)]
    )


def test_full_database_names_the_database_and_the_cause(tmp_path: Path) -> None:
    with FeedServer({"/f": Route(body=_big_feed())}) as server:
        project = write_project(tmp_path, [("f", server.url("/f"))])
        db = tmp_path / "state.db"
        with pytest.raises(StoreError) as caught:
            _fill_up(project, db, server, max_page_count=3)
    message = str(caught.value)
    assert "database or disk is full" in message and "SQLITE_FULL" in message and str(db) in message
    assert "cannot rollback" not in message
    assert stored(project, db) == []  # all or nothing


def test_full_filesystem_names_the_cause(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: a full disk is a small tmpfs mounted for the test (CI runs as root)")
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        # A container without CAP_SYS_ADMIN: the machine cannot make the full disk, the code is not at fault.
        pytest.skip(f"root cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {done.stderr.decode().strip()}")
    try:
        with FeedServer({"/f": Route(body=_big_feed())}) as server:
            project = write_project(tmp_path / "p", [("f", server.url("/f"))])
            with pytest.raises(StoreError) as caught:
                _fill_up(project, mount / "state.db", server, max_page_count=None)
        assert "database or disk is full" in str(caught.value) and str(mount / "state.db") in str(
            caught.value
        )
    finally:
        subprocess.run(["umount", str(mount)], check=True)
