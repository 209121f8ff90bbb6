"""A real Celery worker process, over the real Redis broker, runs the platform's tasks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from apps.processing.tasks import ping
from apps.storage.blobs import blob_store
from apps.storage.models import ProcessingState, StoredFile
from config.celery import app
from tests.apps.processing.images import animated_gif

ROOT = Path(__file__).resolve().parents[3]
# One xdist process runs these: two real workers on the same Redis queues would take
# each other's messages (and each other's databases are not theirs).
pytestmark = pytest.mark.xdist_group("real-celery-worker")


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _wait(predicate: Any, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def worker(redis_url: str, tmp_path: Path, settings: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A `celery worker` subprocess on every queue, sharing the test database and media."""
    media = settings.STORAGES["default"]["OPTIONS"]["location"]
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": _database_url(),
           "MEDIA_ROOT": media, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "VAR_DIR": str(tmp_path / "var")}
    log = open(tmp_path / "worker.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "-Q", "default,media,scan,embeddings", "--without-gossip", "--without-mingle",
         "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    app.conf.task_always_eager = False
    try:
        ready = _wait(lambda: b" ready." in (tmp_path / "worker.log").read_bytes()
                      or proc.poll() is not None, timeout=90)
        if not ready or proc.poll() is not None:
            pytest.fail("worker did not start:\n"
                        + (tmp_path / "worker.log").read_text()[-4000:])
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.django_db(transaction=True)
def test_round_trip_over_redis(worker: subprocess.Popen[bytes], tmp_path: Path) -> None:
    result = ping.apply_async(kwargs={"value": "hello from the test"})
    try:
        assert result.get(timeout=60) == "hello from the test"
    finally:
        print((tmp_path / "worker.log").read_text()[-3000:])
    assert app.conf.broker_url.startswith("redis://")


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_pipeline_after_commit(worker: subprocess.Popen[bytes], user: Any,
                                               tmp_path: Path) -> None:
    from apps.processing import pipeline

    stored = blob_store.put(animated_gif(2), owner=user, name="a.gif")
    pipeline.enqueue(stored)  # outside atomic: on_commit runs at once
    done = _wait(lambda: StoredFile.objects.get(pk=stored.pk).processing_state
                 == ProcessingState.READY, timeout=90)
    assert done, (tmp_path / "worker.log").read_text()[-3000:]
    probed = StoredFile.objects.get(pk=stored.pk)
    assert probed.meta["steps_done"] == ["probe"]
    assert (probed.width, probed.height, probed.frame_count) == (16, 16, 2)
