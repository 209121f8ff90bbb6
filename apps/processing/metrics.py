"""The queue-depth gauge of ``/metrics``: messages waiting in each Celery queue.

Read at scrape time through the kombu channel's own size query (``_size``, what its
``queue_declare`` reports as ``message_count``; called directly because a passive declare
of a drained Redis queue, whose list no longer exists, raises instead of answering 0).
It counts a Redis queue's priority lists together and works for the embedded filesystem
broker too. A
broker that cannot be reached yields no samples rather than failing the whole scrape:
the ``broker`` health check is what reports the outage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.processing.celery_config import QUEUES

logger = logging.getLogger(__name__)


class QueueDepthCollector(Collector):
    def collect(self) -> Iterable[GaugeMetricFamily]:
        from config.celery import app

        gauge = GaugeMetricFamily("celery_queue_length",
                                  "Messages waiting in a Celery queue (not yet taken by a "
                                  "worker).", labels=["queue"])
        try:
            with app.connection_for_read() as connection:
                channel = connection.default_channel
                for queue in QUEUES:
                    gauge.add_metric([queue], channel._size(queue))
        except Exception as exc:  # a scrape must not fail because the broker did
            logger.warning("queue depth unavailable: %s", exc)
            return
        yield gauge
