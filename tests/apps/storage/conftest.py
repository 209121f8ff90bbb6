"""Fixtures of the storage suite: the backends the contract runs over, and owners.

``backend`` is parametrised over local FileSystemStorage (the one the signed-URL view
serves from) and ``apps.storage.backends.S3Storage`` against the real moto S3 server
(one fresh bucket per test).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from apps.accounts.models import User
from tests.apps.storage.helpers import Backend, local_backend_for, s3_backend_for, s3_client


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    """A fresh bucket on the moto server, emptied and removed afterwards."""
    client = s3_client(s3_endpoint)
    name = f"test-{uuid.uuid4().hex[:20]}"
    client.create_bucket(Bucket=name)
    yield name
    for upload in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
    for page in pages:
        for item in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


@pytest.fixture
def media_root(settings: Any) -> str:
    """The default storage's root: the tests' own temp dir (see tests/conftest.py)."""
    return str(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.fixture
def local_backend(media_root: str) -> Backend:
    return local_backend_for(media_root)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, media_root: str) -> Backend:
    if request.param == "local":
        return local_backend_for(media_root)
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_backend_for(endpoint, request.getfixturevalue("s3_bucket"))


@pytest.fixture
def owner(make_user: Any) -> User:
    return make_user()
