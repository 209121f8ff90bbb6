"""The media browser (``/browse/``) in a real browser: sign in, upload by drag and drop,
watch the processing state change by itself until the thumbnail shows, open an item and
its similar items, delete it; the AI feed with a tag filter and similar items.

The worker's messages (scan, pipeline, CLIP embedding) are held in the test instead of
going to a broker (``HeldTasks``) and run here, one stage at a time, so that each state
the page shows can be seen and photographed before the next one begins; the page itself
only ever learns of the changes by polling the API, as it does in production.
"""

from __future__ import annotations

import base64
import functools
import io
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from ai_media.services import media_upsert_many
from apps.accounts.models import User
from tests.local_http import StaticServer
from tests.user_library.helpers import set_limit
from user_library.models import LibraryItem

PASSWORD = "Viewer-Pass-123"
SLOW = 15_000  # ms: a state that changes when the page next polls (1 s, backing off)


def picture(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    """A distinct PNG per seed: a coarse grid of random colours, scaled up."""
    grid = np.random.default_rng(seed).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grid).resize(size, Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


class HeldTasks:
    """The pipeline's Celery messages, held instead of sent; ``run`` works them off here.

    ``apply_async`` of the scan, pipeline and embedding tasks is replaced for the test,
    in every thread (the live server's request handlers queue them after commit).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from apps.processing.tasks import embed_files, run_pipeline, scan

        self.tasks = {task.name: task for task in (scan, run_pipeline, embed_files)}
        self.queue: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        for name, task in self.tasks.items():
            monkeypatch.setattr(task, "apply_async", functools.partial(self._hold, name))

    def _hold(self, name: str, args: Any = None, kwargs: dict[str, Any] | None = None,
              **options: Any) -> None:
        with self._lock:
            self.queue.append((name, dict(kwargs or {})))

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.queue]

    def run(self, *names: str) -> int:
        """Run the held messages of these tasks (all if none named), and those they queue
        of the same tasks, until none is left; the number run."""
        ran = 0
        while True:
            with self._lock:
                picked = [m for m in self.queue if not names or m[0] in names]
                self.queue = [m for m in self.queue if m not in picked]
            if not picked:
                return ran
            for name, kwargs in picked:
                self.tasks[name].apply(kwargs=kwargs)
                ran += 1


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldTasks:
    return HeldTasks(monkeypatch)


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.apps.processing.clip_model import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("models") / "ViT-tiny__browse").root


@pytest.fixture
def clip(settings: Any, tiny_clip_dir: Path, tmp_path: Path) -> Iterator[None]:
    """The tests' tiny ONNX CLIP model, so uploaded images get real embeddings."""
    from apps.processing.engines import clip as engine

    engine.clear_embedders()
    settings.CLIP_MODEL_DIR = str(tiny_clip_dir)
    settings.VAR_DIR = tmp_path / "var"
    yield
    engine.clear_embedders()


@pytest.fixture
def viewer(transactional_db: None) -> User:
    """A user of the platform, not staff."""
    return User.objects.create_user("dana", "dana@example.com", PASSWORD)


@pytest.fixture
def images() -> Iterator[StaticServer]:
    """Where the AI feed's media live (an importer's CDN, here on 127.0.0.1)."""
    server = StaticServer({f"/{kind}/{n}.png": ("image/png", picture(n, size))
                           for n in range(1, 6)
                           for kind, size in (("thumb", (160, 120)), ("full", (480, 360)))})
    server.start()
    yield server
    server.stop()


def sign_in(page: Page, user: User) -> None:
    page.goto("/browse/")
    page.wait_for_url("**/browse/login/?next=/browse/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/browse/")
    expect(page.locator("#username")).to_have_text(user.username)


def drop(page: Page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drag files onto an element as a user does: a DataTransfer holding real File objects,
    then dragenter, dragover and drop."""
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const file of files) {
                const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], file.name, {type: file.type}));
            }
            return transfer;
        }""",
        [{"name": name, "type": kind, "data": base64.b64encode(data).decode()}
         for name, kind, data in files])
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def images_loaded(page: Page, selector: str) -> None:
    """Every <img> under ``selector`` has loaded real pixels (not a broken image)."""
    page.wait_for_function(
        """(selector) => {
            const found = [...document.querySelectorAll(selector)];
            return found.length > 0 && found.every((img) => img.complete && img.naturalWidth > 0);
        }""", arg=selector)


def meter_value(page: Page) -> float:
    return float(page.locator("#usage-meter").evaluate("(meter) => meter.value"))


def test_upload_by_drag_and_drop_then_open_and_delete(
        page: Page, viewer: User, held: HeldTasks, clip: None,
        shot: Callable[[str], Path]) -> None:
    sign_in(page, viewer)
    expect(page.locator("#empty")).to_have_text(re.compile("Your library is empty"))
    expect(page.locator("#usage-text")).to_have_text("0 B of 1.0 GB used · 0 items")
    expect(page.locator("noscript")).to_have_count(1)
    shot("empty-library")

    drop(page, "#dropzone", [(f"picture-{n}.png", "image/png", picture(n)) for n in (1, 2, 3)])
    rows = page.locator("#uploads li")
    expect(rows).to_have_count(3)
    expect(rows.locator("progress")).to_have_count(3)
    expect(rows.locator(".upload-state")).to_have_text(["Uploaded"] * 3)
    assert rows.locator("progress").evaluate_all("(bars) => bars.map((b) => b.value)") == [100] * 3
    cards = page.locator("#grid .card")
    statuses = page.locator("#grid .card .badge.status")
    expect(cards).to_have_count(3)
    expect(statuses).to_have_text(["pending"] * 3)  # not scanned yet
    expect(page.locator("#empty")).to_be_hidden()
    shot("uploaded-pending")

    assert held.run("processing.scan") == 3  # clamd clears them; the pipeline is queued
    assert held.names() == ["processing.run_pipeline"] * 3
    expect(statuses).to_have_text(["processing"] * 3, timeout=SLOW)
    shot("processing")

    held.run()  # probe, metadata, variants; then the CLIP embeddings
    expect(statuses).to_have_text(["ready"] * 3, timeout=SLOW)
    expect(page.locator("#grid .card img")).to_have_count(3)
    images_loaded(page, "#grid .card img")
    expect(page.locator("#usage-text")).to_contain_text("3 items")
    shot("ready")

    used = meter_value(page)
    assert used > 0
    first = cards.first
    first_id = first.get_attribute("data-id")
    assert first_id
    first.locator("button").click()
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(re.compile(f"#library/{first_id}$"))
    meta = page.locator("#detail-meta")
    for text in ("ready", "image/png", "160 \u00d7 120 px", "generate", "Size"):
        expect(meta).to_contain_text(text)
    images_loaded(page, "#detail-preview img")
    similar = page.locator("#similar .card")
    expect(similar).to_have_count(2)
    expect(similar.locator(".similarity")).to_have_text([re.compile(r"^\d+% similar$")] * 2)
    assert first_id not in similar.evaluate_all("(cards) => cards.map((c) => c.dataset.id)")
    images_loaded(page, "#similar img")
    shot("detail-with-similar-items")

    page.once("dialog", lambda confirm: confirm.accept())
    page.click("#detail-delete")
    expect(dialog).to_be_hidden()
    expect(cards).to_have_count(2)
    expect(page.locator(f'#grid .card[data-id="{first_id}"]')).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Deleted.")
    expect(page.locator("#usage-text")).to_contain_text("2 items")
    assert meter_value(page) < used
    expect(page).to_have_url(re.compile("#library$"))
    shot("deleted")
    assert not LibraryItem.objects.filter(pk=first_id).exists()


def test_refused_uploads_say_why_and_signing_out(page: Page, viewer: User, held: HeldTasks,
                                                 shot: Callable[[str], Path]) -> None:
    sign_in(page, viewer)
    expect(page.locator("#usage-text")).to_contain_text("0 items")
    drop(page, "#dropzone", [("notes.txt", "text/plain", b"just some text, not an image\n")])
    errors = page.locator("#messages .message.error")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("notes.txt: ")
    expect(errors).to_contain_text("not accepted")
    expect(page.locator("#uploads li.failed")).to_contain_text("Failed")
    shot("refused-type")

    set_limit(viewer, 100)  # an operator lowered this user's library quota
    drop(page, "#dropzone", [("big.png", "image/png", picture(9))])
    expect(errors.nth(1)).to_have_text(re.compile("big.png: Storage quota exceeded"))
    expect(page.locator("#usage-text")).to_have_text("0 B of 100 B used · 0 items")
    expect(page.locator("#grid .card")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()
    shot("refused-quota")
    assert held.names() == [] and not LibraryItem.objects.exists()

    page.click("text=Sign out")
    page.wait_for_url("**/browse/login/")
    expect(page.locator("h1")).to_have_text("Media browser")
    page.goto("/browse/")
    page.wait_for_url("**/browse/login/?next=/browse/")
    shot("signed-out")


def test_the_ai_feed_filters_by_tag_and_shows_similar_items(
        page: Page, viewer: User, images: StaticServer, shot: Callable[[str], Path]) -> None:
    rng = np.random.default_rng(11)
    base = rng.normal(size=512)
    tags = {1: {"setting": ["beach"], "hair": ["blonde"]},
            2: {"setting": ["beach"], "hair": ["brunette"]},
            3: {"setting": ["studio"], "hair": ["blonde"]},
            4: {"setting": ["city"], "hair": ["red"]},
            5: {"setting": ["studio"], "hair": ["brunette"]}}
    items = []
    for n, item_tags in tags.items():
        vector = base + (n - 1) * 0.6 * rng.normal(size=512)  # item 1 nearest to 2, ...
        items.append({
            "id": f"feed-{n}", "media_type": "video" if n == 5 else "image",
            "media_url": images.url(f"/full/{n}.png"), "thumbnail_url": images.url(f"/thumb/{n}.png"),
            "title": f"Feed picture {n}", "created_at": f"2026-02-0{n}T12:00:00Z",
            "ai_tags": item_tags, "clip_embedding": [float(x) for x in vector / np.linalg.norm(vector)]})
    assert media_upsert_many(items).errors == []

    sign_in(page, viewer)
    page.click("#tab-feed")
    expect(page).to_have_url(re.compile("#feed$"))
    expect(page.locator("#tab-feed")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#dropzone")).to_be_hidden()  # uploads go to the library
    cards = page.locator("#grid .card")
    expect(cards).to_have_count(5)
    expect(cards.first.locator("img")).to_have_attribute("alt", re.compile("Feed picture 5"))
    images_loaded(page, "#grid .card img")
    shot("feed")

    page.fill("#filter-tags", "beach")
    page.click("#filters button[type=submit]")
    expect(cards).to_have_count(2)
    expect(cards.nth(0).locator("img")).to_have_attribute("alt", "Image: Feed picture 2")
    expect(cards.nth(1).locator("img")).to_have_attribute("alt", "Image: Feed picture 1")
    shot("filtered-beach")
    page.fill("#filter-tags", "beach, brunette")  # all must match
    page.click("#filters button[type=submit]")
    expect(cards).to_have_count(1)
    page.fill("#filter-tags", "")
    page.select_option("#filter-type", "video")  # applied when chosen
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("video")
    page.select_option("#filter-type", "")
    expect(cards).to_have_count(5)

    page.locator('#grid .card[data-id="feed-1"] button').click()
    expect(page).to_have_url(re.compile("#feed/feed-1$"))
    expect(page.locator("#detail-title")).to_have_text("Feed picture 1")
    expect(page.locator("#detail-tags")).to_contain_text("setting:beach")
    expect(page.locator("#detail-tags")).to_contain_text("hair:blonde")
    images_loaded(page, "#detail-preview img")
    similar = page.locator("#similar .card")
    expect(similar).to_have_count(4)
    assert similar.evaluate_all("(cards) => cards.map((c) => c.dataset.id)") == [
        "feed-2", "feed-3", "feed-4", "feed-5"]  # nearest first
    shot("feed-detail")

    page.reload()  # the hash links to the open item
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("Feed picture 1")
    similar.nth(0).locator("button").click()  # one similar item leads to the next
    expect(page.locator("#detail-title")).to_have_text("Feed picture 2")
    expect(page).to_have_url(re.compile("#feed/feed-2$"))
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    expect(page).to_have_url(re.compile("#feed$"))
    shot("closed")
