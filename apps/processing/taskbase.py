"""The one way to declare a Celery task on this platform.

``@platform_task("processing.thing")`` gives every task the same safety:
``acks_late`` + ``reject_on_worker_lost`` (a worker killed mid-task leaves the message
to be redelivered), retries with exponential backoff and jitter on transient errors only,
and keyword-only arguments (ids), so a message can always be read and re-run. Idempotency
is each task's own duty: load, check whether the work is done, do it, write with
``update_fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task

from apps.processing.conf import processing_settings
from apps.processing.errors import TRANSIENT_EXCEPTIONS
from config.celery import app

F = TypeVar("F", bound=Callable[..., Any])


class PlatformTask(Task):
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{self.name} takes keyword arguments only (ids), got {args!r}")
        return super().__call__(**kwargs)


def platform_task(name: str, **options: Any) -> Callable[[F], Any]:
    """Queues are chosen by name in apps/processing/celery_config.py (TASK_ROUTES)."""

    def decorator(func: F) -> Any:
        return app.task(
            name=name,
            base=PlatformTask,
            autoretry_for=TRANSIENT_EXCEPTIONS,
            retry_backoff=True,
            retry_backoff_max=int(processing_settings.RETRY_BACKOFF_MAX),
            retry_jitter=True,
            max_retries=int(processing_settings.MAX_RETRIES),
            **options,
        )(func)

    return decorator
