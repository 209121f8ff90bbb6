"""The storage gauges of ``/metrics``: bytes and files held, per quota bucket.

They are read from the quota ledgers (one row per owner and bucket, kept exact in the
same transactions that add and remove files), never by summing the files themselves, and
the answer is kept for ``TTL_SECONDS`` in the process, so a scrape every few seconds from
several Prometheus servers costs at most one small GROUP BY a minute. With the database
down the gauges are left out, so the scrape still reports the rest (the outage itself
is /healthz's to report).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.db import DatabaseError
from django.db.models import Sum
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.storage.models import QuotaLedger

logger = logging.getLogger(__name__)

TTL_SECONDS = 60.0
PLATFORM_BUCKET = "platform"  # the label of the ledgers' empty bucket


class StorageCollector(Collector):
    def __init__(self) -> None:
        self._cached: list[tuple[str, int, int, int]] = []
        self._read_at = float("-inf")

    def _totals(self) -> list[tuple[str, int, int, int]]:
        if time.monotonic() - self._read_at > TTL_SECONDS:
            rows = (QuotaLedger.objects.values("bucket")
                    .annotate(used=Sum("used_bytes"), reserved=Sum("reserved_bytes"),
                              files=Sum("file_count"))
                    .order_by("bucket"))
            self._cached = [(row["bucket"] or PLATFORM_BUCKET, row["used"] or 0,
                             row["reserved"] or 0, row["files"] or 0) for row in rows]
            self._read_at = time.monotonic()
        return self._cached

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            totals = self._totals()
        except DatabaseError as exc:  # the scrape still reports everything else
            logger.warning("storage gauges unavailable: %s", exc)
            return
        used = GaugeMetricFamily("storage_used_bytes",
                                 "Bytes of live files held, per quota bucket.",
                                 labels=["bucket"])
        reserved = GaugeMetricFamily("storage_reserved_bytes",
                                     "Bytes reserved for uploads in flight, per quota bucket.",
                                     labels=["bucket"])
        files = GaugeMetricFamily("storage_files", "Live files held, per quota bucket.",
                                  labels=["bucket"])
        for bucket, used_bytes, reserved_bytes, file_count in totals:
            used.add_metric([bucket], used_bytes)
            reserved.add_metric([bucket], reserved_bytes)
            files.add_metric([bucket], file_count)
        yield from (used, reserved, files)
