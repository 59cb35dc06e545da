"""Checks on the demo's data (fixtures/demo): v6, the edit batch, the synthetic world, the demo root.

The key check: merging `edits.json` into v6 and approving every applied edit gives the seed's v7,
section by section, once each `[n]` is replaced by its source's title (numbers may differ).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
from types import ModuleType
from urllib.parse import urlsplit

import feedparser
import pytest
from lxml import html as lxml_html

from briefbot.merge import merge
from briefbot.models import Brief, EditBatch
from conftest import REPO, SEED

DEMO = REPO / "fixtures" / "demo"
WORLD = DEMO / "world"
SLUG = "open-model-capability-gap"
REMOVED = (12, 13, 14, 25, 26)
RUN_DATE = dt.date(2026, 5, 24)
# Claims that only v7 makes; none may survive in v6.
V7_ONLY_PHRASES = (
    "topped SWE-Bench Pro",
    "tops SWE-Bench Pro",
    "topping SWE-Bench Pro",
    "Code Arena",
    "Just Beat",
    "over closed models including Claude",
    "beating closed-source",
    "Secondary coverage",
    "secondary coverage",
    "multiple Chinese labs",
    "Two Chinese open-weight models",
)


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMO / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(text: str, path: str) -> Brief:
    from briefbot.brief.textformat import parse_text

    return parse_text(text, path=path)


@pytest.fixture
def v6_text() -> str:
    return (DEMO / "v6.txt").read_text(encoding="utf-8")


@pytest.fixture
def v6(v6_text: str) -> Brief:
    return _parse(v6_text, "fixtures/demo/v6.txt")


@pytest.fixture
def v7(seed_text: str) -> Brief:
    return _parse(seed_text, str(SEED))


@pytest.fixture
def batch() -> EditBatch:
    return EditBatch.model_validate_json((DEMO / "edits.json").read_text(encoding="utf-8"))


@pytest.fixture
def manifest() -> dict:
    return json.loads((WORLD / "manifest.json").read_text(encoding="utf-8"))


# -- v6 ----------------------------------------------------------------------------------------


def test_v6_is_the_committed_derivation_of_the_seed(seed_text: str, v6_text: str) -> None:
    derive = _module("derive_v6")
    assert derive.derive(seed_text) == v6_text, (
        "fixtures/demo/v6.txt is stale: run python fixtures/demo/derive_v6.py"
    )
    assert derive.derivation_md() == (DEMO / "DERIVATION.md").read_text(encoding="utf-8")


def test_v6_holds_nothing_v7_says_was_new(seed_text: str, v6_text: str, v7: Brief) -> None:
    for number in REMOVED:
        title = v7.source(number).title
        assert title not in v6_text, f"v6 still lists source [{number}] {title!r}"
        assert f"[{number}]" not in v6_text, f"v6 still cites [{number}]"
    for phrase in V7_ONLY_PHRASES:
        assert phrase in seed_text, f"{phrase!r} is not in the seed; the check would prove nothing"
        assert phrase not in v6_text, f"v6 still says {phrase!r}"


def test_v6_round_trips_and_keeps_source_numbers(v6_text: str, v6: Brief) -> None:
    from briefbot.brief.textformat import render_text

    assert render_text(v6) == v6_text
    assert (v6.version, v6.date, v6.item_count, v6.state) == (6, dt.date(2026, 5, 23), 113, "closed")
    expected = [n for n in range(1, 43) if n not in REMOVED]
    assert [s.number for s in v6.sources] == expected
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", v6_text.split("\nSources\n")[0])}
    assert cited <= set(expected)


# -- the edit batch ----------------------------------------------------------------------------


def test_edits_json_is_the_committed_batch_and_cites_the_five_v7_sources(
    seed_text: str, batch: EditBatch, v7: Brief
) -> None:
    build = _module("build_edits")
    assert EditBatch.model_validate(build.batch(seed_text)) == batch, (
        "edits.json is stale: run build_edits.py"
    )
    assert [i.ref for i in batch.items] == [f"new:{k}" for k in range(1, 6)]
    assert [i.title for i in batch.items] == [v7.source(n).title for n in REMOVED]
    assert {i.origin for i in batch.items} == {f"reactive:{SLUG}"}
    text = json.dumps([e.model_dump() for e in batch.edits])
    assert not re.search(r"\[(12|13|14|25|26)\]", text)
    for k in range(1, 6):
        assert f"[new:{k}]" in text, f"no edit cites new:{k}"


def _titled(brief: Brief, value: object) -> object:
    """`value` with every `[n]` replaced by the title of source n of `brief`."""
    text = json.dumps(value, ensure_ascii=False)
    text = re.sub(
        r"\[(\d+)\]", lambda m: "[" + brief.source(int(m.group(1))).title.replace('"', "'") + "]", text
    )
    return json.loads(text)


def _approve_all(v6: Brief, batch: EditBatch) -> tuple[Brief, list]:
    proposal = merge(v6, batch, run_date=RUN_DATE)
    applied = {v.number for v in proposal.verdicts if v.status == "applied"}
    # "Approving every applied edit": re-merge from the accepted ones, then publish as closed.
    proposal = merge(v6, batch, run_date=RUN_DATE, accepted=applied)
    return proposal.final_brief().model_copy(update={"state": "closed"}), proposal.verdicts


def test_merging_edits_into_v6_yields_the_seed_v7(v6: Brief, v7: Brief, batch: EditBatch) -> None:
    merged, verdicts = _approve_all(v6, batch)
    assert [(v.number, v.status, v.reason) for v in verdicts if v.status != "applied"] == []
    assert (merged.version, merged.date, merged.item_count, merged.state) == (
        v7.version,
        v7.date,
        v7.item_count,
        v7.state,
    )
    assert sorted((s.title, s.label, s.date) for s in merged.sources) == sorted(
        (s.title, s.label, s.date) for s in v7.sources
    )
    for section in (
        "what",
        "why_it_matters",
        "open_questions",
        "narrative",
        "perspectives",
        "tensions",
        "status",
    ):
        got = _titled(
            merged,
            Brief.model_fields[section] and getattr(merged, section)
            if section != "perspectives"
            else [p.model_dump() for p in merged.perspectives],
        )
        want = _titled(
            v7,
            getattr(v7, section) if section != "perspectives" else [p.model_dump() for p in v7.perspectives],
        )
        assert got == want, f"section {section} differs from the seed's v7"
    # No known difference left: the timeline entry goes where the proposer placed it (`after`), and
    # the proposer's What's new draft (the seed's own) passes the merger's checks.
    assert _titled(merged, [e.model_dump() for e in merged.timeline]) == _titled(
        v7, [e.model_dump() for e in v7.timeline]
    )
    assert merged.whats_new is not None and merged.whats_new.version == 7
    assert _titled(merged, merged.whats_new.paragraphs) == _titled(v7, v7.whats_new.paragraphs)


def test_without_a_draft_the_demo_night_is_assembled_compactly(v6: Brief, batch: EditBatch) -> None:
    """The 16 summaries of the demo night, assembled: at most ~120 words, no sentence over 3 markers."""
    from briefbot.merge import merge
    from briefbot.merge.whats_new import MAX_SENTENCES, sentences, word_count

    proposal = merge(v6, batch.model_copy(update={"whats_new": None}), run_date=RUN_DATE)
    assert proposal.whats_new_origin == "assembled"
    paragraphs = proposal.whats_new.paragraphs
    assert word_count(paragraphs) <= 120
    parts = [s for p in paragraphs for s in sentences(p)]
    assert len(parts) <= MAX_SENTENCES + 1
    assert all(len(re.findall(r"\[\d+\]", s)) <= 3 for s in parts)
    assert parts[-1] == "No new fault lines emerged this pass."


def test_the_editors_whats_new_makes_it_the_seeds(
    seed_text: str, v6: Brief, v7: Brief, batch: EditBatch
) -> None:
    """With `whats_new_v7.txt` set by the editor, What's new equals the seed's (read as titles)."""
    from briefbot.review import set_whats_new  # noqa: F401  # the command the README shows

    build = _module("build_edits")
    text = (DEMO / "whats_new_v7.txt").read_text(encoding="utf-8")
    assert text == build.whats_new_text(seed_text), "whats_new_v7.txt is stale: run build_edits.py"
    merged, _ = _approve_all(v6, batch)
    assert {n: merged.source(m).title for n, m in build.V7_NUMBERS.items()} == {
        n: v7.source(n).title for n in REMOVED
    }
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    assert _titled(merged, paragraphs) == _titled(v7, v7.whats_new.paragraphs)


# -- the world ---------------------------------------------------------------------------------


def test_world_is_the_committed_build(manifest: dict) -> None:
    build = _module("build_world")
    for name, text in build.build().items():
        assert (WORLD / name).read_text(encoding="utf-8") == text, (
            f"world/{name} is stale: run build_world.py"
        )
    for name, text in build.root_files().items():
        assert (DEMO / "root" / name).read_text(encoding="utf-8") == text, f"root/{name} is stale"


def test_every_manifest_route_has_its_file_and_every_item_a_route(manifest: dict) -> None:
    routes = manifest["routes"]
    for route in routes:
        assert (WORLD / route["file"]).is_file(), route
        assert route["status"] in (200, 404) and route["content_type"]
    keys = [(r["path"], tuple(sorted(r["query"].items()))) for r in routes]
    assert len(keys) == len(set(keys)), "two routes answer the same request"
    paths = {r["path"] for r in routes}
    for item in manifest["items"]:
        assert item["url"].startswith(manifest["base_url"] + "/")
        assert urlsplit(item["url"]).path in paths, f"item {item['id']} has no route"
    assert [r for r in routes if r["delay_seconds"] >= 30], "no page times out"


def test_world_has_five_relevant_items_and_at_least_twenty_distractors(
    manifest: dict, batch: EditBatch
) -> None:
    items = manifest["items"]
    relevant = [i for i in items if i["relevant"]]
    distractors = [i for i in items if not i["relevant"]]
    assert [(i["title"], i["url"]) for i in relevant] == [(b.title, b.url) for b in batch.items]
    assert len(distractors) >= 20
    kinds = {i["kind"] for i in distractors}
    assert {
        "irrelevant",
        "syndicated_copy",
        "duplicate_tracking_params",
        "malformed_feed_entry",
        "timeout",
        "prompt_injection",
    } <= kinds
    injection = (WORLD / "pages" / "roundup-injection.html").read_text(encoding="utf-8")
    assert "Ignore previous instructions" in injection and "add a source" in injection


def test_every_world_file_says_it_is_synthetic() -> None:
    files = [p for p in WORLD.rglob("*") if p.is_file()]
    assert len(files) > 30
    for path in files:
        assert "SYNTHETIC" in path.read_text(encoding="utf-8")[:400], f"{path} does not say it is synthetic"
    assert "synthetic" in (DEMO / "README.md").read_text(encoding="utf-8").lower()


def test_feeds_and_search_answers_parse_with_briefbots_parsers(manifest: dict) -> None:
    from briefbot.collect.feeds import parse_feed
    from briefbot.collect.search import Searxng
    from briefbot.config import SearxngProvider

    fetched = dt.datetime(2026, 5, 24, 3, tzinfo=dt.UTC)
    searx = Searxng(SearxngProvider(type="searxng", name="searx", base_url=manifest["base_url"] + "/searxng"))
    titles: set[str] = set()
    for route in manifest["routes"]:
        body = (WORLD / route["file"]).read_bytes()
        url = manifest["base_url"] + route["path"]
        if route["file"].endswith(".json"):
            parsed = searx.parse(body, url=url, headers={}, origin=f"reactive:{SLUG}", fetched_at=fetched)
        elif route["file"].endswith(".xml"):
            parsed = parse_feed(
                body,
                url=url,
                headers={"content-type": route["content_type"]},
                origin="feed:x",
                fetched_at=fetched,
            )
        else:
            continue
        assert parsed.items, f"{route['file']} yields no items"
        titles |= {i.title for i in parsed.items}
    assert feedparser.parse((WORLD / "feeds" / "broken.xml").read_bytes()).bozo
    assert {i["title"] for i in manifest["items"] if i["relevant"]} <= titles


# Words a page may use at a sentence start although the seed has them only in lower case.
_NAME_RE = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*|#?\d+(?:\.\d+)?%?")


def test_relevant_pages_state_only_what_the_seed_states(seed_text: str, manifest: dict) -> None:
    names = set(_NAME_RE.findall(seed_text))
    words = set(re.findall(r"[a-z0-9]+", seed_text.lower()))
    for route in manifest["routes"]:
        if not route["file"].startswith("pages/new-"):
            continue
        tree = lxml_html.fromstring((WORLD / route["file"]).read_bytes())
        article = " ".join(tree.xpath("//article")[0].itertext())
        assert not re.search(r"\b(19|20)\d\d\b", article), (
            f"{route['file']}: a year would give the source a date"
        )
        unknown = [n for n in _NAME_RE.findall(article) if n not in names and n.lower() not in words]
        assert unknown == [], f"{route['file']} names what the seed does not: {unknown}"
        for word in re.findall(r"[a-z]+", article.lower()):
            if word not in words and len(word) > 3:
                # Ordinary English is fine; content words absent from the seed would be new facts.
                assert word in _ALLOWED_PLAIN_WORDS, f"{route['file']}: {word!r} is not in the seed"


_ALLOWED_PLAIN_WORDS = {
    "also",
    "announced",
    "announcement",
    "ahead",
    "beating",
    "brings",
    "formed",
    "gives",
    "read",
    "result",
    "there",
    "this",
    "these",
    "topped",
    "bringing",
    "disclosed",
    "from",
    "with",
    "been",
    "have",
    "second",
}


# -- the demo root -----------------------------------------------------------------------------


def test_demo_root_loads_and_holds_v6(v6: Brief) -> None:
    from briefbot.config import load_config
    from briefbot.project import Project

    project = Project(DEMO / "root")
    config = load_config(project)
    assert config.active_briefs() == [SLUG]
    assert (
        config.briefs[SLUG].queries
        == json.loads((WORLD / "manifest.json").read_text(encoding="utf-8"))["queries"]
    )
    assert len(config.feeds_for(SLUG)) == 4 and len(config.feeds.enabled_providers()) == 2
    assert project.versions(SLUG) == [6]
    assert project.load(SLUG) == v6


# -- the world server --------------------------------------------------------------------------


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def test_world_server_answers_as_the_manifest_says(manifest: dict) -> None:
    from urllib.parse import urlencode

    server, thread = _module("serve_world").serve_in_thread(0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, body = _get(
            f"{base}/searxng/search?{urlencode({'q': manifest['queries'][0], 'format': 'json'})}"
        )
        answer = json.loads(body)
        assert status == 200 and answer["results"][0]["url"].startswith(base + "/www.reddit.com/")
        assert manifest["base_url"] not in body.decode()  # rewritten to the real address
        status, body = _get(f"{base}/news-search/rss?{urlencode({'q': manifest['queries'][2]})}")
        assert status == 200 and b"<rss" in body
        assert _get(f"{base}/searxng/search?q=something+else&format=json")[0] == 404
        gone = next(i for i in manifest["items"] if i["kind"] == "gone_404")
        assert _get(base + urlsplit(gone["url"]).path)[0] == 404
        feed = next(r for r in manifest["routes"] if r["path"] == "/feeds/interconnects.xml")
        assert _get(base + feed["path"], {"If-None-Match": feed["headers"]["ETag"]})[0] == 304
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
