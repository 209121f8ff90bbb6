"""Health checks of what the worker side needs: broker, clamd, CLIP model."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from apps.core.health import DISABLED, OK, UNAVAILABLE, CheckResult, register


@register("broker")
def check_broker() -> CheckResult:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return CheckResult(OK, "redis")
    folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")))
    if folder.is_dir():
        return CheckResult(OK, "filesystem")
    return CheckResult(UNAVAILABLE, f"broker folder {folder} missing")


@register("clamd")
def check_clamd() -> CheckResult:
    if not settings.CLAMD_ADDRESS:
        return CheckResult(DISABLED, "CLAMD_ADDRESS not set")
    from apps.processing.engines.clamd import ClamdClient

    client = ClamdClient(settings.CLAMD_ADDRESS, timeout=2)
    return CheckResult(OK, client.version()) if client.ping() else CheckResult(UNAVAILABLE)


@register("clip")
def check_clip() -> CheckResult:
    if not settings.CLIP_MODEL_DIR:
        return CheckResult(DISABLED, "CLIP_MODEL_DIR not set")
    folder = Path(settings.CLIP_MODEL_DIR)
    models = sorted(folder.glob("*.onnx")) if folder.is_dir() else []
    if not models:
        return CheckResult(UNAVAILABLE, f"no .onnx model in {folder}")
    return CheckResult(OK, ", ".join(m.name for m in models))
