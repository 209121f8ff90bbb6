"""A JSON request parser on orjson: bulk bodies (ai_media's arrays of 500 items with 512
floats each) parse several times faster than with the standard library's ``json``.

orjson refuses a few things ``json`` reads (``1e400``, ``NaN``): those bodies fall back
to ``json``, so what is refused stays the validation's business, per item, exactly as
with DRF's own parser."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class OrjsonParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        return self.loads(stream.read())

    @staticmethod
    def loads(body: bytes) -> Any:
        """The parsed body; ParseError (DRF's 400) when neither parser reads it."""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
