"""StorageUsage: one row per user, created with their tier's limits on first need.

Bytes and file counts move with every stored/deleted file and variant (``sync.py``);
bandwidth with every byte served. The bandwidth month rolls over inside the same
UPDATE that counts the bytes, so no beat task is needed for the reset and two
concurrent downloads at the turn of the month cannot both reset it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.storage import quota
from apps.storage.models import MediaKind, StoredFile, Variant
from author_media.conf import QUOTA_BUCKET, author_media_settings
from author_media.models import StorageUsage


def next_month(now: datetime) -> datetime:
    """Midnight UTC of the first day of the month after ``now``."""
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0,
                                                 microsecond=0)
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else \
        first.replace(month=first.month + 1)


def tier_limits(tier: str) -> dict[str, int]:
    tiers: dict[str, dict[str, int]] = author_media_settings.TIERS
    chosen = tiers.get(tier) or tiers[str(author_media_settings.DEFAULT_TIER)]
    return {"storage": int(chosen["storage"]), "bandwidth": int(chosen["bandwidth"])}


def usage_for(user_id: Any) -> StorageUsage:
    """The user's row, made with the default tier's limits when missing."""
    found = StorageUsage.objects.filter(user_id=user_id).first()
    if found is not None:
        return found
    tier = str(author_media_settings.DEFAULT_TIER)
    limits = tier_limits(tier)
    try:
        with transaction.atomic():
            return StorageUsage.objects.create(
                user_id=user_id, tier=tier, storage_limit_bytes=limits["storage"],
                bandwidth_limit_bytes=limits["bandwidth"],
                bandwidth_reset_at=next_month(timezone.now()))
    except IntegrityError:  # made by a concurrent request meanwhile
        return StorageUsage.objects.get(user_id=user_id)


def sync_quota_limit(row: StorageUsage) -> None:
    """The platform ledger enforces the storage limit at upload time: give it ours."""
    ledger = quota.ledger_for(row.user, QUOTA_BUCKET)
    if ledger.limit_bytes != row.storage_limit_bytes:
        type(ledger).objects.filter(pk=ledger.pk).update(limit_bytes=row.storage_limit_bytes)


def usage_set_tier(*, user_id: Any, tier: str) -> StorageUsage:
    if tier not in author_media_settings.TIERS:
        raise ValueError(f"no storage tier {tier!r}")
    limits = tier_limits(tier)
    row = usage_for(user_id)
    StorageUsage.objects.filter(pk=row.pk).update(
        tier=tier, storage_limit_bytes=limits["storage"],
        bandwidth_limit_bytes=limits["bandwidth"])
    refresh_warnings(user_id=user_id)
    row.refresh_from_db()
    sync_quota_limit(row)
    return row


def share_of(field: str, ratio: float) -> ExpressionWrapper:
    """``field * ratio`` (a threshold) as SQL."""
    return ExpressionWrapper(F(field) * Value(ratio), output_field=FloatField())


def _warning(used: str, limit: str, field: str, now: Any) -> Case:
    """The warning's time: set when ``used`` reaches the ratio of ``limit``, kept (its
    first time) while it stays there, cleared below it."""
    reached = share_of(limit, float(author_media_settings.WARNING_RATIO))
    return Case(When(**{f"{used}__gte": reached, f"{field}__isnull": True}, then=Value(now)),
                When(**{f"{used}__gte": reached}, then=F(field)),
                default=Value(None), output_field=DateTimeField())


def refresh_warnings(*, user_id: Any, storage: bool = True, bandwidth: bool = True) -> None:
    """Recompute the warnings after the usage or the limits changed."""
    now = timezone.now()
    changes = {}
    if storage:
        changes["storage_warning_at"] = _warning("total_bytes", "storage_limit_bytes",
                                                 "storage_warning_at", now)
    if bandwidth:
        changes["bandwidth_warning_at"] = _warning("bandwidth_used_bytes",
                                                   "bandwidth_limit_bytes",
                                                   "bandwidth_warning_at", now)
    StorageUsage.objects.filter(user_id=user_id).update(**changes)


def bandwidth_add(*, user_id: Any, nbytes: int) -> None:
    """Count ``nbytes`` served; a new month starts from zero."""
    usage_for(user_id)
    now = timezone.now()
    ratio = float(author_media_settings.WARNING_RATIO)
    rolled = Case(When(bandwidth_reset_at__lte=now, then=Value(0)),
                  default=F("bandwidth_used_bytes"), output_field=BigIntegerField())
    rows = StorageUsage.objects.filter(user_id=user_id)
    rows.update(
        bandwidth_used_bytes=rolled + nbytes,
        bandwidth_warning_at=Case(
            When(bandwidth_reset_at__lte=now, then=Value(None)), default=F("bandwidth_warning_at")),
        bandwidth_reset_at=Case(When(bandwidth_reset_at__lte=now, then=Value(next_month(now))),
                                default=F("bandwidth_reset_at")))
    rows.filter(bandwidth_warning_at__isnull=True,
                bandwidth_used_bytes__gte=share_of("bandwidth_limit_bytes", ratio)).update(
        bandwidth_warning_at=now)


_KIND_BYTES = {"image_bytes": (MediaKind.IMAGE, MediaKind.GIF), "video_bytes": (MediaKind.VIDEO,),
               "document_bytes": (MediaKind.DOCUMENT,), "other_bytes": (MediaKind.OTHER,)}
_KIND_FILES = {"image_files": (MediaKind.IMAGE, MediaKind.GIF),
               "video_files": (MediaKind.VIDEO,), "document_files": (MediaKind.DOCUMENT,)}


def measured(user_id: Any) -> dict[str, int]:
    """What the user's files occupy, counted from the files themselves (variants too)."""
    files = StoredFile.objects.filter(owner_user_id=user_id, quota_bucket=QUOTA_BUCKET)
    out: dict[str, int] = {}
    for field, kinds in _KIND_BYTES.items():
        mine = files.filter(kind__in=kinds)
        out[field] = (mine.aggregate(n=Coalesce(Sum("size"), 0))["n"]
                      + Variant.objects.filter(stored_file__in=mine)
                      .aggregate(n=Coalesce(Sum("size"), 0))["n"])
    for field, kinds in _KIND_FILES.items():
        out[field] = files.filter(kind__in=kinds).count()
    out["total_bytes"] = sum(out[f] for f in _KIND_BYTES)
    out["total_files"] = files.count()
    return out


def usage_recalculate(*, user_id: Any, fix: bool = True) -> dict[str, tuple[int, int]]:
    """Compare the row with the files; ``{field: (recorded, measured)}`` for each field
    that drifted, corrected when ``fix``. Locks the row, so uploads wait meanwhile."""
    usage_for(user_id)
    with transaction.atomic():
        row = StorageUsage.objects.select_for_update().get(user_id=user_id)
        actual = measured(user_id)
        drift = {f: (getattr(row, f), v) for f, v in actual.items() if getattr(row, f) != v}
        if fix and drift:
            StorageUsage.objects.filter(pk=row.pk).update(**actual, calculated_at=timezone.now())
        elif fix:
            StorageUsage.objects.filter(pk=row.pk).update(calculated_at=timezone.now())
        if fix:
            quota.quota_recalculate(owner=row.user, bucket=QUOTA_BUCKET)
    return drift
