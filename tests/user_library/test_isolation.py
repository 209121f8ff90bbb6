"""One user's library is invisible to every other user: no list entry, no count, no
lookup, no delete (single or batch), no share of the usage."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import JPEG, NOT_FOUND, PNG, ledger_state, mp4
from user_library.models import LibraryItem

pytestmark = pytest.mark.django_db(transaction=True)


def test_another_user_never_sees_counts_gets_or_deletes_my_items(
        auth_client: APIClient, user: Any, make_user: Any, library: Library,
        storage: LibraryStorage) -> None:
    intruder = make_user("mallory")
    client = APIClient()
    client.force_authenticate(intruder)
    mine = [library.save(user, PNG), library.save(user, mp4(), "video/mp4")]
    theirs = library.save(intruder, JPEG, "image/jpeg")
    my_state, keys = ledger_state(user), storage.stored_keys()

    listed = client.get("/api/library").json()
    assert [i["id"] for i in listed["items"]] == [theirs.id]
    assert (listed["total"], listed["has_more"]) == (1, False)
    assert client.get("/api/library?type=video").json()["total"] == 0
    assert client.get("/api/library?offset=1").json() == {
        "success": True, "items": [], "total": 1, "has_more": False}
    for item in mine:
        got = client.get(f"/api/library/{item.id}")
        assert got.status_code == 404 and got.json() == NOT_FOUND
        deleted = client.delete(f"/api/library/{item.id}")
        assert deleted.status_code == 404 and deleted.json() == NOT_FOUND
    batch = client.delete("/api/library/batch", {"ids": [m.id for m in mine]}, format="json")
    assert batch.json() == {"success": True, "deleted": 0}
    usage = client.get("/api/library/usage").json()["usage"]
    assert (usage["used_bytes"], usage["item_count"], usage["images_count"],
            usage["videos_count"]) == (len(JPEG), 1, 1, 0)

    assert LibraryItem.objects.filter(user=user).count() == 2
    assert ledger_state(user) == my_state and storage.stored_keys() == keys
    # and the owner still has everything
    mine_listed = auth_client.get("/api/library").json()
    assert [i["id"] for i in mine_listed["items"]] == [mine[1].id, mine[0].id]
    for item in mine_listed["items"]:
        assert storage.fetch(item["signed_url"]).status == 200


def test_a_batch_mixing_users_deletes_only_the_callers(auth_client: APIClient, user: Any,
                                                       other_user: Any,
                                                       library: Library) -> None:
    mine = library.save(user, PNG)
    theirs = library.save(other_user, PNG)
    response = auth_client.delete("/api/library/batch", {"ids": [theirs.id, mine.id]},
                                  format="json")
    assert response.json() == {"success": True, "deleted": 1}
    assert list(LibraryItem.objects.values_list("user_id", flat=True)) == [other_user.pk]
    assert ledger_state(other_user) == (len(PNG), 0, 1, 1, 0)
    assert ledger_state(user) == (0, 0, 0, 0, 0)
