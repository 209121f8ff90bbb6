"""The request id: one per HTTP request, carried into the log records and the Celery
tasks the request enqueues, so that one search finds everything a request caused.

An id the caller (or the load balancer) sent in ``X-Request-ID`` is kept when it is a
short token of safe characters, so that a trace started at the edge continues here; any
other value is replaced, because the id is written verbatim into logs and headers and a
caller must not be able to forge log lines or inject header bytes with it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request (or of the request that enqueued the running task)."""
    return _current.get()


def accept_or_new(raw: str | None) -> str:
    """The caller's id when it is a safe token, else a fresh one."""
    if raw and _ACCEPTED.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


@contextmanager
def bound_request_id(value: str | None) -> Iterator[str | None]:
    """Make ``value`` the current id for the duration of the block (a request, a task)."""
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


def set_request_id(value: str | None) -> Token[str | None]:
    """Bind ``value`` until ``reset_request_id`` (for begin/end hooks such as Celery's
    task_prerun/task_postrun signals, where a ``with`` block cannot span both)."""
    return _current.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    _current.reset(token)
