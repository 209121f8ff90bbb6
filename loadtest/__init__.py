"""The platform as in production under a realistic mix: ``make loadtest``.

``make loadtest`` runs ``python -m loadtest`` under ``scripts/test_services.py`` (real
PostgreSQL + pgvector tuned for the machine, Redis, clamd, moto's S3 server). The runner
(``__main__``) loads the benchmarks' million-item datasets with their own loaders
(``datasets``), starts gunicorn, the Celery worker pools and beat as subprocesses
(``stack``), drives them with ``locust`` headless from a second process
(``locustfile``) while it samples queue depths and CPU (``sampler``), and writes
``loadtest/RESULTS.md`` and the raw figures in ``var/loadtest/`` (``report``).

Like ``bench``, the package stays light at import: the runner imports Django only when
it loads data, so the measured processes are the servers, not this one.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
OUT_DIR = ROOT / "var" / "loadtest"  # logs, locust CSVs, the fixture, the raw JSON
RESULTS_MD = PACKAGE_DIR / "RESULTS.md"
BASELINE_JSON = PACKAGE_DIR / "baseline.json"  # the "before" figures, committed
BASELINE_MD = PACKAGE_DIR / "BASELINE.md"  # what was found and changed, committed
FIXTURE = OUT_DIR / "fixture.json"  # credentials and ids the locust users draw from
MEASURE_MARK = OUT_DIR / "measure.started"  # written by locust when stats are reset
