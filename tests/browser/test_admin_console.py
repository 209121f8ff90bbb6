"""The operators' console in a real browser: sign in, see every app's models, open the
change lists and a detail page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.storage.blobs import blob_store
from apps.storage.models import ScanStatus, StoredFile
from tests.browser.conftest import ADMIN_PASSWORD
from tests.user_library.helpers import PNG


def test_the_admin_index_shows_the_dashboard(page: Page, operator: User,
                                             shot: Callable[[str], Path]) -> None:
    blob_store.put(PNG, owner=operator, name="seen.png")
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    for section in ("Accounts", "Storage", "Admin media"):
        expect(page.locator("#content-main")).to_contain_text(section)
    expect(page.locator("#chart-storage rect")).to_have_count(1)
    expect(page.locator("#chart-kinds")).to_be_visible()
    expect(page.locator("#workers")).to_contain_text("queue")
    assert page.locator("#chart-storage rect").first.bounding_box()["width"] > 50
    assert shot("dashboard").stat().st_size > 10_000


def test_a_wrong_password_is_refused(page: Page, operator: object,
                                     shot: Callable[[str], Path]) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    shot("refused")


CHANGELISTS = [
    ("/admin/accounts/user/", "operator"),
    ("/admin/storage/storedfile/", "held.png"),
    ("/admin/user_library/libraryitem/", "library item"),
    ("/admin/media_library/mediaitem/", "media item"),
    ("/admin/ai_media/media/", "media"),
    ("/admin/author_media/mediafile/", "media file"),
    ("/admin/admin_media/media/", "media"),
]


def test_release_from_quarantine_in_the_browser(admin_page: Page, operator: User,
                                                shot: Callable[[str], Path]) -> None:
    held = blob_store.put(PNG, owner=operator, name="held.png")
    StoredFile.objects.filter(pk=held.pk).update(scan_status=ScanStatus.INFECTED,
                                                 is_quarantined=True)
    for url, text in CHANGELISTS:
        admin_page.goto(url)
        expect(admin_page.locator("#content")).to_contain_text(text, ignore_case=True)
        shot(url.strip("/").replace("/", "-"))
    admin_page.goto("/admin/storage/storedfile/?is_quarantined__exact=1")
    expect(admin_page.locator("#result_list")).to_contain_text("held.png")
    admin_page.locator("#result_list").get_by_role("link", name="held.png").click()
    expect(admin_page.locator("#content")).to_contain_text(held.sha256)
    shot("detail")
    admin_page.go_back()
    admin_page.locator("input.action-select").first.check()
    admin_page.select_option("select[name=action]", "release_from_quarantine")
    admin_page.fill("input[name=reason]", "false positive, reviewed")
    admin_page.click("button[name=index]")
    expect(admin_page.locator(".messagelist")).to_contain_text("Released 1 file(s).")
    shot("released")
    held.refresh_from_db()
    assert held.scan_status == ScanStatus.CLEAN and not held.is_quarantined
