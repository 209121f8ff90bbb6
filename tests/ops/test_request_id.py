"""Request ids: given to every request, echoed to the caller, written into every log
record (JSON), and carried into the Celery tasks the request enqueued."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from apps.core.logging import JsonFormatter
from apps.core.request_id import bound_request_id, current_request_id
from apps.core.task_signals import begin_task, carry_request_id, end_task
from apps.processing.tasks import ping
from tests.apps.processing import test_worker as worker_tests

start_worker = worker_tests.start_worker  # the real-worker fixture, shared


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Everything logged under ``platform`` while the test runs, as the production
    formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("platform")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
def test_every_response_carries_a_fresh_id(client: Client) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/no/such/page")["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


@pytest.mark.django_db
@pytest.mark.parametrize(("sent", "kept"), [
    ("edge-7f3a9c21-0001", True),
    ("01J9ZK3V7Q8X4M2N5P6R7S8T9V", True),
    ("short", False),  # too short to be anyone's trace id
    ("a" * 129, False),
    ("id with spaces 1234", False),
    ("forged\nlog-line-1234", False),
    ("<script>alert(1)</script>", False),
])
def test_a_safe_incoming_id_is_kept_anything_else_replaced(client: Client, sent: str,
                                                          kept: bool) -> None:
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    if kept:
        assert answered == sent
    else:
        assert answered != sent and len(answered) == 32


@pytest.mark.django_db
def test_log_records_of_a_request_carry_its_id(client: Client,
                                               json_lines: io.StringIO) -> None:
    client.get("/api/library/00000000-0000-0000-0000-000000000001",
               HTTP_X_REQUEST_ID="trace-audit-0001")
    denial = [r for r in records(json_lines) if r["logger"] == "platform.audit"]
    assert len(denial) == 1
    assert denial[0]["request_id"] == "trace-audit-0001"
    assert denial[0]["event"] == "access_denied"
    assert denial[0]["route"].startswith("api/library/<")
    assert current_request_id() is None  # nothing leaks past the request


@pytest.mark.django_db
def test_the_structured_access_log(settings: Any, json_lines: io.StringIO) -> None:
    settings.REQUEST_LOG = True
    client = Client()  # its handler reads REQUEST_LOG when it builds the middleware
    response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-access-0001")
    (line,) = [r for r in records(json_lines) if r["logger"] == "platform.request"]
    assert line["request_id"] == "trace-access-0001"
    assert (line["method"], line["route"], line["status"]) == ("GET", "healthz",
                                                               response.status_code)
    assert line["duration_ms"] > 0
    assert line["ts"].endswith("Z") and line["level"] == "INFO"


def test_the_formatter_keeps_extras_exceptions_and_non_ascii() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", ("é",), None)
    record.route = "v1/media/<id>"
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    with bound_request_id("trace-format-0001"):
        entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed: é"
    assert entry["route"] == "v1/media/<id>"
    assert entry["request_id"] == "trace-format-0001"
    assert "RuntimeError: boom" in entry["exc_info"]
    assert "args" not in entry and "msg" not in entry


def test_the_id_rides_in_the_task_message_and_is_bound_while_the_task_runs() -> None:
    headers: dict[str, Any] = {}
    with bound_request_id("trace-task-0001"):
        carry_request_id(headers=headers)
    assert headers == {"request_id": "trace-task-0001"}
    carry_request_id(headers=(untouched := {}))  # no request: nothing added
    assert untouched == {}
    task = SimpleNamespace(name="processing.ping",
                           request=SimpleNamespace(request_id="trace-task-0001"))
    begin_task(task_id="t-1", task=task)
    assert current_request_id() == "trace-task-0001"
    end_task(task_id="t-1", task=task, state="SUCCESS")
    assert current_request_id() is None


@pytest.fixture
def json_worker_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")


@pytest.mark.real_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_the_enqueuing_request_id(json_worker_logs: None,
                                                     start_worker: Any,
                                                     tmp_path: Path) -> None:
    start_worker()
    with bound_request_id("trace-worker-0001"):
        result = ping.apply_async(kwargs={"value": "traced"})
    assert result.get(timeout=60) == "traced"
    log = tmp_path / "worker.log"

    def answered() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in log.read_text().splitlines()
                 if line.startswith("{")]
        return [r for r in lines if r.get("message") == "ping answered"]

    assert worker_tests._wait(lambda: answered(), timeout=10), log.read_text()[-3000:]
    (entry,) = answered()
    assert entry["request_id"] == "trace-worker-0001"
    assert entry["task"] == "processing.ping" and entry["task_id"] == result.id
    assert entry["value"] == "traced"


