"""A database failure answers the operation's 500 message from the spec; nothing changes.

The writes are made to fail inside PostgreSQL (a trigger that raises on UPDATE of
``admin_media``), so the failure happens where a real one would, inside the write's
transaction; the read by a selector that raises ``DatabaseError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection
from rest_framework.test import APIClient

from admin_media import selectors, services
from admin_media.models import Media
from tests.admin_media.helpers import EN, ZH, error, get, listed, ok, send, snapshot

pytestmark = pytest.mark.django_db
MakeMedia = Callable[..., Media]


@pytest.fixture
def rows(make_media: MakeMedia) -> list[Media]:
    return [make_media(), make_media(media_type="video", type="video/mp4")]


@pytest.fixture
def failing_updates(rows: list[Media]) -> None:
    """Every UPDATE of admin_media fails (dropped with the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION admin_media_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
            CREATE TRIGGER admin_media_test_fail BEFORE UPDATE ON admin_media
                FOR EACH ROW EXECUTE FUNCTION admin_media_test_fail();""")


WRITES = [
    ("PATCH", {"mediaIds": ["media_001", "media_002"], "category": ["x"]},
     "批量设置标签失败", EN.SET_CATEGORY_FAILED),
    ("PUT", {"id": "media_002", "category": ["x"], "posterUrl": "https://example.com/p.jpg"},
     "编辑媒体文件失败", EN.EDIT_FAILED),
    ("DELETE", {"mediaIds": ["media_001", "media_002"]}, "批量删除媒体文件失败",
     EN.DELETE_FAILED),
]


@pytest.mark.parametrize("method, body, zh, en", WRITES, ids=[w[0] for w in WRITES])
def test_database_failure_in_a_write(staff: APIClient, failing_updates: None, method: str,
                                     body: dict[str, Any], zh: str, en: str) -> None:
    before = snapshot()
    error(send(staff, method, body), 500, zh)
    assert snapshot() == before
    error(send(staff, method, body, lang="en"), 500, en)
    assert snapshot() == before
    # the connection is still good: the next request is answered
    assert listed(get(staff))["total"] == 2


def test_writes_work_again_without_the_failure(staff: APIClient, rows: list[Media]) -> None:
    """The control of the test above: the same bodies succeed."""
    ok(send(staff, *WRITES[0][:2]), ZH.updated(2))
    ok(send(staff, *WRITES[1][:2]), ZH.UPDATED)
    ok(send(staff, *WRITES[2][:2]), ZH.deleted(2))


def _raise_database_error(*args: Any, **kwargs: Any) -> Any:
    raise DatabaseError("connection lost")


@pytest.mark.parametrize("name", ["media_total", "media_page"])
def test_database_failure_in_the_list(staff: APIClient, rows: list[Media],
                                      monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(selectors, name, _raise_database_error)
    error(get(staff), 500, "查询媒体文件失败")
    error(get(staff, lang="en"), 500, EN.QUERY_FAILED)


@pytest.mark.parametrize("method, body, zh, name", [
    ("PATCH", WRITES[0][1], WRITES[0][2], "media_set_categories"),
    ("PUT", WRITES[1][1], WRITES[1][2], "media_edit"),
    ("DELETE", WRITES[2][1], WRITES[2][2], "media_soft_delete"),
])
def test_database_failure_raised_by_a_service(staff: APIClient, rows: list[Media],
                                              monkeypatch: pytest.MonkeyPatch, method: str,
                                              body: dict[str, Any], zh: str,
                                              name: str) -> None:
    monkeypatch.setattr(services, name, _raise_database_error)
    before = snapshot()
    error(send(staff, method, body), 500, zh)
    assert snapshot() == before


def test_failure_message_never_leaks_the_cause(staff: APIClient,
                                               failing_updates: None) -> None:
    response = send(staff, "DELETE", {"mediaIds": ["media_001"]})
    assert response.status_code == 500
    assert b"disk on fire" not in response.content and b"admin_media" not in response.content


@pytest.mark.parametrize("method, body, zh, name", [
    ("GET", None, ZH.QUERY_FAILED, "media_total"),
    ("PATCH", WRITES[0][1], WRITES[0][2], "media_set_categories"),
    ("DELETE", WRITES[2][1], WRITES[2][2], "media_soft_delete"),
])
def test_unforeseen_failure_answers_the_operation_message(
        staff: APIClient, rows: list[Media], monkeypatch: pytest.MonkeyPatch, method: str,
        body: dict[str, Any] | None, zh: str, name: str) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(selectors if method == "GET" else services, name, boom)
    response = send(staff, method, body) if body is not None else get(staff)
    error(response, 500, zh)
