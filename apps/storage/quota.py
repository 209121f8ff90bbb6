"""The per-owner quota ledger.

Every change is one conditional UPDATE (``... WHERE used + reserved + n <= limit``), so
parallel uploads at the boundary can never push an owner past the limit: PostgreSQL
serialises the UPDATEs on the ledger row and re-checks the condition for each. Bytes are
charged in the transaction that inserts the StoredFile and released in the one that
deletes it, so the ledger equals the sum of the owner's live bytes.

An owner has one ledger per *bucket*: the platform's (``""``) and any a feature app
declares for itself with :func:`register_bucket` (user_library's ``"library"``), each
with its own limit and counts. A file is charged to exactly one bucket
(``StoredFile.quota_bucket``), so a feature's totals are maintained counters it can read
in O(1) instead of counting its rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import User, Workspace
from apps.storage.conf import storage_settings
from apps.storage.errors import QuotaExceeded
from apps.storage.models import MediaKind, QuotaLedger, QuotaReservation, StoredFile, Variant

Owner = User | Workspace

_COUNT_FIELD = {MediaKind.IMAGE: "image_count", MediaKind.VIDEO: "video_count",
                MediaKind.GIF: "gif_count", MediaKind.DOCUMENT: "document_count",
                MediaKind.OTHER: "other_count"}


_BUCKET_DEFAULTS: dict[str, Callable[[], int]] = {}
_COUNTS_VARIANTS: set[str] = set()


def register_bucket(name: str, *, default_limit: Callable[[], int],
                    count_variants: bool = False) -> None:
    """Declare a feature app's own quota; ``default_limit`` is read on every check, so a
    settings change applies without a restart of the ledger. With ``count_variants`` the
    bytes of a file's variants are charged to its ledger too (never refused: they are the
    platform's doing), so the limit covers everything the owner's files occupy."""
    if not name or len(name) > 32:
        raise ValueError("a bucket name is 1-32 characters")
    _BUCKET_DEFAULTS[name] = default_limit
    if count_variants:
        _COUNTS_VARIANTS.add(name)
    else:
        _COUNTS_VARIANTS.discard(name)


def counts_variants(bucket: str) -> bool:
    return bucket in _COUNTS_VARIANTS


def default_limit(bucket: str = "") -> int:
    if bucket and bucket not in _BUCKET_DEFAULTS:
        raise LookupError(f"no quota bucket {bucket!r} is registered")
    factory = _BUCKET_DEFAULTS.get(bucket)
    return int(factory() if factory else storage_settings.DEFAULT_QUOTA_BYTES)


def owner_fields(owner: Owner, prefix: str = "owner_") -> dict[str, Any]:
    if isinstance(owner, Workspace):
        return {f"{prefix}workspace": owner}
    if isinstance(owner, User):
        return {f"{prefix}user": owner}
    raise TypeError(f"an owner is a User or a Workspace, not {type(owner).__name__}")


def owner_scope(owner: Owner) -> str:
    """The key prefix of an owner's files: ``u/<id>`` or ``w/<id>``."""
    return f"w/{owner.pk}" if isinstance(owner, Workspace) else f"u/{owner.pk}"


def ledger_for(owner: Owner, bucket: str = "") -> QuotaLedger:
    default_limit(bucket)  # refuses an unregistered bucket
    ledger, _ = QuotaLedger.objects.get_or_create(**owner_fields(owner), bucket=bucket)
    return ledger


def limit_of(ledger: QuotaLedger) -> int:
    return ledger.limit_bytes if ledger.limit_bytes is not None else default_limit(ledger.bucket)


def _room_for(nbytes: int, bucket: str, *, released: int = 0) -> Any:
    """The condition 'used + reserved - released + nbytes <= limit' as an expression."""
    limit = Coalesce(F("limit_bytes"), Value(default_limit(bucket)))
    return limit - F("reserved_bytes") + released - nbytes


def _ledger_of(stored_file: StoredFile) -> Any:
    return QuotaLedger.objects.filter(
        owner_user_id=stored_file.owner_user_id, owner_workspace_id=stored_file.owner_workspace_id,
        bucket=stored_file.quota_bucket)


def quota_reserve(*, owner: Owner, nbytes: int, ttl: int | None = None,
                  bucket: str = "") -> QuotaReservation:
    """Hold nbytes for an upload in flight, or raise QuotaExceeded."""
    ledger = ledger_for(owner, bucket)
    ttl = ttl if ttl is not None else int(storage_settings.RESERVATION_TTL)
    with transaction.atomic():
        updated = QuotaLedger.objects.filter(pk=ledger.pk,
                                             used_bytes__lte=_room_for(nbytes, bucket)) \
            .update(reserved_bytes=F("reserved_bytes") + nbytes, updated_at=timezone.now())
        if not updated:
            raise QuotaExceeded()
        return QuotaReservation.objects.create(
            ledger=ledger, bytes=nbytes, expires_at=timezone.now() + timedelta(seconds=ttl))


def quota_reservation_release(*, reservation: QuotaReservation) -> bool:
    """Give back an unconsumed reservation. Exactly once: the row delete decides."""
    with transaction.atomic():
        deleted, _ = QuotaReservation.objects.filter(pk=reservation.pk).delete()
        if deleted:
            QuotaLedger.objects.filter(pk=reservation.ledger_id).update(
                reserved_bytes=F("reserved_bytes") - reservation.bytes)
        return bool(deleted)


def quota_charge(*, owner: Owner, nbytes: int, kind: str,
                 reservation: QuotaReservation | None = None, bucket: str = "") -> None:
    """Charge a new file's bytes (consuming its reservation). Call inside the transaction
    that inserts the StoredFile; raises QuotaExceeded, rolling both back."""
    ledger = ledger_for(owner, bucket)
    released = 0
    if reservation is not None:
        deleted, _ = QuotaReservation.objects.filter(pk=reservation.pk).delete()
        released = reservation.bytes if deleted else 0
    changes: dict[str, Any] = {
        "used_bytes": F("used_bytes") + nbytes,
        "reserved_bytes": F("reserved_bytes") - released,
        "file_count": F("file_count") + 1,
        _COUNT_FIELD[MediaKind(kind)]: F(_COUNT_FIELD[MediaKind(kind)]) + 1,
        "updated_at": timezone.now(),
    }
    updated = QuotaLedger.objects.filter(
        pk=ledger.pk, used_bytes__lte=_room_for(nbytes, bucket, released=released),
    ).update(**changes)
    if not updated:
        raise QuotaExceeded()


def quota_release(*, stored_file: StoredFile, variant_bytes: int = 0) -> None:
    """Release a deleted file's bytes (and its variants', where the bucket counts them);
    call in the transaction that deletes the row."""
    field = _COUNT_FIELD[MediaKind(stored_file.kind)]
    freed = stored_file.size + (variant_bytes if counts_variants(stored_file.quota_bucket) else 0)
    _ledger_of(stored_file).update(
        used_bytes=F("used_bytes") - freed, file_count=F("file_count") - 1,
        **{field: F(field) - 1}, updated_at=timezone.now())


def quota_adjust(*, stored_file: StoredFile, delta: int) -> None:
    """Apply a size change of an existing file (a rewrite); call in its transaction."""
    if delta:
        _ledger_of(stored_file).update(used_bytes=F("used_bytes") + delta,
                                       updated_at=timezone.now())


def quota_variants_adjust(*, stored_file: StoredFile, delta: int) -> None:
    """Variants of the file made (+) or dropped (-): charged where the bucket counts them."""
    if delta and counts_variants(stored_file.quota_bucket):
        _ledger_of(stored_file).update(used_bytes=F("used_bytes") + delta,
                                       updated_at=timezone.now())


def quota_expire_reservations() -> int:
    """Release reservations whose uploads never completed (run by the sweeper)."""
    released = 0
    for reservation in QuotaReservation.objects.filter(expires_at__lt=timezone.now())[:1000]:
        released += quota_reservation_release(reservation=reservation)
    return released


@transaction.atomic
def quota_recalculate(*, owner: Owner, bucket: str = "") -> QuotaLedger:
    """Rebuild the ledger from the owner's live files (an operator's repair tool)."""
    ledger = QuotaLedger.objects.select_for_update().get(pk=ledger_for(owner, bucket).pk)
    files = StoredFile.objects.filter(**owner_fields(owner), quota_bucket=bucket)
    ledger.used_bytes = files.aggregate(total=Coalesce(Sum("size"), 0))["total"]
    if counts_variants(bucket):
        ledger.used_bytes += Variant.objects.filter(stored_file__in=files).aggregate(
            total=Coalesce(Sum("size"), 0))["total"]
    ledger.file_count = files.count()
    for kind, field in _COUNT_FIELD.items():
        setattr(ledger, field, files.filter(kind=kind).count())
    reserved = ledger.reservations.aggregate(total=Coalesce(Sum("bytes"), 0))["total"]
    ledger.reserved_bytes = reserved
    ledger.save()
    return ledger
