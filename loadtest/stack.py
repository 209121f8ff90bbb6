"""The platform as it runs in production, as subprocesses of the runner.

- web: ``gunicorn config.wsgi`` with the Procfile's flags (gthread, 4 threads, timeout
  120) and ``workers`` processes; as in the image, the access log is the platform's own
  structured one (``REQUEST_LOG``, JSON lines) and every process writes its Prometheus
  samples to one folder (``PROMETHEUS_MULTIPROC_DIR``), so the run pays what production
  pays for its logs and metrics;
- worker: one Celery worker per queue (``POOLS``), so that a queue's backlog shows up as
  its own depth and its own CPU, instead of one pool serving all four in turn;
- beat: the schedule production runs (the sweeper every 5 minutes, the nightly purge).

They share the environment of ``server_env``: ``DEBUG`` off, the S3 storage on the run's
moto server (``STORAGE_BACKEND=s3``, as a production install stores files in an object
store), the run's clamd, Redis and PostgreSQL, and the allocator settings of
``scripts/run.sh`` (``bench.SERVER_MALLOC_ENV``). Each writes its log to
``var/loadtest/<name>.log``. ``scripts/test_services.py``'s ``spawn`` starts each in a
session of its own, so its ``stop`` ends the whole process group.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench import SERVER_MALLOC_ENV
from scripts.test_services import spawn, stop, wait_until

# queue -> Celery concurrency (prefork). media renders variants (CPU: one per core on
# the 2-core machine this was sized on); scan waits on clamd; embeddings is idle without
# a CLIP model; default takes link previews and the beat's maintenance tasks.
POOLS: dict[str, int] = {"media": 2, "scan": 2, "embeddings": 1, "default": 1}
THREADS = 4  # the Procfile's gunicorn --threads
TIMEOUT = 120  # the Procfile's gunicorn --timeout


@dataclass
class Proc:
    """A started server process: its group is what the sampler charges CPU to."""

    name: str
    group: str  # "web" or "worker"
    popen: subprocess.Popen[bytes]
    log: Path


def server_env(base: dict[str, str], *, bucket: str, logs: Path) -> dict[str, str]:
    """The servers' environment: production settings over the test services' URLs."""
    metrics = logs / "prometheus"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    env = {**base, **{k: base.get(k, v) for k, v in SERVER_MALLOC_ENV.items()},
           "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false",
           "LOG_LEVEL": base.get("LOG_LEVEL", "INFO"), "LOG_FORMAT": "json",
           "REQUEST_LOG": "true", "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    endpoint = base.get("TEST_S3_ENDPOINT_URL")
    if endpoint:
        env.update({"STORAGE_BACKEND": "s3", "AWS_S3_ENDPOINT_URL": endpoint,
                    "AWS_STORAGE_BUCKET_NAME": bucket,
                    "AWS_ACCESS_KEY_ID": base.get("AWS_ACCESS_KEY_ID", "testing"),
                    "AWS_SECRET_ACCESS_KEY": base.get("AWS_SECRET_ACCESS_KEY", "testing"),
                    "AWS_S3_REGION_NAME": "us-east-1"})
    return env


def create_bucket(env: dict[str, str]) -> None:
    """The S3 bucket the storage writes to (moto starts empty)."""
    if env.get("STORAGE_BACKEND") != "s3":
        return
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_S3_ENDPOINT_URL"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                          region_name=env["AWS_S3_REGION_NAME"])
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if env["AWS_STORAGE_BUCKET_NAME"] not in existing:
        client.create_bucket(Bucket=env["AWS_STORAGE_BUCKET_NAME"])


def _spawn(name: str, group: str, args: list[str], env: dict[str, str],
           logs: Path) -> Proc:
    """``spawn`` takes the environment of this process: set it for the child's start."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        log = logs / f"{name}.log"
        return Proc(name, group, spawn(args, log), log)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start(env: dict[str, str], *, port: int, workers: int, logs: Path,
          gunicorn_config: Path | None = None) -> list[Proc]:
    """Web, one worker per queue, and beat; not yet waited for."""
    python = sys.executable
    web = [python, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--threads", str(THREADS), "--timeout", str(TIMEOUT)]
    if gunicorn_config is not None:
        web += ["--config", str(gunicorn_config)]
    procs = [_spawn("web", "web", web, env, logs)]
    for queue, concurrency in POOLS.items():
        procs.append(_spawn(f"worker-{queue}", "worker", [
            python, "-m", "celery", "-A", "config", "worker", "-Q", queue,
            "--concurrency", str(concurrency), "-n", f"{queue}@%h", "--loglevel", "INFO",
        ], env, logs))
    procs.append(_spawn("beat", "worker", [
        python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
        "--schedule", str(logs / "celerybeat-schedule")], env, logs))
    return procs


def healthy(port: int) -> bool:
    """``/healthz`` answers 200 (every required component up)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def wait_ready(procs: list[Proc], port: int, timeout: float = 120.0) -> None:
    """Until /healthz is 200; a server that exits meanwhile fails the run at once."""
    def check() -> bool:
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}): "
                                   f"{proc.log.read_text(errors='replace')[-2000:]}")
        return healthy(port)

    wait_until(check, "the platform (/healthz)", timeout=timeout)


def stop_all(procs: list[Proc]) -> None:
    """Web first (no new work), then the workers and beat."""
    for proc in procs:
        stop(proc.popen)
