"""The embedded PostgreSQL stopped and started again under load.

Two clients keep reading a library and uploading files to a live server while the
test stops the real database server (``pg_ctl stop -m fast``: every connection cut) and
starts it again. During the gap every answer is a clean 503 in the app's dialect with
Retry-After, never a 500 or a hang; after it, requests succeed again on new
connections; every acknowledged upload is there with its bytes and counted once.
Serial (``real_worker``): it takes the database away from everything else.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection, connections
from django.db.models import Sum
from PIL import Image
from rest_framework_simplejwt.tokens import AccessToken

from apps.storage import quota
from apps.storage.models import StoredFile, Variant
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile
from config.celery import app
from config.embedded_postgres import ensure_running, stop
from tests.hardening.figures import record

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20 + seed % 40, 20 + seed // 40), (seed % 256, 3, 9)).save(buffer, "PNG")
    return buffer.getvalue()


class Load(threading.Thread):
    """Reads and uploads in a loop, recording every status and acknowledged upload."""

    def __init__(self, url: str, token: str, start_seed: int) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.seed = url, {"Authorization": f"Bearer {token}"}, start_seed
        self.statuses: Counter[int] = Counter()
        self.uploaded: list[str] = []
        self.bad: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.seed += 1
            try:
                read = requests.get(f"{self.url}/v1/media", headers=self.headers, timeout=15)
                self.check(read)
                sent = requests.post(f"{self.url}/v1/media/upload", headers=self.headers,
                                     files={"file": (f"p{self.seed}.png", png(self.seed),
                                                     "image/png")}, timeout=15)
                self.check(sent)
                if sent.status_code == 201:
                    self.uploaded.append(sent.json()["id"])
            except requests.RequestException as exc:  # a hang or a dropped connection
                self.bad.append(repr(exc))
            time.sleep(0.02)

    def check(self, response: requests.Response) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503:
            if not (response.headers.get("Retry-After")
                    and response.headers["Content-Type"].startswith("application/problem+json")
                    and response.json()["code"] == "database_unavailable"):
                self.bad.append(f"503 without its dialect: {response.text[:200]}")
        elif response.status_code not in (200, 201):
            self.bad.append(f"{response.status_code}: {response.text[:200]}")


def test_requests_fail_cleanly_while_the_database_restarts(live_server: Any, user: Any,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           settings: Any) -> None:
    data_dir = Path(os.environ["TEST_POSTGRES_DATA"])
    port = int(connection.settings_dict["PORT"])
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    # as in production, the requests only publish their tasks (to the real Redis); the
    # suite's autouse fixture makes Celery eager again after the test
    app.conf.task_always_eager = False
    token = str(AccessToken.for_user(user))
    loads = [Load(live_server.url, token, seed) for seed in (0, 10_000)]
    for load in loads:
        load.start()
    time.sleep(1.5)
    before_gap = sum(sum(load.statuses.values()) for load in loads)
    stop(data_dir)
    time.sleep(2.0)
    during = Counter[int]()
    for load in loads:
        during.update(load.statuses)
    ensure_running(data_dir, port=port, durable=False)
    for conn in connections.all():
        conn.close()  # this thread's connection died with the server
    time.sleep(2.0)
    after_restart = [Counter(load.statuses) for load in loads]
    time.sleep(1.5)
    for load in loads:
        load.stopping.set()
        load.join(30)
    app.control.purge()  # no worker here: the published scans are not this test's subject
    statuses = sum((load.statuses for load in loads), Counter[int]())
    recovered = sum(load.statuses[200] + load.statuses[201] for load in loads) - sum(
        c[200] + c[201] for c in after_restart)
    bad = [b for load in loads for b in load.bad]
    acknowledged = [m for load in loads for m in load.uploaded]
    missing = len(acknowledged) - MediaFile.objects.filter(pk__in=acknowledged).count()
    missing += sum(1 for m in MediaFile.objects.filter(pk__in=acknowledged)
                   if not m.stored_file or not Path(
                       settings.STORAGES["default"]["OPTIONS"]["location"],
                       m.stored_file.key).exists())
    live = StoredFile.objects.filter(owner_user=user, quota_bucket=QUOTA_BUCKET)
    ledger = quota.ledger_for(user, QUOTA_BUCKET)
    expected_bytes = int(live.aggregate(n=Sum("size"))["n"] or 0)
    if quota.counts_variants(QUOTA_BUCKET):
        expected_bytes += int(Variant.objects.filter(stored_file__in=live)
                              .aggregate(n=Sum("size"))["n"] or 0)
    record("ATOMIC", faults=1, lost=missing,
           invariant_breaks=int((ledger.file_count, ledger.used_bytes)
                                != (live.count(), expected_bytes)) + len(bad))
    assert before_gap > 0, "no load before the gap"
    assert statuses[503] > 0, f"the gap was never seen: {statuses}"
    assert statuses[500] == 0 and not bad, (statuses, bad[:5])
    assert recovered > 0, f"nothing succeeded after the restart: {statuses}"
    assert missing == 0
    assert ledger.file_count == live.count() and ledger.used_bytes == expected_bytes
    assert during  # the counters were read while the server was down
