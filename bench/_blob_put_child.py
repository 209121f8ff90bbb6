"""The measured process of ``bench_blob_put``: one upload per process, reported as JSON.

    python -m bench._blob_put_child '{"backend": "s3", "mode": "put", "path": ..., ...}'

Why a process of its own: ``ru_maxrss`` is a high-water mark over a process's whole
life, so a peak that belongs to one upload needs a process that has done nothing else.
The process sets Django up, creates a user to own the file (and the S3 bucket), notes
its peak RSS *before* the upload (the baseline: interpreter, Django, psycopg, boto3),
then streams the file in and notes the peak again.

``mode`` is ``put`` (``BlobStore.put``: the thing measured) or ``save`` (the bare
storage's ``save`` of the same stream, without hashing, sniffing or the database: the
reference that separates the blob store's cost from the backend's). The source is
read through :class:`CountingReader`, a non-seekable view of the file, like a request
body, that counts every byte it hands out: the proof that ``put`` reads its input once.
Everything it stored is deleted before the process exits (moto keeps objects in RAM).
"""

from __future__ import annotations

import io
import json
import os
import resource
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

BUCKET = "bench-blob-put"
SAVE_CHUNK = 1024 * 1024  # the blob store's default CHUNK_SIZE, for a like-for-like save


class CountingReader(io.RawIOBase):
    """Reads a file unbuffered, cannot seek, and counts the bytes and calls it served."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115  (closed in close())
        self.bytes_read = 0
        self.calls = 0
        self.largest = 0
        self.name = os.path.basename(path)
        self.content_type = "application/octet-stream"  # read by S3Storage in save mode

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        data = self._file.read(-1 if size is None else size) or b""
        self.calls += 1
        self.bytes_read += len(data)
        self.largest = max(self.largest, len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """What Django's FileSystemStorage pulls from in save mode."""
        while chunk := self.read(chunk_size or SAVE_CHUNK):
            yield chunk

    def close(self) -> None:
        self._file.close()
        super().close()


def peak_rss() -> int:
    """This process's peak resident set so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_storage(spec: dict[str, Any]) -> Any:
    """The backend under test, built the way the brief and the project build it."""
    if spec["backend"] == "local":
        from django.core.files.storage import FileSystemStorage

        return FileSystemStorage(location=spec["media_root"])
    from botocore.exceptions import ClientError

    from apps.storage.backends import S3Storage

    storage = S3Storage(bucket_name=BUCKET, endpoint_url=spec["endpoint"],
                        access_key="testing", secret_key="testing",  # noqa: S106  (moto)
                        region_name="us-east-1")
    client = storage.connection.meta.client
    try:
        client.head_bucket(Bucket=BUCKET)
    except ClientError:
        client.create_bucket(Bucket=BUCKET)
    return storage


def leftovers(storage: Any, spec: dict[str, Any]) -> int:
    """Objects (and unfinished multipart uploads) left in the bucket; 0 for local."""
    if spec["backend"] == "local":
        return sum(len(files) for _, _, files in os.walk(spec["media_root"]))
    client = storage.connection.meta.client
    objects = client.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    uploads = len(client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))
    return int(objects) + uploads


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from apps.accounts.models import User
    from apps.storage.blobs import BlobStore

    storage = make_storage(spec)
    store = BlobStore(storage)
    user = User.objects.create_user(username=f"bench-{uuid.uuid4().hex[:12]}")
    size = int(spec["size"])
    source = CountingReader(spec["path"])
    rss_before = peak_rss()
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    if spec["mode"] == "put":
        stored = store.put(source, owner=user, name="random.bin", max_size=size)
        key, sha256, recorded_size = stored.key, stored.sha256, stored.size
    else:
        stored = None
        key = storage.save(f"bench/{uuid.uuid4().hex}.bin", source)
        sha256, recorded_size = None, None
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    rss_peak = peak_rss()
    source.close()
    stored_size = storage.size(key)
    if stored is not None:
        store.delete(stored)
    else:
        storage.delete(key)
    user.delete()
    return {"backend": spec["backend"], "mode": spec["mode"], "size": size,
            "seconds": elapsed, "cpu_seconds": cpu, "rss_before_put": rss_before,
            "rss_peak": rss_peak, "bytes_read": source.bytes_read, "read_calls": source.calls,
            "largest_read": source.largest, "sha256": sha256, "recorded_size": recorded_size,
            "stored_size": stored_size, "still_exists": bool(storage.exists(key)),
            "leftovers": leftovers(storage, spec)}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
