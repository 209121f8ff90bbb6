"""Sending tasks to the broker without ever failing the request that asked for them.

The work a request queues is already recorded in the database (a file ``PENDING`` its
scan, an operation ``QUEUED``) before the message is sent, once the transaction
commits. If the broker is down at that moment, the request has still succeeded: the
message is logged as not sent and the sweeper (``processing.sweep_stuck``, every five
minutes from beat) finds the recorded work and queues it again. So a broker outage
delays work, never loses it, and never turns a stored upload into a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)


def send(task: Any, **options: Any) -> bool:
    """``task.apply_async(**options)``; False (logged) when the broker refused it."""
    try:
        task.apply_async(**options)
    except BrokerError:  # what publishing raises once Celery's own retries are spent
        logger.warning("broker unavailable: %s not sent; the sweeper will re-queue it",
                       getattr(task, "name", task), exc_info=True)
        return False
    return True


def send_on_commit(task: Any, **options: Any) -> None:
    """``send`` once the current transaction commits (the rows it names are visible)."""
    transaction.on_commit(lambda: send(task, **options))
