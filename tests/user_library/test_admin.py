"""The operators' pages: library items are deleted through the blob store (row, file,
variants, bytes and quota together), never added by hand; a user's library limit is
the "library" quota ledger an operator edits."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.storage.models import BlobTombstone, QuotaLedger, StoredFile, Variant
from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import JPEG, PNG, b64, ledger_state, mp4, png
from user_library.conf import QUOTA_BUCKET
from user_library.models import LibraryItem

ITEMS = "/admin/user_library/libraryitem/"


@pytest.fixture
def operator(make_user: Any) -> Client:
    client = Client()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_the_list_shows_items_and_finds_them_by_owner(operator: Client, user: Any,
                                                      other_user: Any,
                                                      library: Library) -> None:
    mine = library.save(user, process=False)
    theirs = library.save(other_user, process=False)
    page = operator.get(ITEMS)
    assert page.status_code == 200
    assert mine.id in page.content.decode() and theirs.id in page.content.decode()
    found = operator.get(ITEMS, {"q": "bob"}).content.decode()
    assert theirs.id in found and mine.id not in found
    assert operator.get(f"{ITEMS}{mine.id}/change/").status_code == 200


@pytest.mark.django_db
def test_items_cannot_be_added_by_hand(operator: Client) -> None:
    assert operator.get(f"{ITEMS}add/").status_code == 403
    assert f"{ITEMS}add/".encode() not in operator.get(ITEMS).content


@pytest.mark.django_db
def test_the_owner_and_file_of_an_item_cannot_be_changed(operator: Client, user: Any,
                                                         other_user: Any,
                                                         library: Library) -> None:
    saved = library.save(user, process=False)
    response = operator.post(f"{ITEMS}{saved.id}/change/", {
        "user": str(other_user.pk), "stored_file": str(saved.item.stored_file_id),
        "media_type": "video", "source": "angles", "metadata": '{"seed": 1}'})
    assert response.status_code == 302
    item = LibraryItem.objects.get(pk=saved.id)
    assert (item.user_id, item.media_type) == (user.pk, "image")  # read-only
    assert (item.source, item.metadata) == ("angles", {"seed": 1})


@pytest.mark.django_db(transaction=True)
def test_deleting_an_item_deletes_its_file_bytes_and_quota(operator: Client, user: Any,
                                                           library: Library,
                                                           storage: LibraryStorage) -> None:
    keep = library.save(user, PNG)
    gone = library.save(user, mp4(), "video/mp4")
    gone_file = gone.item.stored_file_id
    assert Variant.objects.filter(stored_file_id=gone_file).exists()
    response = operator.post(f"{ITEMS}{gone.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not LibraryItem.objects.filter(pk=gone.id).exists()
    assert not StoredFile.objects.filter(pk=gone_file).exists()
    assert not Variant.objects.filter(stored_file_id=gone_file).exists()
    assert not BlobTombstone.objects.exists()
    assert ledger_state(user) == (len(PNG), 0, 1, 1, 0)
    assert {k for k in storage.stored_keys() if ".variants/" not in k} == {keep.storage_path}
    storage.assert_consistent()


@pytest.mark.django_db(transaction=True)
def test_the_bulk_delete_action_goes_through_the_blob_store(operator: Client, user: Any,
                                                            other_user: Any,
                                                            library: Library,
                                                            storage: LibraryStorage) -> None:
    doomed = [library.save(user, png(seed)) for seed in range(2)]
    doomed.append(library.save(other_user, JPEG, "image/jpeg"))
    survivor = library.save(user, JPEG, "image/jpeg")
    response = operator.post(ITEMS, {"action": "delete_selected", "post": "yes",
                                     "_selected_action": [d.id for d in doomed]})
    assert response.status_code == 302
    assert list(LibraryItem.objects.values_list("pk", flat=True)) == [survivor.item.pk]
    assert StoredFile.objects.count() == 1
    assert ledger_state(user) == (len(JPEG), 0, 1, 1, 0)
    assert ledger_state(other_user) == (0, 0, 0, 0, 0)
    assert not BlobTombstone.objects.exists()
    storage.assert_consistent()


@pytest.mark.django_db
def test_an_operator_sets_a_users_library_limit_on_the_ledger(operator: Client,
                                                              auth_client: APIClient,
                                                              user: Any,
                                                              library: Library) -> None:
    library.save(user, PNG)
    row = QuotaLedger.objects.get(owner_user=user, bucket=QUOTA_BUCKET)
    url = f"/admin/storage/quotaledger/{row.pk}/change/"
    assert operator.get(url).status_code == 200
    response = operator.post(url, {"owner_user": str(user.pk), "owner_workspace": "",
                                   "bucket": QUOTA_BUCKET, "limit_bytes": str(len(PNG) * 2)})
    assert response.status_code == 302, response.content.decode()[:2000]
    usage = auth_client.get("/api/library/usage").json()["usage"]
    assert (usage["total_bytes"], usage["used_percent"]) == (len(PNG) * 2, 50.0)
    # and it is enforced: one more fits, then the library is full
    body = {"fileData": b64(PNG), "mimeType": "image/png",
            "source": "generate"}
    assert auth_client.post("/api/library", body, format="json").status_code == 201
    assert auth_client.post("/api/library", body, format="json").status_code == 413
    row.refresh_from_db()
    assert (row.used_bytes, row.file_count) == (len(PNG) * 2, 2)  # read-only counters
