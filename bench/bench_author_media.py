"""author_media uploads through a real server: throughput and the server's RSS, vs a copy.

The claim (the issue): uploading 10 x 100 MiB files through ``/v1/media/upload``
(direct), the multipart upload (8 MiB parts) and tus 1.0.0, on local storage and on
the S3 endpoint (moto's server), runs at ≥ 0.5x the speed of copying the same bytes to
the same place with ``cp`` (local) or ``boto3``'s ``upload_file`` (S3), measured in the
same run, and the server's memory stays flat.

*Server*: the Procfile's web command, ``gunicorn config.wsgi`` (gthread, 4 threads,
timeout 120), with one worker so that every request lands in the process whose memory
is measured, the platform's allocator settings (``bench.SERVER_MALLOC_ENV``, as
scripts/run.sh sets them, unless the environment sets them; other ``MALLOC_*_``
variables pass through) and ``STORAGE_BACKEND=local``
(``MEDIA_ROOT`` in this run's temp dir) or ``s3`` (a bucket of the run's moto server).
The database, Redis (throttles, the Celery broker) and clamd are the run's
(scripts/test_services.py). No Celery worker runs: the scan and processing that an
upload queues after commit are not part of the upload and are not measured.

*Clients* (this process, stdlib ``http.client``, one connection per request, 1 MiB
send blocks, bodies streamed from the source files with ``os.pread``; nothing of a file
is held in memory), each authenticated with a JWT of its own user (one user per backend
and protocol, on the ``business`` tier, so neither quota nor deduplication interferes):

- *direct*: ``POST /v1/media/upload``, one ``multipart/form-data`` request per file;
- *multipart*: ``initiate`` with ``partSize`` 8 MiB, then each part in order, then
  ``complete``. On local storage the parts go to ``multipart/part`` itself
  (``partUpload: "api"``); on S3 the client asks ``multipart/part`` for each part's
  presigned URL and PUTs the part to the bucket, as the API tells it to
  (``partUpload: "presigned"``): the server's share there is signing and, at
  ``complete``, assembling and reading the object back once (SHA-256, sniffing);
- *tus*: ``POST /v1/media/upload/tus/`` (creation), then the whole file in one
  ``PATCH`` (``BENCH_AUTHOR_MEDIA_TUS_CHUNK_MIB``, default 0: one chunk), which is what
  tuspy and tus-js-client do by default (their chunk size is unbounded).

A file's time runs from its first request until the request that finishes the upload
(the one answering with the MediaFile) returns. Parts are sent one after the other, as
every other body here: one connection at a time for every contender but boto3.

*Floors*, in the same run, interleaved with the uploads file by file (the order of the
contenders rotates from file to file): ``cp`` of the file into the local storage's
directory; ``upload_file`` of boto3's default ``TransferConfig`` (8 MiB parts, 10
threads) to the same moto bucket, in a long-lived child process (its start-up untimed),
with the checksum setting of the platform's ``S3Storage`` (no CRC pass). Every source is
warm in the page cache, and ``sync`` runs (untimed) before every transfer so that no
contender pays for the previous one's write-back. Throughput is the bytes of the 10
files over the sum of their times. On local storage two *references* with no target run
too: a bare WSGI app (``sink_app`` below) under the same gunicorn command that reads
the PUT body 1 MiB at a time into a file, which shows what the HTTP path itself allows,
and the same hashing every chunk with SHA-256: the least an upload that is hashed (as
every upload here is) can cost.
The worker's user and system CPU per file are reported next to each figure.

*Memory*: before each file the worker's peak RSS is reset (``/proc/<pid>/clear_refs``
= 5: VmHWM := VmRSS); after it, VmHWM is the file's peak. The baseline is the worker's
RSS after a warm-up (one 16 MiB file through each protocol, so imports, connections
and clients exist). Target: the peak of every file ≤ baseline + 64 MiB, and flat: the
worst peak of the second half of the files ≤ the worst of the first half + 8 MiB.

Each round's uploads are checked afterwards: 10 MediaFiles per user with the sources'
SHA-256 and size, every upload session completed, nothing left in the staging dir.

*Throughput and RSS vs file size* (local storage, a gunicorn of its own, after the rest):
direct and tus uploads of one file per size of ``BENCH_AUTHOR_MEDIA_SWEEP_MIB`` (default
1, 10, 100, 500, 1000 MiB; direct only up to the platform's ``MAX_DIRECT_UPLOAD_BYTES``,
512 MiB, above which it answers 413 and tus or multipart take over), against ``cp`` of the
same file, ``BENCH_AUTHOR_MEDIA_SWEEP_REPEATS`` times each (default 3, the order rotating;
64 random bytes rewritten at the file's start before each upload, untimed, so that no
upload is a duplicate), ``sync`` before each and the stored files deleted after each
repeat. Per size the best time and the worst peak RSS (VmHWM reset before each upload)
count. Rows: per protocol the curve (a reference: the throughput claim is the 10 x 100
MiB rows'), and its peak RSS, target ≤ +64 MiB at every size: an upload's memory must not
grow with the file. The curves are ``details["plot"]`` (bench/plots.py: upload_vs_size.png).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench import MIB, ROOT, Result, mib_s, run_child, size_label
from bench import SERVER_MALLOC_ENV as PLATFORM_MALLOC_ENV

FILES = int(os.environ.get("BENCH_AUTHOR_MEDIA_FILES", "10"))
SIZE = int(float(os.environ.get("BENCH_AUTHOR_MEDIA_SIZE_MIB", "100")) * MIB)
PART = 8 * MIB
TUS_CHUNK = int(float(os.environ.get("BENCH_AUTHOR_MEDIA_TUS_CHUNK_MIB", "0")) * MIB)
WARMUP_SIZE = 16 * MIB
SWEEP_SIZES = tuple(int(float(v) * MIB) for v in os.environ.get(
    "BENCH_AUTHOR_MEDIA_SWEEP_MIB", "1,10,100,500,1000").split(",") if v.strip())
SWEEP_REPEATS = int(os.environ.get("BENCH_AUTHOR_MEDIA_SWEEP_REPEATS", "3"))
SWEEP_PROTOCOLS = ("direct", "tus")
BACKENDS = ("local", "s3")
PROTOCOLS = ("direct", "multipart", "tus")
SINKS = ("sink", "sink_sha256")
BACKEND_LABEL = {"local": "local storage", "s3": "S3 (moto server)"}
PROTOCOL_LABEL = {
    "direct": "POST /v1/media/upload (direct, multipart/form-data)",
    "multipart": "multipart upload (8 MiB parts)",
    "tus": "tus 1.0.0 (creation + PATCH)",
}
SINK_LABEL = {
    "sink": "bare WSGI sink under the same gunicorn (PUT, 1 MiB reads written to a file; "
    "reference)",
    "sink_sha256": "bare WSGI sink + SHA-256 (PUT, 1 MiB reads hashed and written to a "
    "file; reference)",
}
FLOOR_LABEL = {"local": "cp", "s3": "boto3 upload_file"}
THROUGHPUT_TARGET = 0.5
RSS_ADDED_TARGET = 64 * MIB
RSS_GROWTH_TARGET = 8 * MIB
BUCKET = "bench-author-media"
MIME = "application/octet-stream"
HTTP_TIMEOUT = 600.0
CHILD_TIMEOUT = 300
# scripts/run.sh's defaults, which the environment overrides there as here
SERVER_MALLOC_ENV = {name: os.environ.get(name, value)
                     for name, value in PLATFORM_MALLOC_ENV.items()}
NOTES = [
    "author_media: the server is `gunicorn config.wsgi` (the Procfile's command: gthread, "
    "4 threads, timeout 120) with one worker and scripts/run.sh's allocator settings (the "
    "values are in the last author_media note), the run's PostgreSQL, Redis and moto on "
    "the same 2 cores; no Celery worker (the scan queued after each upload is not measured). The "
    "client is the bench process (http.client, bodies streamed from page-cache-warm "
    "files, one request at a time); a file's time ends when the request that creates the "
    "MediaFile returns. `sync` runs untimed before every transfer.",
    "author_media: the floors run interleaved with the uploads, file by file: `cp` into "
    "the local storage's directory; boto3 `upload_file` (default TransferConfig: 8 MiB "
    "parts, 10 threads; no CRC pass, as the platform's S3Storage) to the same moto "
    "bucket. On S3 the multipart upload's parts go from the client to the bucket "
    "(presigned URLs): the server only signs, then assembles and reads the object back "
    "at `complete`.",
    "author_media: peak RSS per file is the worker's VmHWM after resetting it through "
    "/proc/<pid>/clear_refs just before the file; the baseline is the worker's RSS after "
    "a warm-up of one 16 MiB file per protocol.",
    "author_media: the two sink rows (local storage only) are a bare WSGI function under "
    "the same gunicorn command reading the PUT body 1 MiB at a time into a file, without "
    "and with SHA-256: what the HTTP path allows, and the least a hashed upload costs.",
]


# -- bodies streamed from disk ---------------------------------------------------------


class Region:
    """``length`` bytes of a file from ``offset``, read with pread: an upload body."""

    def __init__(self, fd: int, offset: int, length: int) -> None:
        self._fd, self._pos, self._left = fd, offset, length

    def read(self, size: int = -1) -> bytes:
        n = self._left if size is None or size < 0 else min(size, self._left)
        if n <= 0:
            return b""
        data = os.pread(self._fd, n, self._pos)
        self._pos += len(data)
        self._left -= len(data)
        return data


class Concat:
    """Readers one after the other (a form's head, the file, its tail)."""

    def __init__(self, *parts: Any) -> None:
        self._parts = list(parts)

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            data = self._parts[0].read(size)
            if data:
                return bytes(data)
            self._parts.pop(0)
        return b""


class Bytes:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        n = len(self._data) if size is None or size < 0 else size
        out, self._data = self._data[:n], self._data[n:]
        return out


# -- HTTP ------------------------------------------------------------------------------


class HttpError(RuntimeError):
    pass


def request(
    url: str,
    method: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    expect: tuple[int, ...] = (200,),
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection; (status, lower-case headers, body)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=HTTP_TIMEOUT, blocksize=MIB
    )
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
    if response.status not in expect:
        raise HttpError(f"{method} {parts.path} -> {response.status}: {data[:600]!r}")
    return response.status, found, data


class Uploader:
    """The three protocols against one server, as one user."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.auth = {"Authorization": f"Bearer {token}"}

    def _json(self, path: str, payload: dict[str, Any], expect: tuple[int, ...]) -> Any:
        body = json.dumps(payload).encode()
        headers = {**self.auth, "Content-Type": "application/json"}
        headers["Content-Length"] = str(len(body))
        return json.loads(request(self.base + path, "POST", body, headers, expect=expect)[2])

    def direct(self, fd: int, size: int, name: str) -> str:
        boundary = uuid.uuid4().hex
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{name}"\r\nContent-Type: {MIME}\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        headers = {
            **self.auth,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        }
        body = Concat(Bytes(head), Region(fd, 0, size), Bytes(tail))
        data = request(self.base + "/v1/media/upload", "POST", body, headers, expect=(201,))[2]
        return _check_media(json.loads(data), size)

    def multipart(self, fd: int, size: int, name: str) -> str:
        started = self._json(
            "/v1/media/upload/multipart/initiate",
            {"filename": name, "mimeType": MIME, "size": size, "partSize": PART},
            (201,),
        )
        upload_id, count = started["uploadId"], int(started["partCount"])
        parts = []
        for number in range(1, count + 1):
            offset = (number - 1) * PART
            length = min(PART, size - offset)
            body = Region(fd, offset, length)
            if started["partUpload"] == "api":
                query = urlencode({"uploadId": upload_id, "partNumber": number})
                headers = {**self.auth, "Content-Type": MIME, "Content-Length": str(length)}
                url = f"{self.base}/v1/media/upload/multipart/part?{query}"
                etag = json.loads(request(url, "POST", body, headers)[2])["etag"]
            else:
                target = self._json(
                    "/v1/media/upload/multipart/part",
                    {"uploadId": upload_id, "partNumber": number},
                    (200,),
                )
                sent = request(
                    target["url"], target["method"], body, {"Content-Length": str(length)}
                )
                etag = sent[1]["etag"]
            parts.append({"partNumber": number, "etag": etag})
        done = self._json(
            "/v1/media/upload/multipart/complete", {"uploadId": upload_id, "parts": parts}, (201,)
        )
        return _check_media(done, size)

    def tus(self, fd: int, size: int, name: str) -> str:
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}"
            for k, v in (("filename", name), ("filetype", MIME))
        )
        tus = {"Tus-Resumable": "1.0.0"}
        created = request(
            self.base + "/v1/media/upload/tus/",
            "POST",
            b"",
            {**self.auth, **tus, "Upload-Length": str(size), "Upload-Metadata": meta},
            expect=(201,),
        )
        location = created[1]["location"]
        chunk = TUS_CHUNK or size
        offset = 0
        found: dict[str, str] = {}
        while offset < size:
            length = min(chunk, size - offset)
            headers = {
                **self.auth,
                **tus,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
            }
            found = request(location, "PATCH", Region(fd, offset, length), headers, expect=(204,))[
                1
            ]
            offset = int(found["upload-offset"])
        if "x-media-file-id" not in found or "x-media-duplicate-of" in found:
            raise HttpError(f"tus upload did not end in a new file: {found}")
        return found["x-media-file-id"]

    def sink(self, fd: int, size: int, name: str, query: str = "") -> str:
        """A reference: the whole file in one PUT to the bare WSGI sink."""
        headers = {"Content-Type": MIME, "Content-Length": str(size)}
        url = f"{self.base}/{name}{query}"
        request(url, "PUT", Region(fd, 0, size), headers, expect=(201,))
        return name

    def sink_sha256(self, fd: int, size: int, name: str) -> str:
        return self.sink(fd, size, name, "?sha256=1")


def sink_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The least a Python WSGI app can do with an upload, served by the same gunicorn:
    read the body 1 MiB at a time and write it to a file in the local storage's
    directory (no sniffing, no database, no fsync); with ``?sha256=1`` also SHA-256 it
    (hashlib, as the blob store): the least an upload that is hashed can cost."""
    if environ["REQUEST_METHOD"] != "PUT":
        start_response("405 Method Not Allowed", [("Content-Length", "0")])
        return []
    left = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"]
    target = Path(os.environ["MEDIA_ROOT"]) / f"sink-{uuid.uuid4().hex}"
    digest = hashlib.sha256() if "sha256=1" in environ.get("QUERY_STRING", "") else None
    with target.open("wb") as out:
        while left > 0:
            chunk = body.read(min(MIB, left))
            if not chunk:
                break
            if digest is not None:
                digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    start_response("201 Created", [("Content-Length", "0")])
    return []


def _check_media(body: dict[str, Any], size: int) -> str:
    if body.get("duplicateOf") is not None or int(body.get("fileSize", -1)) != size:
        raise HttpError(f"unexpected MediaFile: {str(body)[:400]}")
    return str(body["id"])


# -- the server and its worker's memory ------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


class Server:
    """gunicorn with one gthread worker, started and stopped by this process."""

    def __init__(self, env: dict[str, str], log: Path, app: str = "config.wsgi") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "120",
            "--graceful-timeout",
            "10",
            "--no-control-socket",
        ]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError, HttpError):
                request(self.base + "/v1/media/upload/tus/", "OPTIONS", expect=(204, 405))
                break
            time.sleep(0.3)
        workers = children(self.proc.pid)
        if len(workers) != 1:
            self.stop()
            raise RuntimeError(f"expected one gunicorn worker, found {workers}")
        self.worker = workers[0]

    def check_worker(self) -> None:
        if children(self.proc.pid) != [self.worker]:
            raise RuntimeError("the gunicorn worker was replaced (timeout or crash?)")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


# -- the floors ------------------------------------------------------------------------


class S3Floor:
    """A long-lived child with a boto3 client: ``put`` (timed upload_file, then the
    object deleted) and ``clear`` (empty the bucket between files: moto holds objects
    in memory)."""

    def __init__(self, env: dict[str, str], endpoint: str) -> None:
        spec = json.dumps({"endpoint": endpoint, "bucket": BUCKET})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_author_media", "s3_floor", spec],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the boto3 floor child exited ({self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.ask(op="quit")
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def write_sources(tmp: Path) -> list[dict[str, Any]]:
    """FILES files of SIZE random bytes (distinct: no deduplication), 8 MiB at a time."""
    sources = []
    for i in range(FILES):
        path = tmp / f"source-{i + 1:02d}.bin"
        digest = hashlib.sha256()
        with path.open("wb") as handle:
            left = SIZE
            while left:
                chunk = os.urandom(min(8 * MIB, left))
                digest.update(chunk)
                handle.write(chunk)
                left -= len(chunk)
        sources.append(
            {"path": str(path), "name": f"file-{i + 1:02d}.bin", "sha256": digest.hexdigest()}
        )
    return sources


def timed_cp(source: str, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", source, str(target)], check=True)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def empty_dir(path: Path) -> None:
    if path.exists():
        for entry in path.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def files_under(path: Path) -> list[str]:
    return sorted(str(Path(d) / f) for d, _, fs in os.walk(path) for f in fs)


# -- one backend -----------------------------------------------------------------------


def warm_up(uploader: Uploader, path: Path) -> None:
    """One small file through each protocol: imports, connections and clients exist."""
    fd = os.open(path, os.O_RDONLY)
    try:
        for protocol in PROTOCOLS:
            with path.open("r+b") as handle:  # distinct bytes per protocol: no dedup
                handle.write(os.urandom(64))
            getattr(uploader, protocol)(fd, WARMUP_SIZE, f"warmup-{protocol}.bin")
    finally:
        os.close(fd)


def timed_upload(
    server: Server, uploader: Uploader, protocol: str, fd: int, name: str, size: int = SIZE
) -> dict[str, Any]:
    """One file through ``protocol``: wall time, the worker's CPU and its peak RSS."""
    worker = server.worker
    reset_peak(worker)
    before = status_kib(worker)["VmRSS"]
    user_before, system_before = cpu_times(worker)
    started = time.perf_counter()
    media_id = getattr(uploader, protocol)(fd, size, name)
    seconds = time.perf_counter() - started
    after = status_kib(worker)
    user, system = cpu_times(worker)
    return {
        "seconds": seconds,
        "cpu_user": user - user_before,
        "cpu_system": system - system_before,
        "rss_before": before,
        "rss_peak": after["VmHWM"],
        "rss_after": after["VmRSS"],
        "media_id": media_id,
    }


def measure_backend(
    backend: str, tmp: Path, sources: list[dict[str, Any]], env: dict[str, str], endpoint: str
) -> dict[str, Any]:
    media_root = tmp / "media"
    staging = Path(env["VAR_DIR"]) / "uploads"
    media_root.mkdir(exist_ok=True)
    names = [f"{backend}-{p}" for p in PROTOCOLS] + [f"{backend}-warmup"]
    tokens = run_child(
        "bench_author_media",
        "users",
        {"names": names, "endpoint": endpoint, "bucket": BUCKET},
        env=env,
        timeout=CHILD_TIMEOUT,
    )["tokens"]
    server_env = {
        **env,
        **SERVER_MALLOC_ENV,
        "STORAGE_BACKEND": backend,
        "MEDIA_ROOT": str(media_root),
    }
    servers = {"app": Server(server_env, tmp / f"gunicorn-{backend}.log")}
    floor: S3Floor | None = None
    try:
        if backend == "s3":
            floor = S3Floor(env, endpoint)
        if backend == "local":
            servers["sink"] = Server(
                server_env, tmp / "gunicorn-sink.log", app="bench.bench_author_media:sink_app"
            )
        server = servers["app"]
        idle = status_kib(server.worker)["VmRSS"]
        warm_up(Uploader(server.base, tokens[f"{backend}-warmup"]), tmp / "warmup.bin")
        time.sleep(0.5)
        baseline = status_kib(server.worker)["VmRSS"]
        print(
            f"author_media {backend}: worker RSS {idle / MIB:.0f} MiB idle, "
            f"{baseline / MIB:.0f} MiB after warm-up",
            flush=True,
        )
        uploaders = {p: Uploader(server.base, tokens[f"{backend}-{p}"]) for p in PROTOCOLS}
        contenders = ("floor", *PROTOCOLS, *(SINKS if "sink" in servers else ()))
        if "sink" in servers:
            uploaders["sink"] = uploaders["sink_sha256"] = Uploader(servers["sink"].base, "")
            warm_up_sink = os.open(tmp / "warmup.bin", os.O_RDONLY)
            uploaders["sink"].sink(warm_up_sink, WARMUP_SIZE, "warmup.bin")
            os.close(warm_up_sink)
        runs: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
        for index, source in enumerate(sources):
            turn = index % len(contenders)
            order = contenders[turn:] + contenders[:turn]
            fd = os.open(source["path"], os.O_RDONLY)
            try:
                for contender in order:
                    os.sync()
                    if contender == "floor" and floor is not None:
                        answer = floor.ask(
                            op="put", path=source["path"], key=f"floor/{source['name']}"
                        )
                        runs["floor"].append({"seconds": float(answer["seconds"])})
                    elif contender == "floor":
                        seconds = timed_cp(source["path"], media_root / source["name"])
                        runs["floor"].append({"seconds": seconds})
                    else:
                        on = servers["sink" if contender in SINKS else "app"]
                        runs[contender].append(
                            timed_upload(on, uploaders[contender], contender, fd, source["name"])
                        )
            finally:
                os.close(fd)
            for each in servers.values():
                each.check_worker()
            line = ", ".join(f"{c} {mib_s(SIZE, runs[c][-1]['seconds']):5.0f}" for c in order)
            peaks = ", ".join(
                f"{p} +{(runs[p][-1]['rss_peak'] - baseline) / MIB:.0f}" for p in PROTOCOLS
            )
            print(
                f"  {backend} file {index + 1:2d}: MiB/s {line}; peak RSS MiB {peaks}", flush=True
            )
            # what was stored goes (the rows stay): moto keeps objects in memory
            if floor is not None:
                floor.ask(op="clear")
            else:
                empty_dir(media_root)
        leftovers = files_under(staging)
    finally:
        for each in servers.values():
            each.stop()
        if floor is not None:
            floor.close()
    verified = run_child(
        "bench_author_media",
        "verify",
        {
            "users": {p: tokens[f"{backend}-{p}"] for p in PROTOCOLS},
            "sha256": [s["sha256"] for s in sources],
            "size": SIZE,
        },
        env=env,
        timeout=CHILD_TIMEOUT,
    )
    return {
        "backend": backend,
        "runs": runs,
        "idle_rss": idle,
        "baseline_rss": baseline,
        "staging_leftovers": leftovers,
        "verified": verified,
    }


def write_random(path: Path, size: int) -> None:
    """``size`` random bytes, 8 MiB at a time (then warm in the page cache)."""
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(8 * MIB, left))
            handle.write(chunk)
            left -= len(chunk)


def measure_sweep(tmp: Path, env: dict[str, str], endpoint: str) -> dict[str, Any]:
    """Direct and tus uploads to local storage per file size, against cp; see the
    module docstring (*Throughput and RSS vs file size*)."""
    media_root = tmp / "sweep-media"
    staging = Path(env["VAR_DIR"]) / "uploads"
    media_root.mkdir(exist_ok=True)
    names = [f"sweep-{p}" for p in SWEEP_PROTOCOLS] + ["sweep-warmup"]
    users = run_child("bench_author_media", "users",
                      {"names": names, "endpoint": endpoint, "bucket": BUCKET},
                      env=env, timeout=CHILD_TIMEOUT)
    direct_max = int(users["max_direct_upload_bytes"])
    tokens = users["tokens"]
    server_env = {**env, **SERVER_MALLOC_ENV, "STORAGE_BACKEND": "local",
                  "MEDIA_ROOT": str(media_root)}
    server = Server(server_env, tmp / "gunicorn-sweep.log")
    points: dict[str, dict[int, list[dict[str, Any]]]] = {
        c: {} for c in ("floor", *SWEEP_PROTOCOLS)}
    try:
        warm_up(Uploader(server.base, tokens["sweep-warmup"]), tmp / "warmup.bin")
        time.sleep(0.5)
        baseline = status_kib(server.worker)["VmRSS"]
        uploaders = {p: Uploader(server.base, tokens[f"sweep-{p}"]) for p in SWEEP_PROTOCOLS}
        for size in SWEEP_SIZES:
            source = tmp / "sweep-source.bin"
            write_random(source, size)
            contenders = [c for c in ("floor", *SWEEP_PROTOCOLS)
                          if c != "direct" or size <= direct_max]
            fd = os.open(source, os.O_RDWR)
            try:
                for repeat in range(SWEEP_REPEATS):
                    turn = repeat % len(contenders)
                    for contender in contenders[turn:] + contenders[:turn]:
                        os.pwrite(fd, os.urandom(64), 0)  # never a duplicate upload
                        os.sync()
                        if contender == "floor":
                            run = {"seconds": timed_cp(str(source), media_root / "cp.bin")}
                        else:
                            run = timed_upload(server, uploaders[contender], contender, fd,
                                               f"sweep-{repeat}.bin", size)
                        points[contender].setdefault(size, []).append(run)
                    server.check_worker()
                    empty_dir(media_root)
            finally:
                os.close(fd)
                source.unlink()
            print(f"  sweep {size_label(size):>8}: MiB/s " + ", ".join(
                f"{c} {mib_s(size, min(r['seconds'] for r in points[c][size])):.0f}"
                for c in contenders) + "; peak RSS MiB " + ", ".join(
                f"{c} +{(max(r['rss_peak'] for r in points[c][size]) - baseline) / MIB:.0f}"
                for c in contenders if c != "floor"), flush=True)
        leftovers = files_under(staging)
    finally:
        server.stop()
    return {"points": points, "baseline_rss": baseline, "direct_max": direct_max,
            "staging_leftovers": leftovers}


# -- rows ------------------------------------------------------------------------------


def _total(runs: list[dict[str, Any]]) -> float:
    return sum(float(r["seconds"]) for r in runs)


def throughput_rows(m: dict[str, Any]) -> list[Result]:
    backend, runs = m["backend"], m["runs"]
    total = SIZE * FILES
    floor_s = _total(runs["floor"])
    floor_p50 = statistics.median(float(r["seconds"]) for r in runs["floor"])
    baseline = (
        f"{FLOOR_LABEL[backend]} {mib_s(total, floor_s):.0f} MiB/s (per file p50 {floor_p50:.2f} s)"
    )
    rows: list[Result] = []
    for contender in (*PROTOCOLS, *SINKS):
        if contender not in runs:
            continue
        ours = runs[contender]
        seconds = _total(ours)
        ratio = floor_s / seconds
        per_file = [float(r["seconds"]) for r in ours]
        user = sum(float(r["cpu_user"]) for r in ours) / FILES
        system = sum(float(r["cpu_system"]) for r in ours) / FILES
        reference = contender in SINKS
        what = SINK_LABEL[contender] if reference else PROTOCOL_LABEL[contender]
        rows.append(
            Result(
                benchmark=f"author_media {what} → {BACKEND_LABEL[backend]}, {FILES} x "
                f"{size_label(SIZE)}: throughput",
                figure=f"{mib_s(total, seconds):.0f} MiB/s (per file p50 "
                f"{statistics.median(per_file):.2f} s; worker CPU per file {user:.2f} s "
                f"user + {system:.2f} s system)",
                baseline=baseline,
                ratio=round(ratio, 3),
                target="— (reference)" if reference else f"≥ {THROUGHPUT_TARGET}x",
                met=None if reference else ratio >= THROUGHPUT_TARGET,
                details={
                    "seconds": per_file,
                    "cpu_user": [r["cpu_user"] for r in ours],
                    "cpu_system": [r["cpu_system"] for r in ours],
                    "floor_seconds": [r["seconds"] for r in runs["floor"]],
                },
            )
        )
    return rows


def rss_rows(m: dict[str, Any]) -> list[Result]:
    backend, runs, baseline = m["backend"], m["runs"], m["baseline_rss"]
    rows: list[Result] = []
    for protocol in PROTOCOLS:
        peaks = [int(r["rss_peak"]) for r in runs[protocol]]
        added = [p - baseline for p in peaks]
        half = max(1, len(peaks) // 2)
        growth = max(peaks[half:] or peaks) - max(peaks[:half])
        end = int(runs[protocol][-1]["rss_after"]) - baseline
        ok = max(added) <= RSS_ADDED_TARGET and growth <= RSS_GROWTH_TARGET
        rows.append(
            Result(
                benchmark=f"author_media {PROTOCOL_LABEL[protocol]} → {BACKEND_LABEL[backend]}, "
                f"{FILES} x {size_label(SIZE)}: server worker peak RSS",
                figure=f"+{max(added) / MIB:.1f} MiB at most (file 1 +{added[0] / MIB:.1f}, "
                f"file {len(added)} +{added[-1] / MIB:.1f}; 2nd half vs 1st "
                f"{growth / MIB:+.1f} MiB; after the last file {end / MIB:+.1f} MiB)",
                baseline=f"worker RSS {baseline / MIB:.0f} MiB after warm-up "
                f"({m['idle_rss'] / MIB:.0f} MiB idle at start)",
                ratio=round(max(peaks) / baseline, 3),
                target=f"≤ +{RSS_ADDED_TARGET // MIB} MiB and flat (2nd half ≤ 1st + "
                f"{RSS_GROWTH_TARGET // MIB} MiB)",
                met=ok,
                details={
                    "rss_peak": peaks,
                    "rss_before": [r["rss_before"] for r in runs[protocol]],
                    "rss_after": [r["rss_after"] for r in runs[protocol]],
                    "baseline_rss": baseline,
                    "idle_rss": m["idle_rss"],
                },
            )
        )
    return rows


def sweep_rows(m: dict[str, Any]) -> list[Result]:
    """Per protocol: throughput vs file size (reference: the curve) and its peak RSS
    (target: ≤ +64 MiB at every size)."""
    floor = m["points"]["floor"]
    floor_sizes = sorted(floor)
    floor_rate = {n: mib_s(n, min(r["seconds"] for r in floor[n])) for n in floor_sizes}
    baseline = m["baseline_rss"]
    rows: list[Result] = []
    for protocol in SWEEP_PROTOCOLS:
        runs = m["points"][protocol]
        sizes = sorted(runs)
        if not sizes:
            continue
        rate = {n: mib_s(n, min(r["seconds"] for r in runs[n])) for n in sizes}
        added = {n: max(r["rss_peak"] for r in runs[n]) - baseline for n in sizes}
        skipped = [size_label(n) for n in floor_sizes if n not in runs]
        over = (f"; {', '.join(skipped)} over the direct limit "
                f"({size_label(m['direct_max'])}: multipart or tus)" if skipped else "")
        what = (f"author_media {PROTOCOL_LABEL[protocol]} → local storage, one file of "
                f"{' / '.join(size_label(n) for n in sizes)}, best of {SWEEP_REPEATS}")
        rows.append(Result(
            benchmark=f"{what}: throughput vs file size",
            figure=", ".join(f"{size_label(n)} {rate[n]:.0f} MiB/s ({rate[n] / floor_rate[n]:.2f}x)"
                             for n in sizes) + over,
            baseline="cp " + ", ".join(f"{size_label(n)} {floor_rate[n]:.0f} MiB/s"
                                       for n in floor_sizes),
            ratio=round(rate[sizes[-1]] / floor_rate[sizes[-1]], 3),
            target="— (reference: the curve; the throughput claim is the 10 x 100 MiB row's)",
            met=None,
            details={"seconds": {str(n): [r["seconds"] for r in runs[n]] for n in sizes},
                     "floor_seconds": {str(n): [r["seconds"] for r in floor[n]]
                                       for n in floor_sizes},
                     "plot": {"kind": "upload_vs_size", "label": protocol,
                              "sizes_mib": [n / MIB for n in sizes],
                              "mib_s": [rate[n] for n in sizes],
                              "peak_rss_added_mib": [added[n] / MIB for n in sizes],
                              "floor_label": "cp", "rss_target_mib": RSS_ADDED_TARGET / MIB,
                              "floor_sizes_mib": [n / MIB for n in floor_sizes],
                              "floor_mib_s": [floor_rate[n] for n in floor_sizes]}}))
        worst = max(added.values())
        rows.append(Result(
            benchmark=f"{what}: server worker peak RSS vs file size",
            figure=", ".join(f"{size_label(n)} +{added[n] / MIB:.1f} MiB" for n in sizes)
                   + (f"; staging dir not empty: {len(m['staging_leftovers'])} files"
                      if m["staging_leftovers"] else ""),
            baseline=f"worker RSS {baseline / MIB:.0f} MiB after warm-up",
            ratio=round((baseline + worst) / baseline, 3),
            target=f"≤ +{RSS_ADDED_TARGET // MIB} MiB at every size",
            met=worst <= RSS_ADDED_TARGET and not m["staging_leftovers"],
            details={"rss_peak": {str(n): [r["rss_peak"] for r in runs[n]] for n in sizes},
                     "baseline_rss": baseline}))
    return rows


def check_row(m: dict[str, Any]) -> Result:
    verified, leftovers = m["verified"], m["staging_leftovers"]
    problems = list(verified["problems"])
    if leftovers:
        problems.append(f"{len(leftovers)} files left in the staging dir")
    return Result(
        benchmark=f"author_media uploads → {BACKEND_LABEL[m['backend']]}: every upload "
        "recorded as sent",
        figure=(
            "; ".join(problems)
            if problems
            else f"{verified['files']} MediaFiles, SHA-256 and size = the sources', "
            f"{verified['sessions']} upload sessions completed, staging dir empty"
        ),
        baseline="the sources' SHA-256 (hashlib, at generation)",
        ratio=None,
        target="every file once, exact bytes, nothing left over",
        met=not problems,
        details={"verified": verified, "staging_leftovers": leftovers[:20]},
    )


def run() -> list[Result]:
    endpoint = os.environ.get("TEST_S3_ENDPOINT_URL")
    if not endpoint:
        raise RuntimeError(
            "TEST_S3_ENDPOINT_URL is not set: run `make bench` "
            "(scripts/test_services.py starts the S3 endpoint)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="bench-author-media-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VAR_DIR": str(tmp / "var"),
        "SECRET_KEY": "bench-author-media-" + uuid.uuid4().hex,
        "JWT_ACCESS_MINUTES": "240",
        "LOG_LEVEL": "WARNING",
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    try:
        started = time.perf_counter()
        sources = write_sources(tmp)
        with (tmp / "warmup.bin").open("wb") as handle:
            handle.write(os.urandom(WARMUP_SIZE))
        print(
            f"author_media: {FILES} x {size_label(SIZE)} sources written in "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
        measured = [measure_backend(b, tmp, sources, env, endpoint) for b in BACKENDS]
        for source in sources:  # disk: the sweep writes files up to 1 GiB
            Path(source["path"]).unlink()
        started = time.perf_counter()
        sweep = measure_sweep(tmp, env, endpoint)
        print(f"author_media: size sweep in {time.perf_counter() - started:.0f}s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows: list[Result] = []
    for m in measured:
        rows += throughput_rows(m)
    for m in measured:
        rows += rss_rows(m)
    rows += [check_row(m) for m in measured]
    rows += sweep_rows(sweep)
    NOTES.append(
        f"author_media: load average at the end {os.getloadavg()[0]:.1f}; "
        f"tus chunk: {size_label(TUS_CHUNK) if TUS_CHUNK else 'the whole file'}; server "
        "allocator: "
        + ", ".join(
            f"{k}={v}"
            for k, v in sorted({**os.environ, **SERVER_MALLOC_ENV}.items())
            if k.startswith("MALLOC_")
        )
        + "."
    )
    return rows


# -- the children ----------------------------------------------------------------------


def users_mode(spec: dict[str, Any]) -> dict[str, Any]:
    """Users on the business tier, a JWT each, and the S3 bucket."""
    import boto3
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from author_media import usage

    client = boto3.client("s3", endpoint_url=spec["endpoint"], region_name="us-east-1")
    if spec["bucket"] not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
        client.create_bucket(Bucket=spec["bucket"])
    tokens = {}
    for name in spec["names"]:
        user = User.objects.create_user(username=f"bench-am-{name}-{uuid.uuid4().hex[:8]}")
        usage.usage_set_tier(user_id=user.pk, tier="business")
        tokens[name] = str(AccessToken.for_user(user))
    from author_media.conf import author_media_settings

    return {"tokens": tokens,
            "max_direct_upload_bytes": int(author_media_settings.MAX_DIRECT_UPLOAD_BYTES)}


def verify_mode(spec: dict[str, Any]) -> dict[str, Any]:
    """Each user holds one live MediaFile per source (SHA-256, size) and only completed
    upload sessions."""
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    from author_media.models import MediaFile, UploadSession, UploadState

    problems: list[str] = []
    files = sessions = 0
    expected = sorted(spec["sha256"])
    for protocol, token in spec["users"].items():
        user_id = AccessToken(token)["user_id"]
        rows = list(
            MediaFile.objects.filter(user_id=user_id, deleted_at__isnull=True).values_list(
                "sha256", "file_size"
            )
        )
        files += len(rows)
        if sorted(r[0] for r in rows) != expected:
            problems.append(f"{protocol}: the files' SHA-256 are not the sources'")
        if any(r[1] != spec["size"] for r in rows):
            problems.append(f"{protocol}: a file's size is not {spec['size']}")
        states = list(UploadSession.objects.filter(user_id=user_id).values_list("state", flat=True))
        sessions += len(states)
        if any(s != UploadState.COMPLETED for s in states):
            problems.append(f"{protocol}: upload sessions not completed: {states}")
    return {"problems": problems, "files": files, "sessions": sessions}


def s3_floor_mode(spec: dict[str, Any]) -> None:
    """Answer ``put``/``clear``/``quit`` lines on stdin with JSON lines on stdout."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    bucket = spec["bucket"]
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        answer: dict[str, Any] = {}
        if command["op"] == "put":
            started = time.perf_counter()
            client.upload_file(command["path"], bucket, command["key"])
            answer["seconds"] = time.perf_counter() - started
            size = client.head_object(Bucket=bucket, Key=command["key"])["ContentLength"]
            if size != os.path.getsize(command["path"]):
                raise RuntimeError(f"uploaded {size} bytes of {command['path']}")
            client.delete_object(Bucket=bucket, Key=command["key"])
        elif command["op"] == "clear":
            deleted = 0
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
                    deleted += len(keys)
            for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            answer["deleted"] = deleted
        else:
            print(json.dumps({"bye": True}), flush=True)
            return
        print(json.dumps(answer), flush=True)


def _main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    spec = json.loads(argv[2])
    if argv[1] == "s3_floor":
        s3_floor_mode(spec)
        return
    modes = {"users": users_mode, "verify": verify_mode}
    print(json.dumps(modes[argv[1]](spec), default=str), flush=True)


if __name__ == "__main__":
    _main(sys.argv)
