"""Folders: /v1/media/folders (list, create) and /v1/media/folders/<name> (delete).

Folders are paths (``a/b/c``); making one makes its ancestors, an empty one persists,
and deleting one that holds files needs ``mode=moveToRoot`` or ``mode=delete``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from author_media.models import MediaFile, MediaFolder, StorageUsage
from tests.author_media.conftest import fake_png, problem

pytestmark = pytest.mark.django_db

Upload = Callable[..., Any]


def listed(client: APIClient) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/media/folders")
    assert response.status_code == 200, response.content
    return {row["path"]: row for row in response.json()}


def paths(user: User) -> set[str]:
    return set(MediaFolder.objects.filter(user=user).values_list("path", flat=True))


def put_file(upload: Upload, folder: str | None) -> str:
    fields = {"folder": folder} if folder else {}
    response = upload(fake_png(64), **fields)
    assert response.status_code == 201, response.content
    media_id: str = response.json()["id"]
    return media_id


# -- create ---------------------------------------------------------------------------------


def test_create_nested_makes_the_ancestors(client: APIClient, author: User) -> None:
    response = client.post("/v1/media/folders", {"name": "c", "parent": "a/b"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["path"], body["name"]) == ("a/b/c", "c") and body["createdAt"]
    assert paths(author) == {"a", "a/b", "a/b/c"}
    rows = listed(client)
    assert [(p, r["name"], r["parent"]) for p, r in rows.items()] == [
        ("a", "a", None), ("a/b", "b", "a"), ("a/b/c", "c", "a/b")]
    assert all((r["fileCount"], r["totalFileCount"]) == (0, 0) for r in rows.values())


@pytest.mark.parametrize("body", [
    {"path": "x/y"},
    {"name": "x/y"},
    {"name": "y", "parent": "x"},
    {"name": " /x/ y/ "},
])
def test_create_accepts_a_path_a_name_or_both(client: APIClient, author: User,
                                              body: dict[str, Any]) -> None:
    response = client.post("/v1/media/folders", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["path"] == "x/y"
    assert paths(author) == {"x", "x/y"}


def test_creating_twice_is_one_folder(client: APIClient, author: User) -> None:
    first = client.post("/v1/media/folders", {"path": "x"}, format="json")
    again = client.post("/v1/media/folders", {"path": "x"}, format="json")
    assert (first.status_code, again.status_code) in ((201, 201), (201, 200))
    assert again.json()["createdAt"] == first.json()["createdAt"]
    assert MediaFolder.objects.filter(user=author).count() == 1


def test_an_empty_folder_persists(client: APIClient, upload: Upload, author: User) -> None:
    media_id = put_file(upload, "keep/me")
    client.post(f"/v1/media/{media_id}/move", {"folder": None}, format="json")
    rows = listed(client)
    assert set(rows) == {"keep", "keep/me"}
    assert (rows["keep/me"]["fileCount"], rows["keep/me"]["totalFileCount"]) == (0, 0)


@pytest.mark.parametrize("body", [
    {},
    {"name": ""},
    {"name": "/"},
    {"name": None},
    {"name": 12},
    {"name": ["a"]},
    {"name": ".."},
    {"name": "a/../b"},
    {"name": "b", "parent": "../a"},
    {"name": "a\\b"},
    {"name": "a\x00b"},
    {"name": "tab\there"},
    {"name": "x" * 101},
    {"path": "/".join(["d"] * 21)},
    {"path": "/".join(["x" * 100] * 6)},  # 605 characters
])
def test_bad_folder_names_are_400(client: APIClient, author: User, body: dict[str, Any]) -> None:
    problem(client.post("/v1/media/folders", body, format="json"), 400)
    assert paths(author) == set()


def test_the_longest_names_are_fine(client: APIClient) -> None:
    assert client.post("/v1/media/folders", {"name": "x" * 100},
                       format="json").status_code == 201
    assert client.post("/v1/media/folders", {"path": "/".join(["d"] * 20)},
                       format="json").status_code == 201


def test_unicode_names(client: APIClient, author: User, upload: Upload) -> None:
    response = client.post("/v1/media/folders", {"path": "Étés/夏 2026"}, format="json")
    assert response.status_code == 201 and response.json()["path"] == "Étés/夏 2026"
    put_file(upload, "Étés/夏 2026")
    assert listed(client)["Étés"]["totalFileCount"] == 1
    deleted = client.delete("/v1/media/folders/%C3%89t%C3%A9s/%E5%A4%8F%202026?mode=moveToRoot")
    assert deleted.status_code == 200, deleted.content
    assert paths(author) == {"Étés"}


# -- list counts ------------------------------------------------------------------------------


def test_counts_direct_and_total(client: APIClient, upload: Upload) -> None:
    put_file(upload, "a")
    put_file(upload, "a/b")
    put_file(upload, "a/b")
    deleted = put_file(upload, "a/b/c")
    put_file(upload, "ab")  # a sibling whose name starts like "a"
    put_file(upload, None)
    client.post("/v1/media/folders", {"path": "a/b/c/d"}, format="json")
    assert client.delete(f"/v1/media/{deleted}").status_code == 204
    counts = {p: (r["fileCount"], r["totalFileCount"]) for p, r in listed(client).items()}
    assert counts == {"a": (1, 3), "a/b": (2, 2), "a/b/c": (0, 0), "a/b/c/d": (0, 0),
                      "ab": (1, 1)}


def test_folders_are_per_user(client: APIClient, other_client: APIClient,
                              upload: Upload) -> None:
    put_file(upload, "mine")
    other_client.post("/v1/media/folders", {"path": "theirs"}, format="json")
    assert set(listed(client)) == {"mine"}
    assert set(listed(other_client)) == {"theirs"}
    problem(other_client.delete("/v1/media/folders/mine?mode=delete"), 404)
    assert set(listed(client)) == {"mine"}
    assert MediaFile.objects.filter(deleted_at__isnull=True).count() == 1


# -- delete -----------------------------------------------------------------------------------


def test_delete_an_empty_folder(client: APIClient, author: User) -> None:
    client.post("/v1/media/folders", {"path": "a/b/c"}, format="json")
    response = client.delete("/v1/media/folders/a/b")
    assert response.status_code == 200, response.content
    assert response.json() == {"deletedFolders": 2, "affectedFiles": 0}
    assert paths(author) == {"a"}


def test_delete_a_non_empty_folder_needs_a_mode(client: APIClient, upload: Upload,
                                                author: User) -> None:
    put_file(upload, "a/b/c")
    put_file(upload, "a")
    body = problem(client.delete("/v1/media/folders/a"), 409)
    assert body["code"] == "folder_not_empty" and body["fileCount"] == 2
    problem(client.delete("/v1/media/folders/a/b"), 409)  # a file below it, not in it
    assert paths(author) == {"a", "a/b", "a/b/c"}
    assert MediaFile.objects.filter(deleted_at__isnull=True, folder__isnull=False).count() == 2


def test_delete_moving_files_to_the_root(client: APIClient, upload: Upload,
                                         author: User) -> None:
    inside = [put_file(upload, "a"), put_file(upload, "a/b/c")]
    beside = put_file(upload, "ab")
    response = client.delete("/v1/media/folders/a?mode=moveToRoot")
    assert response.status_code == 200, response.content
    assert response.json() == {"deletedFolders": 3, "affectedFiles": 2}
    assert paths(author) == {"ab"}
    for media_id in inside:
        shown = client.get(f"/v1/media/{media_id}")
        assert shown.status_code == 200 and shown.json()["folder"] is None
    assert client.get(f"/v1/media/{beside}").json()["folder"] == "ab"
    root = [r["id"] for r in client.get("/v1/media?folder=").json()["data"]]
    assert sorted(root) == sorted(inside)


def test_delete_with_its_files(client: APIClient, upload: Upload, author: User) -> None:
    inside = [put_file(upload, "a"), put_file(upload, "a/b")]
    beside = put_file(upload, "ab")
    before = StorageUsage.objects.get(user=author).total_bytes
    response = client.delete("/v1/media/folders/a?mode=delete")
    assert response.status_code == 200, response.content
    assert response.json() == {"deletedFolders": 2, "affectedFiles": 2}
    for media_id in inside:
        problem(client.get(f"/v1/media/{media_id}"), 404)
        assert MediaFile.objects.get(pk=media_id).deleted_at is not None
    assert [r["id"] for r in client.get("/v1/media").json()["data"]] == [beside]
    assert paths(author) == {"ab"}
    # soft-deleted: the bytes stay (and count) until the purge
    assert StorageUsage.objects.get(user=author).total_bytes == before


def test_a_folder_holding_only_deleted_files_is_empty(client: APIClient, upload: Upload,
                                                      author: User) -> None:
    media_id = put_file(upload, "a")
    client.delete(f"/v1/media/{media_id}")
    response = client.delete("/v1/media/folders/a")
    assert response.status_code == 200, response.content
    assert response.json() == {"deletedFolders": 1, "affectedFiles": 0}


@pytest.mark.parametrize("name", ["nope", "a/nope", "A"])
def test_delete_an_unknown_folder_is_404(client: APIClient, author: User, name: str) -> None:
    client.post("/v1/media/folders", {"path": "a"}, format="json")
    problem(client.delete(f"/v1/media/folders/{name}"), 404)
    problem(client.delete(f"/v1/media/folders/{name}?mode=delete"), 404)
    assert paths(author) == {"a"}


@pytest.mark.parametrize("url", [
    "/v1/media/folders/a?mode=everything",
    "/v1/media/folders/a?mode=MOVETOROOT",
    "/v1/media/folders/a/%2E%2E/b",
    "/v1/media/folders/a%5Cb",
    "/v1/media/folders/%20",
])
def test_bad_delete_is_400(client: APIClient, upload: Upload, author: User, url: str) -> None:
    put_file(upload, "a")
    problem(client.delete(url), 400)
    assert paths(author) == {"a"}
    assert MediaFile.objects.get().folder == "a"


def test_delete_normalises_the_name(client: APIClient, author: User) -> None:
    client.post("/v1/media/folders", {"path": "a/b"}, format="json")
    assert client.delete("/v1/media/folders/a/b/").status_code == 200
    assert paths(author) == {"a"}
