"""What the server and the static site share: the jinja2 environment, its filters, and URL builders.

Every string shown comes from a feed, a page or an LLM, so the environment autoescapes everything;
the only markup added to such text is built from escaped pieces: a brief's citation links, safe URLs
and header by `brief.html` (as `briefbot render --format html` does), an edit's marks here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import jinja2
import nh3
from markupsafe import Markup, escape

from briefbot.brief.html import html_filters
from briefbot.models import EDIT_CITATION_RE

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "web"
STATIC_DIR = TEMPLATES_DIR / "static"
_TAG = re.compile(r"<[A-Za-z/!]")


def cite_edit(text: str | None) -> Markup:
    """Escape an edit's proposed text and mark its citations; `[new:K]` ones stand out as new."""
    escaped = str(escape(text or ""))

    def mark(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref.startswith("new:"):
            return f'<mark class="new-cite" title="new item {ref}">[{ref}]</mark>'
        return f'<span class="old-cite">[{ref}]</span>'

    return Markup(EDIT_CITATION_RE.sub(mark, escaped))


def strip_html(text: str | None) -> Markup:
    """Text from outside that may carry HTML (a feed summary standing in for a page): nh3 drops
    every tag and escapes the rest, so what is left is inert text. Plain text (no tag in sight)
    is only escaped, so `a<b` in extracted prose is not mistaken for markup."""
    if not _TAG.search(text or ""):
        return escape(text or "")
    return Markup(nh3.clean(text or "", tags=set()))


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
        # The web's own templates, then the shared ones: _brief.html.j2, the one layout of a brief's
        # body, which `briefbot render --format html` uses too.
        loader=jinja2.FileSystemLoader([TEMPLATES_DIR, TEMPLATES_DIR.parent]),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(html_filters())
    env.filters["cite_edit"] = cite_edit
    env.filters["strip_html"] = strip_html
    return env
