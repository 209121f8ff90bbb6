"""Prometheus metrics: the instruments, the scrape-time collectors apps register, and
the ``/metrics`` view.

Why prometheus-client's multiprocess mode: gunicorn and Celery's prefork pool run the
code in several processes, each with its own counters. With ``PROMETHEUS_MULTIPROC_DIR``
set (scripts/run.sh, the Dockerfile), every process writes its samples to a memory-mapped
file in that directory and a scrape sums them, so one ``/metrics`` answers for all the
processes of a host. Without it (tests, a single process) the default registry is used.

Gauges that describe shared state (queue depth, storage used) are not kept by any
process: they are read at scrape time by collectors that apps register here
(``register_collector``), so core never imports the apps that own that state.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching Django to its response, by route pattern.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
TASK_DURATION = Histogram(
    "celery_task_duration_seconds",
    "Run time of Celery tasks, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)
TASK_FAILURES = Counter(
    "celery_task_failures",
    "Celery tasks that raised, by task name.",
    ["task"],
)

_scrape_collectors: list[Collector] = []


def register_collector(collector: Collector) -> Collector:
    """Add a collector that reads shared state when ``/metrics`` is scraped."""
    _scrape_collectors.append(collector)
    return collector


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _DefaultRegistry(Collector):
    """The process's own registry, as one collector of a scrape's registry."""

    def collect(self) -> Iterable[Any]:
        return REGISTRY.collect()


def scrape_registry(*, shared: bool = True) -> CollectorRegistry:
    """The registry one scrape reads: every process's instruments, then (``shared``)
    the apps' scrape-time collectors, which a worker's own exporter leaves to the web."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        MultiProcessCollector(registry, path=path)
    else:
        registry.register(_DefaultRegistry())
    for collector in _scrape_collectors if shared else ():
        registry.register(collector)
    return registry


def route_of(request: HttpRequest) -> str:
    """The matched route pattern (bounded cardinality, and no ids or signed tokens from
    the path), or ``<unmatched>``."""
    match = getattr(request, "resolver_match", None)
    return (match.route or match.view_name or "<unnamed>") if match else "<unmatched>"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(method, route, f"{status // 100}xx").observe(seconds)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _authorised(request: HttpRequest) -> bool:
    """With ``METRICS_TOKEN`` set, the scraper sends it as a bearer token; without one,
    only this host may read the metrics (``make run``), never the network."""
    token = settings.METRICS_TOKEN
    if not token:
        return _is_loopback(request.META.get("REMOTE_ADDR", ""))
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                               token.encode())


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of ``scrape_registry()``."""
    if not _authorised(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
