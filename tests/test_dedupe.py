"""Dedupe rules: canonical URLs, GUIDs, content hashes, near-duplicate copies; and across runs."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from briefbot.collect.dedupe import (
    Deduper,
    KnownItem,
    canonical_url,
    guid_key,
    is_near_duplicate,
)
from briefbot.collect.feeds import content_hash, plain_text
from briefbot.models import CandidateItem
from briefbot.store import connect
from briefbot.store import items as item_store

WHEN = dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC)


def item(
    url: str, title: str, summary: str | None = None, *, guid: str | None = None, origin: str = "feed:a"
) -> CandidateItem:
    return CandidateItem(
        url=canonical_url(url),
        link=url,
        guid=guid,
        title=title,
        summary=summary,
        published=WHEN,
        origin=origin,
        content_hash=content_hash(title, summary),
    )


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTP://Example.COM/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&utm_medium=feed&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=XYZ", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


@pytest.mark.parametrize("bad", ["ftp://example.com/a", "/relative/path", "mailto:x@example.com", "https://"])
def test_canonical_url_refuses_non_http(bad: str) -> None:
    with pytest.raises(ValueError, match="http"):
        canonical_url(bad)


def test_guid_scope() -> None:
    assert guid_key("https://x.example/1", "feed:a") == "https://x.example/1"
    assert guid_key("urn:uuid:1234", "feed:a") == "urn:uuid:1234"
    assert guid_key("1234", "feed:a") == "feed:a#1234"  # "1234" means nothing outside its feed
    assert guid_key(None, "feed:a") is None


def test_each_rule_with_its_reason() -> None:
    long_summary = "The lab released the weights under Apache 2.0 along with an evaluation report."
    first = item(
        "https://a.example/story?utm_source=x",
        "Lab releases open weights for its new model",
        long_summary,
        guid="tag:a.example,2026:1",
    )
    deduper = Deduper([KnownItem.of(first, item_id=1)])
    cases = {
        "url": item("https://A.example/story#comments", "Totally different title here"),
        "guid": item("https://mirror.example/x", "Another headline entirely", guid="tag:a.example,2026:1"),
        "hash": item("https://copy.example/1", "Lab releases open weights for its new model", long_summary),
        "near": item(
            "https://syndicated.example/p/99",
            "Lab Releases Open Weights for Its New Model!",
            "The lab released the weights under Apache 2.0, along with an evaluation report. Via wire.",
        ),
    }
    for reason, candidate in cases.items():
        match = deduper.check(candidate)
        assert match is not None and match.reason == reason and match.item_id == 1, reason


def test_not_duplicates() -> None:
    known = item(
        "https://a.example/1",
        "Weekly roundup of open model releases #12",
        "This week: three new open-weight models and a benchmark dispute.",
    )
    deduper = Deduper([KnownItem.of(known, item_id=1)])
    # Same words, different issue number: a different story.
    assert (
        deduper.check(
            item(
                "https://a.example/2",
                "Weekly roundup of open model releases #13",
                "This week: three new open-weight models and a benchmark dispute.",
            )
        )
        is None
    )
    # Similar headline, different standfirst: a different story.
    assert (
        deduper.check(
            item(
                "https://b.example/2",
                "Weekly roundup of open model release",
                "Nothing about models at all; a recipe for soup with lentils and lemon.",
            )
        )
        is None
    )
    # Short texts: equal hashes would be coincidence, so they are not merged.
    a, b = item("https://c.example/1", "Huh?"), item("https://d.example/1", "Huh?")
    assert Deduper([KnownItem.of(a, item_id=1)]).check(b) is None


def test_near_duplicate_needs_long_titles_without_summaries() -> None:
    assert is_near_duplicate(
        "Open weights close the coding gap on SWE-bench Pro",
        None,
        "Open weights close the coding gap on SWE-bench Pro.",
        None,
    )
    assert not is_near_duplicate("Open weights close gap", None, "Open weights close gap!", None)


def test_old_items_keep_exact_keys_but_leave_fuzzy_set() -> None:
    old = item("https://a.example/old", "An old story that is long enough to compare", None)
    entry = KnownItem.of(old, item_id=3).model_copy(update={"fuzzy": False})
    deduper = Deduper([entry])
    assert deduper.check(item("https://a.example/old", "x")).reason == "url"
    assert (
        deduper.check(item("https://b.example/new", "An old story that is long enough to compare!")) is None
    )


def _stored(conn: sqlite3.Connection, item_id: int) -> CandidateItem:
    return next(s.item for s in item_store.list_items(conn) if s.item.id == item_id)


def test_store_roundtrip_and_aliases(tmp_path) -> None:
    conn = connect(tmp_path / "state.db")
    try:
        first = item("https://a.example/1", "A story long enough to matter for dedupe", "summary text")
        item_id = item_store.insert_item(conn, first)
        item_store.add_alias(conn, "https://copy.example/9", item_id, reason="near")
        item_store.add_alias(conn, "https://a.example/1", item_id, reason="near")  # its own URL: ignored
        assert item_store.link_brief(conn, item_id, "gap") is True
        assert item_store.link_brief(conn, item_id, "gap") is False
        item_store.set_status(conn, item_id, "gap", "extracted")
        known = item_store.known_items(conn, fuzzy_since=WHEN)
        assert [(k.id, k.aliases, k.fuzzy) for k in known] == [(item_id, ["https://copy.example/9"], True)]
        assert Deduper(known).check(item("https://copy.example/9", "anything")).reason == "url"
        listed = item_store.list_items(conn, brief="gap", status="extracted")
        assert [(s.item.title, s.briefs) for s in listed] == [(first.title, {"gap": "extracted"})]
        assert item_store.list_items(conn, brief="other") == []
        assert _stored(conn, item_id).model_dump(exclude={"id"}) == first.model_dump(exclude={"id"})
        undated = first.model_copy(
            update={"url": "https://a.example/undated", "published_is_fetch_time": True}
        )
        undated_id = item_store.insert_item(conn, undated)
        assert _stored(conn, undated_id).published_is_fetch_time is True
        with pytest.raises(Exception, match="already stored"):
            item_store.insert_item(conn, first)
        with pytest.raises(Exception, match="not a candidate"):
            item_store.set_status(conn, item_id, "other", "new")
    finally:
        conn.close()


def test_a_better_copy_with_the_same_url_brings_its_provenance(tmp_path) -> None:
    conn = connect(tmp_path / "state.db")
    night = dt.date(2026, 5, 24)
    try:
        found = item("https://a.example/story", "Search title ...", origin="reactive:gap")
        item_id = item_store.insert_item(conn, found)
        item_store.link_brief(conn, item_id, "gap")
        item_store.set_status(conn, item_id, "gap", "proposed", night=night)
        feed_copy = item("https://a.example/story", "The full feed title", "feed summary", origin="feed:wire")
        feed_copy = feed_copy.model_copy(update={"publisher": "Wire"})
        # Another night's run takes the provenance but leaves that night's proposal alone.
        assert item_store.adopt_copy(conn, item_id, feed_copy, night=dt.date(2026, 5, 25)) is True
        assert item_store.list_items(conn, brief="gap", status="proposed")[0].item.id == item_id
        assert item_store.adopt_copy(conn, item_id, feed_copy, night=night) is True
        stored = _stored(conn, item_id)
        assert (stored.origin, stored.publisher, stored.title) == ("feed:wire", "Wire", "The full feed title")
        # Tonight's undecided proposal that cited the search find is remade by the next run.
        assert item_store.list_items(conn, brief="gap", status="extracted")[0].item.id == item_id
    finally:
        conn.close()


def test_a_better_copy_under_another_url_renames_an_item_not_yet_weighed(tmp_path) -> None:
    conn = connect(tmp_path / "state.db")
    night = dt.date(2026, 5, 24)
    try:
        syndicated = item(
            "https://wire.example/syndicated/7", "Lab opens weights", "text", origin="feed:later"
        )
        item_id = item_store.insert_item(conn, syndicated)
        item_store.link_brief(conn, item_id, "gap")
        item_store.set_status(conn, item_id, "gap", "irrelevant", night=night)
        conn.execute(
            "INSERT INTO documents (item_id, url, outcome, text, text_source, extracted_at)"
            " VALUES (?, ?, 'extracted', 'page text', 'page', '2026-05-24T00:00:00+00:00')",
            (item_id, syndicated.url),
        )
        original = item("https://lab.example/articles/7", "Lab opens weights", "text", origin="feed:first")
        # Weighed on an earlier night: it keeps the URL it was weighed by.
        assert item_store.adopt_copy(conn, item_id, original, night=dt.date(2026, 5, 25)) is False
        assert item_store.adopt_copy(conn, item_id, original, night=None) is False
        # Weighed tonight: renamed, the old URL an alias, the page to extract anew, the item waiting again.
        assert item_store.adopt_copy(conn, item_id, original, night=night) is True
        assert _stored(conn, item_id).url == original.url
        assert [k.aliases for k in item_store.known_items(conn) if k.id == item_id] == [[syndicated.url]]
        assert conn.execute("SELECT count(*) FROM documents WHERE item_id = ?", (item_id,)).fetchone()[0] == 0
        assert item_store.list_items(conn, brief="gap", status="new")[0].item.id == item_id
        # A copy whose URL is another stored item's is not merged into this one.
        other_id = item_store.insert_item(conn, item("https://other.example/1", "Other", origin="feed:x"))
        assert other_id != item_id
        taken = item("https://other.example/1", "Lab opens weights", "text", origin="feed:zero")
        assert item_store.adopt_copy(conn, item_id, taken, night=night) is False
        assert _stored(conn, item_id).url == original.url
    finally:
        conn.close()


def test_plain_text_drops_markup_and_code() -> None:
    assert plain_text("<p>Hi <script>alert(1)</script><b>there</b> &amp;\n you</p>") == "Hi there & you"
    assert content_hash("Title", "<b>Sum</b>") == content_hash(" title ", "sum")


def synthetic_stream(count: int, *, seed: int = 3) -> list[tuple[CandidateItem, int | None]]:
    """`count` items with headline-like titles (Zipf-distributed words) where every tenth is a
    syndicated copy of an earlier one (re-cased, re-punctuated, a word pluralised, standfirst
    extended); each paired with the index of the item it copies, or None."""
    import random

    rng = random.Random(seed)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnoprstuvw") for _ in range(rng.randint(3, 9))) for _ in range(4000)
    ]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    out: list[tuple[CandidateItem, int | None]] = []
    for n in range(count):
        if n >= 10 and n % 10 == 0:
            source_index = rng.randrange(n)
            while out[source_index][1] is not None:
                source_index -= 1
            source = out[source_index][0]
            words = source.title.split()
            position = rng.randrange(len(words))
            words[position] = words[position] + "s"
            title = " ".join(words).upper() + "!"
            out.append(
                (
                    item(f"https://copy{n}.example/p", title, (source.summary or "") + " Via wire."),
                    source_index,
                )
            )
            continue
        title = " ".join(rng.choices(vocabulary, weights, k=rng.randint(7, 12)))
        summary = " ".join(rng.choices(vocabulary, weights, k=25))
        out.append((item(f"https://site{n % 50}.example/{n}", title, summary), None))
    return out


def test_near_duplicate_check_scores_few_titles_and_finds_every_copy() -> None:
    stream = synthetic_stream(3000)
    deduper = Deduper(upcoming=[c.title for c, _ in stream])
    for index, (candidate, copy_of) in enumerate(stream):
        match = deduper.check(candidate)
        if copy_of is None:
            assert match is None, (index, candidate.title)
            deduper.add(KnownItem.of(candidate, item_id=index))
        else:
            assert match is not None and (match.reason, match.item_id) == ("near", copy_of), index
    # Scoring every known title would be n^2/2 = 4.5 million; blocking keeps it near-linear.
    assert deduper.titles_scored < 20 * len(stream)


def test_blocking_agrees_with_scoring_every_title() -> None:
    """Same answers as the exhaustive comparison, on titles that share many common words."""
    from rapidfuzz import fuzz, process

    stream = synthetic_stream(1200, seed=11)
    deduper, titles, owners = Deduper(upcoming=[c.title for c, _ in stream]), [], []
    for index, (candidate, _copy_of) in enumerate(stream):
        blocked = deduper.check(candidate)
        title = " ".join(candidate.title.casefold().replace("!", "").split())
        exhaustive = [
            owners[i]
            for _t, score, i in process.extract(
                title, titles, scorer=fuzz.token_sort_ratio, score_cutoff=90.0, limit=5
            )
            if is_near_duplicate(
                candidate.title,
                candidate.summary,
                stream[owners[i]][0].title,
                stream[owners[i]][0].summary,
                title_score=score,
            )
        ]
        assert (blocked.item_id if blocked else None) == (exhaustive[0] if exhaustive else None), index
        if blocked is None:
            deduper.add(KnownItem.of(candidate, item_id=index))
            titles.append(title)
            owners.append(index)


def test_items_stored_before_the_fetch_time_flag_read_as_dated(tmp_path) -> None:
    conn = connect(tmp_path / "state.db")
    try:
        # Undo migration 0111 to get the schema an older briefbot left behind, with an item in it.
        conn.execute("ALTER TABLE items DROP COLUMN published_is_fetch_time")
        conn.execute("DELETE FROM _migrations WHERE name = '0111_items_fetch_time.sql'")
        conn.execute(
            "INSERT INTO items (url, link, title, published, origin, content_hash, first_seen) VALUES "
            "('https://old.example/1', 'https://old.example/1', 'Old', ?, 'feed:a', 'h', ?)",
            (WHEN.isoformat(), WHEN.isoformat()),
        )
    finally:
        conn.close()
    conn = connect(tmp_path / "state.db")
    try:
        [old] = item_store.list_items(conn)
        assert (old.item.title, old.item.published_is_fetch_time) == ("Old", False)
    finally:
        conn.close()
