"""GET /healthz reports every component and answers 503 only when the core is down."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.core import health
from apps.core.health import UNAVAILABLE, CheckResult

pytestmark = pytest.mark.django_db


def test_healthz_reports_every_component_ok(client: Client, redis_url: str,
                                            clamd_address: str, settings: Any) -> None:
    settings.CLAMD_ADDRESS = clamd_address
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) >= {"database", "pgvector", "broker", "storage", "clamd", "clip"}
    assert checks["database"]["status"] == "ok"
    assert checks["pgvector"]["status"] == "ok" and checks["pgvector"]["detail"].startswith("vector")
    assert checks["broker"] == {"status": "ok", "detail": "redis"}
    assert checks["storage"]["status"] == "ok"
    assert checks["clamd"]["status"] == "ok" and "ClamAV" in checks["clamd"]["detail"]
    assert checks["clip"]["status"] == "disabled"


def test_unconfigured_optional_components_are_disabled_not_failing(client: Client,
                                                                   settings: Any) -> None:
    settings.CLAMD_ADDRESS = ""
    settings.CLIP_MODEL_DIR = ""
    body = client.get("/healthz").json()
    assert body["checks"]["clamd"]["status"] == "disabled"
    assert body["checks"]["clip"]["status"] == "disabled"


def test_unreachable_clamd_is_unavailable_but_still_200(client: Client, settings: Any) -> None:
    settings.CLAMD_ADDRESS = "tcp://127.0.0.1:1"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["clamd"]["status"] == UNAVAILABLE


def test_clip_model_dir_without_model_is_unavailable(client: Client, settings: Any,
                                                     tmp_path: Any) -> None:
    from tests.apps.processing.clip_model import build_tiny_clip

    settings.CLIP_MODEL_DIR = str(tmp_path)
    assert client.get("/healthz").json()["checks"]["clip"]["status"] == UNAVAILABLE
    (tmp_path / "clip-vit-b32.onnx").write_bytes(b"not really a model")
    assert client.get("/healthz").json()["checks"]["clip"]["status"] == UNAVAILABLE
    model = build_tiny_clip(tmp_path / "tiny")
    settings.CLIP_MODEL_DIR = str(model.root)
    assert client.get("/healthz").json()["checks"]["clip"]["status"] == "ok"


def test_core_failure_answers_503(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> CheckResult:
        raise OSError("disk on fire")

    monkeypatch.setitem(health._CHECKS, "storage",
                        health._Check("storage", broken, core=True))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"]["status"] == UNAVAILABLE
    assert "disk on fire" in body["checks"]["storage"]["detail"]
