"""Variant specs: parsing settings data, clear errors, and the hash that versions output."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from apps.processing.engines.variant_specs import (
    ENCODINGS,
    OutputFormat,
    SpecError,
    VariantSpec,
    parse_spec,
    parse_specs,
)

BASE: dict[str, Any] = {"kind": "thumbnail", "width": 256, "height": 256, "fit": "contain",
                        "formats": {"webp": {"quality": 80}, "avif": {"quality": 60}}}


def test_defaults_of_a_minimal_spec() -> None:
    spec = parse_spec("thumb", {"width": 320, "height": 200})
    assert spec.name == "thumb"
    assert (spec.width, spec.height) == (320, 200)
    assert spec.fit == "contain" and spec.kind == "thumbnail"
    assert spec.formats == (OutputFormat("webp", (("quality", 80),)),)
    assert spec.animated is False and spec.upscale is False
    assert spec.resample == "hamming" and spec.version == 1 and spec.crop is None


def test_full_spec_is_read_field_by_field() -> None:
    spec = parse_spec("p", {"kind": "preview", "width": 1024, "height": 768, "fit": "cover",
                            "formats": {"jpeg": {"quality": 85, "progressive": True},
                                        "png": None},
                            "animated": True, "upscale": True, "resample": "lanczos",
                            "version": 3})
    assert (spec.kind, spec.fit, spec.resample, spec.version) == ("preview", "cover",
                                                                  "lanczos", 3)
    assert spec.animated and spec.upscale
    assert [f.name for f in spec.formats] == ["jpeg", "png"]
    assert spec.formats[0].save_options() == {"quality": 85, "progressive": True}
    assert spec.formats[1].save_options() == {}


def test_formats_may_be_a_list_of_names() -> None:
    spec = parse_spec("s", {"width": 10, "height": 10, "formats": ["jpeg", "png"]})
    assert [(f.name, f.options) for f in spec.formats] == [("jpeg", ()), ("png", ())]


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_output_format_names_its_pillow_format_and_mime(name: str) -> None:
    fmt = OutputFormat(name)
    assert (fmt.pillow_format, fmt.mime_type) == ENCODINGS[name]
    assert fmt.mime_type == f"image/{name}"


def test_encoder_options_are_kept_sorted() -> None:
    spec = parse_spec("s", {"width": 10, "height": 10,
                            "formats": {"webp": {"quality": 70, "method": 6}}})
    assert spec.formats[0].options == (("method", 6), ("quality", 70))


@pytest.mark.parametrize("raw, message", [
    ({"height": 10}, "'width' must be a whole number of pixels, 1..8192"),
    ({"width": 0, "height": 10}, "'width' must be a whole number of pixels"),
    ({"width": -5, "height": 10}, "'width' must be a whole number of pixels"),
    ({"width": 8193, "height": 10}, "'width' must be a whole number of pixels"),
    ({"width": "100", "height": 10}, "'width' must be a whole number of pixels"),
    ({"width": 12.5, "height": 10}, "'width' must be a whole number of pixels"),
    ({"width": True, "height": 10}, "'width' must be a whole number of pixels"),
    ({"width": 10}, "'height' must be a whole number of pixels"),
    ({"width": 10, "height": None}, "'height' must be a whole number of pixels"),
    ({"width": 10, "height": 10, "fit": "stretch"}, "'fit' must be one of"),
    ({"width": 10, "height": 10, "resample": "nearest"}, "'resample' must be one of"),
    ({"width": 10, "height": 10, "formats": {}}, "'formats' must name at least one of"),
    ({"width": 10, "height": 10, "formats": []}, "'formats' must name at least one of"),
    ({"width": 10, "height": 10, "formats": "webp"}, "'formats' must name at least one of"),
    ({"width": 10, "height": 10, "formats": {"gif": {}}}, "unknown format 'gif'"),
    ({"width": 10, "height": 10, "formats": ["tiff"]}, "unknown format 'tiff'"),
    ({"width": 10, "height": 10, "formats": {"webp": {"qualty": 80}}},
     "unknown encoder options ['qualty']"),
    ({"width": 10, "height": 10, "formats": {"jpeg": {"exif": b"", "quality": 80}}},
     "unknown encoder options ['exif']"),
])
def test_invalid_definitions_raise_spec_error_naming_the_spec(raw: dict[str, Any],
                                                              message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)) as caught:
        parse_spec("thumb-x", raw)
    assert str(caught.value).startswith("thumb-x: ")


def test_a_non_numeric_version_is_a_spec_error() -> None:
    """A typo in ``version`` is a configuration error like any other: SpecError, naming
    the spec (not a bare ValueError from int())."""
    with pytest.raises(SpecError, match="thumb-x"):
        parse_spec("thumb-x", {"width": 10, "height": 10, "version": "two"})


def test_spec_error_is_a_value_error() -> None:
    assert issubclass(SpecError, ValueError)


def test_parse_specs_keys_by_name_and_reports_the_bad_one() -> None:
    specs = parse_specs({"a": {"width": 10, "height": 10}, "b": {**BASE}})
    assert list(specs) == ["a", "b"] and specs["b"].name == "b"
    with pytest.raises(SpecError, match=r"^broken: "):
        parse_specs({"a": {"width": 10, "height": 10}, "broken": {"width": 10}})


# -- the hash ---------------------------------------------------------------------------
def test_hash_is_twelve_hex_digits_and_deterministic() -> None:
    first, second = parse_spec("t", BASE).hash, parse_spec("t", dict(BASE)).hash
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert first == second


def test_hash_ignores_the_name() -> None:
    assert parse_spec("a", BASE).hash == parse_spec("b", BASE).hash


def test_hash_is_stable_across_key_order_of_the_definition() -> None:
    shuffled = {key: BASE[key] for key in reversed(list(BASE))}
    assert parse_spec("t", shuffled).hash == parse_spec("t", BASE).hash


def test_hash_is_stable_across_order_of_encoder_options() -> None:
    one = {**BASE, "formats": {"jpeg": {"quality": 80, "progressive": True, "optimize": True}}}
    two = {**BASE, "formats": {"jpeg": {"optimize": True, "progressive": True, "quality": 80}}}
    assert parse_spec("t", one).hash == parse_spec("t", two).hash


def test_hash_is_stable_across_order_of_formats() -> None:
    """Listing the same formats in another order renders the same bytes, so it must not
    make every variant of the spec stale (a full re-render of the library)."""
    swapped = {**BASE, "formats": {"avif": {"quality": 60}, "webp": {"quality": 80}}}
    assert parse_spec("t", swapped).hash == parse_spec("t", BASE).hash


@pytest.mark.parametrize("change", [
    {"width": 255}, {"height": 300}, {"fit": "cover"}, {"kind": "preview"},
    {"animated": True}, {"upscale": True}, {"resample": "lanczos"}, {"version": 2},
    {"formats": {"webp": {"quality": 81}, "avif": {"quality": 60}}},
    {"formats": {"webp": {"quality": 80}}},
    {"formats": {"webp": {"quality": 80}, "avif": {"quality": 60}, "jpeg": {}}},
    {"formats": {"webp": {"quality": 80, "method": 6}, "avif": {"quality": 60}}},
])
def test_hash_changes_with_every_output_affecting_field(change: dict[str, Any]) -> None:
    assert parse_spec("t", {**BASE, **change}).hash != parse_spec("t", BASE).hash


def test_hash_changes_with_the_crop_box() -> None:
    spec = parse_spec("t", BASE)
    cropped = replace(spec, crop=(0, 0, 100, 100))
    moved = replace(spec, crop=(1, 0, 100, 100))
    assert len({spec.hash, cropped.hash, moved.hash}) == 3


def test_variant_spec_is_immutable() -> None:
    spec = VariantSpec("t", 10, 10)
    with pytest.raises(AttributeError):
        spec.width = 20  # type: ignore[misc]
