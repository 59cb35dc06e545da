"""OPML: read with listparser (tests/fixtures/opml/synthetic.opml is synthetic, written for these
tests), names derived from titles, `feeds import` / `feeds export` round trip through feeds.yaml."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from briefbot.cli import main
from briefbot.collect.feeds import FeedParseError
from briefbot.collect.opml import read_opml, slugify, unique_name, write_opml
from briefbot.config import NAME_PATTERN, FeedConfig, load_feeds_file
from conftest import as_project

SYNTHETIC = Path(__file__).parent / "fixtures" / "opml" / "synthetic.opml"


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--root", str(as_project(root)), "feeds", *args])


def test_read_keeps_http_feeds_and_reports_the_rest() -> None:
    listing = read_opml(SYNTHETIC.read_bytes(), source="synthetic.opml")
    assert [(f.title, f.url) for f in listing.feeds] == [
        ("Interconnects", "https://www.interconnects.ai/feed"),
        ("Ça & Là — Café Ünïcode", "https://cafe.example/feed.xml"),
        ("Interconnects", "https://mirror.example/interconnects.xml"),
        ("★★★", "https://stars.example/rss"),
    ]
    assert listing.feeds[0].tags == ["open-models", "ai"]
    # listparser itself lists a URL once (the second "cafe" outline is gone before we see it).
    # Each skipped outline is named, with its line; a title with a web page but no feed is no folder.
    assert sorted(listing.skipped) == [
        "file:///etc/passwd: not an http(s) feed URL (outline 'Local file', line 15)",
        "https://site.example/: no xmlUrl, only a web page's htmlUrl (outline 'A plain link', line 16)",
        "javascript:alert(1): not an http(s) feed URL (outline 'Script', line 14)",
    ]


@pytest.mark.parametrize("data", [b"", b"not xml at all <<", b"<html><body><p>hi</p></body></html>"])
def test_not_opml_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(FeedParseError, match="x.opml: not an OPML subscription list"):
        read_opml(data, source="x.opml")


def test_read_refuses_a_str() -> None:
    with pytest.raises(TypeError):
        read_opml("https://example.com/list.opml")


@pytest.mark.parametrize(
    ("title", "url", "taken", "name"),
    [
        ("Interconnects", "https://a.example/", set(), "interconnects"),
        ("Interconnects", "https://a.example/", {"interconnects"}, "interconnects-2"),
        ("Interconnects", "https://a.example/", {"interconnects", "interconnects-2"}, "interconnects-3"),
        ("Ça & Là — Café", "https://a.example/", set(), "ca-la-cafe"),
        ("★★★", "https://stars.example/rss", set(), "stars-example"),
        ("", "https://x.example/", {"x-example"}, "x-example-2"),
    ],
)
def test_names_are_slugs_unique_and_valid(title: str, url: str, taken: set[str], name: str) -> None:
    got = unique_name(title, url, taken)
    assert got == name
    FeedConfig(name=got, url=url)  # matches NAME_PATTERN
    assert NAME_PATTERN.startswith("^")


def test_slugify_is_bounded() -> None:
    assert len(slugify("word " * 40)) <= 60
    assert not slugify("word " * 40).endswith("-")


def test_import_adds_skips_and_reports(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "# kept\nfeeds:\n  - name: interconnects\n    url: https://www.interconnects.ai/feed\n"
    )
    result = invoke(tmp_path, "import", str(SYNTHETIC), "--tag", "imported")
    assert result.exit_code == 0, result.output
    assert "skipped https://www.interconnects.ai/feed: already the feed 'interconnects'" in result.output
    assert "skipped javascript:alert(1): not an http(s) feed URL" in result.output
    assert "skipped https://site.example/: no xmlUrl, only a web page's htmlUrl" in result.output
    assert "3 added, 4 skipped" in result.output
    text = (tmp_path / "feeds.yaml").read_text()
    assert text.startswith("# kept\n")
    feeds = load_feeds_file(tmp_path / "feeds.yaml").feeds
    assert [(f.name, f.url, f.tags) for f in feeds] == [
        ("interconnects", "https://www.interconnects.ai/feed", []),
        ("ca-la-cafe-unicode", "https://cafe.example/feed.xml", ["ai", "imported"]),
        ("interconnects-2", "https://mirror.example/interconnects.xml", ["ai", "imported"]),
        ("stars-example", "https://stars.example/rss", ["imported"]),
    ]
    again = invoke(tmp_path, "import", str(SYNTHETIC))
    assert again.exit_code == 0 and "0 added, 7 skipped" in again.output
    assert (tmp_path / "feeds.yaml").read_text() == text


def test_import_of_a_file_that_is_not_opml_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "x.opml").write_bytes(b"<<< nope")
    result = invoke(tmp_path, "import", str(tmp_path / "x.opml"))
    assert result.exit_code == 2 and "not an OPML subscription list" in result.output
    assert (tmp_path / "feeds.yaml").read_text() == "feeds: []\n"  # as the test's project had it


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    source.mkdir()
    (source / "feeds.yaml").write_text(
        "feeds:\n"
        "  - name: one\n    url: https://one.example/feed?a=1&b=2\n    tags: [ai, news]\n"
        "  - name: two\n    url: 'https://two.example/\"quoted\"<x>'\n    enabled: false\n"
    )
    assert invoke(source, "export", str(tmp_path / "out.opml")).exit_code == 0
    data = (tmp_path / "out.opml").read_bytes()
    assert b'<opml version="2.0"' in data and b"a=1&amp;b=2" in data
    listing = read_opml(data)
    assert [(f.title, f.url, f.tags) for f in listing.feeds] == [
        ("one", "https://one.example/feed?a=1&b=2", ["ai", "news"]),
        ("two", 'https://two.example/"quoted"<x>', []),
    ]
    stdout = invoke(source, "export", "-")

    def undated(text: str) -> list[str]:
        return [line for line in text.splitlines() if "<dateCreated>" not in line]

    assert stdout.exit_code == 0 and undated(stdout.output) == undated(data.decode())
    assert invoke(target, "import", str(tmp_path / "out.opml")).exit_code == 0
    # Every field survives, the disabled feed staying disabled (briefbot:enabled="false").
    assert load_feeds_file(target / "feeds.yaml").feeds == load_feeds_file(source / "feeds.yaml").feeds
    again = invoke(target, "import", str(tmp_path / "out.opml"))
    assert again.exit_code == 0 and "0 added, 2 skipped" in again.output


def test_write_opml_escapes_and_dates() -> None:
    now = dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC)
    text = write_opml([FeedConfig(name="a", url="https://a.example/?q=<b>&c")], title="T & <U>", now=now)
    assert "<title>T &amp; &lt;U&gt;</title>" in text
    assert "<dateCreated>Sun, 29 Nov 2026 16:00:00 GMT</dateCreated>" in text
    assert 'xmlUrl="https://a.example/?q=&lt;b&gt;&amp;c"' in text


# Synthetic OPML documents in other encodings, written here (not third-party files).
_LATIN = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<opml version="2.0"><head><title>Café</title></head>'
_LATIN += '<body><outline text="Café über" xmlUrl="http://latin.example/rss"/></body></opml>'
_UTF16 = '<?xml version="1.0" encoding="UTF-16"?><opml version="2.0"><body>'
_UTF16 += '<outline text="日本 ü" xmlUrl="http://u16.example/rss"/></body></opml>'


@pytest.mark.parametrize(
    ("data", "title"),
    [
        (_LATIN.encode("iso-8859-1"), "Café über"),
        (
            _LATIN.replace("ISO-8859-1", "windows-1252").replace("über", "“smart” €").encode("cp1252"),
            "Café “smart” €",
        ),
        (_UTF16.encode("utf-16"), "日本 ü"),
        (b"\n  \xef\xbb\xbf" + _LATIN.replace("ISO-8859-1", "UTF-8").encode(), "Café über"),
    ],
)
def test_read_honours_the_declared_encoding(data: bytes, title: str) -> None:
    (feed,) = read_opml(data, source="x.opml").feeds
    assert feed.title == title


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _LATIN.replace(' encoding="ISO-8859-1"', "").encode("iso-8859-1"),
            "not valid utf-8 text (byte 0xe9",
        ),
        (_LATIN.replace("ISO-8859-1", "x-nonesuch").encode("iso-8859-1"), "unknown encoding 'x-nonesuch'"),
    ],
)
def test_undecodable_text_is_a_typed_error(data: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=re.escape(message)):
        read_opml(data, source="x.opml")


_LAUGHS = "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' if i else '<!ENTITY lol0 "lol">' for i in range(10)
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # Truncated: libxml2's recovering HTML parser would import the first outline and drop the rest.
        (
            b'<opml version="2.0"><body><outline text="a" xmlUrl="http://a.example/rss"/>'
            b'<outline text="b" xmlUrl="http://b.ex',
            "not well-formed XML: unclosed token: line 1, column 75",
        ),
        (
            b'<opml version="2.0"><body><outline text="&nbsp;x" xmlUrl="http://a.example/"/>',
            "undefined entity",
        ),
        (b"  \n\t", "not an OPML subscription list (the file is empty)"),
        (b'<rss version="2.0"><channel><title>t</title></channel></rss>', "its root element is <rss>"),
        (
            f'<?xml version="1.0"?>\n<!DOCTYPE opml [{_LAUGHS}]>\n<opml version="2.0"><body>'
            '<outline text="&lol9;" xmlUrl="http://lol.example/&lol9;"/></body></opml>'.encode(),
            "line 2: declares the XML entity 'lol0'",
        ),
    ],
)
def test_malformed_or_hostile_xml_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=re.escape(message)) as caught:
        read_opml(data, source="x.opml")
    assert str(caught.value).startswith("x.opml: ")


def test_an_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<opml version="2.0"><body><outline text="&xxe;" xmlUrl="http://x.example/&xxe;"/></body></opml>'
    ).encode()
    with pytest.raises(FeedParseError, match="declares the XML entity 'xxe'") as caught:
        read_opml(data, source="x.opml")
    assert "TOPSECRET" not in str(caught.value)
    (tmp_path / "x.opml").write_bytes(data)
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    result = invoke(tmp_path, "import", str(tmp_path / "x.opml"))
    assert result.exit_code == 2 and "TOPSECRET" not in result.output
    assert f"error: {tmp_path / 'x.opml'}: line 1: declares the XML entity 'xxe'" in result.output
    assert (tmp_path / "feeds.yaml").read_text() == "feeds: []\n"


def test_import_of_an_unreadable_path_or_stdin(tmp_path: Path) -> None:
    (tmp_path / "a-dir.opml").mkdir()
    for path, why in ((tmp_path / "a-dir.opml", "Is a directory"), (tmp_path / "nope.opml", "No such file")):
        result = invoke(tmp_path, "import", str(path))
        assert result.exit_code == 2, result.output
        assert f"error: {path}: cannot read it ({why}" in result.output
        assert "Traceback" not in result.output
    piped = CliRunner().invoke(
        main, ["--root", str(tmp_path), "feeds", "import", "-"], input=SYNTHETIC.read_bytes()
    )
    assert piped.exit_code == 0, piped.output
    assert "4 added, 3 skipped" in piped.output
    broken = CliRunner().invoke(main, ["--root", str(tmp_path), "feeds", "import", "-"], input=b"<opml")
    assert broken.exit_code == 2 and "error: <stdin>: not an OPML subscription list" in broken.output


# Synthetic outlines as feed readers write them (Inoreader's xmlURL / XMLURL, Feedly's type="rss",
# Thunderbird's none, legacy feed:// links); written here, not copied from any export.
_READERS = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Subscriptions</title></head><body>
  <outline text="Programming" title="Programming">
    <outline text="Hacker News" type="RSS" xmlURL="https://news.ycombinator.com/rss"/>
    <outline text="Python" type="Atom" XMLURL="  https://python.example/feeds/posts/default  "/>
    <outline title="Title only" xmlUrl="https://titleonly.example/rss"/>
    <outline text="Legacy" xmlUrl="feed://legacy.example/rss"/>
    <outline text="Legacy TLS" xmlUrl="feed:https://legacy2.example/rss"/>
    <outline text="Spaces" xmlUrl="https://sp.example/my feed.xml"/>
    <outline text="Upper" xmlUrl="HTTPS://UPPER.Example/Feed"/>
    <outline text="Upper again" xmlUrl="https://upper.example/Feed"/>
    <outline text="Relative" xmlUrl="/feed.xml"/>
    <outline text="Nothing" xmlUrl=" "/>
    <outline text="Sub list" type="include" url="https://lists.example/more.opml"/>
  </outline>
</body></opml>
"""


def test_reader_exports_are_read_and_every_skip_named() -> None:
    listing = read_opml(_READERS.encode(), source="r.opml")
    assert [(f.title, f.url) for f in listing.feeds] == [
        ("Hacker News", "https://news.ycombinator.com/rss"),
        ("Python", "https://python.example/feeds/posts/default"),
        ("Title only", "https://titleonly.example/rss"),
        ("Legacy", "http://legacy.example/rss"),
        ("Legacy TLS", "https://legacy2.example/rss"),
        ("Spaces", "https://sp.example/my%20feed.xml"),
        ("Upper", "https://upper.example/Feed"),
    ]
    assert all(f.tags == ["programming"] for f in listing.feeds)
    assert listing.skipped == [
        "https://upper.example/Feed: listed twice in r.opml (outline 'Upper again', line 11)",
        "/feed.xml: not an http(s) feed URL (outline 'Relative', line 12)",
        "https://lists.example/more.opml: a link to another subscription list, not a feed "
        "(outline 'Sub list', line 14)",
        "(no URL): empty xmlUrl (outline 'Nothing', line 13)",
    ]


def test_import_knows_a_configured_feed_by_another_spelling(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - name: up\n    url: https://Upper.example/Feed\n")
    (tmp_path / "r.opml").write_text(_READERS)
    result = invoke(tmp_path, "import", str(tmp_path / "r.opml"))
    assert result.exit_code == 0, result.output
    assert "skipped https://upper.example/Feed: already the feed 'up'" in result.output
    assert "6 added, 5 skipped" in result.output


class _CountingSet(set[str]):
    checks = 0

    def __contains__(self, item: object) -> bool:
        _CountingSet.checks += 1
        return super().__contains__(item)


def test_many_colliding_titles_name_in_linear_time() -> None:
    # An export of thousands of feeds all titled "Feed": each name resumes its base's count.
    taken, counters = _CountingSet(), {}
    for i in range(3000):
        taken.add(unique_name("Feed", f"https://h{i}.example/", taken, counters))
    assert len(taken) == 3000 and "feed" in taken and "feed-3000" in taken
    assert _CountingSet.checks < 3 * 3000
    # A name taken out of turn is still skipped over.
    assert unique_name("Feed", "https://x.example/", {"feed", "feed-2"}, {"feed": 1}) == "feed-3"


def test_nested_folders_and_category_paths_become_tags() -> None:
    # Synthetic, shaped like NetNewsWire's and Thunderbird's nested folders.
    data = b"""<opml version="1.1"><body>
      <outline text="News &amp; Blogs" title="News &amp; Blogs">
        <outline title="Sub Folder">
          <outline text="Deep" type="rss" xmlUrl="https://deep.example/feed"/>
        </outline>
        <outline text="Flat" type="rss" xmlUrl="https://flat.example/feed" category="/Tech/AI,/misc"/>
      </outline>
      <outline text="Top" type="rss" xmlUrl="https://top.example/feed"/>
    </body></opml>"""
    listing = read_opml(data)
    assert [(f.title, f.tags) for f in listing.feeds] == [
        ("Deep", ["news-blogs", "sub-folder"]),
        ("Flat", ["tech", "ai", "misc", "news-blogs"]),
        ("Top", []),
    ]


def test_urls_urlsplit_refuses_are_skipped_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    (tmp_path / "bad.opml").write_text(  # synthetic
        '<opml version="2.0"><body><outline text="v6" xmlUrl="http://[abc/feed"/>'
        '<outline text="creds v6" xmlUrl="http://u:pw1234@[abc/feed"/>'
        '<outline text="port" xmlUrl="http://a.example:99999/feed"/>'
        '<outline text="ok" xmlUrl="https://ok.example/feed"/></body></opml>'
    )
    result = invoke(tmp_path, "import", str(tmp_path / "bad.opml"))
    assert result.exit_code == 0, result.output
    assert "skipped http://[abc/feed: not an http(s) feed URL (outline 'v6', line 1)" in result.output
    assert "skipped http://u:***@[abc/feed: not an http(s) feed URL" in result.output
    assert "pw1234" not in result.output
    assert "skipped http://a.example:99999/feed: not an http(s) feed URL" in result.output
    assert "1 added, 3 skipped" in result.output


def test_round_trip_keeps_names_with_dots_and_underscores(tmp_path: Path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    source.mkdir()
    target.mkdir()
    (source / "feeds.yaml").write_text(
        "feeds:\n  - name: my_feed.v2\n    url: https://one.example/f\n"
        "  - name: lwn.net\n    url: https://lwn.example/rss\n  - name: plain\n    url: https://p.example/f\n"
    )
    (target / "feeds.yaml").write_text("feeds:\n  - name: plain\n    url: https://other.example/f\n")
    assert invoke(source, "export", str(tmp_path / "out.opml")).exit_code == 0
    assert invoke(target, "import", str(tmp_path / "out.opml")).exit_code == 0
    assert [f.name for f in load_feeds_file(target / "feeds.yaml").feeds] == [
        "plain",
        "my_feed.v2",
        "lwn.net",
        "plain-2",
    ]


def test_outlines_listparser_loses_are_reported_not_dropped() -> None:
    # A synthetic 11 MB description: libxml2's HTML parser gives up on it and on all that follows.
    data = (
        '<opml version="2.0"><body><outline text="ok" xmlUrl="https://ok.example/f"/>\n'
        f'<outline text="big" description="{"x" * 11_000_000}" xmlUrl="https://big.example/f"/>\n'
        '<outline text="after" xmlUrl="https://after.example/f"/></body></opml>'
    ).encode()
    listing = read_opml(data, source="big.opml")
    assert [f.url for f in listing.feeds] == ["https://ok.example/f"]
    assert listing.skipped == [
        "https://big.example/f: not read (listparser lost this outline; an oversized attribute before "
        "or in it?) (outline 'big', line 2)",
        "https://after.example/f: not read (listparser lost this outline; an oversized attribute before "
        "or in it?) (outline 'after', line 3)",
    ]


def test_skip_lines_stay_short_for_huge_urls_and_titles() -> None:
    script, title = "javascript:" + "a" * 500_000, "T" * 100_000  # synthetic
    data = f'<opml version="2.0"><body><outline text="{title}" xmlUrl="{script}"/></body></opml>'.encode()
    (line,) = read_opml(data).skipped
    assert len(line) < 600 and line.startswith("javascript:aaa") and "not an http(s) feed URL" in line


def test_export_to_a_directory_or_unwritable_path_is_error_file(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - name: a\n    url: https://a.example/f\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "file").write_text("x")
    for target, why in (
        (tmp_path / "out", "is a directory"),
        (tmp_path / "file" / "x.opml", "cannot write it"),
    ):
        result = invoke(tmp_path, "export", str(target))
        assert result.exit_code == 2, result.output
        assert f"error: {target}: {why}" in result.output and "Traceback" not in result.output
