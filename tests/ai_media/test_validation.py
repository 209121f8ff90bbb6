"""What an item may hold: each refusal is a reason naming the field, the same through
the single form, the array form and the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from ai_media.models import Media, MediaEmbedding
from ai_media.validation import ItemInvalid, media_input, parse_embedding

GOOD: dict[str, Any] = {"id": "ok", "media_type": "image",
                        "media_url": "https://cdn.example.com/a.jpg"}
EMBEDDING = "clip_embedding must be a list of exactly 512 numbers"

BAD: list[tuple[dict[str, Any], str]] = [
    ({"id": ""}, "id must be 1-128 characters of letters, digits and ._:~-"),
    ({"id": "a" * 129}, "id must be 1-128 characters of letters, digits and ._:~-"),
    ({"id": "has space"}, "id must be 1-128 characters of letters, digits and ._:~-"),
    ({"id": "slash/id"}, "id must be 1-128 characters of letters, digits and ._:~-"),
    ({"id": "é"}, "id must be 1-128 characters of letters, digits and ._:~-"),
    ({"id": 12}, "id must be 1-128 characters of letters, digits and ._:~-"),
    ({"media_type": None}, "media_type must be 'image' or 'video'"),
    ({"media_type": "Image"}, "media_type must be 'image' or 'video'"),
    ({"media_type": ["image"]}, "media_type must be 'image' or 'video'"),
    ({"media_url": None}, "media_url is required"),
    ({"media_url": ""}, "media_url must be a string"),
    ({"media_url": 5}, "media_url must be a string"),
    ({"media_url": "ftp://cdn.example.com/a"}, "media_url must be an http(s) URL"),
    ({"media_url": "javascript:alert(1)"}, "media_url must be an http(s) URL"),
    ({"media_url": "https://"}, "media_url must be an http(s) URL"),
    ({"media_url": "/relative/a.jpg"}, "media_url must be an http(s) URL"),
    ({"media_url": "https://a.example/b c"}, "media_url must be an http(s) URL"),
    ({"media_url": "http://[::1"}, "media_url must be an http(s) URL"),
    ({"media_url": "https://a.example/" + "x" * 2040},
     "media_url must be at most 2048 characters"),
    ({"thumbnail_url": "file:///etc/passwd"}, "thumbnail_url must be an http(s) URL"),
    ({"thumbnail_url": ""}, "thumbnail_url must be a string"),
    ({"title": 5}, "title must be a string"),
    ({"title": "x" * 1001}, "title must be at most 1000 characters"),
    ({"created_at": "yesterday"}, "created_at must be an ISO-8601 date-time"),
    ({"created_at": "2026-02-30T12:00:00Z"}, "created_at must be an ISO-8601 date-time"),
    ({"created_at": "2026-02-18T25:00:00Z"}, "created_at must be an ISO-8601 date-time"),
    ({"created_at": "2026-13-01T00:00:00"}, "created_at must be an ISO-8601 date-time"),
    ({"created_at": ""}, "created_at must be an ISO-8601 date-time"),
    ({"created_at": 1760000000}, "created_at must be an ISO-8601 date-time"),
    ({"ai_tags": ["hair", "blonde"]}, "ai_tags must be an object of category -> list of strings"),
    ({"ai_tags": "hair:blonde"}, "ai_tags must be an object of category -> list of strings"),
    ({"ai_tags": {"": ["x"]}}, "ai_tags categories must be 1-64 characters"),
    ({"ai_tags": {"c" * 65: ["x"]}}, "ai_tags categories must be 1-64 characters"),
    ({"ai_tags": {"hair": "blonde"}}, "ai_tags.hair must be a list of strings"),
    ({"ai_tags": {"hair": [1]}}, "ai_tags.hair must be a list of non-empty strings"),
    ({"ai_tags": {"hair": [""]}}, "ai_tags.hair must be a list of non-empty strings"),
    ({"ai_tags": {"hair": ["  "]}}, "ai_tags.hair must be a list of non-empty strings"),
    ({"ai_tags": {"hair": [None]}}, "ai_tags.hair must be a list of non-empty strings"),
    ({"ai_tags": {"hair": ["a,b"]}},
     "ai_tags.hair values must be at most 128 characters, without commas"),
    ({"ai_tags": {"hair": ["v" * 129]}},
     "ai_tags.hair values must be at most 128 characters, without commas"),
    ({"ai_tags": {f"c{i}": [f"v{j}" for j in range(10)] for i in range(51)}},
     "ai_tags may hold at most 500 tags"),
    ({"clip_embedding": [0.1] * 511}, EMBEDDING),
    ({"clip_embedding": [0.1] * 513}, EMBEDDING),
    ({"clip_embedding": []}, EMBEDDING),
    ({"clip_embedding": "0.1,0.2"}, EMBEDDING),
    ({"clip_embedding": {"0": 0.1}}, EMBEDDING),
    ({"clip_embedding": [0.1] * 511 + ["0.1"]}, "clip_embedding must hold numbers only"),
    ({"clip_embedding": [0.1] * 511 + [True]}, "clip_embedding must hold numbers only"),
    ({"clip_embedding": [0.1] * 511 + [None]}, "clip_embedding must hold numbers only"),
    ({"clip_embedding": [0.1] * 511 + [[0.1]]}, "clip_embedding must hold numbers only"),
    ({"clip_embedding": [0.1] * 511 + [1e39]}, "clip_embedding must hold finite numbers"),
    ({"clip_embedding": [0.1] * 511 + [10 ** 400]}, "clip_embedding must hold finite numbers"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "reason"), BAD)
def test_single_form_refuses_with_the_reason(writer: APIClient, change: dict[str, Any],
                                             reason: str) -> None:
    response = writer.post("/api/media", {**GOOD, **change}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": reason}
    assert not Media.objects.exists()


@pytest.mark.django_db
def test_array_form_reports_every_refusal_and_writes_the_rest(writer: APIClient) -> None:
    items = []
    for n, (change, _) in enumerate(BAD):
        items.append({**GOOD, "id": f"good{n}"})
        items.append({**GOOD, "id": f"bad{n}", **change})
    response = writer.post("/api/media", items, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["inserted"] == len(BAD) and body["created"] == len(BAD)
    assert [(e["index"], e["error"]) for e in body["errors"]] == [
        (2 * n + 1, reason) for n, (_, reason) in enumerate(BAD)]
    for n, (change, _) in enumerate(BAD):
        sent_id = change.get("id", f"bad{n}")
        assert body["errors"][n]["id"] == (sent_id if isinstance(sent_id, str) else None)
    assert set(Media.objects.values_list("id", flat=True)) == {f"good{n}" for n in range(len(BAD))}


@pytest.mark.parametrize(("change", "reason"), BAD)
def test_the_service_raises_the_same_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(ItemInvalid) as caught:
        media_input({**GOOD, **change})
    assert str(caught.value) == reason


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(ItemInvalid, match="clip_embedding must hold finite numbers"):
        media_input({**GOOD, "clip_embedding": [0.0] * 511 + [value]})


@pytest.mark.django_db
def test_nan_cannot_even_be_sent_as_json(writer: APIClient) -> None:
    body = ('{"media_type": "image", "media_url": "https://a.example/", "clip_embedding": ['
            + ", ".join(["0.1"] * 511 + ["NaN"]) + "]}")
    response = writer.post("/api/media", body, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"error"}
    assert not MediaEmbedding.objects.exists()


def test_numpy_arrays_from_the_importer() -> None:
    vector = np.arange(512, dtype="<f4") / 512
    parsed = parse_embedding(vector)
    assert parsed is not None and parsed.dtype == np.float32
    np.testing.assert_array_equal(parsed, vector)
    for bad in (np.zeros(511, dtype="<f4"), np.zeros((2, 256), dtype="<f4"),
                np.zeros(512, dtype=np.int64)):
        with pytest.raises(ItemInvalid, match=EMBEDDING):
            parse_embedding(bad)
    for bad in (np.array([np.nan] * 512, dtype="<f4"), np.full(512, 1e39),
                np.full(512, -np.inf)):
        with pytest.raises(ItemInvalid, match="clip_embedding must hold finite numbers"):
            parse_embedding(bad)


def test_accepted_values_are_normalised() -> None:
    parsed = media_input({
        **GOOD, "id": "a.B:c~d-e_9", "media_type": "video", "title": "",
        "thumbnail_url": "http://cdn.example.com/t.jpg", "created_at": "2026-02-18T14:00:00+02:00",
        "ai_tags": {"hair": ["blonde", " blonde", "red "], "setting": ["beach"], "pose": []},
        "clip_embedding": [1] * 256 + [0.5] * 256})
    assert parsed.id == "a.B:c~d-e_9" and parsed.title == ""
    assert parsed.created_at == datetime(2026, 2, 18, 12, tzinfo=UTC)
    assert parsed.tags == [("hair", "blonde"), ("hair", "red"), ("setting", "beach")]
    assert parsed.tag_values == ["beach", "blonde", "red"]
    assert parsed.grouped_tags() == {"hair": ["blonde", "red"], "setting": ["beach"]}
    assert parsed.embedding is not None and parsed.embedding.dtype == np.float32
    assert parsed.embedding[0] == 1.0 and parsed.embedding[-1] == 0.5


def test_created_at_without_a_zone_is_utc_and_zoned_instants_are_kept() -> None:
    midnight = media_input({**GOOD, "created_at": "2026-02-18"}).created_at
    assert midnight == datetime(2026, 2, 18, tzinfo=UTC)  # a date alone: its midnight, UTC
    naive = media_input({**GOOD, "created_at": "2026-02-18T12:00:00.5"}).created_at
    assert naive == datetime(2026, 2, 18, 12, 0, 0, 500000, tzinfo=UTC)
    zoned = media_input({**GOOD, "created_at": "2026-02-18T12:00:00-05:00"}).created_at
    assert zoned == datetime(2026, 2, 18, 17, tzinfo=timezone.utc)  # noqa: UP017
    assert zoned is not None and zoned.utcoffset() == timedelta(0)  # stored in UTC
    # an offset PostgreSQL would refuse (past ±15:59) is converted, not a 500
    far = media_input({**GOOD, "created_at": "2026-02-18T12:00:00+20:10"}).created_at
    assert far == datetime(2026, 2, 17, 15, 50, tzinfo=UTC)


def test_limits_are_inclusive() -> None:
    parsed = media_input({
        **GOOD, "id": "i" * 128, "title": "t" * 1000,
        "media_url": "https://a.example/" + "x" * (2048 - len("https://a.example/")),
        "ai_tags": {"c" * 64: ["v" * 128], **{f"k{i}": [f"v{j}" for j in range(10)]
                                              for i in range(49)}, "last": ["a", "b", "c",
                                                                           "d", "e", "f", "g",
                                                                           "h", "i"]}})
    assert len(parsed.tags) == 500 and len(parsed.media_url) == 2048


def test_nulls_are_absent_values() -> None:
    parsed = media_input({**GOOD, "id": None, "thumbnail_url": None, "title": None,
                          "created_at": None, "ai_tags": None, "clip_embedding": None})
    assert parsed.id is None and parsed.thumbnail_url is None and parsed.title is None
    assert parsed.created_at is None and parsed.tags == [] and parsed.embedding is None
