"""Writes of the library: saving generated media, deleting items.

Saving streams the bytes through the blob store into ``user-media/<user>/<timestamp>-
<random>.<ext>`` (the spec's layout), charging the user's "library" quota ledger; the
LibraryItem row is inserted in the same transaction as its StoredFile (``attach``), so
an item and its file exist together or not at all. After commit the file is scanned,
then probed and given its thumbnails/poster by the worker.

Deleting goes through ``blob_store.delete``: in one transaction it writes tombstones for
the file and its variants, releases the quota (exactly once: the locked row decides) and
deletes the StoredFile, which cascades to the item; the bytes are deleted when the
transaction commits, still inside the request. If storage fails then, the tombstones
stay and the sweeper finishes the deletion: never an orphan file, never a row pointing
at nothing.
"""

from __future__ import annotations

import logging
import secrets
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any
from uuid import UUID

from django.db import transaction

from apps.accounts.models import User
from apps.core.ids import parse_uuid
from apps.processing import pipeline
from apps.storage.blobs import blob_store
from apps.storage.errors import (
    EmptyUpload,
    QuotaExceeded,
    TypeMismatch,
    UnsupportedType,
    UploadTooLarge,
)
from apps.storage.models import MediaKind, StoredFile
from user_library.conf import QUOTA_BUCKET, user_library_settings
from user_library.errors import FileTooLarge, InvalidItem, ItemNotFound, LibraryQuotaExceeded
from user_library.metadata import parse_metadata
from user_library.models import LibraryItem, MediaType, Source
from user_library.upload_input import base64_input

logger = logging.getLogger(__name__)

_MEDIA_TYPE_OF_KIND = {MediaKind.IMAGE: MediaType.IMAGE, MediaKind.GIF: MediaType.IMAGE,
                       MediaKind.VIDEO: MediaType.VIDEO}
_NOT_ACCEPTED = ("image/svg+xml",)  # vector files are not generated media
# Declared types that name no format (nothing to contradict), and other names of a format.
_UNTYPED = ("", "application/octet-stream", "binary/octet-stream")
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
                 "image/x-png": "image/png", "video/x-m4v": "video/mp4"}
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class SavedItem:
    id: str
    storage_path: str


def library_filename(extension: str) -> str:
    """``{timestamp}-{random}{.ext}``: milliseconds since the epoch and 8 random chars."""
    token = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{int(time.time() * 1000)}-{token}{extension}"


def declared_format(mime_type: str | None) -> str | None:
    """The format a caller declares (``mimeType``), normalised; None when it names none."""
    value = (mime_type or "").split(";")[0].strip().lower()
    return None if value in _UNTYPED else _TYPE_ALIASES.get(value, value)


def _choice(value: object, choices: type[MediaType] | type[Source], name: str,
            required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidItem(f"{name} is required")
        return None
    if not isinstance(value, str) or value not in choices.values:
        allowed = ", ".join(choices.values)
        raise InvalidItem(f"{name} must be one of: {allowed}")
    return value


def library_item_create(*, user: User, source: object, stream: IO[bytes] | Iterable[bytes],
                        mime_type: str | None = None, media_type: object = None,
                        metadata: object = None, name: str | None = None,
                        size: int | None = None) -> LibraryItem:
    """Store one generated image or video in ``user``'s library.

    Raises InvalidItem (400: bad field, not an image/video, bytes that contradict the
    declared type or media type), FileTooLarge or LibraryQuotaExceeded (413); on any
    error nothing is stored and nothing is charged.
    """
    checked_source = _choice(source, Source, "source")
    assert checked_source is not None  # required
    wanted = _choice(media_type, MediaType, "media_type", required=False)
    checked_metadata = parse_metadata(metadata)
    declared = declared_format(mime_type)
    limit = int(user_library_settings.MAX_FILE_BYTES)
    if size is not None and size > limit:
        raise FileTooLarge(f"File too large: the limit is {limit} bytes")
    created: list[LibraryItem] = []

    def attach(stored: StoredFile) -> None:
        actual = _MEDIA_TYPE_OF_KIND[MediaKind(stored.kind)]
        if stored.mime_type in _NOT_ACCEPTED:
            raise InvalidItem(f"Files of type {stored.mime_type} are not accepted")
        # The platform stores a PNG declared as JPEG as PNG; the library's callers state
        # the type of what they generated, so a different format is refused as a lie.
        if declared is not None and declared != stored.mime_type:
            raise InvalidItem(f"mimeType is {declared} but the file is {stored.mime_type}")
        if wanted is not None and wanted != actual:
            raise InvalidItem(f"media_type is {wanted} but the file is an {actual}"
                              if actual == MediaType.IMAGE else
                              f"media_type is {wanted} but the file is a {actual}")
        created.append(LibraryItem.objects.create(
            user=user, stored_file=stored, media_type=actual, source=checked_source,
            metadata=checked_metadata))

    try:
        stored = blob_store.put(
            stream, owner=user, name=name, declared_type=mime_type, max_size=limit,
            declared_size=size, allowed_kinds=tuple(_MEDIA_TYPE_OF_KIND),
            quota_bucket=QUOTA_BUCKET, attach=attach,
            key_for=lambda _id, ext: f"user-media/{user.pk}/{library_filename(ext)}")
    except QuotaExceeded:
        raise LibraryQuotaExceeded() from None
    except UploadTooLarge:
        raise FileTooLarge(f"File too large: the limit is {limit} bytes") from None
    except (UnsupportedType, TypeMismatch, EmptyUpload) as exc:
        raise InvalidItem(exc.message) from None
    pipeline.enqueue(stored)
    item = created[0]
    item.stored_file = stored
    return item


def library_item_create_from_base64(*, user: User, source: object, file_data: object,
                                    mime_type: object, media_type: object = None,
                                    metadata: object = None) -> LibraryItem:
    data = base64_input(file_data)
    if mime_type is not None and not isinstance(mime_type, str):
        raise InvalidItem("mimeType must be a string")
    if (declared_format(mime_type) and declared_format(data.mime_type)
            and declared_format(mime_type) != declared_format(data.mime_type)):
        raise InvalidItem("mimeType contradicts the type of the data: URL")
    return library_item_create(user=user, source=source, stream=data.chunks(),
                               mime_type=mime_type or data.mime_type, media_type=media_type,
                               metadata=metadata, size=data.size)


def save_to_library(user_id: Any, media_type: str, source: str, file_data: str | IO[bytes],
                    mime_type: str, metadata: Mapping[str, Any] | None = None,
                    ) -> SavedItem | None:
    """The spec's ``saveToLibrary``: ``{id, storage_path}``, or None on any error (logged;
    nothing stored, nothing charged). ``file_data`` is base64 text or a binary stream."""
    try:
        user = User.objects.get(pk=user_id)
        if isinstance(file_data, str):
            item = library_item_create_from_base64(
                user=user, source=source, file_data=file_data, mime_type=mime_type,
                media_type=media_type, metadata=metadata)
        else:
            item = library_item_create(user=user, source=source, stream=file_data,
                                       mime_type=mime_type, media_type=media_type,
                                       metadata=metadata)
    except Exception:
        logger.exception("saveToLibrary failed for user %s", user_id)
        return None
    return SavedItem(id=str(item.id), storage_path=item.storage_path)


def library_item_delete(*, user: User, item_id: object) -> None:
    """Delete one of ``user``'s items with its file and variants; ItemNotFound otherwise."""
    parsed = parse_uuid(item_id)
    if parsed is None or not library_items_delete(user=user, ids=[parsed]):
        raise ItemNotFound()


def library_items_delete(*, user: User, ids: Iterable[UUID]) -> int:
    """Delete those of ``ids`` that are ``user``'s items; returns how many were deleted.
    Files are locked in id order, so concurrent batches cannot deadlock."""
    with transaction.atomic():
        files = list(StoredFile.objects.select_for_update()
                     .filter(library_item__id__in=list(ids), library_item__user=user)
                     .order_by("pk"))
        return sum(blob_store.delete(stored) for stored in files)
