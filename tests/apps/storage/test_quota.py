"""The quota ledger: reservations, charges, releases, repair, and the boundary under races."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.storage import quota
from apps.storage.errors import QuotaExceeded, UploadTooLarge
from apps.storage.models import QuotaLedger, QuotaReservation, StoredFile
from tests.apps.storage.helpers import Backend, add_variant
from tests.apps.storage.samples import (
    PDF_BYTES,
    TEXT_BYTES,
    counting_chunks,
    image_bytes,
    png_bytes,
)

SIZE = 4096


def limited(owner: User | Workspace, limit: int | None) -> QuotaLedger:
    ledger = quota.ledger_for(owner)
    ledger.limit_bytes = limit
    ledger.save(update_fields=["limit_bytes"])
    return ledger


def fresh(ledger: QuotaLedger) -> QuotaLedger:
    ledger.refresh_from_db()
    return ledger


def live_bytes(owner: User) -> int:
    return int(StoredFile.objects.filter(owner_user=owner).aggregate(s=Sum("size"))["s"] or 0)


def text_of(size: int, tag: int = 0) -> bytes:
    line = f"line {tag} of a plain text file\n".encode()
    return (line * (size // len(line) + 1))[:size]


# -- single-threaded behaviour ------------------------------------------------------------

@pytest.mark.django_db
def test_declared_size_is_reserved_while_streaming_then_consumed(local_backend: Backend,
                                                                 owner: User) -> None:
    ledger = limited(owner, 10 * SIZE)
    seen: list[tuple[int, int, int]] = []

    def stream() -> Iterator[bytes]:
        current = fresh(ledger)
        seen.append((current.reserved_bytes, current.used_bytes,
                     QuotaReservation.objects.filter(ledger=ledger).count()))
        yield text_of(SIZE)

    stored = local_backend.store.put(stream(), owner=owner, name="a.txt",
                                     declared_size=3 * SIZE)
    assert seen == [(3 * SIZE, 0, 1)]  # reserved before the first byte was read
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.reserved_bytes) == (SIZE, 0)  # charged what came
    assert (ledger.file_count, ledger.document_count) == (1, 1)
    assert stored.size == SIZE
    assert not QuotaReservation.objects.exists()


@pytest.mark.django_db
def test_declared_size_over_the_quota_is_refused_before_reading(local_backend: Backend,
                                                                owner: User) -> None:
    ledger = limited(owner, 10 * SIZE)
    local_backend.store.put(text_of(4 * SIZE), owner=owner, name="a.txt")
    pulled = [0]
    with pytest.raises(QuotaExceeded):
        local_backend.store.put(counting_chunks(b"x", 6 * SIZE + 1, counter=pulled),
                                owner=owner, name="b.txt", declared_size=6 * SIZE + 1)
    assert pulled == [0]
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.reserved_bytes, ledger.file_count) == (4 * SIZE, 0, 1)
    assert len(local_backend.keys()) == 1
    # what still fits, fits exactly
    local_backend.store.put(text_of(6 * SIZE), owner=owner, name="c.txt",
                            declared_size=6 * SIZE)
    assert fresh(ledger).used_bytes == 10 * SIZE


@pytest.mark.django_db
def test_undeclared_upload_over_the_quota_is_discarded(local_backend: Backend,
                                                       owner: User) -> None:
    ledger = limited(owner, 2 * SIZE)
    first = local_backend.store.put(text_of(SIZE), owner=owner, name="a.txt")
    with pytest.raises(QuotaExceeded):
        local_backend.store.put(text_of(SIZE + 1), owner=owner, name="b.txt")
    assert local_backend.keys() == {first.key}
    assert list(StoredFile.objects.values_list("pk", flat=True)) == [first.pk]
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.reserved_bytes, ledger.file_count) == (SIZE, 0, 1)


@pytest.mark.django_db
def test_refused_stream_releases_its_reservation(local_backend: Backend, owner: User) -> None:
    ledger = limited(owner, 10 * SIZE)
    with pytest.raises(UploadTooLarge):
        local_backend.store.put(text_of(2 * SIZE), owner=owner, name="a.txt",
                                declared_size=SIZE)
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.reserved_bytes) == (0, 0)
    assert not QuotaReservation.objects.exists()


@pytest.mark.django_db
def test_default_quota_comes_from_settings_and_the_ledger_overrides_it(
        local_backend: Backend, owner: User, settings: Any) -> None:
    settings.STORAGE = {**settings.STORAGE, "DEFAULT_QUOTA_BYTES": 2 * SIZE}
    local_backend.store.put(text_of(2 * SIZE), owner=owner, name="a.txt")
    with pytest.raises(QuotaExceeded):
        local_backend.store.put(b"1", owner=owner, name="b.txt")
    limited(owner, 2 * SIZE + 1)
    local_backend.store.put(b"1", owner=owner, name="b.txt")
    assert quota.limit_of(quota.ledger_for(owner)) == 2 * SIZE + 1


@pytest.mark.django_db
def test_deleting_frees_room_and_keeps_per_kind_counts(
        local_backend: Backend, owner: User, django_capture_on_commit_callbacks: Any) -> None:
    png, gif = png_bytes(), image_bytes("GIF")
    ledger = limited(owner, len(png) + len(gif) + len(PDF_BYTES))
    image = local_backend.store.put(png, owner=owner, name="a.png")
    add_variant(local_backend, image)  # variants are not charged to the owner
    local_backend.store.put(gif, owner=owner, name="b.gif")
    local_backend.store.put(PDF_BYTES, owner=owner, name="c.pdf")
    ledger = fresh(ledger)
    assert (ledger.image_count, ledger.gif_count, ledger.document_count) == (1, 1, 1)
    assert ledger.used_bytes == ledger.limit_bytes
    with pytest.raises(QuotaExceeded):
        local_backend.store.put(b"x", owner=owner, name="d.txt")

    with django_capture_on_commit_callbacks(execute=True):
        local_backend.store.delete(image)
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.file_count, ledger.image_count) == (
        len(gif) + len(PDF_BYTES), 2, 0)
    local_backend.store.put(png, owner=owner, name="again.png")
    assert fresh(ledger).used_bytes == ledger.limit_bytes


@pytest.mark.django_db
def test_reserve_and_release(owner: User) -> None:
    ledger = limited(owner, 10 * SIZE)
    first = quota.quota_reserve(owner=owner, nbytes=6 * SIZE)
    with pytest.raises(QuotaExceeded):
        quota.quota_reserve(owner=owner, nbytes=4 * SIZE + 1)
    second = quota.quota_reserve(owner=owner, nbytes=4 * SIZE)
    assert fresh(ledger).reserved_bytes == 10 * SIZE
    assert quota.quota_reservation_release(reservation=first) is True
    assert quota.quota_reservation_release(reservation=first) is False  # exactly once
    assert fresh(ledger).reserved_bytes == 4 * SIZE
    assert quota.quota_reservation_release(reservation=second) is True
    assert fresh(ledger).reserved_bytes == 0


@pytest.mark.django_db
def test_workspace_quota_is_separate_from_its_creator(local_backend: Backend,
                                                      owner: User) -> None:
    workspace = Workspace.objects.create(name="Team", created_by=owner)
    limited(workspace, SIZE)
    limited(owner, SIZE)
    local_backend.store.put(text_of(SIZE), owner=workspace, name="w.txt")
    local_backend.store.put(text_of(SIZE), owner=owner, name="u.txt")
    with pytest.raises(QuotaExceeded):
        local_backend.store.put(b"x", owner=workspace, name="w2.txt")
    assert QuotaLedger.objects.get(owner_workspace=workspace).used_bytes == SIZE
    assert QuotaLedger.objects.get(owner_user=owner).used_bytes == SIZE


@pytest.mark.django_db
def test_expired_reservations_are_released_by_the_sweeper(owner: User) -> None:
    ledger = limited(owner, 10 * SIZE)
    stale = quota.quota_reserve(owner=owner, nbytes=3 * SIZE, ttl=-10)
    live = quota.quota_reserve(owner=owner, nbytes=2 * SIZE)
    assert fresh(ledger).reserved_bytes == 5 * SIZE

    assert quota.quota_expire_reservations() == 1
    assert fresh(ledger).reserved_bytes == 2 * SIZE
    assert list(QuotaReservation.objects.values_list("pk", flat=True)) == [live.pk]
    assert quota.quota_expire_reservations() == 0

    # the upload behind the stale reservation finishes late: charged once, nothing freed twice
    quota.quota_charge(owner=owner, nbytes=3 * SIZE, kind="document", reservation=stale)
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.reserved_bytes) == (3 * SIZE, 2 * SIZE)


@pytest.mark.django_db
def test_reservation_expiry_follows_the_setting(owner: User, settings: Any) -> None:
    settings.STORAGE = {**settings.STORAGE, "RESERVATION_TTL": 120}
    before = timezone.now()
    reservation = quota.quota_reserve(owner=owner, nbytes=1)
    assert (before + timedelta(seconds=119) <= reservation.expires_at
            <= timezone.now() + timedelta(seconds=121))


@pytest.mark.django_db
def test_recalculate_repairs_a_tampered_ledger(local_backend: Backend, owner: User) -> None:
    files = [local_backend.store.put(png_bytes(), owner=owner, name="a.png"),
             local_backend.store.put(image_bytes("GIF"), owner=owner, name="b.gif"),
             local_backend.store.put(TEXT_BYTES, owner=owner, name="c.txt"),
             local_backend.store.put(PDF_BYTES, owner=owner, name="d.pdf")]
    held = quota.quota_reserve(owner=owner, nbytes=777)
    ledger = quota.ledger_for(owner)
    QuotaLedger.objects.filter(pk=ledger.pk).update(
        used_bytes=123_456, reserved_bytes=99, file_count=42, image_count=0, gif_count=7,
        document_count=0, other_count=3)

    repaired = quota.quota_recalculate(owner=owner)
    assert repaired.used_bytes == sum(f.size for f in files) == live_bytes(owner)
    assert repaired.reserved_bytes == held.bytes
    assert (repaired.file_count, repaired.image_count, repaired.gif_count,
            repaired.document_count, repaired.other_count) == (4, 1, 1, 2, 0)
    stored = fresh(ledger)
    assert (stored.used_bytes, stored.reserved_bytes, stored.file_count) == (
        repaired.used_bytes, 777, 4)


@pytest.mark.django_db
def test_owner_must_be_a_user_or_workspace() -> None:
    with pytest.raises(TypeError):
        quota.owner_fields("someone")  # type: ignore[arg-type]


# -- races ----------------------------------------------------------------------------------

def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run jobs in threads released at once; each closes its DB connection. Results or
    exceptions, in order."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except BaseException as exc:  # the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return results


class LedgerWatch:
    """Polls the ledger from its own connection while a race runs: the highest
    used + reserved it ever saw."""

    def __init__(self, ledger_id: int) -> None:
        self.highest = 0
        self.samples = 0
        self._stop = threading.Event()
        self._polling = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(ledger_id,))

    def _poll(self, ledger_id: int) -> None:
        try:
            while not self._stop.is_set():
                used, reserved = QuotaLedger.objects.values_list(
                    "used_bytes", "reserved_bytes").get(pk=ledger_id)
                self.highest = max(self.highest, used + reserved)
                self.samples += 1
                self._polling.set()
        finally:
            self._polling.set()
            connection.close()

    def __enter__(self) -> LedgerWatch:
        self._thread.start()
        self._polling.wait(10)  # connected and sampling before the race starts
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["declared", "undeclared", "mixed"])
@pytest.mark.parametrize(("slack", "fits"), [(1, 20), (0, 20), (-1, 19)],
                         ids=["one-byte-under", "exactly", "one-byte-over"])
def test_parallel_uploads_never_pass_the_limit(local_backend: Backend, owner: User,
                                               mode: str, slack: int, fits: int) -> None:
    count = 20
    limit = count * SIZE + slack
    ledger = limited(owner, limit)

    def upload(index: int) -> Callable[[], StoredFile]:
        declared = mode == "declared" or (mode == "mixed" and index % 2 == 0)

        def job() -> StoredFile:
            return local_backend.store.put(iter([text_of(SIZE, index)]), owner=owner,
                                           name=f"f{index}.txt",
                                           declared_size=SIZE if declared else None)
        return job

    with LedgerWatch(ledger.pk) as watch:
        results = run_together([upload(i) for i in range(count)])

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == Counter({"StoredFile": fits, "QuotaExceeded": count - fits}), results
    assert watch.samples > 0 and watch.highest <= limit
    ledger = fresh(ledger)
    assert ledger.used_bytes == live_bytes(owner) == fits * SIZE
    assert ledger.reserved_bytes == 0
    assert ledger.file_count == ledger.document_count == fits
    assert not QuotaReservation.objects.exists()
    assert local_backend.keys() == set(StoredFile.objects.values_list("key", flat=True))


@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_of_mixed_sizes(local_backend: Backend, owner: User) -> None:
    """Uneven sizes: whichever subset lands, it fits, and the ledger matches the rows."""
    sizes = [SIZE * (1 + i % 4) + i for i in range(20)]
    limit = sum(sizes) // 2
    ledger = limited(owner, limit)

    def job(index: int) -> Callable[[], StoredFile]:
        return lambda: local_backend.store.put(
            text_of(sizes[index], index), owner=owner, name=f"f{index}.txt",
            declared_size=sizes[index] if index % 3 else None)

    with LedgerWatch(ledger.pk) as watch:
        results = run_together([job(i) for i in range(20)])

    stored = [r for r in results if isinstance(r, StoredFile)]
    assert all(isinstance(r, StoredFile | QuotaExceeded) for r in results), results
    assert 0 < len(stored) < 20
    assert watch.highest <= limit
    ledger = fresh(ledger)
    assert ledger.used_bytes == live_bytes(owner) == sum(s.size for s in stored) <= limit
    assert ledger.reserved_bytes == 0
    # Usage only grew during the race (each reservation became the same number of used
    # bytes), so every refused upload must still be too big for the room that is left.
    refused = [sizes[i] for i, r in enumerate(results) if isinstance(r, QuotaExceeded)]
    assert min(refused) > limit - ledger.used_bytes


@pytest.mark.django_db(transaction=True)
def test_parallel_reservations_hand_out_exactly_the_room_there_is(owner: User) -> None:
    ledger = limited(owner, 7 * SIZE + SIZE // 2)
    results = run_together([lambda: quota.quota_reserve(owner=owner, nbytes=SIZE)] * 20)
    granted = [r for r in results if isinstance(r, QuotaReservation)]
    assert len(granted) == 7
    assert sum(isinstance(r, QuotaExceeded) for r in results) == 13
    assert fresh(ledger).reserved_bytes == 7 * SIZE
    run_together([lambda r=r: quota.quota_reservation_release(reservation=r) for r in granted]
                 + [lambda: quota.quota_reservation_release(reservation=granted[0])] * 5)
    assert fresh(ledger).reserved_bytes == 0


@pytest.mark.django_db(transaction=True)
def test_parallel_deletes_release_the_quota_once(local_backend: Backend, owner: User) -> None:
    ledger = limited(owner, 100 * SIZE)
    keep = local_backend.store.put(text_of(SIZE), owner=owner, name="keep.txt")
    doomed = local_backend.store.put(text_of(2 * SIZE), owner=owner, name="doomed.txt")
    results = run_together([lambda: local_backend.store.delete(doomed)] * 8)
    assert sorted(results) == [False] * 7 + [True]
    ledger = fresh(ledger)
    assert (ledger.used_bytes, ledger.file_count) == (SIZE, 1)
    assert local_backend.keys() == {keep.key}
