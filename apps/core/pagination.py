"""The three pagination styles the five APIs use.

- :class:`LimitOffset` — ``limit``/``offset`` with an exact ``total`` (user_library,
  media_library).
- :class:`PageNumber` — ``page``/``pageSize`` with ``totalPages`` (admin_media).
- :class:`KeysetCursor` — an opaque cursor over a sort key plus id (ai_media's feed):
  the position is signed, so a tampered or foreign cursor is a 400, and a page costs
  an index range scan however deep it is.

Each parser validates its query parameters and raises DRF ``ValidationError`` (which
the exception handler renders in the app's dialect). Out-of-range values are errors,
not silently clamped, unless the caller asks for ``clamp=True``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core import signing
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from rest_framework.exceptions import ValidationError


def _int_param(params: Mapping[str, Any], name: str, default: int, low: int, high: int | None,
               clamp: bool) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError({name: [f"{name} must be an integer."]}) from None
    if clamp:
        return max(low, min(value, high)) if high is not None else max(low, value)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError({name: [f"{name} must be {bound}."]})
    return value


@dataclass(frozen=True)
class LimitOffset:
    limit: int
    offset: int

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, default_limit: int = 20,
                    max_limit: int = 100, clamp: bool = False) -> LimitOffset:
        return cls(
            limit=_int_param(params, "limit", default_limit, 1, max_limit, clamp),
            offset=_int_param(params, "offset", 0, 0, None, clamp),
        )

    def slice(self, queryset: QuerySet) -> list[Any]:
        return list(queryset[self.offset:self.offset + self.limit])

    def has_more(self, total: int) -> bool:
        return self.offset + self.limit < total


@dataclass(frozen=True)
class PageNumber:
    page: int
    page_size: int

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, default_size: int = 10,
                    max_size: int = 100, clamp: bool = False, size_param: str = "pageSize",
                    ) -> PageNumber:
        return cls(
            page=_int_param(params, "page", 1, 1, None, clamp),
            page_size=_int_param(params, size_param, default_size, 1, max_size, clamp),
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def slice(self, queryset: QuerySet) -> list[Any]:
        return list(queryset[self.offset:self.offset + self.page_size])

    def total_pages(self, total: int) -> int:
        return math.ceil(total / self.page_size) if total else 0


class InvalidCursor(ValidationError):
    def __init__(self) -> None:
        super().__init__({"cursor": ["Invalid cursor."]})


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, UUID):
        return {"u": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "u" in value:
        return UUID(value["u"])
    return value


class KeysetCursor:
    """Encodes a position (the sort values of the last row) as an opaque, signed token.

    The token is URL-safe base64 of ``{"k": [values]}`` plus an HMAC (Django signing
    with a per-use salt), so clients cannot forge positions or reuse a cursor from
    another list.
    """

    def __init__(self, fields: Sequence[str], *, salt: str, descending: bool = True) -> None:
        self.fields = tuple(fields)
        self.descending = descending
        self._signer = signing.Signer(salt=f"keyset:{salt}", algorithm="sha256")

    def encode(self, row: Any) -> str:
        values = [_encode_value(getattr(row, f) if not isinstance(row, Mapping) else row[f])
                  for f in self.fields]
        payload = json.dumps({"k": values}, separators=(",", ":"))
        token = self._signer.sign(base64.urlsafe_b64encode(payload.encode()).decode())
        return token.replace(":", ".")

    def decode(self, token: str) -> tuple[Any, ...]:
        try:
            raw = self._signer.unsign(token.replace(".", ":"))
            values = json.loads(base64.urlsafe_b64decode(raw.encode()))["k"]
            decoded = tuple(_decode_value(v) for v in values)
        except (signing.BadSignature, ValueError, KeyError, TypeError):
            raise InvalidCursor() from None
        if len(decoded) != len(self.fields):
            raise InvalidCursor()
        return decoded

    def order_by(self) -> list[str]:
        return [f"-{f}" if self.descending else f for f in self.fields]

    def after(self, queryset: QuerySet, token: str | None) -> QuerySet:
        """Rows strictly after the cursor, as one row comparison the index can range-scan."""
        queryset = queryset.order_by(*self.order_by())
        if not token:
            return queryset
        values = self.decode(token)
        lookup = TupleLessThan if self.descending else TupleGreaterThan
        condition = lookup(Tuple(*(F(f) for f in self.fields)), values)
        return queryset.filter(condition)

    def page(self, queryset: QuerySet, token: str | None,
             limit: int) -> tuple[list[Any], str | None]:
        rows = list(self.after(queryset, token)[: limit + 1])
        next_token = self.encode(rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit], next_token
