"""Registration, JWT tokens, /me, and the API secret key."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


def register(client: APIClient, **body: Any) -> Any:
    return client.post("/api/auth/register/", body, format="json")


def test_register_token_refresh_me_round_trip(api_client: APIClient) -> None:
    created = register(api_client, username="bob", password="Wonderful-Pass-42",
                       email="bob@example.com")
    assert created.status_code == 201
    assert created.json()["username"] == "bob"
    assert "password" not in created.json()
    assert User.objects.get(username="bob").check_password("Wonderful-Pass-42")

    tokens = api_client.post("/api/auth/token/", {"username": "bob",
                                                  "password": "Wonderful-Pass-42"},
                             format="json").json()
    assert set(tokens) == {"access", "refresh"}

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api_client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "bob" and me.json()["email"] == "bob@example.com"

    api_client.credentials()
    refreshed = api_client.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]},
                                format="json")
    assert refreshed.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api_client.get("/api/auth/me/").json()["username"] == "bob"


@pytest.mark.parametrize("body, field", [
    ({"password": "Wonderful-Pass-42"}, "username"),
    ({"username": "carol"}, "password"),
    ({"username": "carol", "password": "123"}, "password"),  # too short, numeric
    ({"username": "bad name!", "password": "Wonderful-Pass-42"}, "username"),
    ({"username": "carol", "password": "Wonderful-Pass-42", "email": "nope"}, "email"),
    ({"username": ["x"], "password": "Wonderful-Pass-42"}, "username"),
])
def test_register_rejects_bad_input_and_creates_nothing(api_client: APIClient, body: dict,
                                                        field: str) -> None:
    response = register(api_client, **body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400 and field in problem["errors"]
    assert not User.objects.exists()


def test_register_duplicate_username_is_rejected_case_insensitively(api_client: APIClient,
                                                                    make_user: Any) -> None:
    make_user("Dave")
    response = register(api_client, username="dave", password="Wonderful-Pass-42")
    assert response.status_code == 400
    assert "username" in response.json()["errors"]
    assert User.objects.filter(username__iexact="dave").count() == 1


def test_registration_can_be_closed(api_client: APIClient, settings: Any) -> None:
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REGISTRATION_OPEN": False}
    response = register(api_client, username="erin", password="Wonderful-Pass-42")
    assert response.status_code == 403
    assert response.json()["detail"] == "Registration is closed."
    assert not User.objects.filter(username="erin").exists()


def test_wrong_password_gets_no_token(api_client: APIClient, user: User) -> None:
    response = api_client.post("/api/auth/token/", {"username": "alice", "password": "wrong"},
                               format="json")
    assert response.status_code == 401
    assert "access" not in response.json()


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer not-a-jwt", "Basic abc",
                                    "Bearer mpk_deadbeef_nope"])
def test_me_requires_valid_credentials(api_client: APIClient, header: str) -> None:
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_refresh_token_is_not_an_access_token(api_client: APIClient, user: User) -> None:
    tokens = api_client.post("/api/auth/token/", {"username": "alice",
                                                  "password": "s3cret-Pass-123"},
                             format="json").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")
    assert api_client.get("/api/auth/me/").status_code == 401


def test_api_secret_key_authenticates_as_staff(api_client: APIClient, settings: Any) -> None:
    settings.API_SECRET_KEY = "a-long-platform-secret-for-tests"
    api_client.credentials(HTTP_AUTHORIZATION="Bearer a-long-platform-secret-for-tests")
    me = api_client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["is_staff"] is True
    api_client.credentials(HTTP_AUTHORIZATION="Bearer a-long-platform-secret-for-tesTS")
    assert api_client.get("/api/auth/me/").status_code == 401


def test_empty_api_secret_key_disables_it(api_client: APIClient, settings: Any) -> None:
    settings.API_SECRET_KEY = ""
    api_client.credentials(HTTP_AUTHORIZATION="Bearer ")
    assert api_client.get("/api/auth/me/").status_code == 401
