"""What the servers did while the load ran: queue depths, CPU per process group, load.

Sampled every ``interval`` seconds from a thread of the runner (cheap reads only: one
Redis pipeline and ``/proc``), so the sampling itself costs the measured machine next
to nothing.

*Queue depth* is the length of kombu's Redis lists of each Celery queue: the queue's
own name, plus one list per priority step (``<queue>\\x06\\x16<n>`` for n = 3, 6, 9:
kombu's default ``priority_steps``; ``config/settings.py`` sets no other transport
option but the visibility timeout), and the ``unacked`` hash: tasks a worker holds and
has not acknowledged (``acks_late``: running or prefetched).

*CPU* is charged to process groups by their trees: web (the gunicorn master and its
workers), worker (the Celery workers, their pool children, beat), db (the postmaster
named in ``postmaster.pid`` of the run's data directory and its backends), client
(locust), and the test services' redis, clamd and s3 (moto). A group's CPU time is the
sum over its live processes of utime + stime + cutime + cstime from
``/proc/<pid>/stat``: a child that exited was reaped by its parent in the group, so its
time moved into the parent's cutime/cstime and is still counted once. (A group whose
root exits, as locust does at the end, drops to zero: ``report`` sums the increments
between samples, never a drop.)
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

QUEUES = ("default", "media", "scan", "embeddings")
PRIORITY_SEP = "\x06\x16"  # kombu.transport.redis's default priority separator
PRIORITY_STEPS = (3, 6, 9)  # kombu's default steps besides 0 (the bare queue name)
TICKS = os.sysconf("SC_CLK_TCK")
SERVICE_NAMES = {"redis": ("redis-server",), "clamd": ("clamd",), "s3": ("moto_server",)}


@dataclass
class ProcInfo:
    ppid: int
    ticks: int  # utime + stime + cutime + cstime
    cmdline: str


def process_table() -> dict[int, ProcInfo]:
    """Every process of the machine: parent, CPU ticks (own and reaped children's),
    command line. Processes that vanish while being read are skipped."""
    table: dict[int, ProcInfo] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        rest = raw.rsplit(")", 1)[1].split()
        ticks = sum(int(v) for v in rest[11:15])
        table[int(entry.name)] = ProcInfo(int(rest[1]), ticks, cmdline.decode(errors="replace"))
    return table


def descendants(roots: list[int], table: dict[int, ProcInfo]) -> set[int]:
    """``roots`` and every process below them."""
    children: dict[int, list[int]] = {}
    for pid, info in table.items():
        children.setdefault(info.ppid, []).append(pid)
    found: set[int] = set()
    todo = [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def postmaster_pid() -> int | None:
    """The run's PostgreSQL (scripts/test_services.py exports its data directory)."""
    data = os.environ.get("TEST_POSTGRES_DATA")
    if not data:
        return None
    try:
        return int(Path(data, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def service_pids(table: dict[int, ProcInfo]) -> dict[str, list[int]]:
    """The test services of this run: the children of the process that started the
    redis-server listening on REDIS_URL's port (scripts/test_services.py), so that other
    runs' services on the machine are not counted as ours."""
    port = urlsplit(os.environ.get("REDIS_URL", "")).port
    parents = {info.ppid for info in table.values()
               if "redis-server" in info.cmdline and f":{port} " in f"{info.cmdline} "}
    out: dict[str, list[int]] = {name: [] for name in SERVICE_NAMES}
    for pid, info in table.items():
        if info.ppid not in parents:
            continue
        for name, needles in SERVICE_NAMES.items():
            if any(n in info.cmdline for n in needles):
                out[name].append(pid)
    return out


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores; other work included)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / TICKS


@dataclass
class Sampler:
    """A thread that records a sample every ``interval`` seconds into ``samples``."""

    redis_url: str
    roots: dict[str, list[int]]  # group -> root pids (set "client" once locust runs)
    interval: float = 1.0
    samples: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        import redis

        self._redis = redis.Redis.from_url(self.redis_url)
        self._started = time.monotonic()

    def queue_depths(self) -> tuple[dict[str, int], int]:
        pipe = self._redis.pipeline(transaction=False)
        for queue in QUEUES:
            pipe.llen(queue)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{queue}{PRIORITY_SEP}{step}")
        pipe.hlen("unacked")
        values = pipe.execute()
        per = 1 + len(PRIORITY_STEPS)
        depths = {q: sum(values[i * per:(i + 1) * per]) for i, q in enumerate(QUEUES)}
        return depths, int(values[-1])

    def cpu_by_group(self) -> dict[str, float]:
        table = process_table()
        roots = {**self.roots, **service_pids(table)}
        pg = postmaster_pid()
        if pg is not None:
            roots["db"] = [pg]
        return {group: sum(table[p].ticks for p in descendants(pids, table)) / TICKS
                for group, pids in roots.items()}

    def sample(self) -> dict[str, Any]:
        depths, unacked = self.queue_depths()
        return {"t": round(time.monotonic() - self._started, 2), "wall": time.time(),
                "loadavg": list(os.getloadavg()), "queues": depths, "unacked": unacked,
                "cpu": self.cpu_by_group(), "machine_busy": machine_busy_seconds()}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self.sample())
            except Exception as exc:  # a sample lost is not a run lost
                self.samples.append({"t": round(time.monotonic() - self._started, 2),
                                     "error": repr(exc)})
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loadtest-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.samples.append(self.sample())


NUMBERS = re.compile(r"\b\d+(\.\d+)?\b")
STRINGS = re.compile(r"'[^']*'")
SPACES = re.compile(r"\s+")


def statement_shape(query: str, width: int = 160) -> str:
    """A statement with its literals blanked, so that calls of one shape add up."""
    return NUMBERS.sub("N", STRINGS.sub("'?'", SPACES.sub(" ", query))).strip()[:width]


@dataclass
class DbActivity:
    """Which statements the database is busy with: ``pg_stat_activity`` sampled every
    ``interval`` seconds (the embedded PostgreSQL loads no ``pg_stat_statements``, and
    config/ is not the load test's to change). A statement's share of the samples is
    its share of the backends' busy time; ``busy`` is the mean number of active
    backends."""

    url: str
    interval: float = 0.1
    shapes: dict[str, int] = field(default_factory=dict)
    polls: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                rows = conn.execute(
                    "SELECT query FROM pg_stat_activity WHERE state = 'active' AND "
                    "backend_type = 'client backend' AND pid <> pg_backend_pid()").fetchall()
                self.polls += 1
                for (query,) in rows:
                    shape = statement_shape(query or "")
                    self.shapes[shape] = self.shapes.get(shape, 0) + 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loadtest-db", daemon=True)
        self._thread.start()

    def reset(self) -> None:
        """Forget the warm-up."""
        self.shapes.clear()
        self.polls = 0

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        polls = max(1, self.polls)
        top = sorted(self.shapes.items(), key=lambda kv: -kv[1])[:15]
        total = sum(self.shapes.values()) or 1
        return {"polls": self.polls, "busy": round(total / polls, 2),
                "statements": [{"share": round(100 * n / total, 1),
                                "backends": round(n / polls, 3), "statement": shape}
                               for shape, n in top]}
