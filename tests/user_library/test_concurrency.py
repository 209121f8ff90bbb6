"""Races on the real PostgreSQL: saves at the quota boundary and deletes of one item,
from threads that each hold their own database connection."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.storage.models import BlobTombstone, QuotaLedger, StoredFile
from tests.user_library.conftest import Library, LibraryStorage
from tests.user_library.helpers import (
    PNG,
    assert_ledger_matches_files,
    b64,
    ledger,
    ledger_state,
    library_bytes,
    png,
    set_limit,
)
from user_library.conf import QUOTA_BUCKET
from user_library.models import LibraryItem
from user_library.services import save_to_library

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; each closes its own
    connection. Exceptions are re-raised here."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


class LedgerWatch:
    """Reads the ledger over its own connection while the threads run, and keeps the
    highest used + reserved it saw."""

    def __init__(self, ledger_id: int) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ledger_id,))

    def _run(self, ledger_id: int) -> None:
        try:
            while not self._stop.is_set():
                row = QuotaLedger.objects.filter(pk=ledger_id).values_list(
                    "used_bytes", "reserved_bytes").first()
                assert row is not None
                self.peak = max(self.peak, row[0] + row[1])
                self._stop.wait(0.001)
        finally:
            connection.close()

    def __enter__(self) -> LedgerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.mark.parametrize("mode", ["base64", "stream"])
def test_concurrent_saves_never_pass_the_limit(user: Any, storage: LibraryStorage,
                                               mode: str) -> None:
    """Base64 declares its size (a reservation first); a stream does not (charged after
    the upload): either way exactly as many files as fit are kept."""
    fits, attempts = 3, 8
    limit = fits * len(PNG) + len(PNG) - 1
    row = set_limit(user, limit)

    def save(index: int) -> Any:
        data: Any = b64(PNG) if mode == "base64" else io.BytesIO(PNG)
        return save_to_library(user.pk, "image", "generate", data, "image/png",
                               {"seed": index})

    with LedgerWatch(row.pk) as watch:
        results = in_threads(attempts, save)

    kept = [r for r in results if r is not None]
    assert len(kept) == fits
    assert len({r.storage_path for r in kept}) == fits
    assert watch.peak <= limit
    assert ledger_state(user) == (fits * len(PNG), 0, fits, fits, 0)
    assert library_bytes(user) == fits * len(PNG)
    assert_ledger_matches_files(user)
    assert set(LibraryItem.objects.values_list("id", flat=True)) == {
        uuid.UUID(r.id) for r in kept}
    # the refused uploads left no bytes; the kept ones were processed
    assert not BlobTombstone.objects.exists()
    storage.assert_consistent()
    originals = {k for k in storage.stored_keys() if ".variants/" not in k}
    assert originals == {r.storage_path for r in kept}
    assert set(StoredFile.objects.values_list("processing_state", flat=True)) == {"ready"}


def test_concurrent_saves_of_different_users_do_not_share_a_limit(user: Any,
                                                                  make_user: Any) -> None:
    users = [user, *(make_user() for _ in range(3))]
    for each in users:
        set_limit(each, len(PNG))

    def save(index: int) -> Any:
        return save_to_library(users[index % 4].pk, "image", "generate", b64(PNG),
                               "image/png", {})

    results = in_threads(8, save)
    assert sum(r is not None for r in results) == 4  # one per user
    for each in users:
        assert ledger_state(each) == (len(PNG), 0, 1, 1, 0)
        assert_ledger_matches_files(each)


def test_concurrent_deletes_of_one_item_release_it_once(user: Any, library: Library,
                                                        storage: LibraryStorage) -> None:
    keep = library.save(user, png(1))
    gone = library.save(user, png(2))

    def delete(index: int) -> tuple[str, int]:
        client = APIClient()
        client.force_authenticate(user)
        if index % 2:
            response = client.delete("/api/library/batch", {"ids": [gone.id]}, format="json")
            assert response.status_code == 200
            return "batch", int(response.json()["deleted"])
        return "single", int(client.delete(f"/api/library/{gone.id}").status_code)

    results = in_threads(6, delete)
    singles = [status for how, status in results if how == "single"]
    batches = [deleted for how, deleted in results if how == "batch"]
    assert set(singles) <= {200, 404} and set(batches) <= {0, 1}
    assert singles.count(200) + sum(batches) == 1  # exactly one request deleted it
    assert ledger_state(user) == (len(keep.data), 0, 1, 1, 0)
    assert_ledger_matches_files(user)
    assert not BlobTombstone.objects.exists()
    storage.assert_consistent()
    assert ledger(user) is not None and QuotaLedger.objects.filter(
        owner_user=user, bucket=QUOTA_BUCKET).count() == 1
