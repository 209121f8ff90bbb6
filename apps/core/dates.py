"""Date-times from clients, made safe for the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime


def parse_utc_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date-time as an aware UTC datetime (UTC when it names no zone), or
    None when it is not one.

    Converted here rather than passed on with its offset: Python accepts offsets up to
    ±23:59 but PostgreSQL refuses anything past ±15:59 with an error, which a client
    could otherwise turn into a 500 (found by the schema fuzzer). Impossible dates
    (2026-02-30) and instants that leave Python's range once in UTC are None too.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None
