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
    """The detail starts with the scanning mode, so operators see whether unscanned files
    wait (required) or pass as "not scanned" (optional, no scanner configured)."""
    mode = "scanning required" if settings.SCAN_REQUIRED else "scanning optional"
    if not settings.CLAMD_ADDRESS:
        if settings.SCAN_REQUIRED:
            return CheckResult(UNAVAILABLE, f"{mode}; CLAMD_ADDRESS not set: uploads wait")
        return CheckResult(DISABLED, f"{mode}; CLAMD_ADDRESS not set")
    from apps.processing.engines.clamd import ClamdClient

    client = ClamdClient(settings.CLAMD_ADDRESS, timeout=2)
    if not client.ping():
        return CheckResult(UNAVAILABLE, mode)
    return CheckResult(OK, f"{mode}; {client.version()}")


@register("clip")
def check_clip() -> CheckResult:
    """Disabled without CLIP_MODEL_DIR; otherwise the layout is checked without loading a
    session (configs, tokenizer, ONNX headers), cached on the files' size and mtime."""
    if not settings.CLIP_MODEL_DIR:
        return CheckResult(DISABLED, "CLIP_MODEL_DIR not set")
    from apps.processing.embeddings import clip_status

    status, detail = clip_status()
    return CheckResult({"ok": OK, "disabled": DISABLED}.get(status, UNAVAILABLE), detail)
