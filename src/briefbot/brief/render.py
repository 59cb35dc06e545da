"""Render a brief as text (the seed's format), Markdown, HTML or JSON. Pure and deterministic.

HTML comes from jinja2 templates with autoescape on; brief text is escaped first and only then are
its `[n]` citations turned into links to `#source-n`, so no markup in a brief's text can take effect.
No outside HTML is emitted (source URLs become `href`s only when they are http(s)), and the page
carries a Content-Security-Policy that forbids scripts as a second line of defence.
"""

from __future__ import annotations

import functools
import re
from typing import Literal
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from briefbot.brief.textformat import header_line, render_text
from briefbot.models import CITATION_RE, Brief, Source

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
    env.filters["cite"] = _cite_html if autoescape else _cite_md
    return env


def brief_json(brief: Brief) -> str:
    """The canonical JSON of a brief: stable key order, UTF-8, trailing newline."""
    return brief.model_dump_json(indent=2) + "\n"


def render(brief: Brief, fmt: Format | str = "text") -> str:
    """The brief in `fmt`: `text`, `md`, `html` or `json`."""
    if fmt == "text":
        return render_text(brief)
    if fmt == "json":
        return brief_json(brief)
    if fmt == "md":
        return render_markdown(brief)
    if fmt == "html":
        return render_html(brief)
    raise ValueError(f"unknown render format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _context(brief: Brief) -> dict[str, object]:
    numbers = {source.number for source in brief.sources}
    return {"brief": brief, "header": header_line(brief), "numbers": numbers, "source_link": _source_link}


def render_markdown(brief: Brief) -> str:
    return _environment(False).get_template("brief.md.j2").render(_context(brief))


def render_html(brief: Brief) -> str:
    return _environment(True).get_template("brief.html.j2").render(_context(brief))


def _source_link(source: Source) -> str | None:
    """The source's URL if it is safe to link (http or https), else None."""
    if not source.url:
        return None
    try:
        scheme = urlsplit(source.url).scheme.lower()
    except ValueError:
        return None
    return source.url if scheme in ("http", "https") else None


def _cite_html(text: str, numbers: set[int]) -> Markup:
    escaped = str(escape(text))

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in numbers:
            return f'<span class="citation missing" title="no such source">[{number}]</span>'
        return f'<a class="citation" href="#source-{number}">[{number}]</a>'

    # Safe: the text is already escaped and the pattern only matches `[digits]`.
    return Markup(CITATION_RE.sub(link, escaped))


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
