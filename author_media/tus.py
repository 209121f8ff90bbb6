"""Resumable uploads with the tus 1.0.0 protocol (beyond the spec): the work behind
``/v1/media/upload/tus/`` — creating an upload, appending bytes at an offset,
termination.

A tus upload is an ``UploadSession`` (protocol ``tus``) whose bytes are appended to a
*staged file* on local disk (``upload_sessions.staging_path``), whatever the storage.
The order of every append is the guarantee a client relies on after losing its
connection: bytes are written and fsync'd first, and only then does the session's
``offset`` move (one conditional UPDATE), so HEAD never reports a byte that is not on
disk. A body cut off midway keeps what arrived (tus semantics) unless the chunk carried
a checksum, which cannot be verified then: such a chunk, like one whose checksum does
not match, is cut off again.

Quota: ``Upload-Length`` bytes are reserved in the user's ``author_media`` bucket when
the upload is created; the last byte finishes it through the blob store (hashed,
sniffed, charged), consuming that reservation in the transaction that inserts the
StoredFile and the MediaFile — nothing is charged twice, and terminating or expiring an
upload releases it. Bytes the blob store refuses at the end (their type, say) end the
upload (410 after); a storage failure there leaves it open with every byte, and a PATCH
with an empty body at the final offset finishes it.

What every upload protocol shares comes from ``upload_sessions``: opening (the
reservation), the staged file's place, the session's PostgreSQL advisory lock (held by
the request's connection, so two PATCHes of one upload — or a PATCH and the expiry —
never interleave, on one host or many; a request that finds it taken is told 423),
finishing, closing, and the expiry of due sessions (the ``author_media.expire_uploads``
beat task). This module adds what is tus's own: its headers, and appending at an offset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User
from apps.core.errors import ConflictError, DomainError
from author_media import services, upload_sessions
from author_media.errors import FileTooLarge, UploadComplete, UploadGone
from author_media.models import UploadProtocol, UploadSession, UploadState
from author_media.serializers import AuthorMediaUploadFieldsSerializer

logger = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "expiration", "checksum", "termination")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# sha256 as asked; sha1 because it is what tus clients (tuspy) send by default
CHECKSUMS: dict[str, Callable[[], Any]] = {
    "sha256": hashlib.sha256,
    "sha1": lambda: hashlib.sha1(usedforsecurity=False),
}
# Upload-Metadata keys understood (others are ignored, as tus clients add their own)
_NAME_KEYS = ("filename", "name")
_TYPE_KEYS = ("filetype", "mimeType", "type", "contentType")
_FIELD_KEYS = ("folder", "siteId", "altText", "caption", "tags")
_WRITE_CHUNK = 256 * 1024


# -- errors (tus's own; the sessions' are upload_sessions') ---------------------------------
class TusVersionUnsupported(DomainError):
    status_code = 412
    code = "tus_version_unsupported"
    default_message = f"Tus-Resumable must be {TUS_VERSION}."


class OffsetMismatch(ConflictError):
    code = "offset_mismatch"
    default_message = "Upload-Offset does not match the upload's offset; ask it with HEAD."

    def __init__(self, current: int) -> None:
        super().__init__(extra={"uploadOffset": current})
        self.current = current


class ChecksumMismatch(DomainError):
    status_code = 460
    code = "checksum_mismatch"
    default_message = "The chunk's checksum does not match; it was discarded."


class LengthRequired(DomainError):
    status_code = 411
    code = "length_required"
    default_message = "Send the chunk with a Content-Length (chunked bodies are not taken)."


class WrongContentType(DomainError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = f"The body of a PATCH is {OFFSET_CONTENT_TYPE}."


class ExceedsLength(DomainError):
    status_code = 413
    code = "exceeds_upload_length"
    default_message = "The chunk goes beyond the upload's Upload-Length."


# -- parsing headers ---------------------------------------------------------------------
class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes


def max_size() -> int:
    """Tus-Max-Size: the largest file this server takes through tus."""
    return upload_sessions.max_file_bytes()


def parse_int(value: str | None, header: str, *, required: bool = True) -> int | None:
    """A header holding a non-negative integer (digits only, as tus says); 400 else."""
    if value is None or value == "":
        if required:
            raise ValidationError({header: [f"The {header} header is required."]})
        return None
    if not value.isascii() or not value.isdigit():
        raise ValidationError({header: ["Must be a non-negative integer."]})
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (a key may stand
    alone); keys unique, values UTF-8. 400 on anything else."""
    out: dict[str, str] = {}
    if not header or not header.strip():
        return out
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2:
            raise ValidationError({"Upload-Metadata": [
                "Each pair is a key and an optional base64 value, separated by a space."]})
        key = parts[0]
        if key in out:
            raise ValidationError({"Upload-Metadata": [f"The key {key!r} is repeated."]})
        try:
            out[key] = (base64.b64decode(parts[1], validate=True).decode("utf-8")
                        if len(parts) == 2 else "")
        except (binascii.Error, UnicodeDecodeError):
            raise ValidationError({"Upload-Metadata": [
                f"The value of {key!r} is not base64 of UTF-8 text."]}) from None
    return out


def parse_checksum(header: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; an algorithm this server does
    not support is a 400 (tus checksum extension)."""
    if header is None:
        return None
    parts = header.strip().split(" ")
    if len(parts) != 2:
        raise ValidationError({"Upload-Checksum": ["Expected '<algorithm> <base64 digest>'."]})
    algorithm = parts[0].lower()
    if algorithm not in CHECKSUMS:
        raise ValidationError({"Upload-Checksum": [
            f"Unsupported algorithm; use one of: {', '.join(CHECKSUMS)}."]})
    try:
        digest = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise ValidationError({"Upload-Checksum": ["The digest is not base64."]}) from None
    return Checksum(algorithm, digest)


def _first(metadata: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((metadata[k].strip() for k in keys if metadata.get(k, "").strip()), "")


def media_fields(metadata: dict[str, str]) -> dict[str, Any]:
    """The MediaFile fields an upload's metadata asks for (validated as the direct
    upload's form: folder, siteId, altText, caption, tags as ``a,b``)."""
    data: dict[str, Any] = {k: metadata[k] for k in _FIELD_KEYS if k in metadata and k != "tags"}
    if "tags" in metadata:
        data["tags"] = [t.strip() for t in metadata["tags"].split(",") if t.strip()]
    serializer = AuthorMediaUploadFieldsSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# -- sessions -----------------------------------------------------------------------------
def session_get(*, user: User, upload_id: str) -> UploadSession:
    """The caller's tus upload; anyone else's, or a malformed id, is a 404."""
    return upload_sessions.session_get(user=user, upload_id=upload_id,
                                       protocol=UploadProtocol.TUS)


def check_not_over(session: UploadSession) -> None:
    """410 for a session that ended without a file or is past its expiry (read-only:
    closing it is for whoever holds its lock)."""
    if upload_sessions.is_due(session) or session.state in (UploadState.ABORTED,
                                                            UploadState.EXPIRED):
        raise UploadGone()


def _usable(session: UploadSession) -> None:
    """Under the session's lock: check_not_over, expiring the session first if due."""
    if upload_sessions.is_due(session):
        upload_sessions.session_close(session, UploadState.EXPIRED)
    check_not_over(session)


def session_create(*, user: User, length: int, metadata_header: str | None) -> UploadSession:
    """Validate what the client declared, reserve ``length`` bytes, create the session
    and its empty staged file. Bad input changes nothing (400/413/415)."""
    if length == 0:
        raise ValidationError({"Upload-Length": ["An empty file cannot be uploaded."]})
    if length > max_size():  # before parsing the rest: the size is what tus clients show
        raise FileTooLarge(f"The file is larger than {max_size()} bytes.",
                           extra={"maxBytes": max_size()})
    metadata = parse_metadata(metadata_header)
    declared = upload_sessions.Declared(
        filename=_first(metadata, _NAME_KEYS)[:255] or "upload",
        mime_type=_first(metadata, _TYPE_KEYS).lower()[:100], size=length,
        fields=media_fields(metadata))
    with transaction.atomic():
        session = upload_sessions.session_open(user=user, protocol=UploadProtocol.TUS,
                                               declared=declared,
                                               extra={"metadata": metadata_header or ""})
        path = upload_sessions.staging_path(session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)
    return session


def session_terminate(*, user: User, upload_id: str) -> None:
    """DELETE (termination): the staged bytes go, the reservation is released; 410 for
    an upload already over, 409 for a complete one (its file is deleted through the
    media API)."""
    session = session_get(user=user, upload_id=upload_id)
    with upload_sessions.session_lock(session):
        session.refresh_from_db()
        _usable(session)
        if session.state == UploadState.COMPLETED:
            raise UploadComplete("The upload is complete; delete its file with "
                                 "DELETE /v1/media/{id} instead.")
        upload_sessions.session_close(session, UploadState.ABORTED)


# -- appending ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Received:
    read: int  # bytes that arrived
    kept: int  # bytes appended (0 for a chunk whose checksum failed or could not be checked)


def _receive(path: Path, offset: int, nbytes: int, body: Readable,
             checksum: Checksum | None) -> _Received:
    """Write up to ``nbytes`` of ``body`` at ``offset`` (cutting off anything beyond it
    first) and fsync. A chunk with a checksum is kept whole and verified, or not at all."""
    digest = CHECKSUMS[checksum.algorithm]() if checksum else None
    read = 0
    with open(path, "r+b") as out:
        out.seek(offset)
        out.truncate()
        while read < nbytes:
            try:
                chunk = body.read(min(_WRITE_CHUNK, nbytes - read))
            except OSError:  # the client went away (Django's UnreadablePostError, ...)
                break
            if not chunk:
                break
            out.write(chunk)
            if digest is not None:
                digest.update(chunk)
            read += len(chunk)
        kept = read
        if checksum is not None and (read < nbytes or digest is None
                                     or digest.digest() != checksum.digest):
            out.seek(offset)
            out.truncate()
            kept = 0
        out.flush()
        os.fsync(out.fileno())
    return _Received(read=read, kept=kept)


def _reconcile(session: UploadSession, path: Path) -> None:
    """The offset never runs ahead of the bytes on disk (a lost or wiped staged file
    makes the client resume from what is really there)."""
    try:
        on_disk = path.stat().st_size
    except FileNotFoundError:
        on_disk = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    if on_disk < session.offset:
        logger.warning("tus upload %s: %d bytes on disk, offset was %d", session.pk, on_disk,
                       session.offset)
        UploadSession.objects.filter(pk=session.pk).update(offset=on_disk)
        session.offset = on_disk


@dataclass(frozen=True)
class Appended:
    session: UploadSession
    stored: services.Stored | None  # set once the last byte finished the upload


def append(*, session: UploadSession, offset: int, nbytes: int, body: Readable,
           checksum: Checksum | None) -> Appended:
    """PATCH: append ``nbytes`` of ``body`` at ``offset``; the last byte finishes the
    upload. 409 at another offset, 413 beyond Upload-Length, 460 on a bad checksum, 410
    for a session that is over, 423 while another request holds it."""
    with upload_sessions.session_lock(session):
        session.refresh_from_db()
        _usable(session)
        if session.state == UploadState.COMPLETED:
            if offset == session.size and nbytes == 0:  # a retried last PATCH
                return Appended(session, upload_sessions.session_finish(session))
            raise OffsetMismatch(session.size)
        path = upload_sessions.staging_path(session)
        _reconcile(session, path)
        if offset != session.offset:
            raise OffsetMismatch(session.offset)
        if offset + nbytes > session.size:
            raise ExceedsLength(extra={"uploadLength": session.size, "uploadOffset": offset})
        received = _receive(path, offset, nbytes, body, checksum)
        if received.kept:
            UploadSession.objects.filter(pk=session.pk, offset=offset).update(
                offset=offset + received.kept, updated_at=timezone.now())
            session.offset = offset + received.kept
        elif checksum is not None and received.read == nbytes and nbytes:
            raise ChecksumMismatch()  # a body cut short is a lost connection, not a 460
        if session.offset == session.size:
            # the lock is re-entrant for this connection: session_finish takes it again
            stored = upload_sessions.session_finish(session)
            session.refresh_from_db()
            return Appended(session, stored)
        return Appended(session, None)
