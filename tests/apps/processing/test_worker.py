"""A real Celery worker process, over the real Redis broker, runs the platform's tasks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
# These run serially, after the parallel run (scripts/run_tests.sh): two real workers on
# the same Redis queues would take each other's messages.
pytestmark = pytest.mark.real_worker


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


Starter = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def start_worker(redis_url: str, tmp_path: Path, settings: Any) -> Iterator[Starter]:
    """Start `celery worker` subprocesses on every queue, sharing the test database and
    media; all are stopped at the end (those a test killed are simply gone)."""
    media = settings.STORAGES["default"]["OPTIONS"]["location"]
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": _database_url(),
           "MEDIA_ROOT": media, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "VAR_DIR": str(tmp_path / "var")}
    started: list[tuple[subprocess.Popen[bytes], Any]] = []
    app.conf.task_always_eager = False

    def start(pool: str = "solo", name: str = "worker") -> subprocess.Popen[bytes]:
        path = tmp_path / f"{name}.log"
        log = open(path, "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", pool,
             "--concurrency", "1", "-n", f"{name}@%h", "-Q", "default,media,scan,embeddings",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((proc, log))
        ready = _wait(lambda: b" ready." in path.read_bytes() or proc.poll() is not None,
                      timeout=90)
        if not ready or proc.poll() is not None:
            pytest.fail(f"worker did not start:\n{path.read_text()[-4000:]}")
        return proc

    try:
        yield start
    finally:
        for proc, log in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            log.close()


@pytest.fixture
def worker(start_worker: Starter) -> subprocess.Popen[bytes]:
    return start_worker()


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
    assert probed.meta["steps_done"] == ["probe", "sanitize", "metadata", "variants", "embed"]
    assert (probed.width, probed.height, probed.frame_count) == (16, 16, 2)
    made = set(probed.variants.values_list("spec", "format"))
    assert made == {("thumb-256", "webp"), ("thumb-256", "avif"), ("preview-1024", "webp")}


def _held_file(user: Any, gate: Path) -> StoredFile:
    """A cleared file whose "test.hold" step waits while ``gate`` exists."""
    from apps.processing import scanning

    stored = blob_store.put(animated_gif(2), owner=user, name="held.gif",
                            meta={"hold": str(gate)})
    assert scanning.scan_file(stored) == "CLEAN"
    gate.write_text("hold")
    return stored


def _pids(gate: Path) -> list[int]:
    marker = Path(f"{gate}.started")
    return [int(x) for x in marker.read_text().split()] if marker.exists() else []


@pytest.mark.django_db(transaction=True)
def test_pool_process_killed_mid_task_is_redelivered(start_worker: Starter, user: Any,
                                                     tmp_path: Path) -> None:
    from apps.processing.tasks import run_pipeline

    start_worker(pool="prefork")
    gate = tmp_path / "gate"
    stored = _held_file(user, gate)
    run_pipeline.apply_async(kwargs={"stored_file_id": str(stored.pk),
                                     "steps": ["test.hold", "probe"]})
    assert _wait(lambda: len(_pids(gate)) == 1, timeout=60), "the step never started"
    os.kill(_pids(gate)[0], signal.SIGKILL)  # the pool process dies mid-step
    # acks_late + reject_on_worker_lost: the message goes back and a new process takes it.
    assert _wait(lambda: len(_pids(gate)) == 2, timeout=60), (tmp_path / "worker.log").read_text()[-3000:]
    assert _pids(gate)[1] != _pids(gate)[0]
    gate.unlink()
    assert _wait(lambda: StoredFile.objects.get(pk=stored.pk).processing_state
                 == ProcessingState.READY, timeout=60)
    assert StoredFile.objects.get(pk=stored.pk).meta["steps_done"] == ["test.hold", "probe"]


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_task_is_swept_back_into_the_queue(start_worker: Starter, user: Any,
                                                             tmp_path: Path,
                                                             settings: Any) -> None:
    from apps.processing.tasks import run_pipeline, sweep_stuck

    first = start_worker(name="first")
    gate = tmp_path / "gate"
    stored = _held_file(user, gate)
    run_pipeline.apply_async(kwargs={"stored_file_id": str(stored.pk),
                                     "steps": ["test.hold", "probe"]})
    assert _wait(lambda: len(_pids(gate)) == 1, timeout=60), "the step never started"
    first.send_signal(signal.SIGKILL)  # the whole worker: its message stays unacked
    first.wait(10)
    assert StoredFile.objects.get(pk=stored.pk).processing_state == ProcessingState.PROCESSING
    gate.unlink()
    start_worker(name="second")
    settings.PROCESSING = {"STUCK_AFTER": 0}
    assert sweep_stuck()["requeued"] == 1
    assert _wait(lambda: StoredFile.objects.get(pk=stored.pk).processing_state
                 == ProcessingState.READY, timeout=60), (tmp_path / "second.log").read_text()[-3000:]
    # The re-run passed over nothing and repeated nothing that had finished.
    assert StoredFile.objects.get(pk=stored.pk).meta["steps_done"] == ["test.hold", "probe"]


@pytest.mark.django_db(transaction=True)
def test_hostile_corpus_through_a_real_worker(start_worker: Starter, user: Any,
                                              tmp_path: Path) -> None:
    """Every sample reaches its defined state and the worker neither dies nor logs a
    crash (the same corpus, in process: test_corpus.py)."""
    from apps.core.errors import DomainError
    from apps.processing import pipeline
    from tests.apps.processing.corpus import corpus

    worker = start_worker(pool="prefork")
    expected: dict[str, str] = {}
    for sample in corpus():
        try:
            stored = blob_store.put(sample.make(), owner=user, name=sample.name)
        except DomainError:
            continue  # refused at upload: test_corpus.py checks the code
        expected[str(stored.pk)] = sample.outcome
        pipeline.enqueue(stored)

    def outcome(row: StoredFile) -> str:
        return "infected" if row.scan_status == "INFECTED" else str(row.processing_state)

    def settled() -> bool:
        rows = StoredFile.objects.filter(pk__in=list(expected))
        return all(outcome(r) in ("ready", "failed", "infected") for r in rows)

    log = tmp_path / "worker.log"
    assert _wait(settled, timeout=180), log.read_text()[-4000:]
    for row in StoredFile.objects.filter(pk__in=list(expected)):
        assert outcome(row) in expected[str(row.pk)].split("|"), (row.original_name,
                                                                  row.processing_error)
    assert worker.poll() is None  # alive
    text = log.read_text()
    assert "Traceback" not in text and "WorkerLostError" not in text, text[-4000:]
