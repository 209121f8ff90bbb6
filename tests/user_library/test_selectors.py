"""What the reads hide and count: quarantined files (the real clamd's verdict, an
operator's decision) are out of the list, the item lookup and ``total`` — exactly, at
every page edge and per type — while the usage still counts the bytes they hold."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.processing import pipeline
from apps.processing.scanning import scan_quarantine, scan_release
from apps.storage.blobs import blob_store
from apps.storage.models import ScanStatus, StoredFile
from tests.apps.processing.engines.test_clamd import EICAR
from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import JPEG, NOT_FOUND, PNG, LibraryItemFixture, mp4, png
from user_library import selectors
from user_library.conf import QUOTA_BUCKET
from user_library.models import LibraryItem
from user_library.services import library_filename

pytestmark = pytest.mark.django_db


def page(client: APIClient, query: str = "") -> tuple[list[str], int, bool]:
    body = client.get(f"/api/library{query}").json()
    return [i["id"] for i in body["items"]], body["total"], body["has_more"]


def infected_item(user: Any, capture: Any) -> LibraryItem:
    """A library file that turns out to be malware. The suite's clamd knows one signature
    (the whole EICAR file), which no image can carry, so the file is put into the
    library's bucket directly — then judged by the real scanner after commit."""
    created: list[LibraryItem] = []

    def attach(stored: StoredFile) -> None:
        created.append(LibraryItem.objects.create(user=user, stored_file=stored,
                                                  media_type="image", source="generate"))

    with capture(execute=True):
        stored = blob_store.put(EICAR, owner=user, name=None, quota_bucket=QUOTA_BUCKET,
                                attach=attach,
                                key_for=lambda _id, ext: f"user-media/{user.pk}/"
                                                         f"{library_filename(ext)}")
        pipeline.enqueue(stored)
    return created[0]


def test_an_infected_file_is_hidden_and_total_stays_exact(
        auth_client: APIClient, user: Any, library: Library, settings: Any,
        clamd_address: str, django_capture_on_commit_callbacks: Any) -> None:
    settings.SCAN_REQUIRED = True
    settings.CLAMD_ADDRESS = clamd_address
    first, second = library.save(user, png(1)), library.save(user, png(2))
    bad = infected_item(user, django_capture_on_commit_callbacks)
    third = library.save(user, JPEG, "image/jpeg")
    stored = StoredFile.objects.get(pk=bad.stored_file_id)
    assert stored.scan_status == ScanStatus.INFECTED and stored.is_quarantined
    assert stored.scan_result.startswith("Eicar-Test-Signature")
    assert LibraryItem.objects.filter(user=user).count() == 4

    visible = [third.id, second.id, first.id]
    assert page(auth_client) == (visible, 3, False)
    assert page(auth_client, "?limit=2") == (visible[:2], 3, True)
    assert page(auth_client, "?limit=1&offset=2") == (visible[2:], 3, False)  # total - 1
    assert page(auth_client, "?offset=3") == ([], 3, False)
    assert page(auth_client, "?type=image") == (visible, 3, False)
    assert page(auth_client, "?type=video") == ([], 0, False)
    response = auth_client.get(f"/api/library/{bad.pk}")
    assert response.status_code == 404 and response.json() == NOT_FOUND
    # it still holds storage until someone deletes it: the usage counts it
    usage = auth_client.get("/api/library/usage").json()["usage"]
    assert usage["item_count"] == 4
    assert usage["used_bytes"] == 2 * len(png(1)) + len(EICAR) + len(JPEG)


def test_an_operators_quarantine_hides_an_item_and_a_release_shows_it(
        auth_client: APIClient, user: Any, library: Library, make_user: Any,
        local_storage: LibraryStorage) -> None:
    operator = make_user("operator", is_staff=True)
    images = [library.save(user, png(seed)) for seed in range(2)]
    video = library.save(user, mp4(), "video/mp4")
    link = auth_client.get(f"/api/library/{video.id}").json()["item"]["signed_url"]
    assert local_storage.fetch(link).status == 200

    scan_quarantine(stored=video.stored, actor=operator, reason="reported")
    assert page(auth_client) == ([images[1].id, images[0].id], 2, False)
    assert page(auth_client, "?type=video") == ([], 0, False)
    assert page(auth_client, "?type=image")[1] == 2
    assert auth_client.get(f"/api/library/{video.id}").status_code == 404
    assert local_storage.fetch(link).status == 404  # a link issued before stops working

    scan_quarantine(stored=images[0].stored, actor=operator, reason="reported")
    assert page(auth_client) == ([images[1].id], 1, False)
    assert page(auth_client, "?type=image") == ([images[1].id], 1, False)

    scan_release(stored=video.stored, actor=operator, reason="false positive")
    assert page(auth_client) == ([video.id, images[1].id], 2, False)
    assert page(auth_client, "?type=video") == ([video.id], 1, False)
    assert page(auth_client, "?limit=1") == ([video.id], 2, True)


def test_quarantined_files_of_other_users_or_buckets_do_not_change_a_total(
        auth_client: APIClient, user: Any, other_user: Any, library: Library) -> None:
    mine = library.save(user, PNG)
    theirs = library.save(other_user, PNG)
    StoredFile.objects.filter(pk=theirs.item.stored_file_id).update(is_quarantined=True)
    platform_file = blob_store.put(JPEG, owner=user, name="x.jpg")  # not a library file
    StoredFile.objects.filter(pk=platform_file.pk).update(is_quarantined=True)
    assert page(auth_client) == ([mine.id], 1, False)
    assert selectors.library_item_total(user_id=other_user.pk, media_type=None) == 0


def test_selectors_are_scoped_by_user(user: Any, other_user: Any, library: Library) -> None:
    mine: LibraryItemFixture = library.save(user, PNG, process=False)
    library.save(other_user, JPEG, "image/jpeg", process=False)
    rows = selectors.library_item_rows(user_id=user.pk, media_type=None, limit=10, offset=0)
    assert [str(row[0]) for row in rows] == [mine.id]
    assert selectors.library_item_row(user_id=other_user.pk, item_id=mine.item.pk) is None
    assert selectors.library_item_row(user_id=user.pk, item_id=mine.item.pk) is not None
    counts, hidden = selectors.library_counts(user_id=user.pk)
    assert (counts.items, counts.images, counts.videos, counts.used_bytes, hidden) == (
        1, 1, 0, len(PNG), 0)


def test_a_user_without_a_ledger_has_nothing(user: Any) -> None:
    counts, hidden = selectors.library_counts(user_id=user.pk)
    assert (counts.items, counts.used_bytes, counts.limit_bytes, hidden) == (0, 0, None, 0)
    assert selectors.library_item_total(user_id=user.pk, media_type="video") == 0
    assert selectors.library_item_rows(user_id=user.pk, media_type="image", limit=5,
                                       offset=0) == []
