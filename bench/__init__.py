"""The project's benchmarks: each ``bench/bench_*.py`` module measures one claim of the design.

``make bench`` runs ``python -m bench`` under ``scripts/test_services.py``, so every
benchmark talks to the same real services as the test suite (PostgreSQL, Redis, clamd,
moto's S3 server). A benchmark module exposes ``run() -> list[Result]``; the runner in
``bench/__main__.py`` writes each module's rows to ``bench/results/<module>.json`` and
regenerates ``bench/RESULTS.md``.

Every figure is reported next to a baseline measured *in the same run on the same
machine* (a ratio survives a change of hardware, an absolute number does not), with the
target it is held to and whether it was met. This package stays import-light (stdlib
only): the runner spawns the measured processes and must not inflate their memory.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from config.embedded_postgres import Tuning

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
MIB = 1024 * 1024
GIB = 1024 * MIB
MB = 1000 * 1000
# The server processes' allocator settings (scripts/run.sh, Dockerfile): the benchmarks'
# server-side children run under the same ones.
# how scripts/test_services.py tuned the run's PostgreSQL (`make bench`: as `make run`)
PG_TUNING = Tuning.for_test_services().describe()
SERVER_MALLOC_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "4194304",
                     "MALLOC_TRIM_THRESHOLD_": "16777216"}


class Result(TypedDict):
    """One row of the results table.

    ``figure`` and ``baseline`` are display strings; ``ratio`` is figure/baseline in the
    direction the target is stated in (``None`` where a ratio means nothing); ``met`` is
    ``None`` for rows that are informational only. Raw numbers go into ``details``;
    ``details["plot"]`` (a dict with a ``kind``) is what ``bench/plots.py`` draws from.
    ``command`` overrides the module's command in the table (a row made another way).
    """

    benchmark: str
    figure: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    details: NotRequired[dict[str, Any]]
    command: NotRequired[str]


def machine() -> dict[str, Any]:
    """What the figures were measured on: enough to tell two runs' machines apart."""
    model = "unknown"
    mem_total = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu_model": model, "mem_total_bytes": mem_total,
            "platform": platform.platform(), "python": platform.python_version()}


def mib_s(nbytes: int, seconds: float) -> float:
    """Throughput in MiB/s."""
    return nbytes / MIB / seconds if seconds > 0 else float("inf")


def size_label(nbytes: int) -> str:
    """``100 MiB`` / ``1 GiB``: the sizes as the design talks about them."""
    if nbytes % GIB == 0:
        return f"{nbytes // GIB} GiB"
    return f"{nbytes / MIB:g} MiB"


def run_child(module: str, mode: str, spec: dict[str, Any], *, env: dict[str, str],
              timeout: float, stderr_tail: int = 3000) -> dict[str, Any]:
    """``python -m bench.<module> MODE SPEC`` in a fresh process (its memory and imports
    are the measured contender's alone); its last stdout line is the JSON answer.
    ``stderr_tail`` characters of its stderr are passed on (0: only on failure)."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", f"bench.{module}", mode, json.dumps(spec)],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if stderr_tail:
        sys.stderr.write(proc.stderr[-stderr_tail:])
    if proc.returncode != 0:
        name = module.removeprefix("bench_")
        raise RuntimeError(f"{name} child {mode} failed ({proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def pct(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of samples, by linear interpolation (as numpy's default)."""
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def cpu_busy(seconds: float = 1.0) -> float:
    """Cores kept busy on the machine over the next ``seconds`` (/proc/stat: all CPUs'
    non-idle time), i.e. by other work while the caller sleeps; 0.0 where unknown."""
    import time

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return max(0.0, ((total1 - total0) - (idle1 - idle0)) / ticks / seconds)


def wait_for_quiet(*, busy_below: float = 0.5, timeout: float = 120.0) -> tuple[float, float]:
    """Wait (at most ``timeout`` s) until other work keeps fewer than ``busy_below``
    cores busy: a latency measured next to a load test measures the load test. Returns
    (seconds waited, cores busy when it stopped waiting)."""
    import time

    started = time.monotonic()
    busy = cpu_busy(2.0)
    while busy >= busy_below and time.monotonic() - started < timeout:
        busy = cpu_busy(2.0)
    return time.monotonic() - started, busy
