"""gunicorn's configuration file: ``gunicorn -c config/gunicorn.py config.wsgi``.

The Procfile, the Dockerfile and the compose file all start the web tier this way, so
they share its defaults; flags on the command line still override any of them. The one
thing that cannot be a flag is the hook that tells prometheus-client a worker is gone.
"""

from __future__ import annotations

import os
from typing import Any

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads overlap a request's waits (database, Redis, S3) without another process's RSS.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 120  # a 5 GiB upload over a slow link streams for a long time
graceful_timeout = 30
keepalive = 5  # behind a load balancer that reuses connections
# The structured access log is the platform's own (platform.request, REQUEST_LOG);
# gunicorn's plain one would print each request a second time.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
control_socket_disable = True


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges must leave the sums of ``/metrics``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
