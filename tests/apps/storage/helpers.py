"""Helpers of the storage suite: the backends the contract runs over, and file fixtures.

Each backend gives the tests the same small surface: the storage, a BlobStore over it,
the keys it holds, and a way to fetch a signed URL (local: Django's test client against
``apps.storage.views.serve``; S3: ``requests`` against the moto server).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.test import Client

from apps.storage.backends import S3Storage
from apps.storage.blobs import BlobStore
from apps.storage.models import BlobTombstone, StoredFile, Variant
from apps.storage.naming import variant_key
from tests.apps.storage.samples import image_bytes


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Backend:
    name: str
    storage: Storage
    store: BlobStore
    _list: Any
    _fetch: Any

    def keys(self) -> set[str]:
        """Every key the storage holds (for local: every file under its root)."""
        return set(self._list())

    def fetch(self, url: str, *, method: str = "GET", headers: dict[str, str] | None = None
              ) -> Fetched:
        return self._fetch(url, method, headers or {})


def local_backend_for(location: str) -> Backend:
    storage = FileSystemStorage(location=location, base_url="/media/")
    root = Path(location)
    client = Client()

    def list_keys() -> list[str]:
        if not root.exists():
            return []
        return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]

    def fetch(url: str, method: str, headers: dict[str, str]) -> Fetched:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        response = client.generic(method, url, **extra)
        if getattr(response, "streaming", False):
            body = b"".join(response.streaming_content)
        else:
            body = response.content
        return Fetched(response.status_code, {k.lower(): v for k, v in response.items()}, body)

    return Backend("local", storage, BlobStore(storage), list_keys, fetch)


def s3_backend_for(endpoint: str, bucket: str) -> Backend:
    storage = S3Storage(bucket_name=bucket, endpoint_url=endpoint, access_key="testing",
                        secret_key="testing", region_name="us-east-1")
    client = s3_client(endpoint)

    def list_keys() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def fetch(url: str, method: str, headers: dict[str, str]) -> Fetched:
        response = requests.request(method, url, headers=headers, timeout=30)
        return Fetched(response.status_code, {k.lower(): v for k, v in response.headers.items()},
                       response.content)

    return Backend("s3", storage, BlobStore(storage), list_keys, fetch)


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))


def cleared(stored: StoredFile) -> StoredFile:
    """Mark a file as the scanner would after a clean verdict: only such files are served."""
    StoredFile.objects.filter(pk=stored.pk).update(scan_status="CLEAN")
    stored.scan_status = "CLEAN"
    return stored


def add_variant(backend: Backend, stored: StoredFile, spec: str = "thumb:64") -> Variant:
    """Store a small WebP as a thumbnail variant of ``stored`` (as the worker would)."""
    data = image_bytes("WEBP", (8, 6))
    key = backend.storage.save(variant_key(stored.key, spec, ".webp"), ContentFile(data))
    return Variant.objects.create(stored_file=stored, kind="thumbnail", spec=spec, format="webp",
                                  mime_type="image/webp", size=len(data), key=key)


def assert_no_orphans(backend: Backend) -> None:
    """Every stored key is a live file, a live variant or a pending tombstone."""
    known = (set(StoredFile.objects.values_list("key", flat=True))
             | set(Variant.objects.values_list("key", flat=True))
             | set(BlobTombstone.objects.values_list("key", flat=True)))
    assert backend.keys() <= known
