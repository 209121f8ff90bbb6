"""Structured logs: one JSON object per line, for a log shipper to index.

Every record carries the time (UTC, ISO 8601), level, logger and message, the current
request id (``apps.core.request_id``) and, inside a Celery task, the task's name and id.
The ``extra`` fields a caller passes (the audit trail's ``event``, ``route``, ``user``…)
become top-level keys, so the records stay queryable without parsing messages.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from apps.core.request_id import current_request_id

# The attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


def _current_task() -> tuple[str | None, str | None]:
    """(name, id) of the Celery task this thread is executing, if any."""
    try:
        from celery import current_task
    except ImportError:  # pragma: no cover - celery is a dependency
        return None, None
    task: Any = current_task
    if not task or getattr(task.request, "id", None) is None:
        return None, None
    return task.name, task.request.id


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        task_name, task_id = _current_task()
        if task_id:
            entry["task"] = task_name
            entry["task_id"] = task_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
