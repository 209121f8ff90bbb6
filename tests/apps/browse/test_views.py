"""The media browser's server side: the sign-in and sign-out pages and the page shell.

What the page does in a browser is tested in tests/browser/test_browse.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from apps.browse.views import ID_SLOT

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Pass-123"  # tests/conftest.py make_user


def config_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="browse-config" type="application/json">(.*?)</script>',
                      html, re.S)
    assert found, "the page carries its configuration"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_page_needs_a_signed_in_user(client: Client) -> None:
    response = client.get("/browse/")
    assert response.status_code == 302
    assert response["Location"] == "/browse/login/?next=/browse/"


def test_the_login_page_renders_its_form(client: Client) -> None:
    response = client.get("/browse/login/?next=/browse/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="next" value="/browse/"' in html
    assert "/static/browse/browse.css" in html
    assert "needs JavaScript" in html


def test_signing_in_leads_to_the_page(client: Client, make_user: Any) -> None:
    make_user("carol")
    response = client.post("/browse/login/", {"username": "carol", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/browse/"
    refused = Client().post("/browse/login/", {"username": "carol", "password": "nope"})
    assert refused.status_code == 200
    assert "did not match" in refused.content.decode()


def test_a_signed_in_user_skips_the_login_form(client: Client, make_user: Any) -> None:
    client.force_login(make_user("carol"))
    response = client.get("/browse/login/")
    assert response.status_code == 302 and response["Location"] == "/browse/"


def test_the_page_shell_names_the_user_and_links_its_assets(client: Client,
                                                             make_user: Any) -> None:
    client.force_login(make_user("carol"))
    response = client.get("/browse/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="username">carol</strong>' in html
    assert '<script src="/static/browse/browse.js" defer>' in html
    assert '<link rel="stylesheet" href="/static/browse/browse.css">' in html
    assert "<noscript>" in html and "needs JavaScript" in html
    assert 'id="dropzone"' in html and 'id="usage-meter"' in html
    assert "csrftoken" in response.cookies  # for the script's writes (X-CSRFToken)
    config = config_of(html)
    assert config["idSlot"] == ID_SLOT and config["csrfToken"]
    assert config["api"] == {
        "library": "/api/library", "libraryItem": f"/api/library/{ID_SLOT}",
        "librarySimilar": f"/api/library/{ID_SLOT}/similar", "usage": "/api/library/usage",
        "feed": "/api/feed", "media": f"/api/media/{ID_SLOT}",
        "similar": f"/api/similar/{ID_SLOT}", "tagCategories": "/api/tag-categories"}


def test_the_static_assets_are_served(client: Client) -> None:
    for path, kind in (("/static/browse/browse.js", "javascript"),
                       ("/static/browse/browse.css", "css")):
        response = client.get(path)
        assert response.status_code == 200
        assert kind in response["Content-Type"]
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert len(body) > 1000 and b"http://" not in body and b"https://" not in body


def test_signing_out_needs_a_post_and_leads_to_the_login_form(client: Client,
                                                              make_user: Any) -> None:
    client.force_login(make_user("carol"))
    assert client.get("/browse/logout/").status_code == 405
    response = client.post("/browse/logout/")
    assert response.status_code == 302 and response["Location"] == "/browse/login/"
    assert client.get("/browse/").status_code == 302  # signed out
