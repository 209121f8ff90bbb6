"""Health checks: a registry that apps fill from ``AppConfig.ready()``.

Each check returns ``ok``, ``disabled`` (not configured, which is fine) or
``unavailable`` with a short reason. ``core`` checks (database, storage) decide the HTTP
status of ``/healthz``; the others only report. Core owns the database checks; storage
and processing register theirs, so core never imports them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection

OK, DISABLED, UNAVAILABLE = "ok", "disabled", "unavailable"


@dataclass(frozen=True)
class CheckResult:
    status: str
    detail: str = ""


@dataclass(frozen=True)
class _Check:
    name: str
    func: Callable[[], CheckResult]
    core: bool


_CHECKS: dict[str, _Check] = {}


def register(name: str, *, core: bool = False) -> Callable[[Callable[[], CheckResult]],
                                                           Callable[[], CheckResult]]:
    def decorator(func: Callable[[], CheckResult]) -> Callable[[], CheckResult]:
        _CHECKS[name] = _Check(name, func, core)
        return func

    return decorator


@dataclass
class HealthReport:
    results: dict[str, CheckResult] = field(default_factory=dict)
    core_ok: bool = True
    elapsed_ms: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.core_ok else "unavailable",
            "checks": {name: {"status": r.status, **({"detail": r.detail} if r.detail else {})}
                       for name, r in self.results.items()},
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


def _safe(check: _Check) -> CheckResult:
    try:
        return check.func()
    except Exception as exc:  # a failing dependency is a result, not a crash
        return CheckResult(UNAVAILABLE, f"{type(exc).__name__}: {exc}"[:200])


def run_checks() -> HealthReport:
    """Run every check concurrently (each has its own short timeout)."""
    started = time.perf_counter()
    checks = list(_CHECKS.values())
    db_checks = [c for c in checks if c.name in ("database", "pgvector")]
    other = [c for c in checks if c not in db_checks]
    report = HealthReport()
    # Database checks share this thread's connection; the rest run in parallel.
    with ThreadPoolExecutor(max_workers=max(1, len(other))) as pool:
        futures = {c.name: pool.submit(_safe, c) for c in other}
        for c in db_checks:
            report.results[c.name] = _safe(c)
        for name, future in futures.items():
            report.results[name] = future.result()
    report.results = {c.name: report.results[c.name] for c in checks}
    report.core_ok = all(report.results[c.name].status == OK for c in checks if c.core)
    report.elapsed_ms = (time.perf_counter() - started) * 1000
    return report


@register("database", core=True)
def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return CheckResult(OK)


@register("pgvector")
def check_pgvector() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    return CheckResult(OK, f"vector {row[0]}") if row else CheckResult(UNAVAILABLE, "not installed")
