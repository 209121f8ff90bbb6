"""Browser tests: Debian's chromium driven by Playwright, against the platform served on
127.0.0.1 by pytest-django's live server (the real URLconf, middleware and static files).

Each test gets a page and a ``shot(name)`` that saves a screenshot of the step under
``test-artifacts/<test name>/`` (kept by CI); tests assert on what the page shows.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from apps.accounts.models import User

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ADMIN_PASSWORD = "Operator-Pass-123"



@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs its own event loop; Django's async-unsafe guard would
    # see it and refuse ORM calls made by the test itself.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280,
                                                                      "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[int] = []

    def take(name: str) -> Path:
        taken.append(1)
        path = folder / f"{len(taken):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def operator(transactional_db: None) -> User:
    return User.objects.create_superuser("operator", "ops@example.com", ADMIN_PASSWORD)


@pytest.fixture
def admin_page(page: Page, operator: User) -> Page:
    """A page signed in to the Django admin as a superuser, through its login form."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page
