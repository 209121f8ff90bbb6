"""The orjson request parser reads what the json parser reads, and refuses the rest."""

from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError

from apps.core.parsers import OrjsonParser


def test_parses_objects_arrays_and_floats() -> None:
    body = b'[{"a": 1.5, "b": [1, 2e3, -0.0]}, "x", null]'
    assert OrjsonParser().parse(io.BytesIO(body)) == [{"a": 1.5, "b": [1, 2000.0, -0.0]},
                                                      "x", None]


def test_what_only_the_standard_json_reads_still_parses() -> None:
    assert OrjsonParser().parse(io.BytesIO(b"[1e400, NaN]"))[0] == float("inf")


@pytest.mark.parametrize("body", [b"{", b"[1,]", b"nan", b"\xff", b""])
def test_malformed_json_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        OrjsonParser().parse(io.BytesIO(body))
