"""Search providers: turn one brief's query into a URL to fetch and the answer into items.

A provider is pure: `request_url(query)` says what to fetch, `parse(body, ...)` reads the answer.
The stage does the fetching, so record/replay and the safety rules apply to searches as to feeds.
Adding a provider = a config model in `briefbot.config` and a class here with those two methods.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote_plus, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from briefbot.collect.dedupe import canonical_url
from briefbot.collect.feeds import FeedParseError, ParsedFeed, content_hash, parse_feed, plain_text
from briefbot.config import RssSearchProvider, SearxngProvider
from briefbot.models import CandidateItem
from briefbot.timestamps import parse_timestamp


class Provider(Protocol):
    name: str

    def request_url(self, query: str) -> str: ...

    def parse(
        self, body: bytes, *, url: str, headers: Mapping[str, str], origin: str, fetched_at: dt.datetime
    ) -> ParsedFeed: ...


class _SearxResult(BaseModel):
    # SearXNG results carry many engine-specific keys; only these matter here.
    model_config = ConfigDict(extra="ignore")

    url: str
    title: str = ""
    content: str | None = None
    publishedDate: str | None = None
    engine: str | None = None


class _SearxAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[_SearxResult]


class Searxng:
    """A SearXNG instance's JSON API (`/search?q=...&format=json`)."""

    def __init__(self, config: SearxngProvider) -> None:
        self.config = config
        self.name = config.name

    def request_url(self, query: str) -> str:
        base = self.config.base_url.rstrip("/")
        if not urlsplit(base).path.endswith("/search"):
            base += "/search"
        params = {"q": query, "format": "json", **self.config.params}
        return f"{base}?{urlencode(params)}"

    def parse(
        self, body: bytes, *, url: str, headers: Mapping[str, str], origin: str, fetched_at: dt.datetime
    ) -> ParsedFeed:
        try:
            answer = _SearxAnswer.model_validate(json.loads(body))
        except (ValueError, UnicodeDecodeError, ValidationError) as exc:
            raise FeedParseError(f"{url}: not a SearXNG JSON answer ({_short(exc)})") from None
        items: list[CandidateItem] = []
        warnings: list[str] = []
        for index, result in enumerate(answer.results):
            item = _searx_item(result, origin=origin, fetched_at=fetched_at)
            if item is None:
                warnings.append(f"{url}: result {index + 1} skipped: {result.url!r} is not an http(s) URL")
            else:
                items.append(item)
        return ParsedFeed(
            title=self.name, version="searxng", entries=len(answer.results), items=items, warnings=warnings
        )


def _searx_item(result: _SearxResult, *, origin: str, fetched_at: dt.datetime) -> CandidateItem | None:
    try:
        url = canonical_url(result.url)
    except ValueError:
        return None
    summary = plain_text(result.content) or None
    title = plain_text(result.title) or (summary or "")[:120] or result.url
    published = parse_timestamp(result.publishedDate)
    return CandidateItem(
        url=url,
        link=result.url,
        title=title,
        summary=summary,
        published=published or fetched_at.astimezone(dt.UTC),
        published_is_fetch_time=published is None,
        origin=origin,
        publisher=urlsplit(url).hostname,
        content_hash=content_hash(title, summary),
    )


class RssSearch:
    """A search engine that answers a query with a feed (URL template with `{query}`)."""

    def __init__(self, config: RssSearchProvider) -> None:
        self.config = config
        self.name = config.name

    def request_url(self, query: str) -> str:
        return self.config.url_template.replace("{query}", quote_plus(query))

    def parse(
        self, body: bytes, *, url: str, headers: Mapping[str, str], origin: str, fetched_at: dt.datetime
    ) -> ParsedFeed:
        return parse_feed(body, url=url, headers=headers, origin=origin, fetched_at=fetched_at)


def make_provider(config: SearxngProvider | RssSearchProvider) -> Provider:
    if isinstance(config, SearxngProvider):
        return Searxng(config)
    return RssSearch(config)


def _short(exc: Any) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
