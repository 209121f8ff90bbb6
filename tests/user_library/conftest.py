"""Fixtures of the library suite.

``storage`` runs a test over both storages the platform supports, configured the way a
deployment configures them (``settings.STORAGES["default"]``), so the library's own code
paths — the module-level ``blob_store``, the presenter's URL signer — use them:

- local ``FileSystemStorage`` under the test's temp dir; its signed URLs are fetched
  through Django's test client (``apps.storage.views.serve``);
- ``apps.storage.backends.S3Storage`` against the real moto S3 server, one fresh bucket
  per test; its presigned URLs are fetched with ``requests``.

``library`` saves items through the real ``save_to_library``; with ``process=True``
(the default) the after-commit work runs too — the real clamd scan, then probe,
metadata and variants (Celery is eager in tests).
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.accounts.models import User
from apps.storage.models import BlobTombstone, StoredFile, Variant
from tests.apps.storage.conftest import s3_bucket  # noqa: F401 (a fixture)
from tests.apps.storage.helpers import Fetched, local_backend_for, s3_backend_for
from tests.user_library.helpers import PNG, LibraryItemFixture, save_item

LOCAL = ("django.core.files.storage.FileSystemStorage",
         "tests.user_library.storages.FailingDeleteFileSystemStorage")
S3 = ("apps.storage.backends.S3Storage", "tests.user_library.storages.FailingDeleteS3Storage")


class LibraryStorage:
    """The default storage of this test, and ways to look into it."""

    def __init__(self, name: str, settings: Any, options: dict[str, Any],
                 classes: tuple[str, str], backend: Any) -> None:
        self.name, self._settings, self._options = name, settings, options
        self._working, self._failing = classes
        self._backend = backend  # an independent client of the same location/bucket
        self._use(self._working)

    def _use(self, backend_class: str) -> None:
        self._settings.STORAGES = {**self._settings.STORAGES,
                                   "default": {"BACKEND": backend_class,
                                               "OPTIONS": dict(self._options)}}

    def break_deletes(self) -> None:
        """From now on every delete fails (saving and reading still work)."""
        self._use(self._failing)

    def repair(self) -> None:
        self._use(self._working)

    def stored_keys(self) -> set[str]:
        """Every key the storage holds (local: every file under its root)."""
        keys: set[str] = self._backend.keys()
        return keys

    def read(self, key: str) -> bytes:
        with self._backend.storage.open(key, "rb") as handle:
            return bytes(handle.read())

    def fetch(self, url: str, **headers: str) -> Fetched:
        fetched: Fetched = self._backend.fetch(url, headers=headers)
        return fetched

    def assert_consistent(self) -> None:
        """No orphan bytes without a record, and no record pointing at nothing."""
        keys = self.stored_keys()
        files = set(StoredFile.objects.values_list("key", flat=True))
        variants = set(Variant.objects.values_list("key", flat=True))
        stones = set(BlobTombstone.objects.values_list("key", flat=True))
        assert keys <= files | variants | stones, f"orphans: {keys - files - variants - stones}"
        assert files | variants <= keys, f"rows without bytes: {(files | variants) - keys}"


def _local(settings: Any) -> LibraryStorage:
    location = str(settings.STORAGES["default"]["OPTIONS"]["location"])  # tests/conftest.py
    return LibraryStorage("local", settings, {"location": location, "base_url": "/media/"},
                          LOCAL, local_backend_for(location))


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, settings: Any) -> LibraryStorage:
    if request.param == "local":
        return _local(settings)
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = request.getfixturevalue("s3_bucket")
    options = {"bucket_name": bucket, "endpoint_url": endpoint, "access_key": "testing",
               "secret_key": "testing", "region_name": "us-east-1"}
    return LibraryStorage("s3", settings, options, S3, s3_backend_for(endpoint, bucket))


@pytest.fixture
def local_storage(settings: Any) -> LibraryStorage:
    return _local(settings)


@pytest.fixture
def other_user(make_user: Any) -> User:
    return make_user("bob")


class Library:
    """Saves items the way the generators do (``save_to_library``)."""

    def __init__(self, capture: Any) -> None:
        self._capture = capture

    def save(self, user: User, data: bytes = PNG, mime_type: str = "image/png", *,
             source: str = "generate", media_type: str | None = None,
             metadata: dict[str, Any] | None = None, process: bool = True,
             ) -> LibraryItemFixture:
        """Save one item; with ``process`` the after-commit scan and pipeline run too
        (in a test transaction they would otherwise never run: the item stays pending)."""
        if process:
            with self._capture(execute=True):
                return save_item(user, data, mime_type, source=source,
                                 media_type=media_type, metadata=metadata)
        return save_item(user, data, mime_type, source=source, media_type=media_type,
                         metadata=metadata)


@pytest.fixture
def library(django_capture_on_commit_callbacks: Any) -> Library:
    return Library(django_capture_on_commit_callbacks)
