"""Feed bytes -> CandidateItems. Pure: never fetches (feedparser only ever gets bytes).

RSS, Atom, RDF and CDF go through feedparser; JSON Feed, which feedparser 6 cannot read, through
`_jsonfeed`.

feedparser is handed the body as `bytes` plus the response headers, so it sniffs the encoding
from the HTTP charset, the BOM and the XML declaration exactly as it would over HTTP, but it can
never open a URL itself (given a `str` it would).
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import html
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

import feedparser

from briefbot.collect._jsonfeed import JSONFEED_PREFIX, JsonFeed, load_json_feed, looks_like_json
from briefbot.collect.dedupe import canonical_url
from briefbot.errors import BriefbotError
from briefbot.models import CandidateItem, StrictModel
from briefbot.timestamps import parse_timestamp

_TAG_RE = re.compile(r"<[^>]+>")
# Unsanitised HTML: drop what is code or styling, not words, before stripping tags.
_SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACE_RE = re.compile(r"\s+")
# Headers that describe the transfer, not the decoded body feedparser receives.
_TRANSFER_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}
TITLE_FALLBACK_CHARS = 120


class FeedParseError(BriefbotError):
    """The body is not a feed feedparser can read (an HTML page, JSON, an empty document)."""


class ParsedFeed(StrictModel):
    title: str | None
    version: str
    entries: int  # entries feedparser found, before items without a usable link are skipped
    items: list[CandidateItem]
    warnings: list[str]


def plain_text(fragment: str | None) -> str:
    """Feed summaries are (sanitised) HTML; triage and hashing want the words only."""
    if not fragment:
        return ""
    text = _TAG_RE.sub(" ", _SCRIPT_RE.sub(" ", fragment))
    return _SPACE_RE.sub(" ", html.unescape(text)).strip()


def content_hash(title: str, summary: str | None) -> str:
    """sha256 of the normalised title + summary, as `CandidateItem.content_hash` documents."""
    normal = f"{plain_text(title).casefold()}\n{plain_text(summary).casefold()}"
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _utc(parsed: time.struct_time | None) -> dt.datetime | None:
    # feedparser's *_parsed values are already normalised to UTC struct_times.
    if parsed is None:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    origin: str,
    fetched_at: dt.datetime,
) -> ParsedFeed:
    """Parse a feed body into candidate items carrying `origin` (`feed:<name>` / `reactive:<slug>`).

    A malformed (bozo) feed that still yields entries is used, with a warning; one that yields
    nothing and is not recognisably a feed raises FeedParseError naming `url`.
    """
    if not isinstance(body, bytes):  # a str would make feedparser treat it as a URL or path
        raise TypeError("parse_feed takes the response body as bytes")
    if looks_like_json(body):
        json_feed = load_json_feed(body)
        if json_feed is not None:
            return _json_feed(json_feed, url=url, origin=origin, fetched_at=fetched_at)
    response_headers = {k.lower(): v for k, v in headers.items() if k.lower() not in _TRANSFER_HEADERS}
    # Relative links resolve against the URL actually fetched unless the server says otherwise.
    response_headers.setdefault("content-location", url)
    # Summaries become plain text (`plain_text`) and are never rendered as HTML, so feedparser's
    # HTML sanitiser and its rewriting of URIs inside content are pure cost (about half the time).
    parsed = feedparser.parse(
        body, response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False
    )
    warnings: list[str] = []
    problem = parsed.get("bozo_exception")
    if parsed.bozo and not parsed.entries and not parsed.version:
        raise FeedParseError(f"{url}: not a feed ({type(problem).__name__}: {problem})")
    if parsed.bozo:
        warnings.append(f"{url}: malformed feed used anyway ({type(problem).__name__}: {problem})")
    publisher = plain_text(dict.get(parsed.feed, "title")) or None
    items: list[CandidateItem] = []
    for index, entry in enumerate(parsed.entries):
        item = _item(entry, origin=origin, publisher=publisher, fetched_at=fetched_at)
        if item is None:
            warnings.append(f"{url}: entry {index + 1} skipped: no http(s) link or permalink guid")
        else:
            items.append(item)
    return ParsedFeed(
        title=publisher,
        version=parsed.version or "",
        entries=len(parsed.entries),
        items=items,
        warnings=warnings,
    )


def newest(items: list[CandidateItem], limit: int) -> list[CandidateItem]:
    """At most `limit` of `items`: the newest by their own dates, then undated ones in feed order
    (feeds list newest first by custom, and an undated item's date is only its fetch time).

    The kept items stay in the order the source gave them, so storage order, and so item ids,
    do not depend on the cut.
    """
    if len(items) <= limit:
        return items
    ranked = sorted(
        range(len(items)),
        key=lambda i: (items[i].published_is_fetch_time, -items[i].published.timestamp(), i),
    )
    return [items[i] for i in sorted(ranked[:limit])]


def _get(entry: dict[str, Any], key: str) -> Any:
    # dict.get, not FeedParserDict's: its legacy key mapping (updated_parsed -> published_parsed)
    # emits a DeprecationWarning and would blur the published -> updated fallback.
    return dict.get(entry, key)


def _link(entry: dict[str, Any]) -> str | None:
    candidates = [_get(entry, "link")]
    links = _get(entry, "links") or []
    candidates += [_get(link, "href") for link in links if _get(link, "rel") == "alternate"]
    candidates.append(_get(entry, "id"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip().lower().startswith(("http://", "https://")):
            return candidate.strip()
    return None


def _item(
    entry: dict[str, Any], *, origin: str, publisher: str | None, fetched_at: dt.datetime
) -> CandidateItem | None:
    published = _utc(_get(entry, "published_parsed")) or _utc(_get(entry, "updated_parsed"))
    return make_item(
        link=_link(entry),
        title=_get(entry, "title"),
        summary=_get(entry, "summary"),
        published=published,
        fetched_at=fetched_at,
        guid=_get(entry, "id"),
        origin=origin,
        publisher=publisher,
    )


def make_item(
    *,
    link: str | None,
    title: str | None,
    summary: str | None,
    published: dt.datetime | None,
    fetched_at: dt.datetime,
    guid: object,
    origin: str,
    publisher: str | None,
) -> CandidateItem | None:
    """A CandidateItem from one entry's fields; None when it has no usable http(s) link.

    Without a `published` date the item is dated `fetched_at` and marked as such.
    """
    if link is None:
        return None
    try:
        url = canonical_url(link)
    except ValueError:
        return None
    text = plain_text(summary) or None
    heading = plain_text(title) or (text or "")[:TITLE_FALLBACK_CHARS] or link
    return CandidateItem(
        url=url,
        link=link,
        guid=guid.strip() if isinstance(guid, str) and guid.strip() else None,
        title=heading,
        summary=text,
        published=(published or fetched_at).astimezone(dt.UTC),
        published_is_fetch_time=published is None,
        origin=origin,
        publisher=publisher,
        content_hash=content_hash(heading, text),
    )


def _json_feed(feed: JsonFeed, *, url: str, origin: str, fetched_at: dt.datetime) -> ParsedFeed:
    publisher = plain_text(feed.title) or None
    items: list[CandidateItem] = []
    warnings: list[str] = []
    for index, entry in enumerate(feed.items):
        link = entry.url or entry.external_url
        item = make_item(
            link=urljoin(url, link) if link else None,
            title=entry.title,
            summary=entry.summary or entry.content_text or entry.content_html,
            published=parse_timestamp(entry.date_published) or parse_timestamp(entry.date_modified),
            fetched_at=fetched_at,
            guid=None if entry.id is None else str(entry.id),
            origin=origin,
            publisher=publisher,
        )
        if item is None:
            warnings.append(f"{url}: entry {index + 1} skipped: no http(s) link or permalink guid")
        else:
            items.append(item)
    version = "jsonfeed" + feed.version.removeprefix(JSONFEED_PREFIX)
    return ParsedFeed(
        title=publisher, version=version, entries=len(feed.items), items=items, warnings=warnings
    )
