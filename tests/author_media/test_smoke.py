"""The core path end to end: upload, scan, probe, variants, usage, public URL."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from author_media.models import MediaFile, StorageUsage
from tests.user_library.conftest import LibraryStorage
from tests.user_library.helpers import PNG


def test_upload_then_processing(upload: Any, client: APIClient, author: Any,
                                storage: LibraryStorage) -> None:
    response = upload(PNG, process=True, folder="covers/2026", altText="A cover",
                      tags="a,b", siteId="site-1")
    assert response.status_code == 201, response.content
    created = response.json()
    body = client.get(f"/v1/media/{created['id']}").json()
    assert body["scanStatus"] == "CLEAN" and body["isProcessed"] is True
    assert (body["width"], body["height"], body["folder"], body["tags"]) == (
        64, 48, "covers/2026", ["a", "b"])
    assert body["thumbnailUrl"] and body["publicUrl"].startswith("http://testserver/v1/media/files/")
    usage = StorageUsage.objects.get(user=author)
    media = MediaFile.objects.get(pk=created["id"])
    variant_bytes = sum(media.stored_file.variants.values_list("size", flat=True))
    assert variant_bytes > 0
    assert usage.total_bytes == len(PNG) + variant_bytes == usage.image_bytes
    assert usage.total_files == usage.image_files == 1
    redirect = client.get(body["publicUrl"])
    assert redirect.status_code == 302
    fetched = storage.fetch(redirect["Location"])
    assert fetched.status == 200 and fetched.body == PNG


def test_duplicate_returns_the_existing_file(upload: Any, author: Any,
                                             local_storage: LibraryStorage) -> None:
    first = upload(PNG).json()
    again = upload(PNG, filename="copy.png")
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["duplicateOf"] == first["id"]
    assert MediaFile.objects.count() == 1
    assert StorageUsage.objects.get(user=author).total_bytes == len(PNG)
