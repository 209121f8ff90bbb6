"""Writes need the API secret or a write-scoped API key; reads need nothing and ignore
whatever Authorization header comes with them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ai_media.models import Media, TagCount
from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create, api_key_revoke
from tests.ai_media.factories import item, upsert, vec

pytestmark = pytest.mark.django_db

WRITE = item("new", tags={"hair": ["red"]})
BULK = [item("b1"), item("b2")]


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def assert_nothing_written() -> None:
    assert not Media.objects.filter(pk__in=["new", "b1", "b2"]).exists()
    assert not TagCount.objects.exists()


@pytest.mark.parametrize("header", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic YWRtaW46cGFzcw==",
    "Token ai-media-test-secret-0123456789",
    "Bearer wrong",
    "Bearer ai-media-test-secret-0123456788",  # the last byte off by one
    "Bearer bi-media-test-secret-0123456789",  # the first byte off by one
    "Bearer ai-media-test-secret-012345678",  # one byte short
    "Bearer ai-media-test-secret-01234567890",  # one byte more
    "Bearer AI-MEDIA-TEST-SECRET-0123456789",
    "Bearer ai-media-test-secret-0123456789 extra",
    "bearer  ai-media-test-secret-0123456789x",
])
def test_writes_without_the_secret_are_401(secret: str, header: str | None) -> None:
    client = client_with(header)
    for response in (client.post("/api/media", WRITE, format="json"),
                     client.post("/api/media", BULK, format="json")):
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert_nothing_written()


def test_the_bearer_scheme_is_case_insensitive(secret: str) -> None:
    assert client_with(f"bearer {secret}").post("/api/media", WRITE,
                                                format="json").status_code == 201


def test_no_secret_configured_lets_nothing_through(settings: Any) -> None:
    settings.API_SECRET_KEY = ""
    for header in ("Bearer ", "Bearer", None):
        response = client_with(header).post("/api/media", WRITE, format="json")
        assert response.status_code == 401 and response.json() == {"error": "Unauthorized"}
    assert_nothing_written()


def test_the_secret_writes(writer: APIClient) -> None:
    assert writer.post("/api/media", WRITE, format="json").status_code == 201
    assert writer.post("/api/media", BULK, format="json").json()["inserted"] == 2


def test_write_scoped_api_key(make_user: Any, secret: str) -> None:
    key = api_key_create(user=make_user(), name="importer", scopes=["write"])
    client = client_with(f"Bearer {key.token}")
    assert client.post("/api/media", WRITE, format="json").status_code == 201
    assert client.post("/api/media", BULK, format="json").json()["created"] == 2
    assert client.delete("/api/media/b1").json() == {"success": True}


def test_read_scoped_api_key_is_403(make_user: Any, secret: str) -> None:
    upsert([item("kept")])
    key = api_key_create(user=make_user(), name="reader", scopes=["read"])
    client = client_with(f"Bearer {key.token}")
    for response in (client.post("/api/media", WRITE, format="json"),
                     client.post("/api/media", BULK, format="json"),
                     client.delete("/api/media/kept")):
        assert response.status_code == 403
        assert response.json() == {
            "error": "This API key does not have the scope this request needs."}
    assert_nothing_written()
    assert Media.objects.filter(pk="kept").exists()


def test_revoked_expired_and_forged_keys_are_401(make_user: Any, secret: str) -> None:
    user = make_user()
    revoked = api_key_create(user=user, name="old", scopes=["write"])
    api_key_revoke(user=user, key_id=revoked.key.id)
    expired = api_key_create(user=user, name="expired", scopes=["write"])
    ApiKey.objects.filter(name="expired").update(expires_at=timezone.now() - timedelta(seconds=1))
    live = api_key_create(user=user, name="live", scopes=["write"])
    forged = live.token[:-1] + ("A" if live.token[-1] != "A" else "B")
    cases = {revoked.token: "API key revoked or expired.",
             expired.token: "API key revoked or expired.",
             forged: "Invalid API key.",
             "mpk_0000_nothing": "Invalid API key."}
    for token, error in cases.items():
        client = client_with(f"Bearer {token}")
        for response in (client.post("/api/media", WRITE, format="json"),
                         client.post("/api/media", BULK, format="json")):
            assert response.status_code == 401, token
            assert response.json() == {"error": error}
    assert_nothing_written()


def test_a_key_of_an_inactive_user_is_401(make_user: Any, secret: str) -> None:
    user = make_user()
    key = api_key_create(user=user, name="k", scopes=["write"])
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client_with(f"Bearer {key.token}").post("/api/media", WRITE, format="json")
    assert response.status_code == 401 and response.json() == {"error": "User inactive."}
    assert_nothing_written()


def test_a_logged_in_session_is_not_a_write_credential(make_user: Any, secret: str) -> None:
    make_user("sally", password="pw-123-Secret!", is_staff=True)
    client = APIClient()
    assert client.login(username="sally", password="pw-123-Secret!")
    response = client.post("/api/media", WRITE, format="json")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized"}
    assert_nothing_written()


@pytest.mark.parametrize("header", ["Bearer bogus", "Bearer mpk_dead_beef", "Basic !!!",
                                    "Bearer", "garbage"])
def test_reads_ignore_any_authorization_header(secret: str, header: str) -> None:
    upsert([item("a", tags={"hair": ["red"]}, embedding=vec(1)),
            item("b", tags={"hair": ["red"]}, embedding=vec(2))])
    client = client_with(header)
    for path in ("/api/feed", "/api/search?tags=red", "/api/media/a", "/api/similar/a",
                 "/api/tag-categories"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
    assert client.get("/api/search/semantic?q=cat").status_code == 503  # no model: not a 401
    assert client.get("/api/media/zzz").status_code == 404


def test_reads_ignore_a_revoked_key(make_user: Any) -> None:
    user = make_user()
    issued = api_key_create(user=user, name="old", scopes=["read"])
    ApiKey.objects.update(revoked_at=timezone.now())
    assert client_with(f"Bearer {issued.token}").get("/api/feed").status_code == 200
