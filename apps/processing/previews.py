"""Link previews for rows of registered link models, fetched by the worker.

The preview is written as JSON onto the row: ``{"status": "ok", "title": ..., ...}`` or
``{"status": "error", "code": "fetch_refused", "message": ...}``, with ``fetched_at``.
Only messages meant for users are stored (never a resolved internal address). Failures
that may pass (timeouts, 5xx) are retried by the task with backoff; the rest are final.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils import timezone

from apps.processing import registry
from apps.processing.dispatch import send_on_commit
from apps.processing.engines.fetch import FetchError, FetchPolicy
from apps.processing.engines.linkpreview import fetch_preview
from apps.processing.errors import TransientError


def preview_of(url: str, *, policy: FetchPolicy | None = None) -> dict[str, Any]:
    """The preview JSON of ``url``; raises TransientError for a failure worth a retry."""
    now = timezone.now().isoformat()
    try:
        preview = fetch_preview(url, policy=policy or FetchPolicy.from_settings())
    except FetchError as exc:
        if exc.retryable:
            raise TransientError(exc.message) from exc
        return {"status": "error", "code": exc.code, "message": exc.message, "fetched_at": now}
    return {"status": "ok", **dataclasses.asdict(preview), "fetched_at": now}


def link_preview_refresh(*, label: str, pk: Any) -> dict[str, Any] | None:
    """Fetch and store the preview of one row; None when the row is gone."""
    entry = registry.link_model(label)
    row = entry.model._default_manager.filter(pk=pk).first()
    if row is None:
        return None
    url = str(getattr(row, entry.url_field))
    preview = preview_of(url)
    # Written only if the URL did not change meanwhile (a newer task owns the new one).
    entry.model._default_manager.filter(pk=pk, **{entry.url_field: url}).update(
        **{entry.preview_field: preview})
    return preview


def enqueue_link_preview(*, label: str, pk: Any) -> None:
    from apps.processing.tasks import link_preview

    send_on_commit(link_preview, kwargs={"label": label, "pk": str(pk)})
