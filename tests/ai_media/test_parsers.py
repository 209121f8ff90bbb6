"""The POST /api/media body parser: embeddings as arrays, everything else exactly as the
orjson/json parser reads it (the property test), and the same refusals."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from ai_media.parsers import MediaBodyParser, parse_media_body
from apps.core.parsers import OrjsonParser


def plain(value: Any) -> Any:
    """The parsed value with arrays back as lists (what orjson would have given)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def test_embeddings_become_float64_arrays_equal_to_the_json_numbers() -> None:
    rng = np.random.default_rng(3)
    items = [{"id": f"m{n}", "media_type": "image", "ai_tags": {"hair": ["red"]},
              "clip_embedding": rng.standard_normal(512).astype(np.float32)} for n in range(3)]
    body = orjson.dumps(items, option=orjson.OPT_SERIALIZE_NUMPY)
    parsed = MediaBodyParser().parse(io.BytesIO(body))
    expected = orjson.loads(body)
    for got, want in zip(parsed, expected, strict=True):
        assert isinstance(got["clip_embedding"], np.ndarray)
        assert got["clip_embedding"].dtype == np.float64
        assert got["clip_embedding"].tolist() == want["clip_embedding"]
        assert got["ai_tags"] == {"hair": ["red"]} and type(got["ai_tags"]) is dict
    assert plain(parsed) == expected


@pytest.mark.parametrize("embedding", [b'[1.5, true]', b'[1.5, "2"]', b'[1.5, null]',
                                       b'[1.5, 100000000000000000000000000000]',
                                       b'[1.5, [2]]', b'[[1.5], [2]]', b'[[], [1, 2]]',
                                       b'[]'])
def test_an_array_that_is_not_all_numbers_stays_a_list(embedding: bytes) -> None:
    body = b'{"clip_embedding": ' + embedding + b"}"
    parsed = parse_media_body(body)
    assert isinstance(parsed["clip_embedding"], list) or len(parsed["clip_embedding"]) == 0
    assert plain(parsed) == OrjsonParser.loads(body)


def test_a_single_object_and_non_object_items() -> None:
    assert parse_media_body(b'{"id": "a", "clip_embedding": [1, 2]}')["clip_embedding"].tolist() \
        == [1.0, 2.0]
    assert parse_media_body(b'[1, "x", null, [1, 2], {"clip_embedding": "no"}]') == \
        [1, "x", None, [1, 2], {"clip_embedding": "no"}]


def test_what_only_the_standard_json_reads_goes_to_it() -> None:
    parsed = parse_media_body(b'[{"clip_embedding": [NaN, 1e400]}]')
    assert math.isnan(parsed[0]["clip_embedding"][0])
    assert parsed[0]["clip_embedding"][1] == float("inf")


def test_a_repeated_key_keeps_its_last_value_as_elsewhere() -> None:
    body = b'[{"id": "first", "id": "last", "clip_embedding": [1], "clip_embedding": [2]}]'
    assert parse_media_body(body) == orjson.loads(body) == [{"id": "last", "clip_embedding": [2]}]


def test_a_key_holding_nul_is_read() -> None:
    assert parse_media_body(b'{"a\\u0000": 1, "clip_embedding": [1]}') == \
        {"a\x00": 1, "clip_embedding": [1]}


@pytest.mark.parametrize("body", [b"{", b"[1,]", b"nan", b"\xff", b"", b'{"a": "\xff"}',
                                  b'{"a": 1} x'])
def test_malformed_json_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        MediaBodyParser().parse(io.BytesIO(body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(["clip_embedding", "id", "ai_tags", "x"]) | st.text(
        max_size=4), children, max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_reads_as_the_orjson_parser_reads_it(value: Any) -> None:
    body = json.dumps(value).encode()
    assert plain(parse_media_body(body)) == OrjsonParser.loads(body)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1, 1) | st.lists(st.floats(-1, 1), max_size=2), min_size=1,
                max_size=6),
       st.lists(st.sampled_from(["[", "\\u005b", "\\u005B", "x", "]"]), max_size=4))
def test_an_array_nested_in_an_embedding_is_never_flattened(
        embedding: list[Any], noise: list[str]) -> None:
    """Whatever strings around try to balance the count of '[' in the body."""
    text = "".join(noise)
    body = ('[{"title": "' + text + '", "clip_embedding": ' + json.dumps(embedding)
            + ', "ai_tags": {"' + text + '": ["' + text + '"]}}]').encode()
    parsed = parse_media_body(body)
    assert plain(parsed) == OrjsonParser.loads(body)
    if any(isinstance(number, list) for number in embedding):
        assert isinstance(parsed[0]["clip_embedding"], list)
