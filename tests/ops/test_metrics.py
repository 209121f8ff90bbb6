"""/metrics: request latency, task durations and failures, queue depth and storage used,
readable only by this host or by the holder of METRICS_TOKEN."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from kombu import Connection
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from apps.processing.celery_config import QUEUES
from apps.processing.tasks import ping
from apps.storage.blobs import blob_store
from apps.storage.metrics import PLATFORM_BUCKET
from config.celery import app


def scrape(client: Client, **headers: Any) -> dict[str, dict[tuple[tuple[str, str], ...],
                                                                  float]]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = (
                sample.value)
    return samples


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def quiet_broker(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Redis database of its own as the broker the scrape reads, so that the queue
    depths are this test's alone."""
    url = redis_url.rsplit("/", 1)[0] + "/14"
    with Connection(url) as connection:
        connection.default_channel.client.flushdb()
    monkeypatch.setattr(app.conf, "broker_url", url)
    monkeypatch.setattr(app.conf, "broker_read_url", None)
    yield url
    with Connection(url) as connection:
        connection.default_channel.client.flushdb()


@pytest.mark.django_db
def test_request_latency_is_recorded_by_route_pattern(client: Client) -> None:
    before = sample("http_request_duration_seconds_count", method="GET", route="healthz",
                    status="2xx")
    assert client.get("/healthz").status_code == 200
    client.get("/api/library/00000000-0000-0000-0000-000000000000")  # 401/404, no id kept
    after = scrape(client)
    count = after["http_request_duration_seconds_count"]
    assert count[(("method", "GET"), ("route", "healthz"), ("status", "2xx"))] == before + 1
    routes = {dict(labels)["route"] for labels in count}
    assert "00000000-0000-0000-0000-000000000000" not in " ".join(routes)
    assert any(route.startswith("api/library/<") for route in routes), routes


@pytest.mark.django_db
def test_queue_depth_per_queue(client: Client, quiet_broker: str) -> None:
    with Connection(quiet_broker) as connection:
        for _ in range(3):
            connection.SimpleQueue("media").put({"probe": True})
        connection.SimpleQueue("scan").put({"probe": True})
    depth = scrape(client)["celery_queue_length"]
    assert {dict(labels)["queue"]: value for labels, value in depth.items()} == {
        **dict.fromkeys(QUEUES, 0.0), "media": 3.0, "scan": 1.0}


@pytest.mark.django_db
def test_an_unreachable_broker_leaves_the_gauge_out_not_the_scrape(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app.conf, "broker_read_url", None)
    samples = scrape(client)
    assert "celery_queue_length" not in samples
    assert "http_request_duration_seconds_count" in samples


@pytest.mark.django_db
def test_storage_used_comes_from_the_ledgers(client: Client, user: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import apps.storage.metrics as storage_metrics

    monkeypatch.setattr(storage_metrics, "TTL_SECONDS", 0.0)
    blob_store.put(b"x" * 1234, owner=user, name="a.bin")
    blob_store.put(b"y" * 766, owner=user, name="b.bin")
    samples = scrape(client)
    assert samples["storage_used_bytes"][(("bucket", PLATFORM_BUCKET),)] == 2000
    assert samples["storage_files"][(("bucket", PLATFORM_BUCKET),)] == 2


@pytest.mark.django_db
def test_a_database_error_leaves_the_storage_gauges_out_not_the_scrape(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError

    import apps.storage.metrics as storage_metrics

    def unavailable(self: Any) -> None:
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(storage_metrics.StorageCollector, "_totals", unavailable)
    samples = scrape(client)
    assert "storage_used_bytes" not in samples
    assert "http_request_duration_seconds_count" in samples


@app.task(name="tests.ops.explode")
def explode() -> None:
    raise ValueError("on purpose")


def test_task_durations_and_failures_are_counted() -> None:
    ran = sample("celery_task_duration_seconds_count", task="processing.ping",
                 outcome="success")
    failed = sample("celery_task_failures_total", task="tests.ops.explode")
    failed_runs = sample("celery_task_duration_seconds_count", task="tests.ops.explode",
                         outcome="failure")
    assert ping.apply(kwargs={"value": "v"}).get() == "v"
    assert explode.apply(throw=False).failed()
    assert sample("celery_task_duration_seconds_count", task="processing.ping",
                  outcome="success") == ran + 1
    assert sample("celery_task_failures_total", task="tests.ops.explode") == failed + 1
    assert sample("celery_task_duration_seconds_count", task="tests.ops.explode",
                  outcome="failure") == failed_runs + 1


@pytest.mark.django_db
def test_only_this_host_without_a_token(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.0.0.7").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="203.0.113.9").post("/metrics").status_code == 405


@pytest.mark.django_db
def test_the_token_is_required_once_set(settings: Any) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    local = Client(REMOTE_ADDR="127.0.0.1")
    remote = Client(REMOTE_ADDR="10.0.0.7")
    assert local.get("/metrics").status_code == 403
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
                      ).status_code == 200
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape-token"
                      ).status_code == 403
