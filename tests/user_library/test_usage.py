"""``GET /api/library/usage`` (and ``usage.library_usage``): the user's "library" quota
ledger — default limit from ``USER_LIBRARY["QUOTA_BYTES"]``, a per-user limit from the
ledger row an operator edits — read as it is, per user."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.storage.models import QuotaLedger
from tests.user_library.conftest import Library
from tests.user_library.helpers import JPEG, PNG, mp4, set_limit
from user_library.usage import library_usage

pytestmark = pytest.mark.django_db

GIB = 1024**3


def usage(client: APIClient) -> dict[str, Any]:
    response = client.get("/api/library/usage")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "usage"} and body["success"] is True
    result: dict[str, Any] = body["usage"]
    return result


def test_a_new_user_has_an_empty_library_of_one_gib(auth_client: APIClient) -> None:
    assert usage(auth_client) == {"used_bytes": 0, "total_bytes": GIB, "used_percent": 0.0,
                                  "item_count": 0, "images_count": 0, "videos_count": 0}


def test_usage_counts_bytes_and_items_by_type(auth_client: APIClient, user: Any,
                                              library: Library) -> None:
    library.save(user, PNG)
    library.save(user, JPEG, "image/jpeg")
    library.save(user, mp4(), "video/mp4")
    used = len(PNG) + len(JPEG) + len(mp4())
    assert usage(auth_client) == {
        "used_bytes": used, "total_bytes": GIB, "used_percent": round(used * 100 / GIB, 1),
        "item_count": 3, "images_count": 2, "videos_count": 1}
    assert usage(auth_client) == library_usage(user_id=user.pk)


def test_used_percent_is_rounded_to_one_decimal(auth_client: APIClient, user: Any,
                                                library: Library) -> None:
    set_limit(user, len(PNG) * 3)
    library.save(user, PNG)
    assert usage(auth_client)["used_percent"] == 33.3
    set_limit(user, len(PNG) * 8)
    assert usage(auth_client)["used_percent"] == 12.5
    set_limit(user, len(PNG))
    assert usage(auth_client)["used_percent"] == 100.0


def test_the_default_limit_follows_the_setting(auth_client: APIClient, user: Any,
                                               library: Library, settings: Any) -> None:
    library.save(user, PNG)
    settings.USER_LIBRARY = {"QUOTA_BYTES": len(PNG) * 4}
    got = usage(auth_client)
    assert (got["total_bytes"], got["used_percent"]) == (len(PNG) * 4, 25.0)


def test_a_per_user_limit_on_the_library_ledger_overrides_the_default(
        auth_client: APIClient, user: Any, other_user: Any, library: Library) -> None:
    library.save(user, PNG)
    set_limit(user, 10 * 1024**2)
    got = usage(auth_client)
    assert got["total_bytes"] == 10 * 1024**2
    assert got["used_percent"] == round(len(PNG) * 100 / (10 * 1024**2), 1)
    assert library_usage(user_id=other_user.pk)["total_bytes"] == GIB  # only that user
    set_limit(user, None)  # the operator clears it: the default again
    assert usage(auth_client)["total_bytes"] == GIB


def test_a_limit_on_another_bucket_does_not_change_the_library(auth_client: APIClient,
                                                               user: Any) -> None:
    QuotaLedger.objects.create(owner_user=user, bucket="", limit_bytes=5)
    assert usage(auth_client)["total_bytes"] == GIB


def test_usage_is_per_user(auth_client: APIClient, user: Any, other_user: Any,
                           library: Library) -> None:
    library.save(other_user, mp4(), "video/mp4")
    library.save(other_user, PNG)
    assert usage(auth_client) == {"used_bytes": 0, "total_bytes": GIB, "used_percent": 0.0,
                                  "item_count": 0, "images_count": 0, "videos_count": 0}
    theirs = library_usage(user_id=other_user.pk)
    assert (theirs["item_count"], theirs["videos_count"], theirs["used_bytes"]) == (
        2, 1, len(mp4()) + len(PNG))


def test_usage_follows_deletes(auth_client: APIClient, user: Any, library: Library,
                               django_capture_on_commit_callbacks: Any) -> None:
    first = library.save(user, PNG)
    library.save(user, mp4(), "video/mp4")
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.delete(f"/api/library/{first.id}").status_code == 200
    got = usage(auth_client)
    assert (got["used_bytes"], got["item_count"], got["images_count"], got["videos_count"]) == (
        len(mp4()), 1, 0, 1)


def test_an_exhausted_zero_limit_reads_as_full(auth_client: APIClient, user: Any) -> None:
    set_limit(user, 0)
    got = usage(auth_client)
    assert (got["total_bytes"], got["used_percent"]) == (0, 100.0)
