"""`briefbot feeds`: add/remove keep feeds.yaml's comments and loadability; check reports every
kind of failure against real local servers; list shows the health collect records.

All feeds.yaml files here are synthetic, written by the tests."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from _collect_servers import FeedServer, Route, rss
from briefbot.cli import main
from briefbot.collect.stage import collect
from briefbot.config import load_config, load_feeds_file
from briefbot.http import HttpSettings, make_client
from briefbot.project import Project
from briefbot.store import connect

COMMENTED = """\
# Our feeds. This comment must survive every edit.
feeds:
  # the first one
  - name: alpha
    url: https://alpha.example/feed
    tags: [ai]
  # the second one, read by nothing yet
  - name: beta
    url: https://beta.example/feed
search: []   # no providers
http:
  allow_private_networks: true
"""


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--root", str(root), "feeds", *args], env={"COLUMNS": "250"})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "feeds.yaml").write_text(COMMENTED, encoding="utf-8")
    return tmp_path


def names(root: Path) -> list[str]:
    return [f.name for f in load_feeds_file(root / "feeds.yaml").feeds]


def test_add_appends_in_style_and_keeps_comments(root: Path) -> None:
    result = invoke(root, "add", "gamma", "https://gamma.example/rss?x=1", "--tag", "ai", "--tag", "yes")
    assert result.exit_code == 0, result.output
    text = (root / "feeds.yaml").read_text()
    assert text.startswith(COMMENTED.split("search:")[0])  # everything before the new entry as it was
    assert "  - name: gamma\n    url: https://gamma.example/rss?x=1\n    tags: [ai, 'yes']\n" in text
    assert "# the second one" in text and "search: []   # no providers" in text
    feeds = load_feeds_file(root / "feeds.yaml").feeds
    assert [(f.name, f.tags) for f in feeds][-1] == ("gamma", ["ai", "yes"])
    # A name YAML would read as a boolean is quoted, so the file still loads with it as a string.
    assert invoke(root, "add", "true", "https://t.example/f", "--disabled").exit_code == 0
    assert names(root) == ["alpha", "beta", "gamma", "true"]
    assert load_feeds_file(root / "feeds.yaml").feeds[-1].enabled is False


@pytest.mark.parametrize(
    ("name", "url", "message"),
    [
        ("alpha", "https://new.example/feed", "a feed named 'alpha' exists already"),
        ("other", "https://alpha.example/feed", "is already the feed 'alpha'"),
        ("other", "ftp://alpha.example/feed", "not an http(s) URL"),
        ("other", "https:///nohost", "not an http(s) URL"),
        ("-bad name", "https://x.example/f", "should match pattern"),
    ],
)
def test_add_refuses_invalid_and_duplicate(root: Path, name: str, url: str, message: str) -> None:
    result = invoke(root, "add", "--", name, url) if name.startswith("-") else invoke(root, "add", name, url)
    assert result.exit_code == 2
    assert message in result.output
    assert (root / "feeds.yaml").read_text() == COMMENTED


def test_add_to_a_missing_or_flow_style_file(tmp_path: Path) -> None:
    # No feeds.yaml: not a project, and the error says how to make one; nothing is written.
    refused = invoke(tmp_path, "add", "one", "https://one.example/f")
    assert refused.exit_code == 2 and "briefbot init" in refused.output
    assert not (tmp_path / "feeds.yaml").exists()
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    assert invoke(tmp_path, "add", "one", "https://one.example/f").exit_code == 0
    assert names(tmp_path) == ["one"]
    (tmp_path / "feeds.yaml").write_text("# flow\nfeeds: [{name: a, url: 'https://a.example/f'}]\n")
    result = invoke(tmp_path, "add", "b", "https://b.example/f")
    assert result.exit_code == 0, result.output
    assert "comments were not kept" in result.output
    assert names(tmp_path) == ["a", "b"]


def test_remove_cuts_one_entry_and_keeps_the_rest(root: Path) -> None:
    result = invoke(root, "remove", "alpha")
    assert result.exit_code == 0, result.output
    text = (root / "feeds.yaml").read_text()
    assert "alpha" not in text.replace("# the first one\n", "")
    assert "# the second one, read by nothing yet\n  - name: beta" in text
    assert names(root) == ["beta"]
    missing = invoke(root, "remove", "alpha")
    assert missing.exit_code == 2 and "no feed named 'alpha'" in missing.output


def test_remove_refuses_a_feed_a_brief_selects(root: Path) -> None:
    for slug, selection in (("by-name", "{names: [beta]}"), ("by-tag", "{tags: [ai]}")):
        (root / "briefs" / slug).mkdir(parents=True)
        (root / "briefs" / slug / "brief.yaml").write_text(f"scope: s\nfeeds: {selection}\n")
    for name, slug in (("beta", "by-name"), ("alpha", "by-tag")):
        result = invoke(root, "remove", name)
        assert result.exit_code == 2 and slug in result.output
    assert (root / "feeds.yaml").read_text() == COMMENTED


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _project(root: Path, feeds: dict[str, str], *, private: bool = True) -> None:
    lines = ["feeds:"] + [f"  - name: '{n}'\n    url: {u}" for n, u in feeds.items()]
    lines.append(f"http:\n  allow_private_networks: {'true' if private else 'false'}\n  max_retries: 0")
    root.mkdir(parents=True, exist_ok=True)
    (root / "feeds.yaml").write_text("\n".join(lines) + "\n")


GOOD = rss([("A story", "https://news.example/1", "words"), ("Another", "https://news.example/2", "more")])
ROUTES = {
    "/ok": Route(body=GOOD, headers={"Content-Type": "application/rss+xml"}),
    "/gone": Route(body=b"gone", status=410),
    "/500": Route(body=b"boom", status=500),
    "/html": Route(body=b"<!doctype html><html><body><p>a page</p></body></html>"),
    "/slow": Route(body=GOOD, delay=3.0),
}


def test_check_reports_every_failure_kind_and_exit_1(tmp_path: Path) -> None:
    with FeedServer(ROUTES) as server:
        feeds = {n: server.url(f"/{n}") for n in ("ok", "gone", "500", "html", "slow")}
        feeds["refused"] = f"http://127.0.0.1:{_closed_port()}/feed"
        _project(tmp_path, feeds)
        result = invoke(tmp_path, "check", "--timeout", "0.5", "--json")
        table = invoke(tmp_path, "check", "ok", "gone", "html")
    assert result.exit_code == 1, result.output
    by = {r["name"]: r for r in json.loads(result.stdout)["feeds"]}
    assert (by["ok"]["outcome"], by["ok"]["status"], by["ok"]["entries"]) == ("ok", 200, 2)
    assert (by["gone"]["outcome"], by["gone"]["status"], by["gone"]["detail"]) == ("http", 410, "HTTP 410")
    assert (by["500"]["outcome"], by["500"]["status"]) == ("http", 500)
    assert by["html"]["outcome"] == "parse" and "not a feed" in by["html"]["detail"]
    assert by["slow"]["outcome"] == "timeout" and "0.5" in by["slow"]["detail"]
    assert by["refused"]["outcome"] == "network"
    assert table.exit_code == 1
    assert (
        "HTTP error" in table.output and "parse error" in table.output and "1 of 3 feeds ok" in table.output
    )
    assert "2 entries" in table.output


def test_check_blocked_address_and_none_reachable_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", raising=False)
    with FeedServer(ROUTES) as server:
        _project(tmp_path, {"local": server.url("/ok")}, private=False)
        result = invoke(tmp_path, "check", "--json")
        assert server.seen == []  # refused before any request reached the server
    assert result.exit_code == 2
    (only,) = json.loads(result.stdout)["feeds"]
    assert only["outcome"] == "blocked" and "127.0.0.1" in only["detail"]


def test_check_all_ok_exit_0_and_disabled_skipped(tmp_path: Path) -> None:
    with FeedServer(ROUTES) as server:
        _project(tmp_path, {"ok": server.url("/ok"), "off": server.url("/gone")})
        text = (tmp_path / "feeds.yaml").read_text().replace("/gone\n", "/gone\n    enabled: false\n")
        (tmp_path / "feeds.yaml").write_text(text)
        result = invoke(tmp_path, "check")
        everything = invoke(tmp_path, "check", "--all")
    assert result.exit_code == 0, result.output
    assert "1 of 1 feeds ok" in result.output
    assert everything.exit_code == 1


def test_check_unreadable_config_or_unknown_name(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: [unclosed\n")
    result = invoke(tmp_path, "check")
    assert result.exit_code == 2 and "YAML syntax error" in result.output
    (tmp_path / "feeds.yaml").write_text("http:\n  no_such_setting: 1\n")
    result = invoke(tmp_path, "check")
    assert result.exit_code == 2 and "http.no_such_setting" in result.output
    _project(tmp_path, {"a": "https://a.example/f"})
    result = invoke(tmp_path, "check", "nope")
    assert result.exit_code == 2 and "no feed named 'nope'" in result.output


def test_list_shows_the_health_collect_recorded(tmp_path: Path) -> None:
    with FeedServer({"/ok": Route(body=GOOD), "/bad": Route(status=500)}) as server:
        _project(tmp_path, {"good": server.url("/ok"), "bad": server.url("/bad"), "new": server.url("/ok")})
        text = (tmp_path / "feeds.yaml").read_text().replace("/ok\n", "/ok\n    tags: [t]\n", 1)
        text = text.replace("  - name: 'new'", "  - name: new\n    enabled: false")
        (tmp_path / "feeds.yaml").write_text(text)
        project = Project(tmp_path)
        config = load_config(project)

        async def night() -> None:
            conn = connect(project.state_db)
            try:
                async with make_client(HttpSettings(allow_private_networks=True, max_retries=0)) as client:
                    await collect(config, client=client, conn=conn)
            finally:
                conn.close()

        asyncio.run(night())
        asyncio.run(night())  # the second night is a 304 for the good feed
    listed = invoke(tmp_path, "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.stdout)["feeds"]}
    good, bad, new = rows["good"]["health"], rows["bad"]["health"], rows["new"]["health"]
    assert rows["good"]["tags"] == ["t"] and rows["new"]["enabled"] is False
    assert (good["fetches"], good["new_in_window"], good["not_modified_rate"], good["last_error"]) == (
        2,
        2,
        0.5,
        None,
    )
    assert good["last_success"] is not None
    assert bad["last_success"] is None and "HTTP 500" in bad["last_error"]
    assert (new["fetches"], new["last_success"]) == (0, None)
    table = invoke(tmp_path, "list")
    assert table.exit_code == 0
    for cell in ("good", "yes", "no", "never", "HTTP 500", "50%"):
        assert cell in table.output


def test_list_without_state_database_or_feeds(tmp_path: Path) -> None:
    assert "no feeds" in invoke(tmp_path, "list").output
    _project(tmp_path, {"a": "https://a.example/f"})
    result = invoke(tmp_path, "list", "--json")
    assert json.loads(result.stdout)["feeds"][0]["health"]["last_success"] is None
    assert not Project(tmp_path).state_db.exists()  # reading health creates nothing


def test_add_and_remove_in_an_unindented_list(tmp_path: Path) -> None:
    text = "feeds:\n- name: a  # first\n  url: https://a.example/f\n- name: b\n  url: https://b.example/f\nllm: {}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    assert invoke(tmp_path, "add", "c", "https://c.example/f").exit_code == 0
    assert (tmp_path / "feeds.yaml").read_text() == text.replace(
        "llm:", "- name: c\n  url: https://c.example/f\nllm:"
    )
    assert invoke(tmp_path, "remove", "b").exit_code == 0
    assert names(tmp_path) == ["a", "c"]
    assert "# first" in (tmp_path / "feeds.yaml").read_text()


def test_check_with_json_logs_writes_only_json_lines_on_stderr(tmp_path: Path) -> None:
    # A real process, as a scheduler runs it: its stderr holds nothing but what briefbot wrote.
    def check() -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-c",
            "from briefbot.cli import main; main()",
            "--root",
            str(tmp_path),
            "--log-format",
            "json",
        ]
        return subprocess.run([*command, "feeds", "check"], capture_output=True, text=True, timeout=60)

    with FeedServer(ROUTES) as server:
        _project(tmp_path, {"ok": server.url("/ok"), "gone": server.url("/gone")})
        result = check()
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(line.get("event"), line.get("feed"), line.get("outcome")) for line in lines] == [
        ("feed_check", "gone", "http"),
        ("feeds_checked", None, None),
    ]
    assert (lines[1]["failed"], lines[1]["exit_code"]) == (1, 1)
    (tmp_path / "feeds.yaml").write_text("feeds: [unclosed\n")
    broken = check()
    assert broken.returncode == 2 and broken.stdout == ""
    (line,) = broken.stderr.splitlines()
    assert "YAML syntax error" in json.loads(line)["message"]


def test_add_to_an_empty_flow_list_keeps_the_comments(tmp_path: Path) -> None:
    # The shape `briefbot init` writes: commented examples, then `feeds: []`.
    text = "# feeds:\n#   - name: example\nfeeds: []  # none yet\n\n# http: {}\nllm: {}\n"
    (tmp_path / "feeds.yaml").write_text(text)
    assert invoke(tmp_path, "add", "a", "https://a.example/f").exit_code == 0
    assert invoke(tmp_path, "add", "b", "https://b.example/f", "--tag", "x").exit_code == 0
    assert (tmp_path / "feeds.yaml").read_text() == text.replace(
        "feeds: []  # none yet\n",
        "feeds:  # none yet\n  - name: a\n    url: https://a.example/f\n"
        "  - name: b\n    url: https://b.example/f\n    tags: [x]\n",
    )
    assert names(tmp_path) == ["a", "b"]


def test_add_to_a_flow_list_with_entries_rewrites_rather_than_adding_a_second_key(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: [{name: a, url: 'https://a.example/f'}]\nllm: {}\n")
    result = invoke(tmp_path, "add", "b", "https://b.example/f")
    assert result.exit_code == 0 and "comments were not kept" in result.output
    assert (tmp_path / "feeds.yaml").read_text().count("feeds:") == 1
    assert names(tmp_path) == ["a", "b"]


def test_a_password_in_a_feed_url_is_stored_but_never_echoed(root: Path, tmp_path: Path) -> None:
    secret = "https://reader:s3cr3t-pw@private.example/feed?x=1"
    result = invoke(root, "add", "private", secret)
    assert result.exit_code == 0, result.output
    assert "s3cr3t-pw" not in result.output and "https://reader:***@private.example/feed?x=1" in result.output
    assert load_feeds_file(root / "feeds.yaml").feeds[-1].url == secret  # fetching needs it
    again = invoke(root, "add", "other", secret)
    assert again.exit_code == 2 and "s3cr3t-pw" not in again.output and "reader:***@" in again.output
    # Synthetic OPML naming the same feed twice and another one with a password.
    opml = tmp_path / "private.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="p" xmlUrl="https://reader:s3cr3t-pw@private.example/feed?x=1"/>'
        '<outline text="q" xmlUrl="https://u:hunter2@q.example/rss"/>'
        '<outline text="q2" xmlUrl="https://u:hunter2@Q.example/rss"/></body></opml>'
    )
    imported = invoke(root, "import", str(opml))
    assert imported.exit_code == 0, imported.output
    assert "s3cr3t-pw" not in imported.output and "hunter2" not in imported.output
    assert "added q (https://u:***@q.example/rss)" in imported.output
    assert "skipped https://u:***@q.example/rss: listed twice" in imported.output
    listed = invoke(root, "list")
    assert listed.exit_code == 0 and "private.example" in listed.output and "s3cr3t-pw" not in listed.output


def test_check_and_list_json_never_show_a_feed_urls_credentials(tmp_path: Path) -> None:
    with FeedServer(ROUTES) as server:
        ok = server.url("/ok").replace("http://", "http://reader:s3cr3t-pw@")
        gone = server.url("/gone") + "?api_key=k3y-k3y-k3y-k3y"
        refused = f"http://u:hunter2-hunter2@127.0.0.1:{_closed_port()}/feed"
        _project(tmp_path, {"ok": ok, "gone": gone, "refused": refused})
        outputs = [
            invoke(tmp_path, "check", "--json"),
            invoke(tmp_path, "check"),
            CliRunner().invoke(main, ["--root", str(tmp_path), "--log-format", "json", "feeds", "check"]),
            invoke(tmp_path, "list", "--json"),
        ]
    for result in outputs:
        shown = result.stdout + result.stderr
        assert "reader:***@" in shown or "feeds check" in shown, shown
        for secret in ("s3cr3t-pw", "k3y-k3y-k3y-k3y", "hunter2-hunter2"):
            assert secret not in shown, shown
    by = {r["name"]: r for r in json.loads(outputs[0].stdout)["feeds"]}
    assert by["ok"]["outcome"] == "ok" and by["ok"]["url"].startswith("http://reader:***@")
    assert by["refused"]["outcome"] == "network"


@pytest.mark.corpus
def test_check_agrees_with_collect_on_every_corpus_feed(corpora: Path, tmp_path: Path) -> None:
    # The real feeds of ../shared/corpora/feeds served as a server would: check must call ok
    # every feed collect reads, with the same entry count, and a parse error every one it cannot.
    manifest = json.loads((corpora / "feeds" / "manifest.json").read_text(encoding="utf-8"))
    routes = {}
    for index, record in enumerate(manifest):
        headers = dict(record.get("http_headers") or {"Content-Type": "application/xml"})
        if record["gzip_bytes"]:
            headers["Content-Encoding"] = "gzip"
        routes[f"/{index}"] = Route(body=(corpora / "feeds" / record["file"]).read_bytes(), headers=headers)
    with FeedServer(routes) as server:
        _project(tmp_path, {f"f{i}": server.url(f"/{i}") for i in range(len(manifest))})
        checked = invoke(tmp_path, "check", "--json")
        config = load_config(Project(tmp_path))

        async def night() -> list[tuple[str, int | None, int, list[str]]]:
            conn = connect(Project(tmp_path).state_db)
            try:
                async with make_client(HttpSettings(allow_private_networks=True, max_retries=0)) as client:
                    report = await collect(config, client=client, conn=conn)
            finally:
                conn.close()
            return [(s.name, s.status, s.entries, s.errors) for s in report.sources]

        collected = asyncio.run(night())
    assert checked.exit_code in (0, 1), checked.output
    by = {r["name"]: r for r in json.loads(checked.stdout)["feeds"]}
    assert len(by) == len(collected) == len(manifest)
    for name, status, entries, errors in collected:
        file = manifest[int(name[1:])]["file"]
        if status == 200 and not errors:
            assert (by[name]["outcome"], by[name]["entries"]) == ("ok", entries), (file, by[name])
        else:
            assert by[name]["outcome"] == "parse" and "not a feed" in errors[0], (file, by[name], errors)
    assert sum(r["outcome"] == "ok" for r in by.values()) > 200


def test_add_stores_a_pasted_url_as_the_http_url_it_is(root: Path) -> None:
    assert invoke(root, "add", "a", "  feed://A.Example/f x  ").exit_code == 0
    assert load_feeds_file(root / "feeds.yaml").feeds[-1].url == "http://a.example/f%20x"
    # Another spelling of a configured feed is that feed.
    again = invoke(root, "add", "b", "HTTPS://Alpha.example/feed")
    assert again.exit_code == 2 and "is already the feed 'alpha'" in again.output
