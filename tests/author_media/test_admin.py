"""/v1/admin/media: the files the scanner (or an admin) held back, and releasing them.
Staff only: anonymous 401, others 403, API keys only with the admin scope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.processing.models import StoredFileTransition
from apps.processing.scanning import scan_quarantine
from author_media.models import MediaFile
from scripts.test_services import EICAR
from tests.author_media.conftest import error_fields, problem, stored_of
from tests.user_library.helpers import png

pytestmark = pytest.mark.django_db

Upload = Callable[..., Any]
LIST = "/v1/admin/media/quarantined"


def release_url(media_id: str) -> str:
    return f"/v1/admin/media/{media_id}/release"


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]


@pytest.fixture
def held(upload: Upload, other_client: APIClient, admin_user: User) -> dict[str, str]:
    """An INFECTED file of the author, a FLAGGED one of another user (an admin's
    decision), a clean one and a deleted infected one (name -> id)."""
    infected = upload(EICAR, filename="virus.txt", content_type="text/plain", process=True)
    assert infected.status_code == 201, infected.content
    flagged = upload(png(1), as_client=other_client, process=True).json()["id"]
    scan_quarantine(stored=stored_of(flagged), actor=admin_user, reason="reported")
    clean = upload(png(2), process=True).json()["id"]
    gone = upload(EICAR, filename="v2.txt", content_type="text/plain", as_client=other_client,
                  process=True).json()["id"]
    assert MediaFile.objects.get(pk=gone).is_quarantined
    MediaFile.objects.filter(pk=gone).update(deleted_at=timezone.now())
    return {"infected": infected.json()["id"], "flagged": flagged, "clean": clean,
            "gone": gone}


# -- access -----------------------------------------------------------------------------------


def test_anonymous_is_401(held: dict[str, str]) -> None:
    problem(APIClient().get(LIST), 401)
    problem(APIClient().post(release_url(held["infected"]), {}, format="json"), 401)
    assert MediaFile.objects.get(pk=held["infected"]).is_quarantined


def test_non_staff_is_403(client: APIClient, held: dict[str, str]) -> None:
    problem(client.get(LIST), 403)
    problem(client.post(release_url(held["infected"]), {}, format="json"), 403)
    assert MediaFile.objects.get(pk=held["infected"]).is_quarantined


def test_a_superuser_flag_alone_is_not_staff(make_user: Any, held: dict[str, str]) -> None:
    api = APIClient()
    api.force_authenticate(make_user("root-ish", is_superuser=True, is_staff=False))
    assert api.get(LIST).status_code == 403


@pytest.mark.parametrize("scopes", [["read"], ["write"]])
def test_api_key_without_the_admin_scope_is_403(api_key_client: Any, admin_user: User,
                                                held: dict[str, str],
                                                scopes: list[str]) -> None:
    api = api_key_client(admin_user, scopes)
    problem(api.get(LIST), 403)
    problem(api.post(release_url(held["infected"]), {}, format="json"), 403)
    assert MediaFile.objects.get(pk=held["infected"]).is_quarantined


def test_api_key_with_the_admin_scope_is_fine(api_key_client: Any, admin_user: User,
                                              held: dict[str, str],
                                              django_capture_on_commit_callbacks: Any) -> None:
    api = api_key_client(admin_user, ["admin"])
    assert set(ids(api.get(LIST))) == {held["infected"], held["flagged"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(release_url(held["infected"]), {"reason": "ok"}, format="json")
    assert response.status_code == 200, response.content
    decision = StoredFileTransition.objects.get(stored_file=stored_of(held["infected"]),
                                                to_state="CLEAN")
    assert decision.actor_id == admin_user.pk


def test_a_revoked_staff_member_loses_access(admin_client: APIClient, admin_user: User,
                                            held: dict[str, str]) -> None:
    assert admin_client.get(LIST).status_code == 200
    User.objects.filter(pk=admin_user.pk).update(is_staff=False)
    admin_user.refresh_from_db()
    problem(admin_client.get(LIST), 403)


# -- the list ---------------------------------------------------------------------------------


def test_the_list_holds_every_users_held_files(admin_client: APIClient,
                                               held: dict[str, str]) -> None:
    response = admin_client.get(LIST)
    rows = {r["id"]: r for r in response.json()["data"]}
    assert list(rows) == [held["flagged"], held["infected"]]  # newest first
    assert (rows[held["infected"]]["scanStatus"], rows[held["infected"]]["isQuarantined"]) == (
        "INFECTED", True)
    assert "Eicar" in rows[held["infected"]]["scanResult"]
    assert (rows[held["flagged"]]["scanStatus"], rows[held["flagged"]]["isQuarantined"]) == (
        "FLAGGED", True)
    assert {k: v for k, v in response.json().items() if k != "data"} == {
        "total": 2, "page": 1, "pageSize": 20, "totalPages": 1}


@pytest.mark.parametrize(("query", "expected"), [
    ("scanStatus=INFECTED", ["infected"]),
    ("scanStatus=FLAGGED", ["flagged"]),
    ("scanStatus=CLEAN", []),
    ("scanStatus=BLOCKED", []),
])
def test_filter_by_scan_status(admin_client: APIClient, held: dict[str, str], query: str,
                               expected: list[str]) -> None:
    assert ids(admin_client.get(f"{LIST}?{query}")) == [held[name] for name in expected]


def test_filter_by_user(admin_client: APIClient, author: User, held: dict[str, str]) -> None:
    assert ids(admin_client.get(f"{LIST}?userId={author.pk}")) == [held["infected"]]
    other = MediaFile.objects.get(pk=held["flagged"]).user_id
    assert ids(admin_client.get(f"{LIST}?userId={other}")) == [held["flagged"]]
    assert ids(admin_client.get(f"{LIST}?userId={uuid.uuid4()}")) == []
    assert ids(admin_client.get(f"{LIST}?userId={author.pk}&scanStatus=FLAGGED")) == []


def test_pages(admin_client: APIClient, held: dict[str, str]) -> None:
    first = admin_client.get(f"{LIST}?pageSize=1")
    second = admin_client.get(f"{LIST}?pageSize=1&page=2")
    assert ids(first) + ids(second) == [held["flagged"], held["infected"]]
    assert (first.json()["total"], first.json()["totalPages"]) == (2, 2)


@pytest.mark.parametrize(("query", "field"), [
    ("scanStatus=NOPE", "scanStatus"),
    ("userId=42", "userId"),
    ("userId=not-a-uuid", "userId"),
    ("page=0", "page"),
    ("pageSize=101", "pageSize"),
])
def test_bad_list_parameters_are_400(admin_client: APIClient, held: dict[str, str], query: str,
                                     field: str) -> None:
    assert field in error_fields(problem(admin_client.get(f"{LIST}?{query}"), 400))


# -- release ----------------------------------------------------------------------------------


def test_release_records_the_reason_and_the_actor(
        admin_client: APIClient, admin_user: User, client: APIClient, held: dict[str, str],
        django_capture_on_commit_callbacks: Any) -> None:
    media_id = held["flagged"]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(release_url(media_id), {"reason": "  not abuse  "},
                                     format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["scanStatus"], body["isQuarantined"]) == (media_id, "CLEAN", False)
    assert "not abuse" in body["scanResult"]
    decision = StoredFileTransition.objects.filter(stored_file=stored_of(media_id),
                                                   to_state="CLEAN").latest("at")
    assert (decision.from_state, decision.actor_id, decision.detail) == (
        "FLAGGED", admin_user.pk, "released: not abuse")
    assert ids(admin_client.get(LIST)) == [held["infected"]]


def test_release_without_a_reason_uses_the_default(admin_client: APIClient,
                                                   held: dict[str, str]) -> None:
    response = admin_client.post(release_url(held["infected"]), {}, format="json")
    assert response.status_code == 200, response.content
    decision = StoredFileTransition.objects.filter(stored_file=stored_of(held["infected"]),
                                                   to_state="CLEAN").get()
    assert decision.detail.startswith("released: ") and len(decision.detail) > 10


def test_releasing_a_file_that_is_not_held_is_409(admin_client: APIClient,
                                                  held: dict[str, str]) -> None:
    before = StoredFileTransition.objects.count()
    problem(admin_client.post(release_url(held["clean"]), {}, format="json"), 409)
    admin_client.post(release_url(held["infected"]), {}, format="json")
    problem(admin_client.post(release_url(held["infected"]), {}, format="json"), 409)
    assert StoredFileTransition.objects.count() == before + 1


@pytest.mark.parametrize("media_id", ["999999999", "abc", "0", "9" * 25])
def test_releasing_an_unknown_file_is_404(admin_client: APIClient, media_id: str) -> None:
    problem(admin_client.post(release_url(media_id), {}, format="json"), 404)


def test_releasing_a_deleted_file_is_404(admin_client: APIClient, held: dict[str, str]) -> None:
    problem(admin_client.post(release_url(held["gone"]), {}, format="json"), 404)
    assert MediaFile.objects.get(pk=held["gone"]).is_quarantined


@pytest.mark.parametrize("body", [{"reason": "x" * 501}, {"reason": 12}, {"reason": ["a"]}])
def test_a_bad_reason_is_400(admin_client: APIClient, held: dict[str, str],
                             body: dict[str, Any]) -> None:
    assert "reason" in error_fields(problem(admin_client.post(release_url(held["infected"]), body,
                                                 format="json"), 400))
    assert MediaFile.objects.get(pk=held["infected"]).is_quarantined


def test_the_list_hides_deleted_and_clean_files(admin_client: APIClient,
                                               held: dict[str, str]) -> None:
    listed = set(ids(admin_client.get(f"{LIST}?pageSize=100")))
    assert held["gone"] not in listed and held["clean"] not in listed
