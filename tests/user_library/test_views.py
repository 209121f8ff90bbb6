"""The read side of the API and what every endpoint shares: credentials, routing,
``GET /api/library`` (pagination, filter, order, signed URLs) and ``GET /api/library/<id>``.

Creating is in test_create.py, deleting in test_delete.py, usage in test_usage.py.
"""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

import pytest
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create
from apps.storage.models import ScanStatus, StoredFile
from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import (
    ITEM_FIELDS,
    JPEG,
    NOT_FOUND,
    PNG,
    UNAUTHORIZED,
    b64,
    ledger_state,
    mp4,
    png,
)
from user_library.models import LibraryItem

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def listing(client: APIClient, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/library{query}")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


# -- credentials --------------------------------------------------------------------------

ENDPOINTS = [("get", "/api/library"), ("post", "/api/library"), ("get", "/api/library/usage"),
             ("delete", "/api/library/batch"), ("get", "/api/library/{id}"),
             ("delete", "/api/library/{id}")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_401_without_credentials(api_client: APIClient, user: Any,
                                                        library: Library, method: str,
                                                        path: str) -> None:
    saved = library.save(user, process=False)
    before = ledger_state(user)
    body = {"ids": [saved.id]} if path.endswith("batch") else (
        {"fileData": b64(PNG), "mimeType": "image/png", "source": "generate"}
        if method == "post" else None)
    response = getattr(api_client, method)(path.format(id=saved.id), body, format="json")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")
    # nothing was read for, created or deleted by the anonymous request
    assert list(LibraryItem.objects.values_list("pk", flat=True)) == [saved.item.pk]
    assert ledger_state(user) == before


@pytest.mark.parametrize("header", ["Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer"])
def test_unusable_credentials_are_401(api_client: APIClient, user: Any, header: str) -> None:
    response = api_client.get("/api/library", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_an_unknown_api_key_is_401_in_the_library_dialect(api_client: APIClient) -> None:
    response = api_client.get("/api/library", HTTP_AUTHORIZATION="Bearer mpk_0000_nope")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED  # the spec's one 401 body, whatever was wrong


def test_a_read_scoped_api_key_reads_but_cannot_write(api_client: APIClient, user: Any,
                                                      library: Library) -> None:
    saved = library.save(user, process=False)
    token = api_key_create(user=user, name="reader", scopes=["read"]).token
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listing(api_client)["total"] == 1
    assert api_client.get(f"/api/library/{saved.id}").status_code == 200
    assert api_client.get("/api/library/usage").status_code == 200
    for response in (
            api_client.delete(f"/api/library/{saved.id}"),
            api_client.delete("/api/library/batch", {"ids": [saved.id]}, format="json"),
            api_client.post("/api/library", {"fileData": b64(PNG), "source": "generate"},
                            format="json")):
        assert response.status_code == 403
        assert response.json()["success"] is False
    assert LibraryItem.objects.count() == 1


# -- routing ------------------------------------------------------------------------------

def test_batch_and_usage_are_not_taken_for_item_ids(auth_client: APIClient, user: Any,
                                                    library: Library) -> None:
    library.save(user, process=False)
    before = ledger_state(user)
    got = auth_client.get("/api/library/batch")
    assert got.status_code == 405
    assert got.json() == {"success": False, "error": 'Method "GET" not allowed.'}
    deleted = auth_client.delete("/api/library/usage")
    assert deleted.status_code == 405
    assert deleted.json() == {"success": False, "error": 'Method "DELETE" not allowed.'}
    assert auth_client.post("/api/library/usage", {}, format="json").status_code == 405
    usage = auth_client.get("/api/library/usage")
    assert usage.status_code == 200 and set(usage.json()) == {"success", "usage"}
    assert LibraryItem.objects.count() == 1 and ledger_state(user) == before


def test_methods_an_item_does_not_have_are_405(auth_client: APIClient, user: Any,
                                               library: Library) -> None:
    saved = library.save(user, process=False)
    for method in ("put", "patch", "post"):
        response = getattr(auth_client, method)(f"/api/library/{saved.id}", {}, format="json")
        assert response.status_code == 405, method
        assert response.json()["success"] is False
    assert auth_client.delete("/api/library", format="json").status_code == 405
    assert LibraryItem.objects.count() == 1


@pytest.mark.parametrize("path", ["/api/library/", "/api/library/a/b", "/api/library/batch/x"])
def test_unknown_paths_under_the_library_answer_in_its_dialect(auth_client: APIClient,
                                                               path: str) -> None:
    response = auth_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Not found"}


# -- GET /api/library ---------------------------------------------------------------------

def test_an_empty_library(auth_client: APIClient) -> None:
    assert listing(auth_client) == {"success": True, "items": [], "total": 0, "has_more": False}


def test_items_are_listed_newest_first_with_the_spec_fields(auth_client: APIClient, user: Any,
                                                           library: Library) -> None:
    first = library.save(user, PNG, source="product-enhance",
                         metadata={"prompt": "a red box", "seed": 42, "aspect_ratio": "4:3",
                                   "style": "studio", "extra": {"nested": [1, "two"]}})
    second = library.save(user, JPEG, "image/jpeg", source="angles")
    third = library.save(user, mp4(), "video/mp4", source="fashion-motion",
                         metadata={"duration_seconds": 1.0, "model": "veo"})
    body = listing(auth_client)
    assert body["success"] is True and body["total"] == 3 and body["has_more"] is False
    assert [i["id"] for i in body["items"]] == [third.id, second.id, first.id]
    created = [i["created_at"] for i in body["items"]]
    assert created == sorted(created, reverse=True)
    by_id = {i["id"]: i for i in body["items"]}
    for saved in (first, second, third):
        item = by_id[saved.id]
        assert set(item) == ITEM_FIELDS
        assert TIMESTAMP.match(item["created_at"])
        assert item["user_id"] == str(user.pk)
        assert item["storage_path"] == saved.storage_path
        assert item["file_size"] == len(saved.data)
        assert item["status"] == "ready"
    image = by_id[first.id]
    assert (image["media_type"], image["source"], image["mime_type"]) == (
        "image", "product-enhance", "image/png")
    assert image["metadata"] == {"prompt": "a red box", "seed": 42, "aspect_ratio": "4:3",
                                 "style": "studio", "extra": {"nested": [1, "two"]}}
    assert (image["width"], image["height"], image["duration_seconds"]) == (64, 48, None)
    assert by_id[second.id]["mime_type"] == "image/jpeg"
    video = by_id[third.id]
    assert (video["media_type"], video["source"], video["mime_type"]) == (
        "video", "fashion-motion", "video/mp4")
    assert (video["width"], video["height"]) == (32, 24)
    assert video["duration_seconds"] == pytest.approx(1.0, abs=0.15)
    assert video["metadata"] == {"duration_seconds": 1.0, "model": "veo"}


@pytest.fixture
def five(user: Any, library: Library) -> list[str]:
    """Five items (not processed: paging does not care), oldest first."""
    return [library.save(user, png(seed), process=False).id for seed in range(5)]


@pytest.mark.parametrize(("query", "window", "has_more"), [
    ("", slice(0, 5), False),               # default limit 20
    ("?limit=1", slice(0, 1), True),
    ("?limit=1&offset=3", slice(3, 4), True),
    ("?limit=1&offset=4", slice(4, 5), False),  # offset = total - 1
    ("?limit=2&offset=2", slice(2, 4), True),
    ("?limit=2&offset=3", slice(3, 5), False),
    ("?limit=4", slice(0, 4), True),
    ("?limit=5", slice(0, 5), False),        # exactly the rest
    ("?limit=100", slice(0, 5), False),      # the largest page
    ("?offset=5", slice(0, 0), False),       # offset = total
    ("?offset=6&limit=100", slice(0, 0), False),  # past the end
    ("?offset=1000000", slice(0, 0), False),
    ("?limit=&offset=", slice(0, 5), False),  # empty means default
])
def test_pagination_is_exact_at_the_edges(auth_client: APIClient, five: list[str], query: str,
                                          window: slice, has_more: bool) -> None:
    newest_first = five[::-1]
    body = listing(auth_client, query)
    assert [i["id"] for i in body["items"]] == newest_first[window]
    assert body["total"] == 5
    assert body["has_more"] is has_more


def test_default_page_is_twenty(auth_client: APIClient, user: Any, library: Library) -> None:
    ids = [library.save(user, png(seed), process=False).id for seed in range(21)]
    body = listing(auth_client)
    assert [i["id"] for i in body["items"]] == ids[::-1][:20]
    assert (body["total"], body["has_more"]) == (21, True)
    rest = listing(auth_client, "?offset=20")
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["has_more"] is False


@pytest.mark.parametrize(("query", "error"), [
    ("?limit=101", "limit: limit must be between 1 and 100."),
    ("?limit=0", "limit: limit must be between 1 and 100."),
    ("?limit=-1", "limit: limit must be between 1 and 100."),
    ("?limit=abc", "limit: limit must be an integer."),
    ("?limit=1.5", "limit: limit must be an integer."),
    ("?offset=-1", "offset: offset must be at least 0."),
    ("?offset=abc", "offset: offset must be an integer."),
    ("?type=gif", "type: type must be 'image' or 'video'."),
    ("?type=IMAGE", "type: type must be 'image' or 'video'."),
])
def test_bad_list_parameters_are_400(auth_client: APIClient, five: list[str], query: str,
                                     error: str) -> None:
    response = auth_client.get(f"/api/library{query}")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}


def test_type_filters_items_total_and_has_more(auth_client: APIClient, user: Any,
                                              library: Library) -> None:
    images = [library.save(user, png(seed), process=False).id for seed in range(2)]
    video = library.save(user, mp4(), "video/mp4", process=False).id
    image_page = listing(auth_client, "?type=image")
    assert [i["id"] for i in image_page["items"]] == images[::-1]
    assert {i["media_type"] for i in image_page["items"]} == {"image"}
    assert (image_page["total"], image_page["has_more"]) == (2, False)
    first = listing(auth_client, "?type=image&limit=1")
    assert [i["id"] for i in first["items"]] == [images[1]]
    assert (first["total"], first["has_more"]) == (2, True)
    videos = listing(auth_client, "?type=video")
    assert [i["id"] for i in videos["items"]] == [video]
    assert (videos["total"], videos["has_more"]) == (1, False)
    assert listing(auth_client, "?type=video&offset=1") == {
        "success": True, "items": [], "total": 1, "has_more": False}
    everything = listing(auth_client, "?type=")
    assert everything["total"] == 3 and len(everything["items"]) == 3


def test_signed_urls_download_the_exact_bytes(auth_client: APIClient, user: Any,
                                              library: Library, storage: LibraryStorage) -> None:
    saved = library.save(user, PNG)
    assert saved.storage_path in storage.stored_keys()
    item = listing(auth_client)["items"][0]
    if storage.name == "s3":
        assert item["signed_url"].startswith("http") and "Signature" in item["signed_url"]
    else:
        assert item["signed_url"].startswith("/files/")
    fetched = storage.fetch(item["signed_url"])
    assert fetched.status == 200
    assert fetched.body == PNG
    assert fetched.headers["content-type"] == "image/png"
    one = auth_client.get(f"/api/library/{saved.id}").json()["item"]
    assert storage.fetch(one["signed_url"]).body == PNG


def test_processed_images_carry_webp_thumbnail_and_preview(auth_client: APIClient, user: Any,
                                                           library: Library,
                                                           storage: LibraryStorage) -> None:
    library.save(user, JPEG, "image/jpeg")
    item = listing(auth_client)["items"][0]
    for field in ("thumbnail_url", "preview_url"):
        fetched = storage.fetch(item[field])
        assert fetched.status == 200, field
        assert fetched.body[:4] == b"RIFF" and fetched.body[8:12] == b"WEBP"
        with Image.open(io.BytesIO(fetched.body)) as image:
            assert image.size == (64, 48)  # "contain": never enlarged


def test_a_processed_video_carries_its_poster_thumbnail(auth_client: APIClient, user: Any,
                                                        library: Library,
                                                        storage: LibraryStorage) -> None:
    saved = library.save(user, mp4(), "video/mp4")
    item = listing(auth_client)["items"][0]
    assert item["status"] == "ready"
    assert storage.fetch(item["signed_url"]).body == saved.data
    fetched = storage.fetch(item["thumbnail_url"])
    assert fetched.status == 200 and fetched.body[8:12] == b"WEBP"
    with Image.open(io.BytesIO(fetched.body)) as image:
        red, green, blue = image.convert("RGB").getpixel((16, 18))
        assert red > 150 and green < 90 and blue < 90  # the first non-black (red) frame
    assert item["preview_url"] is not None


def test_an_item_not_yet_cleared_by_the_scanner_has_no_urls(auth_client: APIClient, user: Any,
                                                            library: Library) -> None:
    saved = library.save(user, process=False)
    item = auth_client.get(f"/api/library/{saved.id}").json()["item"]
    assert saved.stored.scan_status == ScanStatus.PENDING
    assert item["status"] == "pending"
    assert item["signed_url"] is None
    assert item["thumbnail_url"] is None and item["preview_url"] is None
    assert item["width"] is None and item["file_size"] == len(PNG)


# -- GET /api/library/<id> ----------------------------------------------------------------

URL_FIELDS = ("signed_url", "thumbnail_url", "preview_url")


def test_get_returns_the_item_as_listed(auth_client: APIClient, user: Any,
                                        library: Library) -> None:
    saved = library.save(user, PNG, metadata={"prompt": "p", "platform": "amazon"})
    response = auth_client.get(f"/api/library/{saved.id}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "item"} and body["success"] is True
    listed = listing(auth_client)["items"][0]
    assert {k: v for k, v in body["item"].items() if k not in URL_FIELDS} == {
        k: v for k, v in listed.items() if k not in URL_FIELDS}
    assert all(body["item"][field] for field in URL_FIELDS)
    assert body["item"]["metadata"] == {"prompt": "p", "platform": "amazon"}


def test_get_accepts_the_id_in_any_uuid_spelling(auth_client: APIClient, user: Any,
                                                 library: Library) -> None:
    saved = library.save(user, process=False)
    for spelling in (saved.id.upper(), uuid.UUID(saved.id).hex):
        response = auth_client.get(f"/api/library/{spelling}")
        assert response.status_code == 200 and response.json()["item"]["id"] == saved.id


@pytest.mark.parametrize("item_id", ["5b1c57a4-3a0e-4f55-9a55-2b8f1c0de6a1", "not-a-uuid", "123", "batch-x",
                                     "00000000-0000-0000-0000-000000000000"])
def test_get_of_a_missing_or_malformed_id_is_404(auth_client: APIClient, user: Any,
                                                 library: Library, item_id: str) -> None:
    library.save(user, process=False)
    response = auth_client.get(f"/api/library/{item_id}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_get_of_another_users_item_is_404(auth_client: APIClient, other_user: Any,
                                          library: Library) -> None:
    theirs = library.save(other_user)
    response = auth_client.get(f"/api/library/{theirs.id}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_item_whose_file_failed_processing_is_listed_as_failed(auth_client: APIClient,
                                                                  user: Any,
                                                                  library: Library) -> None:
    saved = library.save(user, process=False)
    StoredFile.objects.filter(pk=saved.item.stored_file_id).update(
        scan_status=ScanStatus.CLEAN, processing_state="failed")
    item = auth_client.get(f"/api/library/{saved.id}").json()["item"]
    assert item["status"] == "failed"
    assert item["signed_url"] is not None  # cleared by the scanner: still downloadable
    assert item["thumbnail_url"] is None
