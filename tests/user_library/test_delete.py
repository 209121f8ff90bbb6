"""``DELETE /api/library/<id>`` and ``DELETE /api/library/batch``: the row, its
StoredFile, its variants and their bytes go in the request; the quota is released
exactly once; a storage outage leaves tombstones, never an orphan or a dangling row.

These tests commit for real (``transaction=True``): the bytes are deleted after the
deleting transaction commits, inside the request, as in production.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.storage.blobs import blob_store
from apps.storage.models import BlobTombstone, StoredFile, Variant
from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import (
    JPEG,
    NOT_FOUND,
    PNG,
    assert_ledger_matches_files,
    ledger_state,
    mp4,
    png,
    set_limit,
)
from user_library.models import LibraryItem
from user_library.services import save_to_library

committed = pytest.mark.django_db(transaction=True)


def keys_of(item_id: str) -> set[str]:
    stored = StoredFile.objects.get(library_item__id=item_id)
    return {stored.key, *stored.variants.values_list("key", flat=True)}


def batch(client: APIClient, body: Any) -> Any:
    return client.delete("/api/library/batch", body, format="json")


# -- one item -----------------------------------------------------------------------------

@committed
def test_delete_removes_row_file_variants_and_bytes(auth_client: APIClient, user: Any,
                                                    library: Library,
                                                    storage: LibraryStorage) -> None:
    keep = library.save(user, JPEG, "image/jpeg")
    gone = library.save(user, mp4(), "video/mp4")
    gone_file = gone.item.stored_file_id
    gone_keys, keep_keys = keys_of(gone.id), keys_of(keep.id)
    assert len(gone_keys) == 5  # the video, its poster, thumbnails (webp, avif), preview
    assert storage.stored_keys() == gone_keys | keep_keys

    response = auth_client.delete(f"/api/library/{gone.id}")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert not LibraryItem.objects.filter(pk=gone.id).exists()
    assert not StoredFile.objects.filter(pk=gone_file).exists()
    assert not Variant.objects.filter(stored_file_id=gone_file).exists()
    assert storage.stored_keys() == keep_keys  # the bytes went in the same request
    assert not BlobTombstone.objects.exists()
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)
    assert_ledger_matches_files(user)
    storage.assert_consistent()

    again = auth_client.delete(f"/api/library/{gone.id}")
    assert again.status_code == 404 and again.json() == NOT_FOUND
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)  # not released twice
    assert auth_client.get(f"/api/library/{gone.id}").status_code == 404
    listed = auth_client.get("/api/library").json()
    assert [i["id"] for i in listed["items"]] == [keep.id] and listed["total"] == 1
    assert auth_client.get("/api/library/usage").json()["usage"]["videos_count"] == 0


@committed
def test_a_delete_gives_the_quota_back(auth_client: APIClient, user: Any,
                                       library: Library) -> None:
    set_limit(user, len(PNG))
    first = library.save(user, PNG)
    assert save_to_library(user.pk, "image", "generate", "iVBORw0KGgo=", "image/png", {}) is None
    assert auth_client.delete(f"/api/library/{first.id}").status_code == 200
    assert ledger_state(user) == (0, 0, 0, 0, 0)
    library.save(user, PNG)  # fits again
    assert ledger_state(user) == (len(PNG), 0, 1, 1, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("item_id", ["8a5b0cf2-4a7e-4f0e-9a3e-3b9f8d1c2e4f", "not-a-uuid", "42",
                                     "00000000-0000-0000-0000-000000000000"])
def test_delete_of_a_missing_or_malformed_id_is_404(auth_client: APIClient, user: Any,
                                                    library: Library, item_id: str) -> None:
    mine = library.save(user, process=False)
    before = ledger_state(user)
    response = auth_client.delete(f"/api/library/{item_id}")
    assert response.status_code == 404 and response.json() == NOT_FOUND
    assert LibraryItem.objects.filter(pk=mine.id).exists() and ledger_state(user) == before


@committed
def test_delete_of_another_users_item_is_404_and_keeps_it(auth_client: APIClient,
                                                          other_user: Any, library: Library,
                                                          storage: LibraryStorage) -> None:
    theirs = library.save(other_user)
    before, keys = ledger_state(other_user), storage.stored_keys()
    response = auth_client.delete(f"/api/library/{theirs.id}")
    assert response.status_code == 404 and response.json() == NOT_FOUND
    assert LibraryItem.objects.filter(pk=theirs.id).exists()
    assert ledger_state(other_user) == before and storage.stored_keys() == keys


# -- storage outage -------------------------------------------------------------------------

@committed
def test_a_storage_outage_on_delete_leaves_tombstones_not_orphans(auth_client: APIClient,
                                                                  user: Any, library: Library,
                                                                  storage: LibraryStorage
                                                                  ) -> None:
    keep = library.save(user, JPEG, "image/jpeg")
    gone = library.save(user, PNG)
    gone_keys = keys_of(gone.id)
    storage.break_deletes()

    response = auth_client.delete(f"/api/library/{gone.id}")

    assert response.status_code == 200 and response.json() == {"success": True}
    assert not LibraryItem.objects.filter(pk=gone.id).exists()
    assert not StoredFile.objects.filter(pk=gone.item.stored_file_id).exists()
    stones = {stone.key: stone for stone in BlobTombstone.objects.all()}
    assert set(stones) == gone_keys
    assert all(s.attempts == 1 and "unreachable" in s.last_error for s in stones.values())
    assert gone_keys <= storage.stored_keys()  # the bytes are still there, each under a tombstone
    storage.assert_consistent()
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)  # released once, in the request
    assert_ledger_matches_files(user)
    assert auth_client.get(f"/api/library/{gone.id}").status_code == 404
    assert auth_client.get("/api/library").json()["total"] == 1
    assert auth_client.delete(f"/api/library/{gone.id}").status_code == 404
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)

    assert blob_store.flush_tombstones() == 0  # still down: kept, counted
    assert set(BlobTombstone.objects.values_list("attempts", flat=True)) == {2}

    storage.repair()
    assert blob_store.flush_tombstones() == len(gone_keys)
    assert not BlobTombstone.objects.exists()
    assert storage.stored_keys() == keys_of(keep.id)
    storage.assert_consistent()
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)


@committed
def test_a_storage_outage_during_a_batch_delete(auth_client: APIClient, user: Any,
                                                library: Library,
                                                storage: LibraryStorage) -> None:
    items = [library.save(user, png(seed)) for seed in range(2)]
    all_keys = keys_of(items[0].id) | keys_of(items[1].id)
    storage.break_deletes()
    response = batch(auth_client, {"ids": [i.id for i in items]})
    assert response.json() == {"success": True, "deleted": 2}
    assert not LibraryItem.objects.exists() and not StoredFile.objects.exists()
    assert set(BlobTombstone.objects.values_list("key", flat=True)) == all_keys
    assert ledger_state(user) == (0, 0, 0, 0, 0)
    storage.assert_consistent()
    storage.repair()
    assert blob_store.flush_tombstones() == len(all_keys)
    assert storage.stored_keys() == set()


# -- batch --------------------------------------------------------------------------------

@committed
def test_batch_deletes_only_the_callers_items_and_counts_them(auth_client: APIClient,
                                                              user: Any, other_user: Any,
                                                              library: Library,
                                                              storage: LibraryStorage) -> None:
    mine = [library.save(user, png(seed)) for seed in range(3)]
    theirs = library.save(other_user, JPEG, "image/jpeg")
    theirs_state, theirs_keys = ledger_state(other_user), keys_of(theirs.id)
    kept_keys = keys_of(mine[2].id)
    ids = [mine[0].id, mine[1].id, mine[0].id.upper(), theirs.id, str(uuid.uuid4())]

    response = batch(auth_client, {"ids": ids})

    assert response.status_code == 200
    assert response.json() == {"success": True, "deleted": 2}
    assert set(LibraryItem.objects.values_list("id", flat=True)) == {
        uuid.UUID(mine[2].id), uuid.UUID(theirs.id)}
    assert storage.stored_keys() == kept_keys | theirs_keys
    assert not BlobTombstone.objects.exists()
    assert ledger_state(user) == (len(mine[2].data), 0, 1, 1, 0)
    assert ledger_state(other_user) == theirs_state
    assert_ledger_matches_files(user)
    storage.assert_consistent()

    again = batch(auth_client, {"ids": ids})
    assert again.json() == {"success": True, "deleted": 0}
    assert ledger_state(user) == (len(mine[2].data), 0, 1, 1, 0)


@committed
def test_batch_of_twenty_ids_is_accepted(auth_client: APIClient, user: Any,
                                         library: Library) -> None:
    mine = [library.save(user, png(seed), process=False) for seed in range(2)]
    ids = [m.id for m in mine] + [str(uuid.uuid4()) for _ in range(18)]
    response = batch(auth_client, {"ids": ids})
    assert response.status_code == 200 and response.json() == {"success": True, "deleted": 2}
    assert not LibraryItem.objects.exists() and ledger_state(user) == (0, 0, 0, 0, 0)


BAD_BATCHES = {
    "empty": ({"ids": []}, "ids: This list may not be empty."),
    "twenty-one": ({"ids": ["{real}"] + [str(uuid.UUID(int=n)) for n in range(1, 21)]},
                   "ids: Ensure this field has no more than 20 elements."),
    "not-a-uuid": ({"ids": ["{real}", "nope"]}, "ids.1: Must be a valid UUID."),
    "number": ({"ids": ["{real}", 7]}, "ids.1: Must be a valid UUID."),
    "boolean": ({"ids": ["{real}", True]}, "ids.1: Must be a valid UUID."),
    "string": ({"ids": "{real}"}, 'ids: Expected a list of items but got type "str".'),
    "object": ({"ids": {"id": "{real}"}}, 'ids: Expected a list of items but got type "dict".'),
    "null": ({"ids": None}, "ids: This field may not be null."),
    "missing": ({"id": ["{real}"]}, "ids: This field is required."),
    "array-body": (["{real}"], None),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "error"), list(BAD_BATCHES.values()), ids=list(BAD_BATCHES))
def test_bad_batch_bodies_are_400_and_delete_nothing(auth_client: APIClient, user: Any,
                                                     library: Library, body: Any,
                                                     error: str | None) -> None:
    real = library.save(user, process=False)
    before = ledger_state(user)

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("{real}", real.id)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    response = batch(auth_client, fill(body))
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False
    if error is not None:
        assert response.json() == {"success": False, "error": error}
    assert LibraryItem.objects.filter(pk=real.id).exists() and ledger_state(user) == before


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ['{"ids": [', "ids=1", ""])
def test_malformed_batch_json_is_400(auth_client: APIClient, user: Any, library: Library,
                                     raw: str) -> None:
    real = library.save(user, process=False)
    response = auth_client.generic("DELETE", "/api/library/batch", raw,
                                   content_type="application/json")
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert LibraryItem.objects.filter(pk=real.id).exists()


@pytest.mark.django_db
def test_a_batch_body_that_is_not_json_is_refused(auth_client: APIClient, user: Any,
                                                  library: Library) -> None:
    real = library.save(user, process=False)
    response = auth_client.generic("DELETE", "/api/library/batch", f"ids={real.id}",
                                   content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["success"] is False
    assert LibraryItem.objects.filter(pk=real.id).exists()
