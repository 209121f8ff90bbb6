"""How items are rendered: which variant backs ``thumbnail_url``/``preview_url`` (the
app's settings), and that a stale rendering is never offered."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from rest_framework.test import APIClient

from apps.storage.models import Variant
from tests.apps.processing.photos import photo_bytes
from tests.user_library.conftest import Library, LibraryStorage

pytestmark = pytest.mark.django_db

BIG = photo_bytes("JPEG", (600, 400))


def item_of(client: APIClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/library").json()["items"][0]
    return body


def size_of(storage: LibraryStorage, url: str) -> tuple[int, int]:
    fetched = storage.fetch(url)
    assert fetched.status == 200
    with Image.open(io.BytesIO(fetched.body)) as image:
        return image.size


def test_thumbnail_and_preview_are_the_configured_renderings(auth_client: APIClient, user: Any,
                                                             library: Library,
                                                             local_storage: LibraryStorage
                                                             ) -> None:
    library.save(user, BIG, "image/jpeg")
    item = item_of(auth_client)
    assert size_of(local_storage, item["thumbnail_url"]) == (256, 171)
    assert size_of(local_storage, item["preview_url"]) == (600, 400)
    assert item["thumbnail_url"].endswith("-thumbnail.webp")


def test_the_settings_choose_spec_and_format(auth_client: APIClient, user: Any,
                                             library: Library, settings: Any,
                                             local_storage: LibraryStorage) -> None:
    library.save(user, BIG, "image/jpeg")
    settings.USER_LIBRARY = {"VARIANT_FORMAT": "avif"}
    item = item_of(auth_client)
    fetched = local_storage.fetch(item["thumbnail_url"])
    assert fetched.headers["content-type"] == "image/avif"
    assert item["preview_url"] is None  # the preview has no AVIF rendering
    settings.USER_LIBRARY = {"THUMBNAIL_SPEC": "preview-1024", "PREVIEW_SPEC": "nope"}
    item = item_of(auth_client)
    assert size_of(local_storage, item["thumbnail_url"]) == (600, 400)
    assert item["preview_url"] is None


@pytest.mark.parametrize("field", ["spec_hash", "source_sha256"])
def test_a_stale_rendering_is_not_offered(auth_client: APIClient, user: Any, library: Library,
                                          field: str) -> None:
    saved = library.save(user, BIG, "image/jpeg")
    Variant.objects.filter(stored_file_id=saved.item.stored_file_id, spec="thumb-256",
                           format="webp").update(**{field: "0" * 12})
    item = item_of(auth_client)
    assert item["thumbnail_url"] is None
    assert item["preview_url"] is not None and item["signed_url"] is not None


def test_urls_expire_with_the_configured_ttl(auth_client: APIClient, user: Any,
                                             library: Library, settings: Any,
                                             local_storage: LibraryStorage) -> None:
    library.save(user, BIG, "image/jpeg")
    settings.USER_LIBRARY = {"SIGNED_URL_TTL": -1}  # already expired when issued
    item = item_of(auth_client)
    assert local_storage.fetch(item["signed_url"]).status == 410
    assert local_storage.fetch(item["thumbnail_url"]).status == 410
    settings.USER_LIBRARY = {"SIGNED_URL_TTL": 60}
    assert local_storage.fetch(item_of(auth_client)["signed_url"]).body == BIG
