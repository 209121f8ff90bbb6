"""``metadata.parse_metadata``: the spec's LibraryItemMetadata keys are typed, unknown keys
are kept as they are, and the whole object is bounded."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from user_library.errors import InvalidItem
from user_library.metadata import MAX_METADATA_BYTES, parse_metadata


@pytest.mark.parametrize("raw", [None, "", {}, "{}", b"{}"])
def test_nothing_is_an_empty_object(raw: Any) -> None:
    assert parse_metadata(raw) == {}


def test_the_spec_keys_with_their_types() -> None:
    full = {"prompt": "a red chair", "model": "gemini-2.0-flash-exp", "seed": 12345,
            "aspect_ratio": "16:9", "style": "studio", "platform": "amazon",
            "duration_seconds": 4.5}
    assert parse_metadata(full) == full
    assert parse_metadata(json.dumps(full)) == full
    assert parse_metadata(json.dumps(full).encode()) == full


def test_null_means_not_given_and_unknown_keys_are_kept() -> None:
    raw = {"prompt": None, "seed": None, "negative_prompt": ["blurry"], "cfg": 7.5,
           "nested": {"a": {"b": [1, None, True]}}}
    assert parse_metadata(raw) == raw


@pytest.mark.parametrize(("raw", "message"), [
    ({"seed": "x"}, "metadata.seed must be an integer"),
    ({"seed": 1.5}, "metadata.seed must be an integer"),
    ({"seed": True}, "metadata.seed must be an integer"),
    ({"seed": math.inf}, "metadata.seed must be an integer"),
    ({"prompt": 5}, "metadata.prompt must be a string"),
    ({"model": ["m"]}, "metadata.model must be a string"),
    ({"aspect_ratio": 1.5}, "metadata.aspect_ratio must be a string"),
    ({"style": False}, "metadata.style must be a string"),
    ({"platform": {}}, "metadata.platform must be a string"),
    ({"duration_seconds": -0.1}, "metadata.duration_seconds must be a non-negative number"),
    ({"duration_seconds": "3"}, "metadata.duration_seconds must be a non-negative number"),
    ({"duration_seconds": math.nan},
     "metadata.duration_seconds must be a non-negative number"),
    ({"model": "m" * 201}, "metadata.model must be at most 200 characters"),
    ({"aspect_ratio": "1" * 21}, "metadata.aspect_ratio must be at most 20 characters"),
    ({"prompt": "p" * 10_001}, "metadata.prompt must be at most 10000 characters"),
    ({"anything": math.nan}, "metadata must not contain NaN or Infinity"),
    ("[1, 2]", "metadata must be a JSON object"),
    ("5", "metadata must be a JSON object"),
    ('"text"', "metadata must be a JSON object"),
    ("{prompt: 1}", "metadata must be a JSON object"),
    ([("prompt", "x")], "metadata must be a JSON object"),
    (5, "metadata must be a JSON object"),
    ("null", "metadata must be a JSON object"),
])
def test_refused(raw: Any, message: str) -> None:
    with pytest.raises(InvalidItem) as caught:
        parse_metadata(raw)
    assert caught.value.message == message
    assert caught.value.status_code == 400


def test_integral_floats_are_seeds_and_limits_are_inclusive() -> None:
    raw = {"seed": 3.0, "duration_seconds": 0, "model": "m" * 200, "prompt": "p" * 10_000}
    assert parse_metadata(raw) == raw


def test_the_whole_object_is_capped() -> None:
    fits = {"notes": "n" * (MAX_METADATA_BYTES - len('{"notes": ""}'))}
    assert len(json.dumps(fits).encode()) == MAX_METADATA_BYTES
    assert parse_metadata(fits) == fits
    too_big = {"notes": fits["notes"] + "n"}
    with pytest.raises(InvalidItem, match=f"at most {MAX_METADATA_BYTES} bytes"):
        parse_metadata(too_big)
