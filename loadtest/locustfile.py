"""The mix the load test drives: 70 % reads, 20 % writes, 10 % admin queries.

    locust -f loadtest/locustfile.py --headless ...   (``python -m loadtest`` runs it)

Every simulated client (``Client``) is a closed loop with a think time
(``LOADTEST_WAIT_MIN``..``LOADTEST_WAIT_MAX`` seconds) that picks a task by weight:

- reads (70): a library page of one of the loaded users (``/api/library``, first pages
  mostly, a deep offset sometimes), an ai_media feed page (a new feed, or the next page
  of the one it follows by ``nextCursor``), ``/api/similar/<id>``, a tag search,
  ``/api/tag-categories``, a media-library items list with ``search=``;
- writes (20): an image upload through author_media (``POST /v1/media/upload``, a small
  JPEG made unique by a random comment, so that no upload is a duplicate) that the
  client then polls until the scan and the thumbnails are done (time-to-ready is
  reported as the ``READY`` row); an ai_media tag edit (``POST /api/media`` with the
  item's fields and embedding and one tag changed, as the spec's upsert takes it); a
  media-library item binned and restored (soft delete, then restore from the bin);
- admin (10): ``/api/admin/media`` with one of the console's filters and a page.

Requests are named by endpoint template (``/api/similar/[id]``) so that locust's
statistics group per endpoint. Each client sends its own ``X-Forwarded-For`` address (one
of ``CLIENT_ADDRESSES``): the platform's throttles key anonymous reads by address, and a
public API's traffic comes from many; the configured rates stay as they are.

``LOADTEST_WARMUP`` seconds after the start the statistics are reset and
``var/loadtest/measure.started`` is written: the runner's CPU and queue figures start
from that mark, so both describe the same window.
"""

from __future__ import annotations

import io
import json
import os
import random
import time
import uuid
from collections import deque
from typing import Any

import gevent
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment

from loadtest import FIXTURE, MEASURE_MARK

FIX: dict[str, Any] = json.loads(
    open(os.environ.get("LOADTEST_FIXTURE", str(FIXTURE)), encoding="utf-8").read())  # noqa: SIM115
WARMUP = float(os.environ.get("LOADTEST_WARMUP", "0"))
WAIT = (float(os.environ.get("LOADTEST_WAIT_MIN", "0.2")),
        float(os.environ.get("LOADTEST_WAIT_MAX", "1.0")))
POLL_INTERVAL = 0.5  # seconds between two looks at an upload
READY_TIMEOUT = 120.0  # an upload not ready by then is a failure
CLIENT_ADDRESSES = 2000
FEED_MAX_PAGES = 50  # a client following the feed starts over after this many pages
ML_BASE = f"/workspaces/{FIX['media_library']['workspace_id']}/media-library"
ML_NAME = "/workspaces/[ws]/media-library"
# One owner at a time for the items that are edited or binned: two clients editing one
# item at once is not the mix's point, and a delete of an item already binned is a 404.
TAG_EDIT_POOL: deque[dict[str, Any]] = deque(FIX["ai_media"]["tag_edit_items"])
BIN_POOL: deque[str] = deque(FIX["media_library"]["bin_items"])


@events.test_start.add_listener
def _schedule_reset(environment: Environment, **_kwargs: Any) -> None:
    """Reset the statistics after the warm-up, and mark the moment for the runner."""
    def reset() -> None:
        gevent.sleep(WARMUP)
        environment.stats.reset_all()
        MEASURE_MARK.write_text(f"{time.time():.3f}\n")

    MEASURE_MARK.unlink(missing_ok=True)
    gevent.spawn(reset)


def _jpeg_bases(count: int = 8) -> list[bytes]:
    """Small photos-like JPEGs (a gradient with noise, 640x480, ~50 KB)."""
    from PIL import Image, ImageFilter

    out = []
    for i in range(count):
        noise = Image.effect_noise((640, 480), 40 + 5 * i).convert("RGB")
        gradient = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
        image = Image.blend(noise, gradient, 0.5).filter(ImageFilter.SMOOTH)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


JPEGS = _jpeg_bases()


def unique_jpeg() -> bytes:
    """A base JPEG with a random COM segment after SOI: same picture, new SHA-256."""
    base = random.choice(JPEGS)
    comment = uuid.uuid4().hex.encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def multipart(field: str, name: str, content_type: str, body: bytes) -> tuple[bytes, str]:
    """A one-file multipart/form-data body and its Content-Type."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
    return head + body + f"\r\n--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


class Client(FastHttpUser):
    """One user of the platform's APIs (see the module's docstring for the mix)."""

    def wait_time(self) -> float:
        return random.uniform(*WAIT)

    def on_start(self) -> None:
        self.address = f"10.{random.randrange(256)}.{random.randrange(256)}." \
                       f"{random.randrange(CLIENT_ADDRESSES) % 256}"
        self.library = random.choice(FIX["library"]["users"])
        self.uploader = random.choice(FIX["uploaders"])
        self.feed_cursor: str | None = None
        self.feed_pages = 0

    def _headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"X-Forwarded-For": self.address, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    # -- reads (70) ----------------------------------------------------------------------

    @task(14)
    def library_list(self) -> None:
        items = int(self.library["items"])
        if random.random() < 0.7:
            offset = 20 * random.randrange(5)
        else:
            offset = random.randrange(max(1, items - 20))
        params: dict[str, Any] = {"limit": 20, "offset": offset}
        if random.random() < 0.2:
            params["type"] = random.choice(("image", "video"))
        self.client.get("/api/library", params=params, name="/api/library",
                        headers=self._headers(self.library["token"]))

    @task(14)
    def feed(self) -> None:
        params: dict[str, Any] = {"limit": 20}
        following = self.feed_cursor is not None and random.random() < 0.7
        if following:
            params["cursor"] = self.feed_cursor
        with self.client.get("/api/feed", params=params, catch_response=True,
                             name="/api/feed (next page)" if following else "/api/feed",
                             headers=self._headers()) as response:
            if response.status_code != 200:
                return  # failed by locust already
            self.feed_cursor = response.json().get("nextCursor")
            self.feed_pages = self.feed_pages + 1 if following else 1
            if self.feed_pages >= FEED_MAX_PAGES:
                self.feed_cursor = None

    @task(10)
    def similar(self) -> None:
        media_id = random.choice(FIX["ai_media"]["similar_ids"])
        self.client.get(f"/api/similar/{media_id}", params={"limit": 10},
                        name="/api/similar/[id]", headers=self._headers())

    @task(10)
    def search(self) -> None:
        tags = random.choice(FIX["ai_media"]["search_tags"])
        self.client.get("/api/search", params={"tags": tags, "limit": 20},
                        name="/api/search", headers=self._headers())

    @task(7)
    def tag_categories(self) -> None:
        self.client.get("/api/tag-categories", name="/api/tag-categories",
                        headers=self._headers())

    @task(15)
    def media_library_search(self) -> None:
        ml = FIX["media_library"]
        params: dict[str, Any] = {"search": random.choice(ml["search"]), "limit": 50}
        if random.random() < 0.2:
            params["type"] = random.choice(("image", "video"))
        self.client.get(f"{ML_BASE}/items", params=params, name=f"{ML_NAME}/items?search",
                        headers=self._headers(ml["token"]))

    # -- writes (20) ---------------------------------------------------------------------

    @task(7)
    def upload(self) -> None:
        body, content_type = multipart("file", f"photo-{uuid.uuid4().hex[:8]}.jpg",
                                       "image/jpeg", unique_jpeg())
        started = time.perf_counter()
        with self.client.post("/v1/media/upload", data=body, name="/v1/media/upload",
                              catch_response=True,
                              headers={**self._headers(self.uploader),
                                       "Content-Type": content_type}) as response:
            if response.status_code != 201:
                response.failure(f"upload answered {response.status_code}")
                return
            media_id = response.json()["id"]
        self._await_ready(media_id, started)

    def _await_ready(self, media_id: str, started: float) -> None:
        """Poll the file until it is processed; report the time as a ``READY`` row."""
        error: Exception | None = None
        while True:
            gevent.sleep(POLL_INTERVAL)
            response = self.client.get(f"/v1/media/{media_id}", name="/v1/media/[id] (poll)",
                                       headers=self._headers(self.uploader))
            if response.status_code != 200:
                error = RuntimeError(f"poll answered {response.status_code}")
                break
            row = response.json()
            if row.get("isProcessed") and row.get("thumbnailUrl"):
                break
            if row.get("processingError") or row.get("isQuarantined"):
                error = RuntimeError(f"not ready: {row.get('processingError')} "
                                     f"{row.get('scanStatus')}")
                break
            if time.perf_counter() - started > READY_TIMEOUT:
                error = TimeoutError(f"not ready in {READY_TIMEOUT:.0f} s")
                break
        self.environment.events.request.fire(
            request_type="READY", name="upload time-to-ready", response_length=0,
            response_time=(time.perf_counter() - started) * 1000, exception=error,
            context={})

    @task(7)
    def tag_edit(self) -> None:
        if not TAG_EDIT_POOL:
            return
        item = TAG_EDIT_POOL.popleft()
        try:
            tags = {k: list(v) for k, v in item["ai_tags"].items()}
            category = random.choice(list(tags))
            tags[category] = [random.choice(FIX["ai_media"]["categories"][category])]
            self.client.post("/api/media", json={**item, "ai_tags": tags},
                             name="/api/media (tag edit)",
                             headers=self._headers(FIX["api_secret"]))
        finally:
            TAG_EDIT_POOL.append(item)

    @task(6)
    def bin_and_restore(self) -> None:
        if not BIN_POOL:
            return
        item_id = BIN_POOL.popleft()
        token = FIX["media_library"]["token"]
        try:
            deleted = self.client.delete(f"{ML_BASE}/items/{item_id}",
                                         name=f"{ML_NAME}/items/[id] (soft delete)",
                                         headers=self._headers(token))
            if deleted.status_code == 200:
                gevent.sleep(random.uniform(*WAIT))
                self.client.post(f"{ML_BASE}/items/{item_id}/restore",
                                 name=f"{ML_NAME}/items/[id]/restore",
                                 headers=self._headers(token))
        finally:
            BIN_POOL.append(item_id)

    # -- admin (10) ----------------------------------------------------------------------

    @task(10)
    def admin_media(self) -> None:
        admin = FIX["admin_media"]
        choice = random.randrange(6)
        params: dict[str, Any] = {"pageSize": 20, "page": random.choice((1, 1, 1, 2, 5, 50))}
        if choice == 1:
            params["category"] = random.choice(admin["categories"])
        elif choice == 2:
            params["type"] = random.choice(admin["mime_types"])
        elif choice == 3:
            params["mediaType"] = random.choice(("image", "video"))
        elif choice == 4:
            params["aspectRatio"] = random.choice(admin["aspect_ratios"])
        elif choice == 5:
            params.update(category=random.choice(admin["categories"][:10]),
                          mediaType=random.choice(("image", "video")))
        self.client.get("/api/admin/media", params=params, name="/api/admin/media",
                        headers=self._headers(admin["token"]))
