"""The one timestamp reader (briefbot.timestamps): feed and search dates, the HTTP `Date` and
`Retry-After`'s HTTP date, always aware UTC."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from briefbot.timestamps import parse_timestamp

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:30:00Z", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T14:30:00+02:00", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),  # SearXNG: naive is UTC
        (" 2024-05-01 ", dt.datetime(2024, 5, 1, tzinfo=UTC)),
        ("Wed, 01 May 2024 12:30:00 GMT", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("Wed, 01 May 2024 08:30:00 -0400", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("Wed, 01 May 2024 12:30:00 -0000", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),  # zone unknown
        ("yesterday", None),
        ("Wed, 01 May 2024 25:00:00 GMT", None),
        ("0001-01-01T00:00:00+05:00", None),  # before the first UTC instant
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_examples(value: str | None, expected: dt.datetime | None) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is UTC


# Fixed offsets in whole minutes, as RFC 2822 writes them (a zone's history has gaps and folds).
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
instants = st.datetimes(
    min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=offsets
)


@given(instants)
def test_iso_and_rfc2822_renderings_read_back_as_the_same_instant(when: dt.datetime) -> None:
    assert parse_timestamp(when.isoformat()) == when
    assert parse_timestamp(email.utils.format_datetime(when)) == when.replace(microsecond=0)


@given(st.text(max_size=60))
def test_any_text_is_a_utc_datetime_or_none(value: str) -> None:
    parsed = parse_timestamp(value)
    assert parsed is None or parsed.tzinfo is UTC
