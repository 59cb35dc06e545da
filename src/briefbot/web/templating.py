"""What the server and the static site share: the jinja2 environment, its filters, and URL builders.

Every string shown comes from a feed, a page or an LLM, so the environment autoescapes everything;
the only markup added to such text is built here from escaped pieces (citation links, marks).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import jinja2
import nh3
from markupsafe import Markup, escape

from briefbot.models import CITATION_RE, EDIT_CITATION_RE, Brief, Source

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "web"
STATIC_DIR = TEMPLATES_DIR / "static"
_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)
_TAG = re.compile(r"<[A-Za-z/!]")


def cite(text: str | None) -> Markup:
    """Escape `text`, then turn each `[n]` into a link to its source entry on the same page."""
    escaped = str(escape(text or ""))
    return Markup(
        CITATION_RE.sub(
            lambda m: f'<a class="cite" href="#source-{m.group(1)}">[{m.group(1)}]</a>',
            escaped,
        )
    )


def cite_edit(text: str | None) -> Markup:
    """Escape an edit's proposed text and mark its citations; `[new:K]` ones stand out as new."""
    escaped = str(escape(text or ""))

    def mark(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("new:"):
            return f'<mark class="new-cite" title="new item {ref}">[{ref}]</mark>'
        return f'<span class="old-cite">[{ref}]</span>'

    return Markup(EDIT_CITATION_RE.sub(mark, escaped))


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are followed; a `javascript:` URL from a feed is shown as text, not linked."""
    return url if url and _SAFE_URL.match(url) else None


def strip_html(text: str | None) -> Markup:
    """Text from outside that may carry HTML (a feed summary standing in for a page): nh3 drops
    every tag and escapes the rest, so what is left is inert text. Plain text (no tag in sight)
    is only escaped, so `a<b` in extracted prose is not mistaken for markup."""
    if not _TAG.search(text or ""):
        return escape(text or "")
    return Markup(nh3.clean(text or "", tags=set()))


def source_label(source: Source) -> str:
    return source.publisher or source.origin or ""


class Links(Protocol):
    """Where pages live; the server uses absolute paths, the static site relative file names."""

    def index(self) -> str: ...
    def brief(self, slug: str) -> str: ...
    def version(self, slug: str, version: int) -> str: ...
    def history(self, slug: str) -> str: ...
    def diff(self, slug: str, a: int, b: int) -> str: ...
    def feed(self, slug: str) -> str: ...
    def static(self, name: str) -> str: ...


class ServerLinks:
    def index(self) -> str:
        return "/"

    def brief(self, slug: str) -> str:
        return f"/b/{slug}"

    def version(self, slug: str, version: int) -> str:
        return f"/b/{slug}/v/{version}"

    def history(self, slug: str) -> str:
        return f"/b/{slug}/history"

    def diff(self, slug: str, a: int, b: int) -> str:
        return f"/b/{slug}/diff?a={a}&b={b}"

    def feed(self, slug: str) -> str:
        return f"/b/{slug}/feed.atom"

    def static(self, name: str) -> str:
        return f"/static/{name}"

    def proposal(self, slug: str) -> str:
        return f"/b/{slug}/proposal"


class SiteLinks:
    """Relative links for a static site, so it works from any directory of any web server (or file://).

    Layout: `index.html`, `b/<slug>/index.html`, `b/<slug>/v<N>.html`, `b/<slug>/history.html`,
    `b/<slug>/diff-<A>-<B>.html`, `b/<slug>/feed.atom`, `static/<name>`.
    """

    def __init__(self, depth: int) -> None:
        self.up = "../" * depth

    def index(self) -> str:
        return f"{self.up}index.html"

    def brief(self, slug: str) -> str:
        return f"{self.up}b/{slug}/index.html"

    def version(self, slug: str, version: int) -> str:
        return f"{self.up}b/{slug}/v{version}.html"

    def history(self, slug: str) -> str:
        return f"{self.up}b/{slug}/history.html"

    def diff(self, slug: str, a: int, b: int) -> str:
        return f"{self.up}b/{slug}/diff-{a}-{b}.html"

    def feed(self, slug: str) -> str:
        return f"{self.up}b/{slug}/feed.atom"

    def static(self, name: str) -> str:
        return f"{self.up}static/{name}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cite"] = cite
    env.filters["cite_edit"] = cite_edit
    env.filters["safe_url"] = safe_url
    env.filters["strip_html"] = strip_html
    env.filters["source_label"] = source_label
    return env


def brief_heading(brief: Brief) -> str:
    """The header line of the text format: `closed · v7 · 2026-05-24 · 118 items`."""
    return f"{brief.state} · v{brief.version} · {brief.date.isoformat()} · {brief.item_count} items"
