"""Markdown, HTML and JSON renders: inert markup, citation links, determinism, golden files."""

from __future__ import annotations

import datetime as dt
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from briefbot.brief.diff import diff_briefs, diff_plain, diff_rich, word_diff
from briefbot.brief.html import cite_html, header_html, safe_url
from briefbot.brief.render import md_escape, render
from briefbot.brief.textformat import parse_text
from briefbot.models import Brief, Perspective, Source, TimelineEntry, WhatsNew

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "briefs"
GOLDEN = FIXTURES / "golden"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


class _Collector(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse_html(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def hostile_brief() -> Brief:
    return Brief(
        site=HOSTILE,
        title=f"Title {HOSTILE}",
        state="active",
        version=2,
        date=dt.date(2026, 1, 2),
        item_count=3,
        whats_new=WhatsNew(version=2, paragraphs=[f"New {HOSTILE} [1]"]),
        what=[f"What {HOSTILE} [1][2] and a missing one [9]"],
        open_questions=[HOSTILE],
        timeline=[TimelineEntry(date="2026-01", text=HOSTILE)],
        perspectives=[Perspective(actor=HOSTILE, stance=HOSTILE, evolution=HOSTILE)],
        tensions=[HOSTILE],
        status=HOSTILE,
        sources=[
            Source(number=1, title=HOSTILE, publisher=HOSTILE, url="javascript:alert(1)"),
            Source(
                number=2,
                title="Safe link",
                publisher="P",
                date="2026-01-01",
                url="https://example.org/a?b=1&c=2",
            ),
        ],
    )


def test_html_makes_script_from_content_inert() -> None:
    html = render(hostile_brief(), "html")
    parsed = _parse_html(html)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "img" not in tags
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not any((value or "").lower().startswith("javascript:") for value in attrs.values()), (
            tag,
            attrs,
        )
    # The text survives as text a reader can see.
    assert '<script>alert("x")</script>' in "".join(parsed.text)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_html_citations_link_to_source_anchors() -> None:
    parsed = _parse_html(render(hostile_brief(), "html"))
    hrefs = [attrs.get("href") for tag, attrs in parsed.tags if tag == "a"]
    ids = {attrs.get("id") for _, attrs in parsed.tags if attrs.get("id")}
    assert "#source-1" in hrefs and "#source-2" in hrefs
    assert "#source-9" not in hrefs  # no such source: shown, not linked
    assert {"source-1", "source-2"} <= ids
    assert "https://example.org/a?b=1&c=2" in hrefs  # http(s) URLs are linked, javascript: is not


def test_seed_html_links_every_citation(seed_text: str) -> None:
    brief = parse_text(seed_text)
    parsed = _parse_html(render(brief, "html"))
    hrefs = {
        attrs["href"] for tag, attrs in parsed.tags if tag == "a" and attrs.get("href", "").startswith("#")
    }
    ids = {attrs["id"] for _, attrs in parsed.tags if attrs.get("id", "").startswith("source-")}
    assert len(ids) == 42
    assert {h.removeprefix("#") for h in hrefs} <= ids
    assert "#source-37" in hrefs


def test_markdown_escapes_markup_and_links_citations() -> None:
    md = render(hostile_brief(), "md")
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;" in md and "&amp;" in md
    assert "[\\[1\\]](#source-1)" in md and "\\[9\\]" in md
    assert '<a id="source-2"></a>' in md
    assert "javascript:" not in md
    assert md_escape("# not a heading *or emphasis*") == "\\# not a heading \\*or emphasis\\*"


def test_json_render_is_the_model() -> None:
    brief = hostile_brief()
    assert Brief.model_validate(json.loads(render(brief, "json"))) == brief


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_renders_are_deterministic(fmt: str) -> None:
    brief = parse_text((FIXTURES / "stress_dates_titles.txt").read_text(encoding="utf-8"))
    assert render(brief, fmt) == render(brief.model_copy(deep=True), fmt)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown render format"):
        render(hostile_brief(), "pdf")


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_golden_render_of_stress_fixture(fmt: str) -> None:
    """Golden files; regenerate with BRIEFBOT_UPDATE_GOLDEN=1 after an intended change."""
    with (FIXTURES / "stress_dates_titles.txt").open(encoding="utf-8", newline="") as handle:
        brief = parse_text(handle.read())
    golden = GOLDEN / f"stress_dates_titles.{fmt}"
    got = render(brief, fmt)
    if os.environ.get("BRIEFBOT_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")


def test_html_pieces_shared_by_render_and_the_web_pages() -> None:
    minimal = parse_text((FIXTURES / "minimal_status_only.txt").read_text(encoding="utf-8"))
    header = header_html(minimal, history_href="/b/x/history")
    assert header == (
        '<span class="state state-draft">draft</span> · v1 · <time datetime="2026-01-05">2026-01-05</time>'
        ' · 1 item · <a href="/b/x/history">history</a>'
    )
    assert "history" not in header_html(minimal)  # no history page, no link
    assert cite_html("<b>[1]</b> [9]", {1}) == (
        '&lt;b&gt;<a class="cite" href="#source-1">[1]</a>&lt;/b&gt; '
        '<span class="cite missing" title="no such source">[9]</span>'
    )
    assert 'href="#source-9"' in cite_html("[9]", None)  # no sources known: link all
    for url in ("javascript:alert(1)", " https://x.example/", "data:text/html,x", "", None):
        assert safe_url(url) is None, url
    assert safe_url("HTTPS://x.example/") == "HTTPS://x.example/"


# --------------------------------------------------------------------------------------------
# Diff
# --------------------------------------------------------------------------------------------


def test_word_diff_marks_changed_words() -> None:
    ops = word_diff("the gap is widening fast", "the gap is stable")
    assert [(op.kind, op.text) for op in ops] == [
        ("equal", "the gap is"),
        ("delete", " widening fast"),
        ("insert", " stable"),
    ]


def test_brief_diff_by_section() -> None:
    old = hostile_brief()
    new = old.model_copy(
        update={
            "version": 3,
            "tensions": [HOSTILE, "A new tension [2]"],
            "status": "closed",
            "perspectives": [Perspective(actor=HOSTILE, stance=HOSTILE, evolution="Changed its mind [2]")],
        }
    )
    diff = diff_briefs(old, new)
    changed = {section.section for section in diff.sections if section.changed}
    assert changed == {"Header", "Tensions", "Status", "Perspectives"}
    tensions = next(s for s in diff.sections if s.section == "Tensions")
    assert [item.status for item in tensions.items] == ["unchanged", "added"]
    plain = diff_plain(diff)
    assert "+ tension 2: A new tension [2]" in plain
    assert "[-v2-] {+v3+}" in plain
    assert "What's new" not in plain  # unchanged sections are left out
    assert "v2 → v3" in diff_rich(diff).plain
    assert not diff_briefs(old, old).changed and "(no differences)" in diff_plain(diff_briefs(old, old))
