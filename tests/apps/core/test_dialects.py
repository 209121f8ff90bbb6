"""Every error renders in the dialect of the app that owns the view (or the URL)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.apps.core.dialect_urls")]


@pytest.fixture
def client() -> APIClient:
    return APIClient(raise_request_exception=False)


def test_success_dialect_user_library(client: APIClient) -> None:
    assert client.get("/probe/user_library/notfound").json() == {
        "success": False, "error": "Item not found"}
    assert client.get("/probe/user_library/auth").json() == {
        "success": False, "error": "Unauthorized"}
    invalid = client.post("/probe/user_library/x", {"name": "toolong", "count": 0}, format="json")
    assert invalid.status_code == 400
    body = invalid.json()
    assert body["success"] is False
    assert "name:" in body["error"] and "count:" in body["error"]


def test_nest_dialect_media_library(client: APIClient) -> None:
    assert client.get("/probe/media_library/notfound").json() == {
        "statusCode": 404, "message": "Item not found", "error": "Not Found"}
    unauthorized = client.get("/probe/media_library/auth")
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"statusCode": 401, "message": "Unauthorized",
                                   "error": "Unauthorized"}
    invalid = client.post("/probe/media_library/x", {"count": "many"}, format="json").json()
    assert invalid["statusCode"] == 400 and invalid["error"] == "Bad Request"
    assert isinstance(invalid["message"], list) and len(invalid["message"]) == 2
    assert any(m.startswith("name:") for m in invalid["message"])


def test_error_dialect_ai_media(client: APIClient) -> None:
    assert client.get("/probe/ai_media/notfound").json() == {"error": "Item not found"}
    assert client.get("/probe/ai_media/conflict").json() == {"error": "Already there"}
    assert client.get("/probe/ai_media/conflict").status_code == 409


def test_problem_dialect_author_media(client: APIClient) -> None:
    response = client.get("/probe/author_media/notfound")
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {"type": "about:blank", "title": "Not Found", "status": 404,
                               "detail": "Item not found", "code": "not_found"}
    invalid = client.post("/probe/author_media/x", {"name": "ok"}, format="json").json()
    assert invalid["status"] == 400 and invalid["code"] == "validation_error"
    assert set(invalid["errors"]) == {"count"}


def test_envelope_dialect_admin_media(client: APIClient) -> None:
    assert client.get("/probe/admin_media/notfound").json() == {
        "success": False, "message": "Item not found", "data": None}
    invalid = client.post("/probe/admin_media/x", b"{not json", content_type="application/json")
    assert invalid.status_code == 400
    assert invalid.json()["success"] is False and invalid.json()["data"] is None


@pytest.mark.parametrize("app, key", [("user_library", "error"), ("media_library", "message"),
                                      ("ai_media", "error"), ("author_media", "detail"),
                                      ("admin_media", "message")])
def test_unexpected_errors_are_500_without_leaks(client: APIClient, app: str, key: str) -> None:
    response = client.get(f"/probe/{app}/crash")
    assert response.status_code == 500
    text = response.content.decode()
    assert "SELECT" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert response.json()[key] == "Internal server error"


@pytest.mark.parametrize("app", ["user_library", "media_library", "ai_media", "author_media",
                                 "admin_media"])
def test_throttled_is_429_with_retry_after(client: APIClient, app: str) -> None:
    response = client.get(f"/probe/{app}/throttled")
    assert response.status_code == 429
    assert response["Retry-After"] == "43"


@pytest.mark.parametrize("path, expected", [
    ("/api/library/nope/deeper", {"success": False, "error": "Not found"}),
    ("/workspaces/abc/media-library/nope", {"statusCode": 404, "message": "Not found",
                                            "error": "Not Found"}),
    ("/api/feed/nope", {"error": "Not found"}),
    ("/api/similar/x/y", {"error": "Not found"}),
    # admin_media answers in Chinese unless asked for English (apps/core/languages.py)
    ("/api/admin/media/nope", {"success": False, "message": "接口不存在", "data": None}),
])
def test_unknown_urls_under_an_app_use_its_dialect(client: APIClient, path: str,
                                                   expected: dict) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == expected


def test_unknown_url_under_v1_is_problem_json(client: APIClient) -> None:
    response = client.get("/v1/nope")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_unknown_non_api_url_is_html(client: APIClient) -> None:
    response = client.get("/definitely-not-here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
