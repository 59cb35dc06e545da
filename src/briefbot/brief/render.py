"""Render a brief as text (the seed's format), Markdown, HTML or JSON. Pure and deterministic.

HTML comes from jinja2 templates with autoescape on: the page wraps the one layout of a brief's body
(templates/_brief.html.j2, which the web pages and the static site use too), escaped and linked by
`brief.html`: brief text is escaped first and only then are its `[n]` citations
turned into links to `#source-n`, so no markup in a brief's text can take effect. No outside HTML is
emitted (source URLs become `href`s only when they are http(s)), and the page carries a
Content-Security-Policy that forbids scripts as a second line of defence.

Every format comes out without terminal controls or bidi overrides (`untrusted.clean_text`): a
brief quotes feeds and a model, and `render` is printed to the editor's terminal. The store already
cleans what it keeps; this covers briefs made before it did, and whatever a model wrote.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

import jinja2

from briefbot.brief.html import html_filters, safe_url, source_numbers
from briefbot.brief.textformat import header_line, render_text
from briefbot.models import CITATION_RE, Brief
from briefbot.untrusted import clean_text

Format = Literal["text", "md", "html", "json"]
FORMATS: tuple[str, ...] = ("text", "md", "html", "json")

# Markdown punctuation that could start emphasis, code or links anywhere in a line; `<`, `>` and
# `&` become entities instead, so no renderer can see raw HTML or an entity in brief text.
_MD_INLINE = re.compile(r"([\\`*_{}\[\]|~])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# ...and what only matters at the start of a line (headings, lists, quotes, rules).
_MD_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+[.)])")


@functools.lru_cache(maxsize=2)
def _environment(autoescape: bool) -> jinja2.Environment:
    # Cached per flavour: an Environment is immutable once built, so sharing it keeps render pure.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("briefbot", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    if autoescape:
        env.filters.update(html_filters())
    else:
        env.filters.update(cite=_cite_md, safe_url=safe_url)
    return env


def brief_json(brief: Brief) -> str:
    """The canonical JSON of a brief: stable key order, UTF-8, trailing newline."""
    return brief.model_dump_json(indent=2) + "\n"


def render(brief: Brief, fmt: Format | str = "text") -> str:
    """The brief in `fmt`: `text`, `md`, `html` or `json`."""
    if fmt == "text":
        out = render_text(brief)
    elif fmt == "json":
        out = brief_json(brief)
    elif fmt == "md":
        out = render_markdown(brief)
    elif fmt == "html":
        out = render_html(brief)
    else:
        raise ValueError(f"unknown render format {fmt!r}; expected one of {', '.join(FORMATS)}")
    # Ordinary text comes back unchanged (one scan), so the text format's round trip still holds.
    return clean_text(out, multiline=True)


def clean_brief(brief: Brief) -> Brief:
    """`brief` with every text field cleaned of terminal controls and bidi overrides (for showing
    it on a terminal, as `review` does with its diff); the same object when there was nothing to
    clean."""
    data = brief.model_dump()
    cleaned = _clean_values(data)
    return brief if cleaned == data else Brief.model_validate(cleaned)


def _clean_values(value: object) -> object:
    if isinstance(value, str):
        return clean_text(value, multiline=True)
    if isinstance(value, list):
        return [_clean_values(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean_values(v) for k, v in value.items()}
    return value


def _context(brief: Brief) -> dict[str, object]:
    return {"brief": brief, "header": header_line(brief), "numbers": source_numbers(brief)}


def render_markdown(brief: Brief) -> str:
    return _environment(False).get_template("brief.md.j2").render(_context(brief))


def render_html(brief: Brief) -> str:
    return _environment(True).get_template("brief.html.j2").render(_context(brief))


def md_escape(text: str, *, line_start: bool = True) -> str:
    """Markdown-safe text; `line_start` when the text begins a line (block markers matter there)."""
    text = re.sub(r"[&<>]", lambda m: _MD_ENTITIES[m.group(0)], text)
    text = _MD_INLINE.sub(r"\\\1", text)
    if not line_start:
        return text
    # A digit cannot be backslash-escaped in CommonMark: escape the `.` or `)` of `1.` instead.
    return _MD_LINE_START.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), text)


def _escape_marker(marker: str) -> str:
    return marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker


def _cite_md(text: str, numbers: set[int]) -> str:
    parts = CITATION_RE.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(md_escape(part, line_start=i == 0))
        elif int(part) in numbers:
            out.append(f"[\\[{part}\\]](#source-{part})")
        else:
            out.append(f"\\[{part}\\]")
    return "".join(out)
