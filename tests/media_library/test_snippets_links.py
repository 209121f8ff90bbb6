"""Text snippets and saved links beyond what all kinds share (test_objects.py); the
links' previews, fetched by the worker through the SSRF-safe fetcher."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Workspace
from media_library.models import SavedLink, TextSnippet
from tests.media_library.factories import (
    counts,
    link_body,
    make_link,
    make_snippet,
    problems,
    snippet_body,
)
from tests.media_library.pages import PageServer

# -- snippets -----------------------------------------------------------------------------


def test_snippet_create_and_update(member: APIClient, base: str) -> None:
    created = member.post(f"{base}/snippets", snippet_body(
        snippetType="hashtag", content="#summer #sale", tags=["s"]), format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["snippetType"], body["content"], body["tags"]) == ("hashtag", "#summer #sale",
                                                                    ["s"])
    updated = member.put(f"{base}/snippets/{body['id']}",
                         {"snippetType": "cta", "content": "Buy now!"}, format="json").json()
    assert (updated["snippetType"], updated["content"], updated["name"]) == (
        "cta", "Buy now!", "Sale caption")
    row = TextSnippet.objects.get(pk=body["id"])
    assert (row.snippet_type, row.content) == ("cta", "Buy now!")


@pytest.mark.parametrize(("over", "messages"), [
    ({"snippetType": "quote"},
     ["snippetType must be one of the following values: caption, hashtag, cta"]),
    ({"content": ""}, ["content should not be empty"]),
    ({"content": None}, ["content should not be empty"]),
    ({"content": ["a"]}, ["content must be a string"]),
    ({"name": None, "snippetType": None},
     ["name should not be empty", "snippetType should not be empty"]),
])
def test_snippet_create_rejects_bad_bodies(over: dict[str, Any], messages: list[str],
                                           member: APIClient, base: str,
                                           workspace: Workspace) -> None:
    response = member.post(f"{base}/snippets", snippet_body(**over), format="json")
    assert response.status_code == 400
    assert problems(response) == messages
    assert counts(workspace)["TextSnippet"] == 0


def test_snippet_type_filter(viewer: APIClient, base: str, workspace: Workspace) -> None:
    make_snippet(workspace, "cap", snippet_type="caption")
    make_snippet(workspace, "tags", snippet_type="hashtag")
    make_snippet(workspace, "cta", snippet_type="cta")
    listed = viewer.get(f"{base}/snippets", {"snippetType": "hashtag"}).json()
    assert [o["name"] for o in listed["items"]] == ["tags"] and listed["total"] == 1
    bad = viewer.get(f"{base}/snippets", {"snippetType": "quote"})
    assert bad.status_code == 400
    assert problems(bad) == [
        "snippetType must be one of the following values: caption, hashtag, cta"]


def test_snippet_search_covers_content_not_tags(viewer: APIClient, base: str,
                                                workspace: Workspace) -> None:
    make_snippet(workspace, "one", content="Use code SUMMER20")
    make_snippet(workspace, "two", content="nothing", tags=["summer20"])
    found = viewer.get(f"{base}/snippets", {"search": "summer20"}).json()
    assert [o["name"] for o in found["items"]] == ["one"]


# -- links ----------------------------------------------------------------------------------


def test_link_create_returns_at_once_without_a_preview(member: APIClient, base: str) -> None:
    response = member.post(f"{base}/links", link_body(description="Our blog", tags=["b"]),
                           format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["url"], body["description"], body["tags"]) == (
        "https://blog.example.com/", "Our blog", ["b"])
    for name in ("previewTitle", "previewDescription", "previewImageUrl", "previewSiteName"):
        assert body[name] is None, name
    assert SavedLink.objects.get(pk=body["id"]).preview is None


@pytest.mark.parametrize("url", ["blog.example.com", "ftp://example.com/x", "http://",
                                 "https://exa mple.com/", "mailto:a@example.com", ""])
def test_link_url_must_be_a_url(url: str, member: APIClient, base: str,
                                workspace: Workspace) -> None:
    response = member.post(f"{base}/links", link_body(url=url), format="json")
    assert response.status_code == 400
    assert problems(response) == ["url must be a URL address"]
    assert counts(workspace)["SavedLink"] == 0


def test_link_search_covers_the_url(viewer: APIClient, base: str,
                                    workspace: Workspace) -> None:
    make_link(workspace, "shop", url="https://SHOP.example.com/deals")
    make_link(workspace, "blog", url="https://blog.example.com/")
    found = viewer.get(f"{base}/links", {"search": "shop.EXAMPLE"}).json()
    assert [o["name"] for o in found["items"]] == ["shop"]


HTML = (b'<html><head><title>Fallback</title>'
        b'<meta property="og:title" content="A story">'
        b'<meta property="og:description" content="What happened">'
        b'<meta property="og:site_name" content="The Blog">'
        b'<meta property="og:image" content="/img/cover.png"></head><body></body></html>')


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": ["127.0.0.0/8"]}


def test_preview_is_fetched_after_the_commit(loopback_allowed: None, page_server: PageServer,
                                             member: APIClient, base: str,
                                             django_capture_on_commit_callbacks: Any) -> None:
    page_server.pages["/story"] = HTML
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = member.post(f"{base}/links", link_body(url=page_server.url("/story")),
                               format="json")
        assert response.status_code == 201
        assert response.json()["previewTitle"] is None  # returned before any fetch
        assert page_server.requests == []
    assert len(callbacks) == 1
    body = member.get(f"{base}/links/{response.json()['id']}").json()
    assert body["previewTitle"] == "A story"
    assert body["previewDescription"] == "What happened"
    assert body["previewSiteName"] == "The Blog"
    assert body["previewImageUrl"] == page_server.url("/img/cover.png")
    assert page_server.requests == ["/story"]


def test_refresh_preview_fetches_again(loopback_allowed: None, page_server: PageServer,
                                       member: APIClient, base: str,
                                       django_capture_on_commit_callbacks: Any) -> None:
    page_server.pages["/story"] = HTML
    with django_capture_on_commit_callbacks(execute=True):
        link_id = member.post(f"{base}/links", link_body(url=page_server.url("/story")),
                              format="json").json()["id"]
    page_server.pages["/story"] = HTML.replace(b"A story", b"A new story")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = member.post(f"{base}/links/{link_id}/refresh-preview")
        assert response.status_code == 200
        assert response.json()["id"] == link_id and response.json()["previewTitle"] is None
    assert len(callbacks) == 1
    assert member.get(f"{base}/links/{link_id}").json()["previewTitle"] == "A new story"
    assert len(page_server.requests) == 2


def test_changing_the_url_fetches_the_new_one(loopback_allowed: None, page_server: PageServer,
                                              member: APIClient, base: str,
                                              workspace: Workspace,
                                              django_capture_on_commit_callbacks: Any) -> None:
    page_server.pages["/new"] = HTML
    link = make_link(workspace, "l", url="https://example.com/old",
                     preview={"status": "ok", "title": "Old", "fetched_at": "x"})
    assert member.get(f"{base}/links/{link.id}").json()["previewTitle"] == "Old"
    with django_capture_on_commit_callbacks(execute=True) as renamed:
        body = member.put(f"{base}/links/{link.id}", {"name": "renamed"}, format="json").json()
    assert renamed == [] and body["previewTitle"] == "Old"  # same URL: nothing re-fetched
    with django_capture_on_commit_callbacks(execute=True):
        body = member.put(f"{base}/links/{link.id}", {"url": page_server.url("/new")},
                          format="json").json()
        assert body["previewTitle"] is None
    assert member.get(f"{base}/links/{link.id}").json()["previewTitle"] == "A story"


def test_loopback_server_is_never_fetched(page_server: PageServer, member: APIClient, base: str,
                                          django_capture_on_commit_callbacks: Any) -> None:
    page_server.pages["/story"] = HTML
    with django_capture_on_commit_callbacks(execute=True):
        link_id = member.post(f"{base}/links", link_body(url=page_server.url("/story")),
                              format="json").json()["id"]
    assert page_server.requests == []
    body = member.get(f"{base}/links/{link_id}").json()
    assert body["previewTitle"] is None and body["previewImageUrl"] is None
    assert body["previewStatus"] == "failed"
    assert "127.0.0.1" not in str(body["previewError"])
    preview = SavedLink.objects.get(pk=link_id).preview
    assert preview is not None and preview["status"] == "error"


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/", "http://192.168.1.10/admin", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/", "http://localhost/", "http://0.0.0.0/", "http://127.1/"])
def test_private_addresses_are_refused(url: str, member: APIClient, base: str,
                                       django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = member.post(f"{base}/links", link_body(url=url), format="json")
    assert response.status_code == 201
    body = member.get(f"{base}/links/{response.json()['id']}").json()
    assert body["previewTitle"] is None and body["previewStatus"] == "failed"
    preview = SavedLink.objects.get(pk=body["id"]).preview
    assert preview is not None and preview["status"] == "error"
    assert preview["code"] == "fetch_refused"
