"""Query parameters of the ai_media API, checked the same way by every view (400s)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rest_framework.exceptions import ValidationError

from ai_media.models import MediaType
from apps.core.pagination import InvalidCursor, KeysetCursor, LimitOffset

MAX_TAGS = 20


def limit(params: Mapping[str, Any], *, default: int, maximum: int) -> int:
    return LimitOffset.from_params(params, default_limit=default, max_limit=maximum).limit


def media_type(params: Mapping[str, Any]) -> str | None:
    value = params.get("type")
    if value in (None, ""):
        return None
    if value not in MediaType.values:
        raise ValidationError({"type": ["type must be 'image' or 'video'."]})
    return str(value)


def tags(params: Mapping[str, Any], *, required: bool = False) -> list[str]:
    values = list(dict.fromkeys(t.strip() for t in str(params.get("tags") or "").split(",")
                                if t.strip()))
    if required and not values:
        raise ValidationError({"tags": ["tags is required: comma-separated tag values."]})
    if len(values) > MAX_TAGS:
        raise ValidationError({"tags": [f"At most {MAX_TAGS} tags."]})
    return values


def cursor_position(params: Mapping[str, Any], keyset: KeysetCursor
                    ) -> tuple[datetime, str] | None:
    token = params.get("cursor")
    if not token:
        return None
    created_at, media_id = keyset.decode(str(token))
    if not isinstance(created_at, datetime) or not isinstance(media_id, str):
        raise InvalidCursor()
    return created_at, media_id
