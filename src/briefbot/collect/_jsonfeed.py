"""JSON Feed (https://jsonfeed.org, 1.0 and 1.1), which feedparser 6 does not read.

Returns the same `ParsedFeed` as the XML path so the stage cannot tell the two apart.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

JSONFEED_PREFIX = "https://jsonfeed.org/version/"


class JsonFeedItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Any = None  # required by the spec, but real feeds send numbers or omit it
    url: str | None = None
    external_url: str | None = None
    title: str | None = None
    summary: str | None = None
    content_text: str | None = None
    content_html: str | None = None
    date_published: str | None = None
    date_modified: str | None = None


class JsonFeed(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str
    title: str | None = None
    items: list[JsonFeedItem]


def looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def load_json_feed(body: bytes) -> JsonFeed | None:
    """The JSON Feed in `body`, or None when it is not one (plain JSON, broken JSON)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(JSONFEED_PREFIX):
        return None
    try:
        return JsonFeed.model_validate(data)
    except ValidationError:
        return None
