"""Upload sessions: uploads whose bytes arrive outside the request that declares them.

Protocols: ``presigned`` (one object, then ``confirm``), ``multipart`` (numbered parts,
then ``complete``) and ``tus`` (author_media/tus.py). Every session goes

    open (quota reserved) ──▶ completed (a MediaFile) | aborted | expired

and this module holds what they share:

- **opening** reserves the declared size in the user's ``author_media`` quota bucket
  (``quota_reserve``: one conditional UPDATE, so parallel sessions at the boundary never
  hold more than the limit) in the transaction that inserts the session;
- **where the bytes wait**: on S3 the client writes to the bucket itself (a presigned
  POST to an *incoming* key, or presigned part URLs of an S3 multipart upload); on local
  storage they are *staged* on the platform's disk (``staging_path``, ``part_path``),
  received through the API or a signed upload URL (``upload_token``);
- **finishing** (``session_finish``) records them as a MediaFile exactly as a direct
  upload does (``services.media_file_attach``: refused types, SHA-256 dedup, folders;
  scan → probe → variants after commit): S3 objects through ``blob_store.adopt``, staged
  bytes through ``blob_store.put_reserved``, both consuming the reservation in the
  transaction that inserts the StoredFile, the MediaFile and the session's completion;
- **closing** (``session_close``) releases the reservation and marks the session in one
  transaction, then deletes what was uploaded (staged files, S3 parts or objects);
  ``expire_due`` (the ``author_media.expire_uploads`` beat task) closes sessions of every
  protocol past ``expires_at``.

Every change of a session's state runs under its PostgreSQL advisory lock
(``session_lock``; the key is the one tus.py uses), held without a transaction while
bytes are read, so two confirms, a confirm and an abort, or a request and the expiry
never interleave. Parts and staged bodies are written beside their target and moved into
place under the session's row lock, so a retried part simply replaces the earlier one.

Content that is refused when the session finishes (too large, wrong type, empty, ...)
ends the session: its object is deleted and its reservation released, so nothing of it
remains. A session whose object has not arrived yet is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import mimetypes
import os
import posixpath
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User
from apps.core.errors import DomainError
from apps.core.ids import uuid7
from apps.processing import pipeline
from apps.storage import quota
from apps.storage.blobs import blob_store
from apps.storage.conf import storage_settings
from apps.storage.errors import (
    BlobNotFound,
    EmptyUpload,
    LinkExpired,
    LinkInvalid,
    QuotaExceeded,
    TypeMismatch,
    UnsupportedType,
    UploadTooLarge,
)
from apps.storage.models import QuotaReservation, StoredFile
from apps.storage.naming import sanitize_name, storage_key
from apps.storage.s3 import MultipartRefused, ObjectChanged
from author_media import services
from author_media.conf import QUOTA_BUCKET, REFUSED_TYPES, author_media_settings
from author_media.errors import (
    FileTooLarge,
    SizeMismatch,
    UploadComplete,
    UploadGone,
    UploadLocked,
    UploadNotFound,
    UploadNotReceived,
    WrongProtocol,
)
from author_media.models import MediaFile, UploadProtocol, UploadSession, UploadState

logger = logging.getLogger(__name__)

VIA_S3 = "s3"  # the client writes to the bucket
VIA_STAGED = "staged"  # the bytes come through the platform onto its disk
S3_MAX_PART_BYTES = 5 * 1024**3
RESERVATION_GRACE = 3600  # a reservation outlives its session: the expiry task frees it
_COPY_CHUNK = 1024 * 1024


# A finishing upload whose *content* is refused ends; anything else leaves it open.
_REFUSALS = (UploadTooLarge, FileTooLarge, EmptyUpload, UnsupportedType, TypeMismatch,
             QuotaExceeded, ObjectChanged, SizeMismatch)


# -- where staged bytes wait ----------------------------------------------------------------
def staging_root() -> Path:
    """``AUTHOR_MEDIA["UPLOAD_STAGING_DIR"]`` or ``var/uploads``: local disk shared by
    the web processes (and the worker, which deletes abandoned bytes)."""
    configured = str(author_media_settings.UPLOAD_STAGING_DIR)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "uploads"


def staging_path(session: UploadSession) -> Path:
    """The one staged file of a session (presigned on local storage, tus):
    ``<root>/<protocol>/<id>``."""
    return staging_root() / session.protocol / str(session.pk)


def parts_dir(session: UploadSession) -> Path:
    return staging_root() / session.protocol / f"{session.pk}.parts"


def part_path(session: UploadSession, number: int) -> Path:
    return parts_dir(session) / f"part-{number:05d}"


def staging_discard(session: UploadSession) -> None:
    """Delete whatever the session staged (idempotent)."""
    with contextlib.suppress(FileNotFoundError):
        staging_path(session).unlink()
    shutil.rmtree(parts_dir(session), ignore_errors=True)


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class StagingWriter:
    """Receives a body into a temporary file beside its target, counting, refusing at
    the byte past ``limit`` and computing the MD5 that S3 would give as the ETag; the
    file takes its target's place only on ``commit`` (atomically), and is deleted on
    any error, so a target is always a whole body."""

    def __init__(self, target: Path, *, limit: int,
                 too_large: Callable[[], DomainError]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self._target, self._limit, self._too_large = target, limit, too_large
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        self._file: IO[bytes] = os.fdopen(handle, "wb")
        self._tmp = Path(name)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def __enter__(self) -> StagingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            raise self._too_large()
        self._md5.update(data)
        self._file.write(data)

    def copy_from(self, body: Readable) -> None:
        while True:
            chunk = body.read(_COPY_CHUNK)
            if not chunk:
                return
            self.write(chunk)

    @property
    def etag(self) -> str:
        return f'"{self._md5.hexdigest()}"'

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._target)


# -- the lock -------------------------------------------------------------------------------
def _lock_key(session: UploadSession) -> str:
    return f"author_media:{session.protocol}:{session.pk}"


@contextlib.contextmanager
def session_lock(session: UploadSession) -> Iterator[None]:
    """Hold the session's advisory lock (session-level: it spans the short transactions
    inside and long reads of bytes, and PostgreSQL frees it if the process dies);
    UploadLocked (423) when another request holds it."""
    key = _lock_key(session)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        row = cursor.fetchone()
    if not (row and row[0]):
        raise UploadLocked()
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
        except Exception:  # a connection that cannot unlock must not be reused
            logger.warning("could not unlock upload %s; closing the connection", session.pk,
                           exc_info=True)
            connection.close()


# -- opening ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Declared:
    """What a client says it will upload; ``fields`` are the MediaFile's (folder,
    site_id, alt_text, caption, tags), validated."""

    filename: str
    mime_type: str
    size: int
    fields: dict[str, Any]


def max_file_bytes() -> int:
    return min(int(author_media_settings.MAX_FILE_BYTES), int(storage_settings.MAX_UPLOAD_SIZE))


def session_ttl() -> int:
    return int(author_media_settings.UPLOAD_SESSION_TTL)


def url_ttl(session: UploadSession) -> int:
    """Upload URLs live PRESIGNED_TTL seconds, and never past their session."""
    left = int((session.expires_at - timezone.now()).total_seconds())
    return max(1, min(int(author_media_settings.PRESIGNED_TTL), left))


def _check_declared(declared: Declared) -> None:
    limit = max_file_bytes()
    if declared.size > limit:
        raise FileTooLarge(f"The file is larger than {limit} bytes.", extra={"maxBytes": limit})
    guessed, _ = mimetypes.guess_type(declared.filename, strict=False)
    for claim in (declared.mime_type, guessed):
        if claim in REFUSED_TYPES:
            raise UnsupportedType(f"Files of type {claim} are not accepted.")


def _extension(declared: Declared) -> str:
    guessed = mimetypes.guess_extension(declared.mime_type, strict=False)
    if guessed:
        return guessed
    ext = posixpath.splitext(sanitize_name(declared.filename))[1].lower()
    return ext if 1 < len(ext) <= 10 and ext[1:].isalnum() else ".bin"


def _key(user: User, protocol: str, via: str, session_id: UUID, declared: Declared) -> str:
    scope = quota.owner_scope(user)
    if via == VIA_STAGED:
        return f"{protocol}/{session_id}"  # the staged file's name (tus.py's layout)
    if protocol == UploadProtocol.PRESIGNED:  # a key the client may write until its URL dies
        return f"{scope}/incoming/{session_id.hex}{_extension(declared)}"
    return storage_key(scope=scope, file_id=session_id, extension=_extension(declared))


def via_for(protocol: str) -> str:
    """Where a new session's bytes go: the bucket itself on S3 (not tus)."""
    return VIA_S3 if blob_store.is_s3 and protocol != UploadProtocol.TUS else VIA_STAGED


def session_open(*, user: User, protocol: str, declared: Declared,
                 extra: dict[str, Any] | None = None) -> UploadSession:
    """Reserve ``declared.size`` bytes and create the session (413 over the file or
    storage limit, 415 for refused types; nothing changes then). Call inside a
    transaction to make more of the opening (an S3 multipart upload) all or nothing."""
    _check_declared(declared)
    services.prepare_quota(user)
    session_id, via, ttl = uuid7(), via_for(protocol), session_ttl()
    fields: dict[str, Any] = {"media": dict(declared.fields), "via": via, **(extra or {})}
    with transaction.atomic():
        try:
            reservation = quota.quota_reserve(owner=user, nbytes=declared.size,
                                              ttl=ttl + RESERVATION_GRACE, bucket=QUOTA_BUCKET)
        except QuotaExceeded:
            raise services.storage_limit_error(user, declared.size) from None
        return UploadSession.objects.create(
            id=session_id, user=user, protocol=protocol,
            key=_key(user, protocol, via, session_id, declared),
            filename=sanitize_name(declared.filename), mime_type=declared.mime_type,
            size=declared.size, fields=fields, reservation=reservation,
            expires_at=timezone.now() + timedelta(seconds=ttl))


@dataclass(frozen=True)
class Target:
    """Where and how a client sends bytes: ``url`` is relative to this server for local
    storage (the view makes it absolute)."""

    method: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


def presigned_open(*, user: User, declared: Declared) -> tuple[UploadSession, Target]:
    """Open a presigned session and sign where its file goes: an S3 POST policy for
    exactly its key, type and size, or this server's signed upload URL."""
    with transaction.atomic():
        session = session_open(user=user, protocol=UploadProtocol.PRESIGNED, declared=declared)
        ttl = url_ttl(session)
        expires = timezone.now() + timedelta(seconds=ttl)
        if session.fields["via"] == VIA_S3:
            post = blob_store.presigned_post(session.key, size=session.size,
                                             content_type=session.mime_type, ttl=ttl)
            target = Target("POST", post["url"], post["fields"], expires)
            fields = {**session.fields, "urlExpires": int(expires.timestamp())}
            UploadSession.objects.filter(pk=session.pk).update(fields=fields)
            session.fields = fields
        else:
            target = Target("POST", upload_url(session, part=0, ttl=ttl),
                            {"Content-Type": session.mime_type}, expires)
    return session, target


def part_size_for(size: int, requested: int | None) -> int:
    """The size of every part but the last: what the client asked for (S3's rules: at
    least MIN_PART_BYTES, at most 5 GiB, MAX_PARTS parts at most) or the smallest that
    fits in MAX_PARTS."""
    smallest = int(author_media_settings.MIN_PART_BYTES)
    max_parts = int(author_media_settings.MAX_PARTS)
    if requested is None:
        return max(smallest, math.ceil(size / max_parts))
    if requested < smallest or requested > S3_MAX_PART_BYTES:
        raise ValidationError({"partSize": [
            f"Must be between {smallest} and {S3_MAX_PART_BYTES} bytes."]})
    if math.ceil(size / requested) > max_parts:
        raise ValidationError({"partSize": [
            f"At most {max_parts} parts: use parts of at least {math.ceil(size / max_parts)} "
            "bytes."]})
    return requested


def part_count(session: UploadSession) -> int:
    return math.ceil(session.size / int(session.fields["partSize"]))


def expected_part_size(session: UploadSession, number: int) -> int:
    """Every part is ``partSize`` bytes but the last, which holds the rest."""
    count, part = part_count(session), int(session.fields["partSize"])
    if not 1 <= number <= count:
        raise ValidationError({"partNumber": [f"Must be between 1 and {count}."]})
    return part if number < count else session.size - part * (count - 1)


def multipart_open(*, user: User, declared: Declared, part_size: int | None) -> UploadSession:
    """Open a multipart session; on S3 also the S3 multipart upload behind it."""
    size = part_size_for(declared.size, part_size)
    with transaction.atomic():
        session = session_open(user=user, protocol=UploadProtocol.MULTIPART, declared=declared,
                               extra={"partSize": size})
        if session.fields["via"] == VIA_S3:
            upload_id = blob_store.multipart_create(session.key, content_type=session.mime_type)
            try:
                UploadSession.objects.filter(pk=session.pk).update(s3_upload_id=upload_id)
            except BaseException:
                blob_store.multipart_abort(session.key, upload_id=upload_id)
                raise
            session.s3_upload_id = upload_id
    return session


# -- finding ------------------------------------------------------------------------------
def session_get(*, user: User, upload_id: UUID | str | None = None, key: str | None = None,
                protocol: str | None = None) -> UploadSession:
    """The caller's session by id or key; anyone else's is a 404, as is a session of
    another protocol (a multipart id given to confirm)."""
    rows = UploadSession.objects.select_related("reservation").filter(user=user)
    if upload_id is not None:
        try:
            rows = rows.filter(pk=UUID(str(upload_id)))
        except ValueError:
            raise UploadNotFound() from None
    elif key:
        rows = rows.filter(key=key)
    else:
        raise UploadNotFound()
    if protocol is not None:
        rows = rows.filter(protocol=protocol)
    session = rows.first()
    if session is None:
        raise UploadNotFound()
    return session


def is_due(session: UploadSession) -> bool:
    return session.state == UploadState.OPEN and session.expires_at <= timezone.now()


def _require_receiving(session: UploadSession) -> None:
    """Bytes may still come: open and not past its expiry."""
    if session.state == UploadState.COMPLETED:
        raise UploadComplete()
    if session.state != UploadState.OPEN or is_due(session):
        raise UploadGone()


# -- local: bytes through the platform --------------------------------------------------------
_GRANT_SALT = "author_media.upload-target"


def upload_token(session: UploadSession, *, part: int, ttl: int) -> str:
    """A signed, expiring grant to send the session's bytes (``part`` 0: the whole file)."""
    expires = int(time.time()) + ttl
    return signing.Signer(salt=_GRANT_SALT).sign_object([session.pk.hex, part, expires])


def read_upload_token(token: str) -> tuple[UUID, int]:
    """(session id, part); 403 when tampered with, 410 once expired."""
    try:
        session_hex, part, expires = signing.Signer(salt=_GRANT_SALT).unsign_object(token)
        grant = UUID(hex=str(session_hex)), int(part), int(expires)
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkInvalid() from None
    if grant[2] < time.time():
        raise LinkExpired()
    return grant[0], grant[1]


def upload_url(session: UploadSession, *, part: int, ttl: int) -> str:
    return reverse("am-upload-target", kwargs={"token": upload_token(session, part=part,
                                                                     ttl=ttl)})


@dataclass(frozen=True)
class Received:
    part_number: int  # 0: the whole file
    size: int
    etag: str


def _require_staged(session: UploadSession) -> None:
    if session.fields.get("via") != VIA_STAGED:
        raise WrongProtocol("This upload's bytes go to the storage's presigned URLs.")


Feed = Callable[[StagingWriter], None]  # writes a request's body into the writer


def from_stream(body: Readable | None) -> Feed:
    """The feed of a raw request body."""
    return lambda writer: writer.copy_from(body) if body is not None else None


def receive_file(session: UploadSession, feed: Feed) -> Received:
    """The whole file of a local presigned session; exactly the declared size (413
    beyond it, 422 short of it: the earlier upload, if any, stays). Sent again, it
    replaces the earlier one until the session is confirmed."""
    if session.protocol != UploadProtocol.PRESIGNED:
        raise WrongProtocol()
    _require_staged(session)
    _require_receiving(session)

    def too_large() -> DomainError:
        return FileTooLarge(f"The file is larger than the declared {session.size} bytes.",
                            extra={"maxBytes": session.size})

    with StagingWriter(staging_path(session), limit=session.size, too_large=too_large) as out:
        feed(out)
        if out.size != session.size:
            raise SizeMismatch(f"Received {out.size} bytes; the upload declared "
                               f"{session.size}.", extra={"receivedBytes": out.size})
        with transaction.atomic():
            _require_receiving(UploadSession.objects.select_for_update().get(pk=session.pk))
            out.commit()
        return Received(0, out.size, out.etag)


def receive_part(session: UploadSession, number: int, feed: Feed) -> Received:
    """One part of a local multipart session, in any order, as often as needed: the last
    one received counts. Its size must be the expected one (``expected_part_size``)."""
    if session.protocol != UploadProtocol.MULTIPART:
        raise WrongProtocol()
    _require_staged(session)
    _require_receiving(session)
    expected = expected_part_size(session, number)

    def wrong_size(received: int) -> DomainError:
        return SizeMismatch(f"Part {number} must be {expected} bytes; received {received}.",
                            extra={"partNumber": number, "expectedBytes": expected})

    with StagingWriter(part_path(session, number), limit=expected,
                       too_large=lambda: wrong_size(expected + 1)) as out:
        feed(out)
        if out.size != expected:
            raise wrong_size(out.size)
        with transaction.atomic():
            locked = UploadSession.objects.select_for_update().get(pk=session.pk)
            _require_receiving(locked)
            out.commit()
            parts = {**locked.parts, str(number): {"etag": out.etag, "size": out.size}}
            UploadSession.objects.filter(pk=session.pk).update(parts=parts,
                                                                updated_at=timezone.now())
        return Received(number, out.size, out.etag)


def part_target(session: UploadSession, number: int) -> Target:
    """Where to send part ``number``: a presigned S3 URL, or this server's signed URL."""
    if session.protocol != UploadProtocol.MULTIPART:
        raise WrongProtocol()
    _require_receiving(session)
    expected_part_size(session, number)
    ttl = url_ttl(session)
    expires = timezone.now() + timedelta(seconds=ttl)
    if session.fields.get("via") == VIA_S3:
        url = blob_store.multipart_part_url(session.key, upload_id=session.s3_upload_id,
                                            part_number=number, ttl=ttl)
    else:
        url = upload_url(session, part=number, ttl=ttl)
    return Target("PUT", url, {}, expires)


# -- finishing ------------------------------------------------------------------------------
def _completed(session: UploadSession) -> services.Stored:
    media = (MediaFile.objects.filter(pk=session.media_file_id).first()
             if session.media_file_id is not None else None)
    if media is None:  # completed, then its file was purged
        raise UploadGone("This upload's file no longer exists.")
    return services.Stored(media, duplicate=bool(session.fields.get("duplicate")))


def _staged_chunks(paths: list[Path]) -> Iterator[bytes]:
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(_COPY_CHUNK):
                yield chunk


def _check_object(session: UploadSession) -> None:
    """A presigned object must be there (409 otherwise: nothing changes) and of the
    declared size (larger or smaller: refused, and deleted)."""
    size = blob_store.object_size(session.key)
    if size is None:
        raise UploadNotReceived()
    if size != session.size:
        blob_store.discard(session.key)
        if size > session.size:
            raise FileTooLarge(f"The object is {size} bytes; {session.size} were declared.",
                               extra={"maxBytes": session.size})
        raise SizeMismatch(f"The object is {size} bytes; {session.size} were declared.",
                           extra={"receivedBytes": size})


def _write(session: UploadSession, attach: Callable[[StoredFile], object]) -> StoredFile:
    """Record the session's bytes as a StoredFile (``attach`` in its transaction)."""
    common: dict[str, Any] = {
        "owner": session.user, "name": session.filename, "reservation": session.reservation,
        "declared_type": session.mime_type or None, "max_size": session.size,
        "quota_bucket": QUOTA_BUCKET, "attach": attach}
    if session.fields.get("via") == VIA_S3:
        presigned = session.protocol == UploadProtocol.PRESIGNED
        if presigned:
            _check_object(session)
        return blob_store.adopt(session.key, relocate=presigned, **common)
    if session.protocol == UploadProtocol.MULTIPART:
        paths = [part_path(session, n) for n in range(1, part_count(session) + 1)]
        return blob_store.put_reserved(_staged_chunks(paths), **common)
    try:
        handle = open(staging_path(session), "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise UploadNotReceived() from None
    with handle:
        return blob_store.put_reserved(handle, **common)


def _refusal(exc: DomainError, session: UploadSession) -> DomainError:
    """The error a client sees for refused content, saying the upload is over."""
    if isinstance(exc, UploadTooLarge):
        exc = FileTooLarge(f"The file is larger than the declared {session.size} bytes.",
                           extra={"maxBytes": session.size})
    elif isinstance(exc, QuotaExceeded):
        exc = services.storage_limit_error(session.user, session.size)
    exc.extra = {**exc.extra, "uploadId": str(session.pk), "uploadState": UploadState.ABORTED}
    return exc


def session_finish(session: UploadSession, *,
                   prepare: Callable[[UploadSession], None] | None = None) -> services.Stored:
    """Turn the session's bytes into the user's MediaFile (or the file it duplicates).

    Under the session's lock: a completed session answers with its file again; a session
    that is over (or past its expiry) is 410; ``prepare(session)`` may check or assemble
    the bytes first (its errors change nothing). Refused content ends the session (its
    bytes deleted, its reservation released); a missing object or a storage failure
    leaves it open for another try.
    """
    with session_lock(session):
        session.refresh_from_db()
        if session.state == UploadState.COMPLETED:
            return _completed(session)
        if is_due(session):
            session_close(session, UploadState.EXPIRED)
        _require_receiving(session)
        if prepare is not None:
            prepare(session)
        services.prepare_quota(session.user)
        created: list[MediaFile] = []

        def attach(stored: StoredFile) -> None:
            media = services.media_file_attach(user=session.user, stored=stored,
                                               fields=dict(session.fields.get("media") or {}))
            UploadSession.objects.filter(pk=session.pk).update(
                state=UploadState.COMPLETED, media_file=media, reservation=None,
                offset=session.size, updated_at=timezone.now())
            created.append(media)

        try:
            stored = _write(session, attach)
        except services.Duplicate as duplicate:
            session_close(session, UploadState.COMPLETED, media=duplicate.existing)
            return services.Stored(duplicate.existing, duplicate=True)
        except _REFUSALS as refused:
            session_close(session, UploadState.ABORTED, error=refused)
            raise _refusal(refused, session) from None
        except BlobNotFound:
            raise UploadNotReceived() from None
        session.refresh_from_db()
        _discard_uploaded(session)
        pipeline.enqueue(stored)
        return services.Stored(created[0])


def presigned_confirm(session: UploadSession) -> services.Stored:
    if session.protocol != UploadProtocol.PRESIGNED:
        raise WrongProtocol("Only presigned uploads are confirmed; multipart ones complete.")
    return session_finish(session)


def _norm_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


def _check_parts(session: UploadSession, claimed: list[tuple[int, str]],
                 held: dict[int, tuple[str, int]]) -> None:
    """The client's list names every part once, each as uploaded (its ETag), and the
    parts have their expected sizes, so together they are exactly the declared size
    (the reservation). 400 with every problem otherwise; nothing changes."""
    count = part_count(session)
    numbers = [n for n, _ in claimed]
    problems: list[str] = []
    if sorted(numbers) != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(numbers))
        extra = sorted({n for n in numbers if not 1 <= n <= count})
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        problems.append(f"The list must name parts 1 to {count} once each"
                        + (f"; missing: {missing[:20]}" if missing else "")
                        + (f"; unknown: {extra[:20]}" if extra else "")
                        + (f"; repeated: {repeated[:20]}" if repeated else "") + ".")
    for number, etag in sorted(set(claimed)):
        if not 1 <= number <= count:
            continue
        if number not in held:
            problems.append(f"Part {number} has not been uploaded.")
            continue
        held_etag, size = held[number]
        if _norm_etag(etag) != _norm_etag(held_etag):
            problems.append(f"Part {number}: the ETag is not the uploaded part's.")
        expected = expected_part_size(session, number)
        if size != expected:
            problems.append(f"Part {number} is {size} bytes; it must be {expected} "
                            "(upload it again).")
    if problems:
        raise ValidationError({"parts": problems[:50]})


def _assemble(session: UploadSession, claimed: list[tuple[int, str]]) -> None:
    """``prepare`` of a multipart session: check the list; on S3, assemble the object
    (once: a retry after a failure past this point finds it assembled)."""
    if session.fields.get("via") != VIA_S3:
        held = {int(n): (str(p["etag"]), int(p["size"])) for n, p in session.parts.items()}
        for number, (_etag, size) in held.items():
            path = part_path(session, number)
            if not path.exists() or path.stat().st_size != size:  # staged bytes were lost
                held[number] = ("", -1)
        _check_parts(session, claimed, held)
        return
    if session.fields.get("assembled"):
        return
    try:
        parts = blob_store.multipart_parts(session.key, upload_id=session.s3_upload_id)
    except BlobNotFound:
        raise UploadGone("The storage no longer holds this upload's parts.") from None
    held = {p.number: (p.etag, p.size) for p in parts}
    _check_parts(session, claimed, held)
    try:
        blob_store.multipart_complete(session.key, upload_id=session.s3_upload_id,
                                      parts=[(n, held[n][0]) for n in sorted(held)
                                             if n <= part_count(session)])
    except MultipartRefused as refused:
        raise ValidationError({"parts": [f"The storage refused the parts: {refused.code}."]}
                              ) from None
    fields = {**session.fields, "assembled": True}
    UploadSession.objects.filter(pk=session.pk).update(fields=fields)
    session.fields = fields


def multipart_complete(session: UploadSession,
                       claimed: list[tuple[int, str]]) -> services.Stored:
    if session.protocol != UploadProtocol.MULTIPART:
        raise WrongProtocol()
    return session_finish(session, prepare=lambda s: _assemble(s, claimed))


# -- closing --------------------------------------------------------------------------------
def session_close(session: UploadSession, state: str, *, media: MediaFile | None = None,
                  error: DomainError | None = None) -> bool:
    """End an open session as ``state`` (completed as ``media``, a duplicate; aborted;
    expired): release its reservation and mark it in one transaction, then delete what
    was uploaded. Call under ``session_lock``. False when it was no longer open."""
    fields = dict(session.fields)
    if media is not None:
        fields["duplicate"] = True
    if error is not None:
        fields["error"] = {"status": error.status_code, "code": error.code,
                           "message": error.message}
    with transaction.atomic():
        updated = UploadSession.objects.filter(pk=session.pk, state=UploadState.OPEN).update(
            state=state, media_file=media, fields=fields, updated_at=timezone.now())
        if not updated:
            return False
        if session.reservation_id is not None:
            reservation = QuotaReservation.objects.filter(pk=session.reservation_id).first()
            if reservation is not None:
                quota.quota_reservation_release(reservation=reservation)
        UploadSession.objects.filter(pk=session.pk).update(reservation=None)
    session.state, session.media_file, session.fields = state, media, fields
    session.reservation = None
    _discard_uploaded(session)
    return True


def _discard_uploaded(session: UploadSession) -> None:
    """After a session ended: delete its staged bytes, its S3 parts, and any object left
    at a key that no file holds. A presigned POST stays valid until its URL expires; so
    an S3 presigned session is marked to have its incoming key deleted once more then."""
    staging_discard(session)
    if session.fields.get("via") != VIA_S3:
        return
    try:
        if session.protocol == UploadProtocol.MULTIPART:
            if session.state != UploadState.COMPLETED:
                if session.s3_upload_id:
                    blob_store.multipart_abort(session.key, upload_id=session.s3_upload_id)
                blob_store.discard(session.key)  # assembled, then refused or abandoned
            return
        if session.protocol == UploadProtocol.PRESIGNED:
            blob_store.discard(session.key)  # never a file's key: files are relocated
            url_expires = int(session.fields.get("urlExpires") or 0)
            if url_expires > time.time():
                fields = {**session.fields, "sweep": True}
                UploadSession.objects.filter(pk=session.pk).update(
                    fields=fields, expires_at=datetime.fromtimestamp(url_expires, tz=UTC))
                session.fields = fields
    except Exception:  # the expiry task tries again (aborting is idempotent)
        logger.warning("could not clean up upload %s in storage", session.pk, exc_info=True)


def session_abort(session: UploadSession) -> None:
    """The client gives up: release the quota and delete the uploaded bytes (a session
    already over stays as it is; a completed one is 409)."""
    with session_lock(session):
        session.refresh_from_db()
        if session.state == UploadState.COMPLETED:
            raise UploadComplete("This upload is complete; delete its file instead.")
        if session.state == UploadState.OPEN:
            session_close(session, UploadState.ABORTED)


def session_expire(session: UploadSession) -> bool:
    """Expire one due session, of any protocol; False when it is busy (the next run gets
    it) or no longer due."""
    try:
        with session_lock(session):
            session.refresh_from_db()
            if not is_due(session):
                return False
            return session_close(session, UploadState.EXPIRED)
    except UploadLocked:
        return False


def _sweep_incoming(limit: int) -> int:
    """Delete the incoming keys of ended presigned sessions once their URLs are dead
    (an upload the client sent after the end would otherwise stay, uncharged)."""
    done = 0
    rows = UploadSession.objects.filter(
        protocol=UploadProtocol.PRESIGNED, fields__sweep=True,
        state__in=[UploadState.COMPLETED, UploadState.ABORTED, UploadState.EXPIRED],
        expires_at__lte=timezone.now())
    for session in rows[:limit]:
        blob_store.discard(session.key)
        fields = {k: v for k, v in session.fields.items() if k != "sweep"}
        done += UploadSession.objects.filter(pk=session.pk).update(fields=fields)
    return done


def expire_due(limit: int = 500) -> int:
    """Expire sessions of every protocol past ``expires_at`` (their bytes deleted, their
    reservations released); returns how many."""
    due = UploadSession.objects.filter(state=UploadState.OPEN,
                                       expires_at__lte=timezone.now()).order_by("expires_at")
    expired = sum(session_expire(session) for session in due[:limit])
    _sweep_incoming(limit)
    return expired
