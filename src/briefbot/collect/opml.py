"""OPML subscription lists: read with listparser, written as OPML 2.0.

Reading takes the file's bytes (listparser given a str that looks like a URL would fetch it) and
keeps only http(s) feed URLs; everything else an OPML file may carry (`javascript:`, `file:`,
relative paths) is reported as skipped, not imported. Names are derived from titles: slugified to
the config's name pattern and made unique against the names already taken.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

import listparser
from pydantic import ConfigDict

from briefbot.collect.feeds import FeedParseError
from briefbot.config import FeedConfig
from briefbot.models import StrictModel

_MAX_NAME = 60


class OpmlFeed(StrictModel):
    """One subscription of an OPML file."""

    model_config = ConfigDict(frozen=True)

    title: str
    url: str
    tags: list[str] = []


class OpmlList(StrictModel):
    model_config = ConfigDict(frozen=True)

    feeds: list[OpmlFeed]
    skipped: list[str]  # "url: why", for entries that are not importable feeds


def read_opml(data: bytes, *, source: str = "OPML") -> OpmlList:
    """The http(s) feeds of an OPML document; raises FeedParseError when it holds no subscription
    list at all (not OPML, or not XML)."""
    if not isinstance(data, bytes):  # a str might be taken for a URL and fetched
        raise TypeError("read_opml takes the file's bytes")
    parsed = listparser.parse(data)
    if not parsed.get("version") and not parsed.feeds:
        problem = parsed.get("bozo_exception")
        why = f" ({problem})" if problem else ""
        raise FeedParseError(f"{source}: not an OPML subscription list{why}")
    feeds: list[OpmlFeed] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for entry in parsed.feeds:
        url = str(entry.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            skipped.append(f"{url or '(no URL)'}: not an http(s) feed URL")
            continue
        if url in seen:
            skipped.append(f"{url}: listed twice in {source}")
            continue
        seen.add(url)
        title = " ".join(str(entry.get("title") or "").split()) or (parts.hostname or url)
        tags = []
        for tag in entry.get("tags") or []:
            slug = slugify(str(tag))
            if slug and slug not in tags:
                tags.append(slug)
        feeds.append(OpmlFeed(title=title, url=url, tags=tags))
    return OpmlList(feeds=feeds, skipped=skipped)


def slugify(text: str) -> str:
    """Lowercase ASCII letters, digits and '-', as a feed name; '' when nothing of `text` is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:_MAX_NAME].rstrip("-")


def unique_name(title: str, url: str, taken: set[str]) -> str:
    """A feed name for `title` (or the URL's host when the title has no usable letters) that is
    not in `taken`: `name`, then `name-2`, `name-3`..."""
    base = slugify(title) or slugify(urlsplit(url).hostname or "") or "feed"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def write_opml(feeds: Iterable[FeedConfig], *, title: str, now: dt.datetime) -> str:
    """An OPML 2.0 document listing `feeds` (name as text/title, tags as category)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{now.astimezone(dt.UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}</dateCreated>",
        "  </head>",
        "  <body>",
    ]
    for feed in feeds:
        attrs = [
            f"text={quoteattr(feed.name)}",
            f"title={quoteattr(feed.name)}",
            'type="rss"',
            f"xmlUrl={quoteattr(feed.url)}",
        ]
        if feed.tags:
            attrs.append(f"category={quoteattr(','.join(feed.tags))}")
        lines.append(f"    <outline {' '.join(attrs)}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return quoteattr(value)[1:-1]
