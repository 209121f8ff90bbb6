"""Request checking in the words of the spec's error example (class-validator's).

A ``Schema`` maps the spec's camelCase fields to model fields and checks a JSON body or
a query string completely, collecting every problem ("name must be a string", "type
must be one of the following values: …") before raising one ``ValidationError`` whose
list is the 400's ``message``. Unknown fields are ignored, as the spec's DTOs do.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rest_framework.exceptions import ValidationError

MAX_TEXT = 100_000  # descriptions, contents: generous, but a row is not a file
MAX_TAGS, MAX_TAG_LENGTH = 100, 100
MAX_URL = 2048
MAX_INT = 2**31 - 1


class Problem(Exception):
    """One field's problem: the message's text after the field's name."""


Check = Callable[[Any], Any]


def string(max_length: int | None = MAX_TEXT, *, empty: bool = True) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Problem("must be a string")
        if not empty and not value.strip():
            raise Problem("should not be empty")
        if max_length is not None and len(value) > max_length:
            raise Problem(f"must be shorter than or equal to {max_length} characters")
        if "\x00" in value:
            raise Problem("must not contain NUL characters")
        return value
    return check


def enum(values: Iterable[str]) -> Check:
    allowed = list(values)

    def check(value: Any) -> str:
        if value not in allowed or not isinstance(value, str):
            raise Problem(f"must be one of the following values: {', '.join(allowed)}")
        return value
    return check


def integer(minimum: int = 0, maximum: int = MAX_INT) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and (not math.isfinite(value) or not value.is_integer())):
            raise Problem("must be an integer number")
        if value < minimum:
            raise Problem(f"must not be less than {minimum}")
        if value > maximum:
            raise Problem(f"must not be greater than {maximum}")
        return int(value)
    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Problem("must be a boolean value")
    return value


def uuid_value(value: Any) -> uuid.UUID:
    try:
        if not isinstance(value, str):
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        raise Problem("must be a UUID") from None


def url(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise Problem("must be a URL address")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise Problem("must be a URL address") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(
            c.isspace() or ord(c) < 32 for c in value):
        raise Problem("must be a URL address")
    return value


def string_list(max_items: int = MAX_TAGS, max_length: int = MAX_TAG_LENGTH, *,
                distinct: bool = True) -> Check:
    """A list of strings; ``distinct`` drops repeats (tags), else they are kept for the
    caller to judge (ids)."""

    def check(value: Any) -> list[str]:
        if not isinstance(value, list):
            raise Problem("must be an array")
        if len(value) > max_items:
            raise Problem(f"must contain no more than {max_items} elements")
        if not all(isinstance(v, str) for v in value):
            raise Problem("each value must be a string")  # field name first: see Schema
        if any(len(v) > max_length or "\x00" in v for v in value):
            raise Problem(f"each value must be shorter than or equal to {max_length} characters")
        return list(dict.fromkeys(value)) if distinct else list(value)
    return check


@dataclass(frozen=True)
class Field:
    check: Check
    attr: str  # the model field
    required: bool = False
    nullable: bool = True  # an explicit null clears an optional field


@dataclass
class Schema:
    fields: dict[str, Field] = field(default_factory=dict)

    def clean(self, data: Any, *, partial: bool = False, prefix: str = "") -> dict[str, Any]:
        """The checked values by model field, or ValidationError listing every problem."""
        problems: list[str] = []
        cleaned = self.collect(data, problems, partial=partial, prefix=prefix)
        if problems:
            raise ValidationError(problems)
        return cleaned

    def collect(self, data: Any, problems: list[str], *, partial: bool = False,
                prefix: str = "") -> dict[str, Any]:
        if not isinstance(data, Mapping):
            problems.append(f"{prefix.rstrip('.') or 'body'} must be an object")
            return {}
        cleaned: dict[str, Any] = {}
        for name, spec in self.fields.items():
            label = f"{prefix}{name}"
            value = data.get(name)
            if value is None:
                if name in data and not spec.required and spec.nullable:
                    cleaned[spec.attr] = None
                elif (spec.required and not partial) or (name in data and spec.required):
                    problems.append(f"{label} should not be empty")
                continue
            try:
                cleaned[spec.attr] = spec.check(value)
            except Problem as problem:
                text = str(problem)
                problems.append(f"{text.replace('each value', f'each value in {label}')}"
                                if text.startswith("each value") else f"{label} {text}")
        return cleaned


def query_value(params: Mapping[str, Any], name: str, check: Check, problems: list[str],
                default: Any = None) -> Any:
    """One query parameter, converted from its text as the spec's types say."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return check(raw)
    except Problem as problem:
        problems.append(f"{name} {problem}")
        return default


def query_integer(minimum: int, maximum: int) -> Check:
    inner = integer(minimum, maximum)

    def check(raw: str) -> int:
        text = raw.strip()
        if not text.lstrip("-").isdigit() or len(text) > 12:
            raise Problem("must be an integer number")
        return int(inner(int(text)))
    return check


def query_boolean(raw: str) -> bool:
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise Problem("must be a boolean value")


def query_uuid(raw: str) -> uuid.UUID:
    return uuid_value(raw)


def query_tags(raw: str) -> list[str]:
    tags = [t.strip() for t in raw.split(",") if t.strip()]
    if len(tags) > MAX_TAGS:
        raise Problem(f"must contain no more than {MAX_TAGS} elements")
    return tags
