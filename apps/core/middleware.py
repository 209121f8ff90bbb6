"""The outermost middleware: gives each request its id, times it, and reports it.

It sits first in ``MIDDLEWARE`` so that everything inside (the audit trail, the views,
the tasks they enqueue) sees the request id, and so that the latency it records is the
whole of Django's time, security redirects and error pages included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from apps.core.metrics import observe_request, route_of
from apps.core.request_id import (
    REQUEST_ID_HEADER,
    REQUEST_ID_META,
    accept_or_new,
    bound_request_id,
)

logger = logging.getLogger("platform.request")


class RequestObservabilityMiddleware:
    """Request id in and out (``X-Request-ID``), latency histogram, one log record per
    request when ``REQUEST_LOG`` is on (production: the access log, structured)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.log_requests: bool = settings.REQUEST_LOG

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request_id = accept_or_new(request.META.get(REQUEST_ID_META))
        started = time.perf_counter()
        with bound_request_id(request_id):
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            response[REQUEST_ID_HEADER] = request_id
            route = route_of(request)
            observe_request(request.method or "", route, response.status_code, elapsed)
            if self.log_requests:
                logger.info("%s %s %s %.1f ms", request.method, route, response.status_code,
                            elapsed * 1000, extra={
                                "event": "request", "method": request.method,
                                "route": route, "status": response.status_code,
                                "duration_ms": round(elapsed * 1000, 2)})
        return response
