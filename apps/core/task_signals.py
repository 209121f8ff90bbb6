"""Celery signal handlers: the request id travels with each task, and every task run is
measured.

The id rides in the task message's headers (``before_task_publish``, in the process that
enqueues), and the worker binds it for the task's run (``task_prerun``/``task_postrun``),
so the log records a task writes carry the id of the request that caused it
(``apps.core.logging.JsonFormatter``). Tasks enqueued by beat or by another task without
a request get none; a task enqueued by a task inherits its id.
"""

from __future__ import annotations

import os
import time
from contextvars import Token
from typing import Any

from celery.signals import (
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
    worker_ready,
)
from django.conf import settings

from apps.core.metrics import TASK_DURATION, TASK_FAILURES, multiprocess_dir, scrape_registry
from apps.core.request_id import current_request_id, reset_request_id, set_request_id

HEADER = "request_id"
_OUTCOMES = {"SUCCESS": "success", "FAILURE": "failure", "RETRY": "retry"}
# task id -> (the request-id binding to undo, start time); a worker thread runs one task
# at a time, but keying by id keeps eager tasks nested in a request correct too.
_running: dict[str, tuple[Token[str | None], float]] = {}


@before_task_publish.connect(weak=False)
def carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


@task_prerun.connect(weak=False)
def begin_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None or task is None:
        return
    request_id = getattr(task.request, HEADER, None) or current_request_id()
    _running[task_id] = (set_request_id(request_id), time.perf_counter())


@task_postrun.connect(weak=False)
def end_task(task_id: str | None = None, task: Any = None, state: str | None = None,
             **_: Any) -> None:
    began = _running.pop(task_id, None) if task_id else None
    if began is None:
        return
    token, started = began
    TASK_DURATION.labels(getattr(task, "name", "?"),
                         _OUTCOMES.get(state or "", "other")).observe(
        time.perf_counter() - started)
    reset_request_id(token)


@task_failure.connect(weak=False)
def count_failure(sender: Any = None, **_: Any) -> None:
    TASK_FAILURES.labels(getattr(sender, "name", "?")).inc()


@worker_ready.connect(weak=False)
def serve_worker_metrics(**_: Any) -> None:
    """On a host without a web process, the worker serves its own tasks' metrics on
    ``METRICS_WORKER_PORT`` (0: off)."""
    port = settings.METRICS_WORKER_PORT
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr=settings.METRICS_WORKER_ADDRESS,
                          registry=scrape_registry(shared=False))


@worker_process_shutdown.connect(weak=False)
def forget_pool_process(**_: Any) -> None:
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
