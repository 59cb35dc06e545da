"""What every HTML view of a brief shares: citation links, which URLs may be links, the header line.

`briefbot render --format html` (a self-contained document), `briefbot serve` and `briefbot site`
(pages of a site) lay a brief's body out with one template macro (templates/_brief.html.j2) and
escape, link and label it with these functions and nothing else, so a brief reads the same and is
as safe wherever it is shown.

Every string in a brief came from a feed, a page or an LLM: it is escaped first, and the only markup
added to it is built here from escaped pieces. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

from markupsafe import Markup, escape

from briefbot.brief._lines import SEP, header_line
from briefbot.models import CITATION_RE, Brief

# An allow-list, anchored at the start: a `javascript:` or `data:` URL from a feed, or one with a
# leading space or control character a browser would skip, is shown as text and never followed.
_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)

# The class of a citation link, in the web's stylesheet and the standalone page's alike.
CITE_CLASS = "cite"


def safe_url(url: str | None) -> str | None:
    """`url` if it may be a link (http or https), else None."""
    return url if url and _SAFE_URL.match(url) else None


def source_numbers(brief: Brief) -> frozenset[int]:
    """The numbers a citation in `brief` can link to: those of its sources."""
    return frozenset(source.number for source in brief.sources)


def cite_html(text: str | None, numbers: Collection[int] | None = None) -> Markup:
    """Escape `text`, then turn each `[n]` into a link to `#source-n` on the same page.

    With `numbers` (the brief's sources), a citation of a source that does not exist is marked and not
    linked, so no link leads nowhere; without, every citation is linked. Links carry `CITE_CLASS`.
    """
    escaped = str(escape(text or ""))

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if numbers is not None and number not in numbers:
            return f'<span class="{CITE_CLASS} missing" title="no such source">[{number}]</span>'
        return f'<a class="{CITE_CLASS}" href="#source-{number}">[{number}]</a>'

    # Safe: the text is already escaped and the pattern only matches `[digits]`.
    return Markup(CITATION_RE.sub(link, escaped))


def header_html(brief: Brief, *, history_href: str | None = None) -> Markup:
    """The header line (`closed · v7 · 2026-05-24 · 118 items`) marked up for a page of the site: the
    state styled by its name, the date machine-readable, and a `history` link when there is a page.

    The words come from `header_line`, the text format's one definition of them (`1 item`, not
    `1 items`); its separator cannot occur inside a field (a state is letters, spaces and dashes).
    """
    state, version, date, items = header_line(brief).split(SEP)[:4]
    state_class = "state-" + state.lower().replace(" ", "-")
    parts = [
        f'<span class="state {escape(state_class)}">{escape(state)}</span>',
        str(escape(version)),
        f'<time datetime="{escape(date)}">{escape(date)}</time>',
        str(escape(items)),
    ]
    if history_href is not None:
        parts.append(f'<a href="{escape(history_href)}">history</a>')
    return Markup(SEP.join(parts))


def html_filters() -> dict[str, Callable[..., Any]]:
    """The jinja2 filters every brief template uses: `cite(numbers)`, `safe_url`, `source_numbers` and
    `header_html(history_href)`."""

    def cite(text: str | None, numbers: Collection[int] | None = None) -> Markup:
        return cite_html(text, numbers)

    def header(brief: Brief, history_href: str | None = None) -> Markup:
        return header_html(brief, history_href=history_href)

    return {"cite": cite, "safe_url": safe_url, "source_numbers": source_numbers, "header_html": header}
