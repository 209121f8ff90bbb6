"""The write services: what media_upsert_many and media_delete do to the tables, the
denormalised tag values and the maintained counts, and when embeddings are queued."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from django.db import connection

from ai_media import embedding as embedding_module
from ai_media import services
from ai_media.models import Media, MediaEmbedding, MediaTag, TagCount
from ai_media.services import BulkResult, ItemError, media_create, media_delete, media_upsert_many
from ai_media.validation import ItemInvalid
from tests.ai_media.factories import item, upsert, vec

pytestmark = pytest.mark.django_db


def counts() -> dict[tuple[str, str], int]:
    return {(c, v): n for c, v, n in TagCount.objects.values_list("tag_category", "tag_value",
                                                                 "count")}


def true_counts() -> dict[tuple[str, str], int]:
    """What the maintained counts must equal: a GROUP BY over the tag rows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_category, tag_value, count(*) FROM media_tags "
                       "GROUP BY 1, 2")
        return {(c, v): n for c, v, n in cursor.fetchall()}


def live(values: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {key: n for key, n in values.items() if n}


def test_result_fields() -> None:
    result = media_upsert_many([item("a", embedding=vec(1)), item("b"), {"id": "c"}])
    assert isinstance(result, BulkResult)
    assert (result.inserted, result.created, result.updated) == (2, 2, 0)
    assert result.errors == [ItemError(2, "c", "media_type must be 'image' or 'video'")]
    assert result.errors[0].as_dict() == {"index": 2, "id": "c",
                                          "error": "media_type must be 'image' or 'video'"}
    assert result.needs_embedding == ["b"]  # only the item without a vector


def test_tag_values_are_denormalised_sorted_and_distinct() -> None:
    upsert([item("a", tags={"hair": ["red", "blonde"], "clothing": ["red"], "pose": []})])
    assert Media.objects.get(pk="a").tag_values == ["blonde", "red"]
    assert sorted(MediaTag.objects.values_list("tag_category", "tag_value")) == [
        ("clothing", "red"), ("hair", "blonde"), ("hair", "red")]
    upsert([item("a", tags={"setting": ["beach"]})])
    assert Media.objects.get(pk="a").tag_values == ["beach"]
    upsert([item("a")])
    assert Media.objects.get(pk="a").tag_values == []
    assert not MediaTag.objects.exists()


def test_counts_always_equal_a_group_by_over_the_tags() -> None:
    rng = np.random.default_rng(5)
    values = ["a", "b", "c", "d", "e"]
    for round_ in range(6):
        batch = []
        for n in rng.choice(20, size=8, replace=False):
            chosen = rng.choice(values, size=int(rng.integers(0, 4)), replace=False)
            batch.append(item(f"m{n}", tags={"hair": [str(v) for v in chosen],
                                             "style": [str(chosen[0])] if len(chosen) else []}))
        upsert(batch)
        for n in rng.choice(20, size=2, replace=False):
            media_delete(media_id=f"m{n}")
        assert live(counts()) == true_counts(), round_
    assert all(n >= 0 for n in counts().values())


def test_upsert_keeps_created_at_when_omitted_and_resets_embedding_error() -> None:
    upsert([item("a", minutes=5)])
    Media.objects.filter(pk="a").update(embedding_error="fetch failed")
    original = Media.objects.get(pk="a").created_at
    upsert([{"id": "a", "media_type": "image", "media_url": "https://x.example/other.jpg"}])
    media = Media.objects.get(pk="a")
    assert media.created_at == original and media.embedding_error == ""
    assert media.media_url == "https://x.example/other.jpg"


def test_an_update_that_sets_created_at_replaces_it() -> None:
    upsert([item("a", minutes=5), item("b", minutes=5)])
    kept = Media.objects.get(pk="b").created_at
    result = upsert([{"id": "a", "media_type": "image", "media_url": "https://x.example/a.jpg",
                      "created_at": "2020-01-02T03:04:05Z"},
                     {"id": "b", "media_type": "image", "media_url": "https://x.example/b.jpg"},
                     {"id": "c", "media_type": "image", "media_url": "https://x.example/c.jpg",
                      "created_at": "2021-01-02T03:04:05Z"}])
    assert (result.created, result.updated) == (1, 2)
    stored = dict(Media.objects.values_list("id", "created_at"))
    assert stored["a"].isoformat() == "2020-01-02T03:04:05+00:00"
    assert stored["b"] == kept
    assert stored["c"].isoformat() == "2021-01-02T03:04:05+00:00"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_the_same_ids_keep_tags_and_counts_exact() -> None:
    """Two threads (two connections) upsert overlapping ids with different tags, over
    and over: every item ends with exactly one writer's tags, and the counts equal a
    GROUP BY (an inserted-meanwhile row is seen as an update and its tags replaced)."""
    import threading

    from django.db import connections

    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            for round_ in range(15):
                ids = [f"m{(round_ + n) % 12}" for n in range(8)]
                media_upsert_many([item(i, tags={"who": [tag], "n": [i]}) for i in ids],
                                  batch_size=4)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(tag,)) for tag in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert live(counts()) == true_counts()
    per_item = {}
    for media_id, category, value in MediaTag.objects.values_list("media_id", "tag_category",
                                                                  "tag_value"):
        per_item.setdefault(media_id, set()).add((category, value))
    assert all(len(tags) == 2 and ("n", media_id) in tags for media_id, tags in per_item.items())
    assert len(per_item) == Media.objects.count() == 12


def test_embedding_is_replaced_and_removed() -> None:
    upsert([item("a", embedding=vec(1))])
    upsert([item("a", embedding=vec(2))])
    np.testing.assert_array_equal(
        np.asarray(MediaEmbedding.objects.get(media_id="a").embedding, dtype=np.float32), vec(2))
    result = upsert([item("a")])
    assert not MediaEmbedding.objects.exists() and result.needs_embedding == ["a"]


def test_batch_size_is_a_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    real = services._write_batch
    monkeypatch.setattr(services, "_write_batch",
                        lambda items: sizes.append(len(items)) or real(items))
    result = media_upsert_many([item(f"m{i}") for i in range(7)], batch_size=3)
    assert sizes == [3, 3, 1] and result.created == 7
    sizes.clear()
    media_upsert_many([item(f"m{i}") for i in range(7)])
    assert sizes == [7] and services.BATCH_SIZE == 50


def test_generated_ids_are_distinct() -> None:
    result = media_upsert_many([{"media_type": "image", "media_url": "https://a.example/"}
                                for _ in range(30)])
    assert result.created == 30 and Media.objects.count() == 30
    assert all(len(i) == 12 for i in Media.objects.values_list("id", flat=True))


def test_media_create_returns_the_row_and_raises_item_invalid() -> None:
    media = media_create(item("a", title="T"))
    assert isinstance(media, Media) and media.pk == "a" and media.title == "T"
    with pytest.raises(ItemInvalid, match="media_type"):
        media_create({"media_url": "https://a.example/"})
    with pytest.raises(ItemInvalid, match=r"could not be stored: .*NUL"):
        media_create(item("b", tags={"hair": ["nul\x00"]}))
    assert list(Media.objects.values_list("id", flat=True)) == ["a"]


def test_media_delete() -> None:
    upsert([item("a", tags={"hair": ["red"]}, embedding=vec(1)), item("b", tags={"hair": ["red"]})])
    assert media_delete(media_id="a") is True
    assert media_delete(media_id="a") is False
    assert media_delete(media_id="never") is False
    assert counts() == {("hair", "red"): 1}
    assert not MediaEmbedding.objects.exists()


# --- queueing embeddings -----------------------------------------------------------------

def test_nothing_is_queued_without_a_clip_model(
        monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(embedding_module.embed_media, "apply_async",
                        lambda **kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        upsert([item(f"m{i}") for i in range(5)])
    assert callbacks == [] and sent == []


def test_items_without_a_vector_are_queued_after_commit_in_chunks(
        settings: Any, monkeypatch: pytest.MonkeyPatch,
        django_capture_on_commit_callbacks: Any) -> None:
    settings.CLIP_MODEL_DIR = "/models/configured"
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(embedding_module.embed_media, "apply_async",
                        lambda **kwargs: sent.append(kwargs))
    items = [item(f"m{i:02d}", embedding=vec(i) if i % 4 == 0 else None) for i in range(44)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        media_upsert_many(items)
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    without = [f"m{i:02d}" for i in range(44) if i % 4]
    assert len(without) == 33
    assert [s["kwargs"]["media_ids"] for s in sent] == [without[:32], without[32:]]
    assert {s["queue"] for s in sent} == {"embeddings"}


def test_a_single_create_queues_its_item(settings: Any, monkeypatch: pytest.MonkeyPatch,
                                         django_capture_on_commit_callbacks: Any) -> None:
    settings.CLIP_MODEL_DIR = "/models/configured"
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(embedding_module.embed_media, "apply_async",
                        lambda **kwargs: sent.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        media_create(item("with", embedding=vec(1)))
        media_create(item("without"))
    assert [s["kwargs"]["media_ids"] for s in sent] == [["without"]]
