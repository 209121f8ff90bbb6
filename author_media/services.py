"""Writes of the author's files: storing uploads as MediaFiles, metadata, moves, deletes.

Every upload protocol ends in :func:`media_file_store`: the bytes go through the blob
store (hashed, sniffed, size-limited while streamed) into the user's ``author_media``
quota bucket, whose limit is the user's tier limit; the MediaFile row is inserted in the
same transaction as its StoredFile. The scan, then probe and variants, run in the
worker after commit.

Deduplication: inside that transaction, an advisory lock on (user, SHA-256) serialises
identical uploads; if the user already has a live file with these bytes, the new bytes
are dropped (nothing charged) and the existing file is returned, flagged ``duplicateOf``.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.processing import pipeline
from apps.storage.blobs import blob_store
from apps.storage.errors import QuotaExceeded, UnsupportedType, UploadTooLarge
from apps.storage.models import StoredFile
from apps.storage.sniff import claimed_type
from author_media import usage
from author_media.conf import (
    QUOTA_BUCKET,
    REFUSED_EXTENSIONS,
    REFUSED_TYPES,
    author_media_settings,
)
from author_media.errors import FileTooLarge, StorageLimitExceeded
from author_media.folders import folder_ensure
from author_media.links import content_url
from author_media.models import MediaFile, StorageProvider


@dataclass(frozen=True)
class Stored:
    """The outcome of an upload: the file, and whether it was already there."""

    media: MediaFile
    duplicate: bool = False


class Duplicate(Exception):
    """Raised inside the upload's transaction: the user already has these bytes
    (``existing``); the caller drops the new bytes and charges nothing."""

    def __init__(self, existing: MediaFile) -> None:
        self.existing = existing


def storage_limit_error(user: User, nbytes: int | None) -> StorageLimitExceeded:
    row = usage.usage_for(user.pk)
    ledger = usage.quota.ledger_for(user, QUOTA_BUCKET)
    headroom = max(0, row.storage_limit_bytes - ledger.used_bytes - ledger.reserved_bytes)
    return StorageLimitExceeded(extra={
        "storageLimitBytes": row.storage_limit_bytes, "usedBytes": ledger.used_bytes,
        "reservedBytes": ledger.reserved_bytes, "headroomBytes": headroom,
        "requestedBytes": nbytes})


def prepare_quota(user: User) -> None:
    """The ledger that enforces the limit at upload time holds the user's tier limit."""
    usage.sync_quota_limit(usage.usage_for(user.pk))


def _lock_digest(user: User, sha256: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"author_media:{user.pk}:{sha256}"])


def _live_duplicate(user: User, sha256: str) -> MediaFile | None:
    # a file the scanner holds is never handed out as a duplicate: the new upload is
    # scanned on its own (and a held file's existence is not revealed)
    return (MediaFile.objects.filter(user=user, sha256=sha256, deleted_at__isnull=True,
                                     is_quarantined=False)
            .order_by("id").first())


def _duplicate_of_stream(user: User, stream: Any) -> MediaFile | None:
    """A live file of the user with the bytes of ``stream``, when it can be re-read (an
    upload Django spooled): so a duplicate costs nothing even at the storage limit."""
    if not (hasattr(stream, "seek") and hasattr(stream, "read")):
        return None
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
    stream.seek(0)
    return _live_duplicate(user, digest.hexdigest())


REFUSED_CLAIMS = {*REFUSED_TYPES, "text/javascript", "application/x-javascript",
                  "application/xhtml+xml", "text/xml"}


def _refused_name(name: str) -> bool:
    """Script and markup by their name: plain text to the sniffer, but a browser (or a
    site that links them) would run them."""
    return posixpath.splitext(name.lower())[1] in REFUSED_EXTENSIONS


def _provider() -> str:
    return StorageProvider.LOCAL if blob_store.is_local else StorageProvider.S3


def media_file_attach(*, user: User, stored: StoredFile, fields: dict[str, Any]) -> MediaFile:
    """Record ``stored`` as the user's MediaFile (inside the transaction that made it)."""
    if stored.mime_type in REFUSED_TYPES or _refused_name(stored.original_name):
        raise UnsupportedType(f"Files of type {stored.mime_type} named "
                              f"{stored.original_name!r} are not accepted.")
    _lock_digest(user, stored.sha256)
    existing = _live_duplicate(user, stored.sha256)
    if existing is not None:
        raise Duplicate(existing)
    folder = fields.get("folder")
    folder_ensure(user=user, path=folder)
    media = MediaFile.objects.create(
        user=user, site_id=fields.get("site_id"), filename=posixpath.basename(stored.key),
        original_filename=stored.original_name, mime_type=stored.mime_type,
        file_size=stored.size, storage_provider=_provider(), storage_path=stored.key,
        storage_region=_region(), public_url="", alt_text=fields.get("alt_text"),
        caption=fields.get("caption"), folder=folder, tags=fields.get("tags") or [],
        stored_file=stored, sha256=stored.sha256, scan_status=stored.scan_status,
        original_size=stored.size)
    media.public_url = content_url(media.pk)
    MediaFile.objects.filter(pk=media.pk).update(public_url=media.public_url)
    return media


def _region() -> str | None:
    if blob_store.is_local:
        return None
    region = getattr(blob_store.storage, "region_name", None)
    return str(region) if region else None


def media_file_store(*, user: User, stream: IO[bytes] | Iterable[bytes], name: str,
                     declared_type: str | None, declared_size: int | None,
                     fields: dict[str, Any], max_size: int | None = None) -> Stored:
    """Stream an upload into the user's library; 413 beyond the file limit or the
    storage limit (with the headroom), 415 for refused types; nothing kept on error."""
    limit = max_size or int(author_media_settings.MAX_FILE_BYTES)
    if _refused_name(name) or set(claimed_type(name, declared_type)) & REFUSED_CLAIMS:
        raise UnsupportedType(f"Files like {name!r} are not accepted: browsers would run "
                              "them.")
    if declared_size is not None and declared_size > limit:
        raise FileTooLarge(f"The file is larger than {limit} bytes.",
                           extra={"maxBytes": limit})
    prepare_quota(user)
    created: list[MediaFile] = []
    try:
        stored = blob_store.put(
            stream, owner=user, name=name, declared_type=declared_type, max_size=limit,
            declared_size=declared_size, quota_bucket=QUOTA_BUCKET,
            attach=lambda s: created.append(media_file_attach(user=user, stored=s,
                                                              fields=fields)))
    except Duplicate as duplicate:
        return Stored(duplicate.existing, duplicate=True)
    except QuotaExceeded:
        existing = _duplicate_of_stream(user, stream)
        if existing is not None:
            return Stored(existing, duplicate=True)
        raise storage_limit_error(user, declared_size) from None
    except UploadTooLarge:
        raise FileTooLarge(f"The file is larger than {limit} bytes.",
                           extra={"maxBytes": limit}) from None
    pipeline.enqueue(stored)
    return Stored(created[0])


def media_file_update(*, media: MediaFile, data: dict[str, Any]) -> MediaFile:
    """altText, caption, folder, tags (only those given)."""
    if "folder" in data:
        folder_ensure(user=media.user, path=data["folder"])
    for name, value in data.items():
        setattr(media, name, value)
    media.save(update_fields=[*data, "updated_at"])
    return media


def media_file_move(*, media: MediaFile, folder: str | None) -> MediaFile:
    return media_file_update(media=media, data={"folder": folder})


def media_file_delete(*, media: MediaFile) -> None:
    """Soft delete (``deletedAt``); the bytes stay until the purge (RETENTION_DAYS)."""
    if media.deleted_at is None:
        media.deleted_at = timezone.now()
        media.save(update_fields=["deleted_at", "updated_at"])


def media_file_purge(media: MediaFile) -> None:
    """Permanently delete a soft-deleted file: the row, then the bytes and variants
    through the blob store (tombstoned, so a storage failure is retried), which also
    frees the storage usage and the quota."""
    with transaction.atomic():
        stored = media.stored_file
        MediaFile.objects.filter(pk=media.pk).delete()
        if stored is not None:
            blob_store.delete(stored)


def media_file_record_use(*, media: MediaFile) -> None:
    from django.db.models import F

    MediaFile.objects.filter(pk=media.pk).update(usage_count=F("usage_count") + 1,
                                                 last_used_at=timezone.now())
