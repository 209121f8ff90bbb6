"""views.serve: the local signed-URL endpoint (tokens, refusals, headers, Range, HEAD)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.core.ids import uuid7
from apps.storage.models import StoredFile
from apps.storage.signing import FileGrant, make_token
from tests.apps.storage.helpers import Backend, add_variant, cleared
from tests.apps.storage.samples import HTML_BYTES, image_bytes, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(local_backend: Backend, owner: User) -> StoredFile:
    return cleared(local_backend.store.put(png_bytes((32, 32)), owner=owner, name="Café ✓.png"))


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["title"] and problem["detail"]


def url_for(grant: FileGrant, filename: str = "x.png") -> str:
    return reverse("storage-serve", kwargs={"token": make_token(grant), "filename": filename})


def test_serves_with_safe_headers(client: Client, local_backend: Backend,
                                  stored: StoredFile) -> None:
    response = client.get(local_backend.store.signed_url(stored))
    assert response.status_code == 200
    with local_backend.store.open(stored) as handle:
        assert body_of(response) == handle.read()
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(stored.size)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{stored.sha256}"'
    assert response["Content-Disposition"] == (
        f"inline; filename=\"Caf_ _.png\"; filename*=UTF-8''{quote('Café ✓.png')}")


def test_attachment_disposition(client: Client, local_backend: Backend,
                                stored: StoredFile) -> None:
    response = client.get(local_backend.store.signed_url(stored, disposition="attachment"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="Caf_ _.png"; ')
    assert response["Content-Disposition"].endswith("filename*=UTF-8''Caf%C3%A9%20%E2%9C%93.png")


def test_active_content_is_served_sandboxed_under_its_real_type(
        client: Client, local_backend: Backend, owner: User) -> None:
    page = cleared(local_backend.store.put(HTML_BYTES, owner=owner, name="page.html"))
    response = client.get(local_backend.store.signed_url(page))
    assert response["Content-Type"] == "text/html"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_head(client: Client, local_backend: Backend, stored: StoredFile) -> None:
    url = local_backend.store.signed_url(stored)
    response = client.head(url)
    assert response.status_code == 200
    assert body_of(response) == b""
    assert response["Content-Length"] == str(stored.size)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    ranged = client.head(url, HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206
    assert ranged["Content-Range"] == f"bytes 0-9/{stored.size}"
    assert ranged["Content-Length"] == "10"


def test_other_methods_are_refused(client: Client, local_backend: Backend,
                                   stored: StoredFile) -> None:
    url = local_backend.store.signed_url(stored)
    assert client.post(url).status_code == 405
    assert client.delete(url).status_code == 405


def test_tampered_token_is_403_problem(client: Client, local_backend: Backend,
                                       stored: StoredFile) -> None:
    url = local_backend.store.signed_url(stored)
    prefix, token, filename = url.rsplit("/", 2)
    for position in (0, len(token) // 2, len(token) - 1):
        flipped = "A" if token[position] != "A" else "B"
        tampered = f"{prefix}/{token[:position]}{flipped}{token[position + 1:]}/{filename}"
        assert_problem(client.get(tampered), 403, "link_invalid")
    assert_problem(client.get(f"{prefix}/not-a-token/{filename}"), 403, "link_invalid")


def test_link_to_another_file_cannot_be_made_by_editing(client: Client,
                                                        local_backend: Backend,
                                                        owner: User) -> None:
    mine = cleared(local_backend.store.put(png_bytes(), owner=owner, name="mine.png"))
    theirs = cleared(local_backend.store.put(image_bytes("JPEG"), owner=owner, name="theirs.jpg"))
    token = local_backend.store.signed_url(mine).rsplit("/", 2)[1]
    payload, signature = token.rsplit(":", 1)
    other = local_backend.store.signed_url(theirs).rsplit("/", 2)[1]
    spliced = other.rsplit(":", 1)[0] + ":" + signature
    assert_problem(client.get(f"/files/{spliced}/theirs.jpg"), 403, "link_invalid")
    assert client.get(f"/files/{payload}:{signature}/theirs.jpg").status_code == 200


def test_expired_link_is_410_problem(client: Client, local_backend: Backend,
                                     stored: StoredFile) -> None:
    assert_problem(client.get(local_backend.store.signed_url(stored, ttl=-1)), 410,
                   "link_expired")
    old = FileGrant(stored.id, None, int(time.time()) - 3600, "inline")
    assert_problem(client.get(url_for(old)), 410, "link_expired")


def test_quarantined_file_is_not_served(client: Client, local_backend: Backend,
                                        stored: StoredFile) -> None:
    url = local_backend.store.signed_url(stored)  # made before the scanner flagged it
    StoredFile.objects.filter(pk=stored.pk).update(is_quarantined=True)
    assert_problem(client.get(url), 404, "not_found")
    assert client.head(url).status_code == 404


def test_link_stops_working_when_the_file_is_rescanned(client: Client, local_backend: Backend,
                                                       stored: StoredFile) -> None:
    url = local_backend.store.signed_url(stored)
    assert client.get(url).status_code == 200
    StoredFile.objects.filter(pk=stored.pk).update(scan_status="SCANNING")
    assert_problem(client.get(url), 404, "not_found")


def test_deleted_file_and_unknown_ids_are_404(client: Client, local_backend: Backend,
                                              stored: StoredFile, owner: User,
                                              django_capture_on_commit_callbacks: Any) -> None:
    url = local_backend.store.signed_url(stored)
    with django_capture_on_commit_callbacks(execute=True):
        local_backend.store.delete(stored)
    assert_problem(client.get(url), 404, "not_found")
    unknown = FileGrant(uuid7(), None, int(time.time()) + 60, "inline")
    assert_problem(client.get(url_for(unknown)), 404, "not_found")


def test_variant_of_another_file_is_404(client: Client, local_backend: Backend,
                                        owner: User) -> None:
    first = cleared(local_backend.store.put(png_bytes(), owner=owner, name="a.png"))
    second = cleared(local_backend.store.put(png_bytes(), owner=owner, name="b.png"))
    variant = add_variant(local_backend, second)
    mixed = FileGrant(first.id, variant.id, int(time.time()) + 60, "inline")
    assert_problem(client.get(url_for(mixed)), 404, "not_found")
    right = FileGrant(second.id, variant.id, int(time.time()) + 60, "inline")
    response = client.get(url_for(right))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["ETag"] == f'"{variant.pk}"'


@pytest.mark.parametrize("filename", ["evil.html", "a%0d%0aSet-Cookie:%20x=1", "x.png%22%3B%20filename%3Devil.exe"])
def test_name_in_the_url_cannot_rename_the_download(client: Client, local_backend: Backend,
                                                    stored: StoredFile, filename: str) -> None:
    """The file name segment is not signed: the stored name is what the browser gets."""
    prefix, token, _ = local_backend.store.signed_url(stored, disposition="attachment") \
        .rsplit("/", 2)
    response = client.get(f"{prefix}/{token}/{filename}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="Caf_ _.png"')
    assert "Set-Cookie" not in response


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "bytes=abc", "items=0-9", "bytes=-",
                                    "bytes 0-9"])
def test_multi_and_malformed_ranges_get_the_whole_file(client: Client, local_backend: Backend,
                                                       stored: StoredFile, header: str) -> None:
    response = client.get(local_backend.store.signed_url(stored), HTTP_RANGE=header)
    assert response.status_code == 200
    assert len(body_of(response)) == stored.size
    assert "Content-Range" not in response


def test_ranges_over_a_large_file_stream_the_right_slice(client: Client, local_backend: Backend,
                                                         owner: User) -> None:
    data = png_bytes() + bytes(range(256)) * 4096 * 3  # ~3 MiB: several read chunks
    big = cleared(local_backend.store.put(data, owner=owner, name="big.png"))
    url = local_backend.store.signed_url(big)
    start, end = 1_000_003, 2_600_000
    response = client.get(url, HTTP_RANGE=f"bytes={start}-{end}")
    assert response.status_code == 206
    assert body_of(response) == data[start:end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(data)}"
    tail = client.get(url, HTTP_RANGE="bytes=-5")
    assert body_of(tail) == data[-5:]
    refused = client.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert refused.status_code == 416
    assert refused["Content-Range"] == f"bytes */{len(data)}"
