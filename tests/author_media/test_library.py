"""The library: GET /v1/media (filters, sort, pages), GET/PUT/DELETE /v1/media/<id>,
POST /v1/media/<id>/move; only the owner reaches a file, and deleted files are gone
from every read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from author_media import services
from author_media.models import MediaFile, MediaFolder, StorageUsage
from scripts.test_services import EICAR
from tests.author_media.conftest import error_fields, fake_png, problem
from tests.user_library.helpers import PDF, png

pytestmark = pytest.mark.django_db

Upload = Callable[..., Any]


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]


@pytest.fixture
def files(upload: Upload) -> dict[str, str]:
    """Six files of the author with different sites, folders, tags, types and sizes,
    uploaded in this order (name -> id)."""
    made = {}
    for name, data, ctype, fields in [
        ("alpha.png", fake_png(300), "image/png",
         {"siteId": "s1", "folder": "a", "tags": "x,y", "altText": "Sunset over sea"}),
        ("beta.png", fake_png(100), "image/png",
         {"siteId": "s1", "folder": "a/b", "tags": "x", "caption": "a Mountain view"}),
        ("gamma.pdf", PDF, "application/pdf",
         {"siteId": "s2", "folder": "a/b/c", "tags": "y"}),
        ("delta.png", fake_png(500), "image/png", {"folder": "ab", "tags": "x,y,z"}),
        ("epsilon.png", fake_png(200), "image/png", {}),
        ("zeta.png", fake_png(400), "image/png", {"siteId": "s2", "altText": "sunrise"}),
    ]:
        response = upload(data, filename=name, content_type=ctype, **fields)
        assert response.status_code == 201, response.content
        made[name.split(".")[0].lower()] = response.json()["id"]
    return made


# -- list ---------------------------------------------------------------------------------


def test_list_is_newest_first_with_page_totals(client: APIClient, files: dict[str, str]) -> None:
    response = client.get("/v1/media")
    assert ids(response) == list(reversed(files.values()))
    assert {k: v for k, v in response.json().items() if k != "data"} == {
        "total": 6, "page": 1, "pageSize": 20, "totalPages": 1}


def test_an_empty_library(client: APIClient) -> None:
    assert client.get("/v1/media").json() == {"data": [], "total": 0, "page": 1,
                                              "pageSize": 20, "totalPages": 0}


@pytest.mark.parametrize(("query", "expected"), [
    ("siteId=s1", ["beta", "alpha"]),
    ("siteId=s2", ["zeta", "gamma"]),
    ("siteId=nope", []),
    ("folder=a", ["alpha"]),
    ("folder=/a/", ["alpha"]),
    ("folder=a&recursive=true", ["gamma", "beta", "alpha"]),  # not "ab"
    ("folder=a/b&recursive=1", ["gamma", "beta"]),
    ("folder=a/b&recursive=false", ["beta"]),
    ("folder=", ["zeta", "epsilon"]),  # files without a folder
    ("folder=ab", ["delta"]),
    ("tags=x", ["delta", "beta", "alpha"]),
    ("tags=x,y", ["delta", "alpha"]),  # AND
    ("tags=x,y,z", ["delta"]),
    ("tags=x,q", []),
    ("mimeType=image/", ["zeta", "epsilon", "delta", "beta", "alpha"]),
    ("mimeType=IMAGE/", ["zeta", "epsilon", "delta", "beta", "alpha"]),
    ("mimeType=application/pdf", ["gamma"]),
    ("mimeType=application/", ["gamma"]),
    ("mimeType=image/jpeg", []),
    ("search=sun", ["zeta", "alpha"]),  # altText, any case
    ("search=MOUNTAIN", ["beta"]),  # caption
    ("search=eta", ["zeta", "beta"]),  # filename
    ("search=nothing-like-it", []),
    ("siteId=s1&folder=a&recursive=true&tags=x&mimeType=image/&search=mountain", ["beta"]),
    ("siteId=s2&mimeType=image/", ["zeta"]),
])
def test_filters(client: APIClient, files: dict[str, str], query: str,
                 expected: list[str]) -> None:
    response = client.get(f"/v1/media?{query}")
    assert ids(response) == [files[name] for name in expected]
    assert response.json()["total"] == len(expected)


@pytest.mark.parametrize(("query", "expected"), [
    ("sort=createdAt&order=asc", ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]),
    ("sort=createdAt", ["zeta", "epsilon", "delta", "gamma", "beta", "alpha"]),
    ("sort=filename&order=asc", ["alpha", "beta", "delta", "epsilon", "gamma", "zeta"]),
    ("sort=fileSize&order=asc", ["gamma", "beta", "epsilon", "alpha", "zeta", "delta"]),
    ("sort=fileSize&order=desc", ["delta", "zeta", "alpha", "epsilon", "beta", "gamma"]),
    ("sort=usageCount&order=desc", ["gamma", "alpha", "zeta", "epsilon", "delta", "beta"]),
])
def test_sort(client: APIClient, files: dict[str, str], query: str,
              expected: list[str]) -> None:
    assert len(PDF) < 100  # gamma is the smallest
    for name, uses in (("gamma", 3), ("alpha", 1)):
        for _ in range(uses):
            services.media_file_record_use(media=MediaFile.objects.get(pk=files[name]))
    assert ids(client.get(f"/v1/media?{query}")) == [files[name] for name in expected]


def test_pages(client: APIClient, files: dict[str, str]) -> None:
    newest_first = list(reversed(files.values()))
    seen = []
    for page in (1, 2, 3):
        response = client.get(f"/v1/media?pageSize=2&page={page}")
        body = response.json()
        assert (body["total"], body["page"], body["pageSize"], body["totalPages"]) == (
            6, page, 2, 3)
        seen += ids(response)
    assert seen == newest_first
    past = client.get("/v1/media?pageSize=2&page=4").json()
    assert (past["data"], past["total"], past["totalPages"]) == ([], 6, 3)
    filtered = client.get("/v1/media?tags=x&pageSize=2&page=2&sort=fileSize&order=asc")
    assert ids(filtered) == [files["delta"]]
    assert filtered.json()["totalPages"] == 2
    assert len(ids(client.get("/v1/media?pageSize=100"))) == 6


@pytest.mark.parametrize(("query", "field"), [
    ("sort=size", "sort"),
    ("sort=created_at", "sort"),
    ("order=up", "order"),
    ("page=0", "page"),
    ("page=-1", "page"),
    ("page=abc", "page"),
    ("pageSize=0", "pageSize"),
    ("pageSize=101", "pageSize"),
    ("pageSize=ten", "pageSize"),
    ("scanStatus=NOPE", "scanStatus"),
    ("folder=a/../b", "folder"),
    ("search=" + "s" * 201, "search"),
    ("search=a%00b&tags=processing", "search"),  # found by the schema fuzzer: was a 500
    ("tags=x%00", "tags"),
    ("siteId=%00", "siteId"),
])
def test_bad_list_parameters_are_400(client: APIClient, files: dict[str, str], query: str,
                                     field: str) -> None:
    body = problem(client.get(f"/v1/media?{query}"), 400)
    assert field in error_fields(body), body


def test_scan_status_filter_is_for_admins(
        upload: Upload, admin_client: APIClient, client: APIClient,
        files: dict[str, str]) -> None:
    held = upload(EICAR, filename="e.txt", content_type="text/plain", as_client=admin_client,
                  process=True).json()["id"]
    clean = upload(png(3), as_client=admin_client, process=True).json()["id"]
    pending = upload(png(4), as_client=admin_client).json()["id"]
    assert MediaFile.objects.get(pk=held).is_quarantined
    assert ids(admin_client.get("/v1/media?scanStatus=INFECTED")) == [held]
    assert ids(admin_client.get("/v1/media?scanStatus=CLEAN")) == [clean]
    assert ids(admin_client.get("/v1/media?scanStatus=PENDING")) == [pending]
    assert ids(admin_client.get("/v1/media")) == [pending, clean, held]
    # an author never sees a quarantined file, whatever the filter says
    mine = upload(EICAR, filename="mine.txt", content_type="text/plain", process=True)
    assert MediaFile.objects.get(pk=mine.json()["id"]).is_quarantined
    for query in ("", "?scanStatus=INFECTED", "?scanStatus=CLEAN", "?search=mine"):
        assert mine.json()["id"] not in ids(client.get(f"/v1/media{query}")), query
    assert client.get("/v1/media").json()["total"] == 6


# -- one file -----------------------------------------------------------------------------


def test_get_one(client: APIClient, files: dict[str, str]) -> None:
    body = client.get(f"/v1/media/{files['beta']}").json()
    assert (body["id"], body["originalFilename"], body["folder"], body["tags"], body["caption"],
            body["siteId"], body["fileSize"]) == (files["beta"], "beta.png", "a/b", ["x"],
                                                 "a Mountain view", "s1", 100)


@pytest.mark.parametrize("media_id", ["999999999", "abc", "0", "-1", "9" * 30, "1.5"])
def test_unknown_ids_are_404(client: APIClient, media_id: str) -> None:
    problem(client.get(f"/v1/media/{media_id}"), 404)
    problem(client.put(f"/v1/media/{media_id}", {"altText": "x"}, format="json"), 404)
    problem(client.delete(f"/v1/media/{media_id}"), 404)
    problem(client.post(f"/v1/media/{media_id}/move", {"folder": "x"}, format="json"), 404)


def test_put_changes_only_what_it_is_given(client: APIClient, author: User,
                                           files: dict[str, str]) -> None:
    url = f"/v1/media/{files['alpha']}"
    response = client.put(url, {"altText": "New alt", "tags": ["t1", " t2 ", "t1"]},
                          format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["altText"], body["tags"], body["caption"], body["folder"], body["siteId"]) == (
        "New alt", ["t1", "t2"], None, "a", "s1")
    body = client.put(url, {"caption": "Words", "folder": " /new/ place/"}, format="json").json()
    assert (body["altText"], body["caption"], body["folder"]) == ("New alt", "Words",
                                                                  "new/place")
    assert {"new", "new/place"} <= set(MediaFolder.objects.filter(user=author)
                                       .values_list("path", flat=True))
    shown = client.get(url).json()
    assert (shown["altText"], shown["caption"], shown["folder"], shown["tags"]) == (
        "New alt", "Words", "new/place", ["t1", "t2"])
    cleared = client.put(url, {"altText": None, "folder": None, "tags": []},
                         format="json").json()
    assert (cleared["altText"], cleared["folder"], cleared["tags"]) == (None, None, [])
    assert client.put(url, {"altText": "x" * 500}, format="json").status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"altText": "x" * 501}, "altText"),
    ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
    ({"tags": ["x" * 51]}, "tags"),
    ({"tags": [True]}, "tags"),
    ({"tags": "x,y"}, "tags"),
    ({"folder": "a/../b"}, "folder"),
    ({"folder": 12}, "folder"),
    ({"caption": {"a": 1}}, "caption"),
])
def test_bad_put_is_400_and_changes_nothing(client: APIClient, files: dict[str, str],
                                            body: dict[str, Any], field: str) -> None:
    url = f"/v1/media/{files['alpha']}"
    before = client.get(url).json()
    assert field in error_fields(problem(client.put(url, body, format="json"), 400))
    assert client.get(url).json() == before


def test_move(client: APIClient, author: User, files: dict[str, str]) -> None:
    url = f"/v1/media/{files['alpha']}/move"
    response = client.post(url, {"folder": "covers/2026"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["folder"] == "covers/2026"
    assert MediaFile.objects.get(pk=files["alpha"]).folder == "covers/2026"
    assert {"covers", "covers/2026"} <= set(
        MediaFolder.objects.filter(user=author).values_list("path", flat=True))
    assert ids(client.get("/v1/media?folder=covers/2026")) == [files["alpha"]]
    assert client.post(url, {"folder": None}, format="json").json()["folder"] is None
    assert files["alpha"] in ids(client.get("/v1/media?folder="))


@pytest.mark.parametrize("body", [{}, {"folder": "../x"}, {"folder": ["a"]}])
def test_bad_move_is_400(client: APIClient, files: dict[str, str], body: dict[str, Any]) -> None:
    url = f"/v1/media/{files['alpha']}/move"
    assert "folder" in error_fields(problem(client.post(url, body, format="json"), 400))
    assert MediaFile.objects.get(pk=files["alpha"]).folder == "a"


def test_delete_is_soft_and_the_file_is_gone_from_every_read(
        client: APIClient, author: User, upload: Upload,
        django_capture_on_commit_callbacks: Any) -> None:
    kept = upload(png(1), process=True, folder="f", tags="t", altText="findme").json()
    gone = upload(png(2), process=True, folder="f", tags="t", altText="findme").json()
    assert client.get(gone["publicUrl"]).status_code == 302
    thumbnail = client.get(f"/v1/media/{gone['id']}").json()["thumbnailUrl"]
    assert client.get(thumbnail).status_code == 302
    before = StorageUsage.objects.get(user=author).total_bytes
    response = client.delete(f"/v1/media/{gone['id']}")
    assert response.status_code == 204 and response.content == b""
    row = MediaFile.objects.get(pk=gone["id"])
    assert row.deleted_at is not None and row.stored_file is not None  # bytes kept
    problem(client.get(f"/v1/media/{gone['id']}"), 404)
    problem(client.put(f"/v1/media/{gone['id']}", {"altText": "x"}, format="json"), 404)
    problem(client.post(f"/v1/media/{gone['id']}/move", {"folder": "y"}, format="json"), 404)
    problem(client.delete(f"/v1/media/{gone['id']}"), 404)
    for query in ("", "?folder=f", "?tags=t", "?search=findme", "?mimeType=image/",
                  "?sort=fileSize"):
        assert ids(client.get(f"/v1/media{query}")) == [kept["id"]], query
    assert client.get(gone["publicUrl"]).status_code == 404
    assert client.get(thumbnail).status_code == 404
    folder = next(f for f in client.get("/v1/media/folders").json() if f["path"] == "f")
    assert (folder["fileCount"], folder["totalFileCount"]) == (1, 1)
    # binned bytes still occupy storage until purged
    assert StorageUsage.objects.get(user=author).total_bytes == before


# -- isolation ----------------------------------------------------------------------------

ROUTES = [
    ("get", "/v1/media/{id}", None),
    ("put", "/v1/media/{id}", {"altText": "hijacked", "folder": "theirs"}),
    ("delete", "/v1/media/{id}", None),
    ("post", "/v1/media/{id}/move", {"folder": "theirs"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("who", ["other", "admin"])
def test_only_the_owner_reaches_a_file(method: str, path: str, body: dict[str, Any] | None,
                                       who: str, other_client: APIClient,
                                       admin_client: APIClient, author: User,
                                       files: dict[str, str]) -> None:
    api = other_client if who == "other" else admin_client
    media_id = files["alpha"]
    before = MediaFile.objects.filter(pk=media_id).values().get()
    call = getattr(api, method)
    response = call(path.format(id=media_id), body, format="json") if body else call(
        path.format(id=media_id))
    problem(response, 404)
    assert MediaFile.objects.filter(pk=media_id).values().get() == before
    assert not MediaFolder.objects.filter(path="theirs").exists()


def test_others_see_nothing_of_my_library(other_client: APIClient, files: dict[str, str]) -> None:
    assert ids(other_client.get("/v1/media")) == []
    assert ids(other_client.get("/v1/media?folder=a&recursive=true")) == []
    assert ids(other_client.get("/v1/media?search=sun")) == []
    assert other_client.get("/v1/media/folders").json() == []
    problem(other_client.delete("/v1/media/folders/a?mode=delete"), 404)
    assert MediaFile.objects.filter(deleted_at__isnull=False).count() == 0
    usage = other_client.get("/v1/media/usage").json()
    assert (usage["totalBytes"], usage["totalFiles"]) == (0, 0)


def test_anonymous_is_401(files: dict[str, str]) -> None:
    anonymous = APIClient()
    for response in (anonymous.get("/v1/media"), anonymous.get(f"/v1/media/{files['alpha']}"),
                     anonymous.delete(f"/v1/media/{files['alpha']}"),
                     anonymous.get("/v1/media/folders"), anonymous.get("/v1/media/usage")):
        problem(response, 401)
    assert MediaFile.objects.filter(deleted_at__isnull=True).count() == 6
