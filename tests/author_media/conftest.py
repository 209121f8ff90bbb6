"""Fixtures of the author's files suite: an author with a client, an admin, uploads.

``storage`` (from the user_library suite) runs a test over both storages — local files
and the real moto S3 server; ``upload`` posts through the API and, with ``process``,
lets the after-commit work run (the real clamd scan, then probe and variants: Celery is
eager in tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.services import api_key_create
from apps.storage import quota
from apps.storage.models import MediaKind, StoredFile, Variant
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile, StorageUsage
from tests.user_library.conftest import (  # noqa: F401 (fixtures: both storages)
    local_storage,
    s3_bucket,
    storage,
)


@pytest.fixture
def author(make_user: Any) -> User:
    return make_user("author")


@pytest.fixture
def client(author: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(author)
    return api


@pytest.fixture
def other_client(make_user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(make_user("someone-else"))
    return api


@pytest.fixture
def admin_user(make_user: Any) -> User:
    return make_user("admin", is_staff=True)


@pytest.fixture
def admin_client(admin_user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


@pytest.fixture
def upload(client: APIClient, django_capture_on_commit_callbacks: Any) -> Any:
    def post(data: bytes, *, filename: str = "photo.png", content_type: str = "image/png",
             as_client: APIClient | None = None, process: bool = False, **fields: Any) -> Any:
        payload = {"file": SimpleUploadedFile(filename, data, content_type), **fields}
        with django_capture_on_commit_callbacks(execute=process):
            return (as_client or client).post("/v1/media/upload", payload, format="multipart")

    return post


# -- additions of the core suite (helper-coretests) ------------------------------------

PROBLEM = "application/problem+json"


def problem(response: Any, status: int) -> dict[str, Any]:
    """The problem+json body of an error response, after checking its status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith(PROBLEM), response["Content-Type"]
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    """The fields a 400 names (``tags.0`` is a problem of ``tags``)."""
    return {key.split(".")[0] for key in body.get("errors", {})}


def fake_png(size: int) -> bytes:
    """``size`` bytes that sniff as a PNG (signature + random bytes): distinct every call;
    fine for anything that does not decode them (uploads not processed)."""
    assert size >= 8
    return b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8)


def bearer(token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


@pytest.fixture
def api_key_client() -> Callable[..., APIClient]:
    """A client authenticated by a real API key of ``user`` with ``scopes``."""

    def make(user: User, scopes: list[str]) -> APIClient:
        return bearer(api_key_create(user=user, name="script", scopes=scopes).token)

    return make


def stored_of(media_id: Any) -> StoredFile:
    stored = MediaFile.objects.get(pk=media_id).stored_file
    assert stored is not None
    return stored


_KIND_FIELD = {MediaKind.IMAGE: "image", MediaKind.GIF: "image", MediaKind.VIDEO: "video",
               MediaKind.DOCUMENT: "document", MediaKind.OTHER: "other"}


def measured_usage(user: User) -> dict[str, int]:
    """What the user's author_media files occupy, counted here from the rows (originals
    and variants), independently of the code under test."""
    out = {f"{k}_bytes": 0 for k in ("image", "video", "document", "other")}
    out.update({f"{k}_files": 0 for k in ("image", "video", "document")})
    out["total_files"] = 0
    for stored in StoredFile.objects.filter(owner_user=user, quota_bucket=QUOTA_BUCKET):
        kind = _KIND_FIELD[MediaKind(stored.kind)]
        variant_bytes = int(Variant.objects.filter(stored_file=stored)
                            .aggregate(n=Sum("size"))["n"] or 0)
        out[f"{kind}_bytes"] += stored.size + variant_bytes
        if kind != "other":
            out[f"{kind}_files"] += 1
        out["total_files"] += 1
    out["total_bytes"] = sum(out[f"{k}_bytes"] for k in ("image", "video", "document", "other"))
    return out


def recorded_usage(user: User) -> dict[str, int]:
    row = StorageUsage.objects.filter(user=user).first()
    fields = ("total_bytes", "image_bytes", "video_bytes", "document_bytes", "other_bytes",
              "total_files", "image_files", "video_files", "document_files")
    return {f: (getattr(row, f) if row else 0) for f in fields}


def assert_usage_matches_files(user: User) -> None:
    """StorageUsage and the quota ledger both equal what the files occupy."""
    measured = measured_usage(user)
    assert recorded_usage(user) == measured
    ledger = quota.ledger_for(user, QUOTA_BUCKET)
    assert (ledger.used_bytes, ledger.reserved_bytes, ledger.file_count) == (
        measured["total_bytes"], 0, measured["total_files"])


def assert_nothing_stored(user: User, keys: set[str] | None = None) -> None:
    """No row, no byte, no charge: what a refused upload must leave (``keys``: what the
    storage holds, when the test looked)."""
    assert not MediaFile.objects.filter(user=user).exists()
    assert not StoredFile.objects.filter(owner_user=user).exists()
    assert_usage_matches_files(user)
    assert recorded_usage(user)["total_bytes"] == 0
    if keys is not None:
        assert keys == set(), f"bytes left in storage: {keys}"
