"""The body parser of ``POST /api/media``: embeddings arrive as NumPy arrays.

A bulk body is 500 items of 512 numbers each. Parsed into Python, every number becomes
a float object that validation then walks again to build an array: together about
three quarters of the request's Python time. simdjson parses the document once and
hands a number array over as a buffer of doubles (``as_buffer``), with no Python object
per number; everything else in an item becomes plain dicts and lists as usual.

``as_buffer`` refuses an array holding anything but numbers (a string, a boolean, an
integer beyond 64 bits): that array is then converted element by element, so validation
reports it exactly as before. A body simdjson cannot read at all (``NaN``, ``1e400``,
invalid UTF-8, an integer beyond 64 bits) goes to the orjson/json parser, so what is
accepted, and the error for what is not, stay those of every other JSON endpoint. An
object with a repeated key keeps the last value, as there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import simdjson

from apps.core.parsers import OrjsonParser

EMBEDDING_FIELD = "clip_embedding"
_OBJECT, _ARRAY = simdjson.Object, simdjson.Array


def _plain(value: Any) -> Any:
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def _numbers(value: simdjson.Array) -> Any:
    try:
        return np.frombuffer(value.as_buffer(of_type="d"), dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):  # not numbers only: as JSON gives them
        return value.as_list()


def _array_mark(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return "["
    raise TypeError


def _brackets(value: Any) -> int:
    """The '[' characters the body must hold for ``value``: one an array, and those in
    its strings (orjson writes a '[' in a string as itself; an embedding array as one)."""
    return orjson.dumps(value, default=_array_mark).count(b"[")


def _item(value: Any) -> Any:
    if type(value) is not _OBJECT:
        return _plain(value)
    keys = list(value.keys())  # not items(): that would convert every value
    # simdjson's lookup finds a repeated key's first value (orjson keeps the last) and
    # cannot find a key holding NUL: such an object is converted whole, as orjson would
    if len(set(keys)) != len(keys) or "\x00" in "".join(keys):
        return value.as_dict()
    item = {}
    for key in keys:  # (the hot loop of a bulk body: types compared, not isinstance)
        field: Any = value[key]
        kind = type(field)
        if kind is _OBJECT:
            field = field.as_dict()
        elif kind is _ARRAY:
            field = _numbers(field) if key == EMBEDDING_FIELD else field.as_list()
        item[key] = field
    return item


def parse_media_body(body: bytes) -> Any:
    """A single item or a list of them, embeddings as float64 arrays where possible."""
    if b"\\u005b" in body or b"\\u005B" in body:  # a '[' written escaped: see below
        return OrjsonParser.loads(body)
    try:
        document = simdjson.Parser().parse(body)
    except (ValueError, RuntimeError, TypeError):  # not simdjson's JSON: the usual parser
        return OrjsonParser.loads(body)
    parsed = ([_item(element) for element in document]
              if isinstance(document, simdjson.Array) else _item(document))
    # as_buffer flattens nested arrays: [[0.1], 0.2, ...] would pass as numbers. Every
    # '[' of the body opens an array or sits in a string, so a count that differs from
    # what the parsed value accounts for means an array hid inside an embedding.
    if body.count(b"[") != _brackets(parsed):
        return OrjsonParser.loads(body)
    return parsed


class MediaBodyParser(OrjsonParser):
    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        return parse_media_body(stream.read())
