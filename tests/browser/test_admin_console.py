"""The operators' console in a real browser: sign in, see every app's models, open the
change lists and a detail page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

APP_SECTIONS = ["Accounts", "Storage", "User library", "Workspace media library",
                "Ai media", "Author media", "Admin media"]


def test_the_admin_index_lists_every_app(admin_page: Page, shot: Callable[[str], Path]) -> None:
    for section in ("Accounts", "Storage", "Admin media"):
        expect(admin_page.locator("#content-main")).to_contain_text(section)
    assert shot("index").stat().st_size > 10_000


def test_a_wrong_password_is_refused(page: Page, operator: object,
                                     shot: Callable[[str], Path]) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    shot("refused")
