"""The operators' dashboard on the admin index: what the platform holds and how its
workers are doing.

Storage figures come from the quota ledgers (one row per owner and bucket, kept exact by
every write), so they cost nothing at millions of files; the scan and processing states
are a GROUP BY over the files, cached for a minute. Queue depths are read from the
broker (Redis lists, or the filesystem transport's message files) and the workers'
heartbeat is a broadcast ping with a short timeout: a dashboard never hangs on a broker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Sum

from apps.processing.celery_config import TASK_ROUTES
from apps.processing.models import PurgeRun
from apps.storage.admin_display import human_size
from apps.storage.models import QuotaLedger, StoredFile

logger = logging.getLogger(__name__)
CACHE_KEY, CACHE_SECONDS = "platform-dashboard-states", 60
TOP_OWNERS = 8
PING_TIMEOUT = 0.5
KINDS = ("image", "video", "gif", "document", "other")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str
    percent: float  # of the largest bar, for the chart's width


@dataclass
class Dashboard:
    storage: list[Bar] = field(default_factory=list)  # bytes per bucket
    kinds: list[Bar] = field(default_factory=list)  # files per kind
    owners: list[Bar] = field(default_factory=list)  # top owners by bytes
    scan: list[Bar] = field(default_factory=list)
    processing: list[Bar] = field(default_factory=list)
    queues: dict[str, int | None] = field(default_factory=dict)
    workers: list[str] | None = None  # None: the broker could not be asked
    last_purge: PurgeRun | None = None
    total_bytes: str = ""


def _bars(rows: list[tuple[str, int]], sized: bool = False) -> list[Bar]:
    top = max((value for _, value in rows), default=0) or 1
    return [Bar(label, value, human_size(value) if sized else f"{value:,}",
                round(100 * value / top, 1)) for label, value in rows]


def dashboard() -> Dashboard:
    board = Dashboard()
    buckets = (QuotaLedger.objects.values("bucket")
               .annotate(used=Sum("used_bytes")).order_by("-used"))
    board.storage = _bars([(row["bucket"] or "platform", int(row["used"] or 0))
                           for row in buckets], sized=True)
    board.total_bytes = human_size(sum(bar.value for bar in board.storage))
    kinds = QuotaLedger.objects.aggregate(**{k: Sum(f"{k}_count") for k in KINDS})
    board.kinds = _bars([(k, int(kinds[k] or 0)) for k in KINDS])
    owners = (QuotaLedger.objects.select_related("owner_user", "owner_workspace")
              .order_by("-used_bytes")[:TOP_OWNERS])
    board.owners = _bars([(f"{_owner(row)} ({row.bucket or 'platform'})", row.used_bytes)
                          for row in owners if row.used_bytes], sized=True)
    states = cache.get(CACHE_KEY)
    if states is None:
        states = {
            "scan": list(StoredFile.objects.values_list("scan_status")
                         .annotate(n=Count("id")).order_by("-n")),
            "processing": list(StoredFile.objects.values_list("processing_state")
                               .annotate(n=Count("id")).order_by("-n")),
        }
        cache.set(CACHE_KEY, states, CACHE_SECONDS)
    board.scan, board.processing = _bars(states["scan"]), _bars(states["processing"])
    board.queues = queue_depths()
    board.workers = worker_heartbeat()
    board.last_purge = PurgeRun.objects.order_by("-started_at").first()
    return board


def _owner(ledger: QuotaLedger) -> str:
    if ledger.owner_user is not None:
        return ledger.owner_user.get_username()
    return f"workspace {ledger.owner_workspace}" if ledger.owner_workspace else "?"


def queue_names() -> list[str]:
    return sorted({"celery", "default", *(route["queue"] for route in TASK_ROUTES.values())})


def queue_depths() -> dict[str, int | None]:
    """Messages waiting per queue; None where the broker could not be read."""
    url = str(settings.CELERY_BROKER_URL)
    names = queue_names()
    try:
        if url.startswith("redis"):
            import redis

            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            try:
                return {name: int(client.llen(name)) for name in names}
            finally:
                client.close()
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")))
        files = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        return {name: sum(1 for f in files if f.endswith(f".{name}.msg")) for name in names}
    except Exception:  # a dashboard shows "unknown", it does not fail
        logger.warning("dashboard: queue depths unavailable", exc_info=True)
        return dict.fromkeys(names)


def worker_heartbeat() -> list[str] | None:
    """The workers that answered a ping within PING_TIMEOUT; None if none could be asked."""
    try:
        replies: list[dict[str, Any]] = current_app.control.ping(timeout=PING_TIMEOUT) or []
    except Exception:
        logger.warning("dashboard: worker ping failed", exc_info=True)
        return None
    return sorted(name for reply in replies for name in reply)
