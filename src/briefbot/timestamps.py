"""One reading of the timestamps fetched answers carry: feed and search dates, the HTTP `Date` and
the HTTP date of a `Retry-After`. Pure, at the bottom of the layers: http and collect both read
dates with it."""

from __future__ import annotations

import datetime as dt
import email.utils


def parse_timestamp(value: str | None) -> dt.datetime | None:
    """`value` as an aware UTC datetime; None when it is empty or not a timestamp.

    ISO 8601 / RFC 3339 first (JSON Feed, SearXNG), then RFC 2822 (HTTP `Date`, and the JSON
    feeds whose publishers write it anyway). A timestamp without a zone is taken as UTC: SearXNG
    emits them so, and RFC 2822 writes an unknown zone as `-0000`, which means UTC.
    """
    text = (value or "").strip()
    if not text:
        return None
    parsed: dt.datetime
    try:
        parsed = dt.datetime.fromisoformat(text)  # reads a trailing Z since Python 3.11
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        return None  # year 1 east of UTC, say: no UTC datetime to be had
