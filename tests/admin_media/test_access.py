"""Staff only: session, JWT, an admin-scoped API key or the API secret; anyone else
401/403 in the console's envelope, before the body is even read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from admin_media.models import Media
from apps.accounts.models import ApiKey, User
from apps.accounts.services import api_key_create
from tests.admin_media.helpers import EN, ZH, error, ids_of, listed, ok, send, snapshot

pytestmark = pytest.mark.django_db
MakeMedia = Callable[..., Media]
PASSWORD = "s3cret-Pass-123"
SECRET = "a-long-platform-secret-for-admin-media-tests"


@pytest.fixture
def media(make_media: MakeMedia) -> list[Media]:
    return [make_media(), make_media(media_type="video", type="video/mp4")]


@pytest.fixture
def staff_user(make_user: Callable[..., User]) -> User:
    return make_user("chief", is_staff=True)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def full_round(client: APIClient, media: list[Media]) -> None:
    """All four operations succeed for ``client``."""
    assert ids_of(listed(send(client, "GET", raw=b""))) == [media[1].pk, media[0].pk]
    ok(send(client, "PATCH", {"mediaIds": [media[0].pk], "category": ["ok"]}), ZH.updated(1))
    ok(send(client, "PUT", {"id": media[1].pk, "posterUrl": "https://example.com/p.jpg"}),
       ZH.UPDATED)
    ok(send(client, "DELETE", {"mediaIds": [media[0].pk]}), ZH.deleted(1))
    assert Media.objects.get(pk=media[0].pk).is_delete


WRITES: list[tuple[str, dict[str, Any]]] = [
    ("PATCH", {"mediaIds": ["media_001", "media_002"], "category": ["hacked"]}),
    ("PUT", {"id": "media_002", "supabaseId": "hacker",
             "posterUrl": "https://evil.example.com/p.jpg"}),
    ("DELETE", {"mediaIds": ["media_001", "media_002"]}),
    ("POST", {"url": "https://example.com/new.jpg", "type": "image/jpeg"}),
]


def refused_everything(client: APIClient, status: int, zh: str, en: str) -> None:
    before = snapshot()
    error(send(client, "GET", raw=b""), status, zh)
    error(send(client, "GET", raw=b"", lang="en"), status, en)
    for method, body in WRITES:
        error(send(client, method, body), status, zh)
        error(send(client, method, raw=b"{not json"), status, zh)  # refused before parsing
    assert snapshot() == before


# -- refused ---------------------------------------------------------------------------


def test_anonymous_is_401(api_client: APIClient, media: list[Media]) -> None:
    refused_everything(api_client, 401, ZH.UNAUTHORIZED, EN.UNAUTHORIZED)
    assert send(api_client, "GET", raw=b"")["WWW-Authenticate"] == 'Bearer realm="api"'


def test_non_staff_user_is_403(auth_client: APIClient, media: list[Media]) -> None:
    refused_everything(auth_client, 403, ZH.STAFF_ONLY, EN.STAFF_ONLY)


def test_non_staff_session_and_jwt_are_403(make_user: Callable[..., User],
                                           media: list[Media]) -> None:
    user = make_user("plain")
    session = APIClient()
    assert session.login(username="plain", password=PASSWORD)
    refused_everything(session, 403, ZH.STAFF_ONLY, EN.STAFF_ONLY)
    refused_everything(bearer(str(AccessToken.for_user(user))), 403, ZH.STAFF_ONLY,
                       EN.STAFF_ONLY)


def test_superuser_flag_alone_is_not_staff(make_user: Callable[..., User],
                                           media: list[Media]) -> None:
    """IsStaff reads is_staff: a superuser without it is refused."""
    user = make_user("root", is_superuser=True)
    client = APIClient()
    client.force_authenticate(user)
    refused_everything(client, 403, ZH.STAFF_ONLY, EN.STAFF_ONLY)


@pytest.mark.parametrize("scopes", [["read"], ["write"], ["read", "write"]])
def test_staff_api_key_without_admin_scope_is_403(staff_user: User, media: list[Media],
                                                  scopes: list[str]) -> None:
    issued = api_key_create(user=staff_user, name="script", scopes=scopes)
    refused_everything(bearer(issued.token), 403, ZH.STAFF_ONLY, EN.STAFF_ONLY)


def test_admin_scope_key_of_a_non_staff_user_is_403(make_user: Callable[..., User],
                                                    staff_user: User,
                                                    media: list[Media]) -> None:
    issued = api_key_create(user=staff_user, name="script", scopes=["admin"])
    staff_user.is_staff = False  # demoted after the key was made
    staff_user.save(update_fields=["is_staff"])
    refused_everything(bearer(issued.token), 403, ZH.STAFF_ONLY, EN.STAFF_ONLY)


def test_bad_credentials_are_401(staff_user: User, media: list[Media], settings: Any) -> None:
    settings.API_SECRET_KEY = SECRET
    issued = api_key_create(user=staff_user, name="script", scopes=["admin"])
    revoked = api_key_create(user=staff_user, name="old", scopes=["admin"])
    ApiKey.objects.filter(pk=revoked.key.pk).update(revoked_at=revoked.key.created_at)
    before = snapshot()
    for token in ["not-a-token", SECRET.upper(), SECRET + "x", issued.token[:-3] + "abc",
                  revoked.token, str(RefreshToken.for_user(staff_user)),
                  str(AccessToken.for_user(staff_user))[:-4] + "abcd"]:
        client = bearer(token)
        for method, body in [("GET", None), *WRITES]:
            response = send(client, method, body)
            assert response.status_code == 401, (token, method)
            body_json = response.json()
            assert body_json["success"] is False and body_json["data"] is None
            assert set(body_json) == {"success", "message", "data"}
    assert snapshot() == before


def test_unknown_jwt_and_plain_secret_answer_the_unauthorized_message(
        staff_user: User, settings: Any) -> None:
    settings.API_SECRET_KEY = SECRET
    error(send(bearer(SECRET + "x"), "GET", raw=b""), 401, ZH.UNAUTHORIZED)
    error(send(bearer("garbage.jwt.token"), "GET", raw=b""), 401, ZH.UNAUTHORIZED)
    error(send(bearer("garbage.jwt.token"), "GET", raw=b"", lang="en"), 401, EN.UNAUTHORIZED)


def test_bad_api_key_answers_in_chinese(staff_user: User) -> None:
    issued = api_key_create(user=staff_user, name="script", scopes=["admin"])
    response = send(bearer(issued.token[:-3] + "abc"), "GET", raw=b"")
    assert response.status_code == 401
    message = response.json()["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


# -- allowed ---------------------------------------------------------------------------


def test_staff_force_authenticated(staff: APIClient, media: list[Media]) -> None:
    full_round(staff, media)


def test_staff_session_login(staff_user: User, media: list[Media]) -> None:
    client = APIClient()
    assert client.login(username="chief", password=PASSWORD)
    full_round(client, media)


def test_staff_session_needs_csrf_for_writes(staff_user: User, media: list[Media]) -> None:
    """A browser session (CSRF enforced): reads pass; a write without the token is 403 in
    the envelope, and with it passes."""
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="chief", password=PASSWORD)
    ok(send(client, "GET", raw=b""), ZH.FOUND)
    before = snapshot()
    refused = send(client, "PATCH", {"mediaIds": [media[0].pk], "category": ["x"]})
    assert refused.status_code == 403
    assert refused.json()["success"] is False and refused.json()["data"] is None
    assert snapshot() == before
    token = "CsrfSecretForAdminMediaTests0123"  # a 32-character secret, sent back
    client.cookies["csrftoken"] = token
    allowed = send(client, "PATCH", {"mediaIds": ["media_001"], "category": ["x"]},
                   HTTP_X_CSRFTOKEN=token)
    assert ok(allowed, ZH.updated(1))["updatedIds"] == ["media_001"]


def test_staff_jwt_from_the_token_endpoint(api_client: APIClient, staff_user: User,
                                           media: list[Media]) -> None:
    tokens = api_client.post("/api/auth/token/", {"username": "chief", "password": PASSWORD},
                             format="json").json()
    full_round(bearer(tokens["access"]), media)


def test_staff_jwt_for_user(staff_user: User, media: list[Media]) -> None:
    full_round(bearer(str(AccessToken.for_user(staff_user))), media)


@pytest.mark.parametrize("scopes", [["admin"], ["read", "write", "admin"]])
def test_staff_api_key_with_admin_scope(staff_user: User, media: list[Media],
                                        scopes: list[str]) -> None:
    full_round(bearer(api_key_create(user=staff_user, name="ops", scopes=scopes).token), media)


def test_api_secret(media: list[Media], settings: Any) -> None:
    settings.API_SECRET_KEY = SECRET
    full_round(bearer(SECRET), media)


def test_empty_api_secret_is_no_credential(media: list[Media], settings: Any) -> None:
    settings.API_SECRET_KEY = ""
    error(send(bearer(""), "GET", raw=b""), 401, ZH.UNAUTHORIZED)
