"""gunicorn config of ``python -m loadtest --profile``: cProfile around every request.

gthread runs requests on a pool of threads and cProfile sees only the thread that
enabled it, so each thread gets its own profiler, enabled for the duration of a request
(the body iterated and closed included) and disabled between requests. When the worker
exits, the threads' profiles are merged into ``$LOADTEST_PROFILE_DIR/web-<pid>.pstats``
(read them with ``python -m pstats``, or ``pstats.Stats(*paths)``).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Profiled:
    """A WSGI wrapper that profiles each request on a per-thread profiler."""

    def __init__(self, app: Wsgi) -> None:
        self.app = app
        self.local = threading.local()
        self.profilers: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def _profiler(self) -> cProfile.Profile:
        profiler = getattr(self.local, "profiler", None)
        if profiler is None:
            profiler = self.local.profiler = cProfile.Profile()
            with self.lock:
                self.profilers.append(profiler)
        return profiler

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        profiler = self._profiler()
        profiler.enable()
        try:
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            profiler.disable()

    def dump(self, path: Path) -> None:
        with self.lock:
            profilers = [p for p in self.profilers if p.getstats()]
        if profilers:
            stats = pstats.Stats(profilers[0])
            for profiler in profilers[1:]:
                stats.add(profiler)
            stats.dump_stats(str(path))


def post_worker_init(worker: Any) -> None:
    worker.wsgi = Profiled(worker.wsgi)


def worker_exit(server: Any, worker: Any) -> None:
    wrapped = getattr(worker, "wsgi", None)
    if isinstance(wrapped, Profiled):
        out = Path(os.environ.get("LOADTEST_PROFILE_DIR", "var/loadtest/profile"))
        out.mkdir(parents=True, exist_ok=True)
        wrapped.dump(out / f"web-{os.getpid()}.pstats")
