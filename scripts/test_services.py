"""Start throwaway real services, run a command with them, tear them down.

    python scripts/test_services.py -- pytest -n 2

Starts, on free loopback ports: embedded PostgreSQL 18 + pgvector (fsync off, in a temp
dir), ``redis-server``, ``clamd`` with a signature database written here (the EICAR
test signature) and moto's S3 server; exports DATABASE_URL, REDIS_URL, CLAMD_ADDRESS and
TEST_S3_* for the command; stops everything afterwards, even when the command fails or
is interrupted. Exit status: the command's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The EICAR test file, assembled here so that no file in the repository is one.
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115  (kept open for the child's lifetime)
    return subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def postgres(tmp: Path) -> Iterator[str]:
    from config.embedded_postgres import Tuning, ensure_running
    from config.embedded_postgres import stop as stop_pg

    data = tmp / "postgres"
    tuning = Tuning.for_test_services()
    url = ensure_running(data, port=free_port(), durable=False, tuning=tuning)
    try:
        yield url
    finally:
        stop_pg(data)


@contextlib.contextmanager
def redis(tmp: Path) -> Iterator[str]:
    port = free_port()
    proc = spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", str(tmp)], tmp / "redis.log")
    try:
        wait_until(lambda: port_open(port), "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@contextlib.contextmanager
def clamd(tmp: Path) -> Iterator[str]:
    port = free_port()
    db = tmp / "clamdb"
    db.mkdir()
    (db / "test.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Signature\n")  # noqa: S324
    conf = tmp / "clamd.conf"
    conf.write_text("\n".join([
        "Foreground yes", f"DatabaseDirectory {db}", f"TCPSocket {port}", "TCPAddr 127.0.0.1",
        "StreamMaxLength 1000M", "MaxFileSize 1000M", "MaxScanSize 1000M",
        f"LogFile {tmp / 'clamd.log'}", "",
    ]))
    proc = spawn(["clamd", "-c", str(conf)], tmp / "clamd.out")
    try:
        wait_until(lambda: port_open(port) or proc.poll() is not None, "clamd")
        if proc.poll() is not None:
            raise RuntimeError(f"clamd exited: {(tmp / 'clamd.out').read_text()[-2000:]}")
        yield f"tcp://127.0.0.1:{port}"
    finally:
        stop(proc)


@contextlib.contextmanager
def s3(tmp: Path) -> Iterator[str]:
    port = free_port()
    # The project's own moto (pinned), not whatever else is on PATH.
    exe = str(Path(sys.executable).parent / "moto_server")
    if not Path(exe).exists():
        exe = shutil.which("moto_server") or exe
    proc = spawn([exe, "-H", "127.0.0.1", "-p", str(port)], tmp / "moto.log")
    try:
        wait_until(lambda: port_open(port), "moto S3 server")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else ["pytest"]
    tmp = Path(tempfile.mkdtemp(prefix="media-test-services-"))
    os.chmod(tmp, 0o755)  # noqa: S103  (the postgres system user must reach its data dir)
    env = dict(os.environ)
    try:
        with contextlib.ExitStack() as stack:
            started = time.monotonic()
            env["DATABASE_URL"] = stack.enter_context(postgres(tmp))
            # the database-restart test stops and starts this very server
            env["TEST_POSTGRES_DATA"] = str(tmp / "postgres")
            env["REDIS_URL"] = stack.enter_context(redis(tmp))
            env["CLAMD_ADDRESS"] = stack.enter_context(clamd(tmp))
            env["TEST_S3_ENDPOINT_URL"] = stack.enter_context(s3(tmp))
            env.setdefault("AWS_ACCESS_KEY_ID", "testing")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            env["VAR_DIR"] = str(tmp / "var")
            env["TEST_SERVICES"] = "1"
            print(f"test services up in {time.monotonic() - started:.1f}s: postgres, redis, "
                  f"clamd, s3 (logs in {tmp})", flush=True)
            return subprocess.call(command, env=env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise SystemExit(main(sys.argv))
