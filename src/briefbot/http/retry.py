"""How long a server asked us to wait: one reading of `Retry-After`, for fetches and LLM calls alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from briefbot.timestamps import parse_timestamp


def retry_after_seconds(headers: Mapping[str, str], *, now: dt.datetime | None = None) -> float | None:
    """Seconds asked for by `retry-after-ms` (OpenAI's) or `Retry-After` (seconds or an HTTP date);
    None when neither is there or readable, so the caller's own backoff applies. Never negative."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
    except ValueError:
        pass  # fall through to Retry-After
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_timestamp(value)  # an HTTP date
    if when is None:
        return None
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())
