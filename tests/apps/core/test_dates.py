"""Client date-times reach the database in UTC, or are refused (never a 500)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.core.dates import parse_utc_datetime


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    # PostgreSQL refuses offsets past ±15:59; converted, the instant is kept
    ("0093-06-07T14:42:58+20:10", datetime(93, 6, 6, 18, 32, 58, tzinfo=UTC)),
    ("2026-01-02T03:04:05-23:59", datetime(2026, 1, 3, 3, 3, 5, tzinfo=UTC)),
])
def test_converted_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_utc_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-02-30T00:00:00Z", "2026-01-01T25:00:00Z", "yesterday",
                                  "0001-01-01T00:00:00+01:00", "", 17, None])
def test_impossible_or_out_of_range_is_none(text: object) -> None:
    assert parse_utc_datetime(text) is None
