"""The blob store: the one way files enter and leave storage.

``put`` streams a file into the configured Django storage in chunks, computing SHA-256
and sniffing the real type from the bytes as they pass, refusing over-size input at the
byte where it crosses the limit and refusing names or declared types that contradict the
content. It never holds a whole file in memory and never re-reads what it wrote.

``delete`` removes the row, its variants and their bytes; a storage failure leaves a
tombstone that the sweeper retries, never an orphan. ``signed_url`` gives a presigned
S3 URL or, for local storage, an HMAC-signed expiring URL served by ``views.serve``.

Bytes a client writes to storage itself (a presigned POST, a multipart upload) enter
through ``adopt``, which streams the object back once with the same checks as ``put``
before it records it; ``put_reserved`` is ``put`` for bytes an upload session staged
under a quota reservation made earlier. The S3 calls behind them live in ``s3.py``.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import IO, Any
from urllib.parse import quote
from uuid import UUID

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.ids import uuid7
from apps.storage import quota, s3
from apps.storage.conf import storage_settings
from apps.storage.errors import (
    BlobNotFound,
    EmptyUpload,
    StorageUnavailable,
    TypeMismatch,
    UnsupportedType,
    UploadTooLarge,
)
from apps.storage.models import (
    BlobTombstone,
    QuotaReservation,
    ScanStatus,
    StoredFile,
    Variant,
)
from apps.storage.naming import sanitize_name, storage_key, variant_key
from apps.storage.signals import usage_changed
from apps.storage.signing import FileGrant, TokenMaker
from apps.storage.sniff import SNIFF_BYTES, claimed_type, contradiction, sniff
from apps.storage.streams import HashingReader, TooLarge

logger = logging.getLogger(__name__)

Source = IO[bytes] | Iterable[bytes] | bytes
KeyBuilder = Callable[[UUID, str], str]  # (file id, extension with its dot) -> storage key


class BlobStore:
    """Operations on stored files, over one Django storage (the default one if omitted)."""

    def __init__(self, storage: Storage | None = None) -> None:
        self._storage = storage

    @property
    def storage(self) -> Storage:
        return self._storage if self._storage is not None else default_storage

    @property
    def is_local(self) -> bool:
        return isinstance(self.storage, FileSystemStorage)

    # -- put ------------------------------------------------------------------------
    def put(
        self,
        stream: Source,
        *,
        owner: quota.Owner,
        name: str | None,
        declared_type: str | None = None,
        max_size: int | None = None,
        declared_size: int | None = None,
        allowed_kinds: Sequence[str] | None = None,
        meta: dict[str, Any] | None = None,
        quota_bucket: str = "",
        key_for: KeyBuilder | None = None,
        attach: Callable[[StoredFile], object] | None = None,
    ) -> StoredFile:
        """Stream ``stream`` into storage and record it as a StoredFile of ``owner``.

        With ``declared_size`` the quota is reserved before any byte is read, and the
        stream may not exceed it. The bytes are charged to the owner's ``quota_bucket``.
        ``key_for(file_id, extension)`` names the object (a feature's documented layout)
        instead of the platform's ``<scope>/<yyyy>/<mm>/<id><ext>``. ``attach(stored)``
        runs inside the transaction that inserts the StoredFile — the feature row that
        holds it commits with it or not at all. Raises UploadTooLarge, QuotaExceeded,
        UnsupportedType, TypeMismatch or EmptyUpload (or what ``attach`` raises); on any
        error nothing is left in storage or the DB.
        """
        ceiling = int(storage_settings.MAX_UPLOAD_SIZE)
        limit = min(x for x in (max_size, declared_size, ceiling) if x is not None)
        if declared_size is not None and declared_size > limit:
            raise UploadTooLarge(f"The file is larger than {limit} bytes.")
        reservation = (quota.quota_reserve(owner=owner, nbytes=declared_size,
                                           bucket=quota_bucket)
                       if declared_size is not None else None)
        try:
            return self._put(stream, owner=owner, name=name, declared_type=declared_type,
                             limit=limit, allowed_kinds=allowed_kinds, meta=meta or {},
                             reservation=reservation, bucket=quota_bucket,
                             key_for=key_for, attach=attach)
        except BaseException:
            if reservation is not None:
                quota.quota_reservation_release(reservation=reservation)
            raise

    def _put(self, stream: Source, *, owner: quota.Owner, name: str | None,
             declared_type: str | None, limit: int, allowed_kinds: Sequence[str] | None,
             meta: dict[str, Any], reservation: Any, bucket: str,
             key_for: KeyBuilder | None, attach: Callable[[StoredFile], object] | None,
             ) -> StoredFile:
        reader = HashingReader(stream, max_size=limit,
                               chunk_size=int(storage_settings.CHUNK_SIZE))
        head = reader.peek_head(SNIFF_BYTES)
        if not head:
            raise EmptyUpload()
        sniffed = sniff(head)
        allowed = allowed_kinds or storage_settings.ALLOWED_KINDS
        if sniffed.kind not in allowed:
            raise UnsupportedType(f"Files of type {sniffed.mime_type} are not accepted here.")
        why = contradiction(sniffed, claimed_type(name, declared_type))
        if why:
            raise TypeMismatch(f"The file's content does not match its name or type: {why}.")
        file_id = uuid7()
        key = (key_for(file_id, sniffed.extension) if key_for else
               storage_key(scope=quota.owner_scope(owner), file_id=file_id,
                           extension=sniffed.extension))
        reader.content_type = sniffed.mime_type
        reader.name = key
        self._announce(key)
        try:
            key = self.storage.save(key, reader)  # type: ignore[arg-type]
        except TooLarge:
            self._discard(key)
            raise UploadTooLarge(f"The file is larger than {limit} bytes.") from None
        except DomainError:
            self._discard(key)
            raise
        except Exception as exc:  # the backend failed the write: a 503, not a 500
            logger.warning("storage write of %s failed", key, exc_info=True)
            self._discard(key)
            raise StorageUnavailable() from exc
        except BaseException:
            self._discard(key)
            raise
        try:
            with transaction.atomic():
                self._claim(key)
                quota.quota_charge(owner=owner, nbytes=reader.size, kind=sniffed.kind,
                                   reservation=reservation, bucket=bucket)
                stored = StoredFile.objects.create(
                    id=file_id, key=key, size=reader.size,
                    original_name=sanitize_name(name or (posixpath.basename(key) if key_for
                                                         else None)),
                    sha256=reader.sha256, mime_type=sniffed.mime_type, kind=sniffed.kind,
                    meta=meta, quota_bucket=bucket, **quota.owner_fields(owner))
                usage_changed.send(sender=StoredFile, stored_file=stored,
                                   file_bytes=stored.size, variant_bytes=0, files=1)
                if attach is not None:
                    attach(stored)
                return stored
        except BaseException:
            self._discard(key)
            raise

    def _discard(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except Exception:  # the tombstone makes sure it goes eventually
            logger.warning("could not discard %s; leaving a tombstone", key, exc_info=True)
            self._tombstone(key, due_at=timezone.now())
            return
        BlobTombstone.objects.filter(key=key).delete()  # its write's announcement

    def _announce(self, key: str) -> None:
        """Before bytes are written at ``key``: a tombstone due after ORPHAN_TTL.

        Writing the bytes and recording them cannot be one transaction; a process killed
        between the two (SIGKILL, OOM, a lost machine) would leave bytes no row points
        at. The announcement commits first, the transaction that records the key
        withdraws it (``_claim``), and the sweeper deletes what is still announced once
        it is due. Inside a caller's transaction it commits with that transaction.
        """
        due = timezone.now() + timedelta(seconds=int(storage_settings.ORPHAN_TTL))
        self._tombstone(key, due_at=due)

    @staticmethod
    def _tombstone(key: str, *, due_at: Any) -> None:
        BlobTombstone.objects.bulk_create([BlobTombstone(key=key, due_at=due_at)],
                                          update_conflicts=True, unique_fields=["key"],
                                          update_fields=["due_at"])

    @staticmethod
    def _claim(key: str) -> None:
        """Inside the transaction that records the bytes at ``key``: withdraw their
        announcement. Only that key's: if the storage saved under another name (the
        planned one was taken, by the leftovers of a crashed write), the planned key's
        announcement stays and the sweeper removes those leftovers."""
        BlobTombstone.objects.filter(key=key).delete()

    def _save_announced(self, planned: str, data: bytes) -> str:
        """Announce, then save derived bytes; a failed save leaves nothing behind."""
        self._announce(planned)
        try:
            return str(self.storage.save(planned, ContentFile(data)))
        except BaseException:
            self._discard(planned)
            raise

    # -- uploads written by clients (presigned POST, multipart, staged) -------------
    @property
    def is_s3(self) -> bool:
        return s3.is_s3(self.storage)

    def _s3(self) -> Storage:
        if not self.is_s3:
            raise RuntimeError("this operation needs the S3 storage")
        return self.storage

    def presigned_post(self, key: str, *, size: int, content_type: str,
                       ttl: int) -> dict[str, Any]:
        """A form upload (``{"url", "fields"}``) of exactly ``size`` bytes to ``key``."""
        return s3.presigned_post(self._s3(), key, size=size, content_type=content_type,
                                 ttl=ttl)

    def multipart_create(self, key: str, *, content_type: str) -> str:
        return s3.multipart_create(self._s3(), key, content_type=content_type)

    def multipart_part_url(self, key: str, *, upload_id: str, part_number: int,
                           ttl: int) -> str:
        return s3.multipart_part_url(self._s3(), key, upload_id=upload_id,
                                     part_number=part_number, ttl=ttl)

    def multipart_parts(self, key: str, *, upload_id: str) -> list[s3.UploadedPart]:
        return s3.multipart_parts(self._s3(), key, upload_id=upload_id)

    def multipart_complete(self, key: str, *, upload_id: str,
                           parts: list[tuple[int, str]]) -> None:
        s3.multipart_complete(self._s3(), key, upload_id=upload_id, parts=parts)

    def multipart_abort(self, key: str, *, upload_id: str) -> None:
        s3.multipart_abort(self._s3(), key, upload_id=upload_id)

    def object_size(self, key: str) -> int | None:
        """The size of the object at ``key``, or None when there is none."""
        if self.is_s3:
            found = s3.head(self.storage, key)
            return found[0] if found else None
        try:
            return int(self.storage.size(key))
        except FileNotFoundError:
            return None

    def discard(self, key: str) -> None:
        """Delete an object no row holds (a refused or abandoned client upload); a
        storage failure leaves a tombstone for the sweeper."""
        self._discard(key)

    def put_reserved(
        self,
        stream: Source,
        *,
        owner: quota.Owner,
        name: str | None,
        reservation: QuotaReservation | None,
        declared_type: str | None = None,
        max_size: int | None = None,
        allowed_kinds: Sequence[str] | None = None,
        meta: dict[str, Any] | None = None,
        quota_bucket: str = "",
        key_for: KeyBuilder | None = None,
        attach: Callable[[StoredFile], object] | None = None,
    ) -> StoredFile:
        """``put`` of bytes whose quota was reserved earlier (an upload session staged
        them): the stream may not exceed the reservation, which the recorded file
        consumes. If put refuses, the reservation stays: it is its session's to release.
        """
        caps = (max_size, reservation.bytes if reservation is not None else None,
                int(storage_settings.MAX_UPLOAD_SIZE))
        return self._put(stream, owner=owner, name=name, declared_type=declared_type,
                         limit=min(x for x in caps if x is not None),
                         allowed_kinds=allowed_kinds, meta=meta or {}, reservation=reservation,
                         bucket=quota_bucket, key_for=key_for, attach=attach)

    def adopt(
        self,
        key: str,
        *,
        owner: quota.Owner,
        name: str | None,
        max_size: int,
        reservation: QuotaReservation | None = None,
        declared_type: str | None = None,
        allowed_kinds: Sequence[str] | None = None,
        meta: dict[str, Any] | None = None,
        quota_bucket: str = "",
        attach: Callable[[StoredFile], object] | None = None,
        relocate: bool = False,
    ) -> StoredFile:
        """Record the object a client wrote at ``key`` (presigned POST, multipart) as a
        StoredFile of ``owner``, with the checks ``put`` makes on the way in.

        The object is streamed back once: SHA-256 and size are computed, the head is
        sniffed, over ``max_size`` (or the reservation) it is refused at that byte, and
        names or declared types that contradict the bytes are refused. Then, in one
        transaction, the quota is charged (consuming ``reservation``), the row inserted
        and ``attach(stored)`` run. With ``relocate`` the checked version is first copied
        (server-side, only if unchanged since it was read) to a key of the platform's
        layout, and ``key`` is deleted: a key a client could still write to (a presigned
        POST stays valid until it expires) never holds a recorded file.

        A missing object raises BlobNotFound and changes nothing. On any other error
        (UploadTooLarge, EmptyUpload, UnsupportedType, TypeMismatch, QuotaExceeded,
        ObjectChanged or what ``attach`` raises) the object is deleted, nothing is
        recorded, and the reservation stays for the caller to release.
        """
        caps = (max_size, reservation.bytes if reservation is not None else None,
                int(storage_settings.MAX_UPLOAD_SIZE))
        limit = min(x for x in caps if x is not None)
        handle, etag = self._open_key(key)  # BlobNotFound: nothing to clean up
        target = key
        try:
            with handle:
                reader = HashingReader(handle, max_size=limit,
                                       chunk_size=int(storage_settings.CHUNK_SIZE))
                head = reader.peek_head(SNIFF_BYTES)
                if not head:
                    raise EmptyUpload()
                sniffed = sniff(head)
                if sniffed.kind not in (allowed_kinds or storage_settings.ALLOWED_KINDS):
                    raise UnsupportedType(
                        f"Files of type {sniffed.mime_type} are not accepted here.")
                why = contradiction(sniffed, claimed_type(name, declared_type))
                if why:
                    raise TypeMismatch(
                        f"The file's content does not match its name or type: {why}.")
                try:
                    for _chunk in reader.chunks():
                        pass
                except TooLarge:
                    raise UploadTooLarge(f"The file is larger than {limit} bytes.") from None
            file_id = uuid7()
            if relocate:
                target = storage_key(scope=quota.owner_scope(owner), file_id=file_id,
                                     extension=sniffed.extension)
                self._announce(target)
                self._copy(key, target, etag=etag, content_type=sniffed.mime_type)
            with transaction.atomic():
                self._claim(target)
                if target != key:  # the client's copy goes, even if this process dies
                    self._tombstone(key, due_at=timezone.now())
                quota.quota_charge(owner=owner, nbytes=reader.size, kind=sniffed.kind,
                                   reservation=reservation, bucket=quota_bucket)
                stored = StoredFile.objects.create(
                    id=file_id, key=target, size=reader.size, original_name=sanitize_name(name),
                    sha256=reader.sha256, mime_type=sniffed.mime_type, kind=sniffed.kind,
                    meta=meta or {}, quota_bucket=quota_bucket, **quota.owner_fields(owner))
                usage_changed.send(sender=StoredFile, stored_file=stored,
                                   file_bytes=stored.size, variant_bytes=0, files=1)
                if attach is not None:
                    attach(stored)
        except BaseException:
            self._discard(key)
            if target != key:
                self._discard(target)
            raise
        if target != key:
            self._discard(key)
        return stored

    def _open_key(self, key: str) -> tuple[IO[bytes], str]:
        """A stream of the object at ``key`` and its ETag ("" on local storage)."""
        if self.is_s3:
            return s3.open_stream(self.storage, key)
        try:
            return self.storage.open(key, "rb"), ""
        except FileNotFoundError:
            raise BlobNotFound() from None

    def _copy(self, source: str, target: str, *, etag: str, content_type: str) -> None:
        if self.is_s3:
            s3.copy_if_unchanged(self.storage, source, target, etag=etag,
                                 content_type=content_type)
            return
        with self.storage.open(source, "rb") as handle:
            saved = self.storage.save(target, handle)
        if saved != target:  # the storage renamed it: the key is taken (never, for uuid7)
            self._discard(saved)
            raise s3.ObjectChanged()

    # -- derived bytes --------------------------------------------------------------
    def put_variant(self, stored: StoredFile, data: bytes, *, spec: str, spec_hash: str,
                    kind: str, format: str, mime_type: str, width: int | None = None,
                    height: int | None = None) -> Variant:
        """Store one rendering of ``stored`` as its (spec, format) variant, replacing any.

        The key carries the spec's hash, the original's SHA-256 and a random part, so a
        changed spec, a replaced original or a crashed earlier attempt never collides
        with (or serves) another rendering; the old
        bytes go through a tombstone once the new row is committed. Variants are derived
        data and do not count against the owner's quota.
        """
        # unique per rendering: a crashed render's leftovers never take the name
        tag = f"{spec}-{spec_hash}-{stored.sha256[:12]}-{uuid7().hex[-8:]}"
        planned = variant_key(stored.key, tag, f".{format}")
        key = self._save_announced(planned, data)
        try:
            with transaction.atomic():
                self._claim(key)
                old = list(Variant.objects.select_for_update()
                           .filter(stored_file=stored, spec=spec, format=format))
                stale = [v.key for v in old if v.key != key]
                BlobTombstone.objects.bulk_create([BlobTombstone(key=k) for k in stale],
                                                  ignore_conflicts=True)
                Variant.objects.filter(pk__in=[v.pk for v in old]).delete()
                variant = Variant.objects.create(
                    stored_file=stored, kind=kind, spec=spec, spec_hash=spec_hash,
                    source_sha256=stored.sha256, format=format, mime_type=mime_type,
                    width=width, height=height, size=len(data), key=key)
                _variants_changed(stored, len(data) - sum(v.size for v in old))
                if stale:
                    transaction.on_commit(lambda: self.flush_tombstones(stale))
        except BaseException:
            self._discard(key)
            raise
        return variant

    def replace_content(self, stored: StoredFile, data: bytes, *, mime_type: str | None = None,
                        reason: str = "") -> StoredFile:
        """Swap a file's bytes for a rewritten version of them (metadata stripped, SVG
        sanitised), keeping its id; variants of the old bytes are dropped.

        The new bytes get a new key; the row, the ledger (by the size difference, never
        refused: a rewrite is the platform's doing) and the tombstone of the old key
        change in one transaction, so a crash leaves either version whole.
        """
        digest = hashlib.sha256(data).hexdigest()
        # beside the old key: a feature's documented layout (user-media/<user>/) holds
        directory, extension = posixpath.dirname(stored.key), posixpath.splitext(stored.key)[1]
        planned = f"{directory}/{uuid7().hex}{extension}"
        key = self._save_announced(planned, data)
        try:
            with transaction.atomic():
                self._claim(key)
                locked = StoredFile.objects.select_for_update().get(pk=stored.pk)
                old_keys = [locked.key, *locked.variants.values_list("key", flat=True)]
                BlobTombstone.objects.bulk_create([BlobTombstone(key=k) for k in old_keys],
                                                  ignore_conflicts=True)
                dropped = sum(locked.variants.values_list("size", flat=True))
                locked.variants.all().delete()
                quota.quota_adjust(stored_file=locked, delta=len(data) - locked.size)
                quota.quota_variants_adjust(stored_file=locked, delta=-dropped)
                usage_changed.send(sender=StoredFile, stored_file=locked,
                                   file_bytes=len(data) - locked.size,
                                   variant_bytes=-dropped, files=0)
                history = [*locked.meta.get("rewritten", []),
                           {"reason": reason, "from_sha256": locked.sha256,
                            "from_size": locked.size}]
                meta = {**locked.meta, "rewritten": history}
                fields = {"key": key, "size": len(data), "sha256": digest, "meta": meta,
                          "mime_type": mime_type or locked.mime_type}
                StoredFile.objects.filter(pk=stored.pk).update(**fields)
                transaction.on_commit(lambda: self.flush_tombstones(old_keys))
        except BaseException:
            self._discard(key)
            raise
        for name, value in fields.items():
            setattr(stored, name, value)
        return stored

    # -- open -----------------------------------------------------------------------
    def open(self, obj: StoredFile | Variant) -> IO[bytes]:
        try:
            return self.storage.open(obj.key, "rb")
        except FileNotFoundError:
            raise BlobNotFound() from None

    def exists(self, obj: StoredFile | Variant) -> bool:
        return bool(self.storage.exists(obj.key))

    # -- delete ---------------------------------------------------------------------
    def delete(self, obj: StoredFile) -> bool:
        """Delete the row, its variants and their bytes; release its quota exactly once.

        Safe to call again (returns False when the row is already gone). Inside an outer
        transaction, the bytes go once that transaction commits.
        """
        with transaction.atomic():
            locked = StoredFile.objects.select_for_update().filter(pk=obj.pk).first()
            if locked is None:
                return False
            variants = list(locked.variants.values_list("key", "size"))
            keys = [locked.key, *(key for key, _size in variants)]
            BlobTombstone.objects.bulk_create([BlobTombstone(key=k) for k in keys],
                                              ignore_conflicts=True)
            variant_bytes = sum(size for _key, size in variants)
            quota.quota_release(stored_file=locked, variant_bytes=variant_bytes)
            usage_changed.send(sender=StoredFile, stored_file=locked, file_bytes=-locked.size,
                               variant_bytes=-variant_bytes, files=-1)
            locked.delete()
            transaction.on_commit(lambda: self.flush_tombstones(keys))
        return True

    def delete_variant(self, variant: Variant) -> None:
        with transaction.atomic():
            BlobTombstone.objects.get_or_create(key=variant.key)
            deleted, _ = Variant.objects.filter(pk=variant.pk).delete()
            if deleted:
                _variants_changed(variant.stored_file, -variant.size)
            transaction.on_commit(lambda: self.flush_tombstones([variant.key]))

    def flush_tombstones(self, keys: Iterable[str] | None = None, limit: int = 500) -> int:
        """Delete the bytes behind due tombstones; each success removes its tombstone.

        A key a row still records is never deleted (a crashed rewrite of a variant under
        its own key announced it): its tombstone is dropped instead.
        """
        stones = BlobTombstone.objects.filter(due_at__lte=timezone.now()).order_by("due_at")
        if keys is not None:
            stones = stones.filter(key__in=list(keys))
        batch = list(stones[:limit])
        wanted = [stone.key for stone in batch]
        live = {*StoredFile.objects.filter(key__in=wanted).values_list("key", flat=True),
                *Variant.objects.filter(key__in=wanted).values_list("key", flat=True)}
        done = 0
        for stone in batch:
            if stone.key in live:
                BlobTombstone.objects.filter(pk=stone.pk).delete()
                continue
            try:
                self.storage.delete(stone.key)
            except Exception as exc:
                BlobTombstone.objects.filter(pk=stone.pk).update(
                    attempts=stone.attempts + 1, last_error=str(exc)[:500])
                logger.warning("storage delete of %s failed; will retry", stone.key)
                continue
            BlobTombstone.objects.filter(pk=stone.pk).delete()
            done += 1
        return done

    # -- signed URLs ----------------------------------------------------------------
    def signed_url(self, obj: StoredFile | Variant, *, ttl: int | None = None,
                   disposition: str = "inline") -> str:
        """A URL that serves the file for ``ttl`` seconds, then stops working.

        Only files the scanner cleared get one: anything pending, scanning, in error,
        infected or quarantined raises BlobNotFound (callers show it as pending/hidden).
        """
        sign = self.url_signer(ttl=ttl, disposition=disposition)
        stored = obj.stored_file if isinstance(obj, Variant) else obj
        if not is_servable(stored):
            raise BlobNotFound()
        return sign(file_id=stored.id, variant_id=obj.id if isinstance(obj, Variant) else None,
                    key=obj.key, mime_type=obj.mime_type, filename=download_name(stored, obj))

    def url_signer(self, *, ttl: int | None = None, disposition: str = "inline") -> UrlSigner:
        """A signer for many URLs of one expiry: a list page signs dozens, and the route
        and expiry are worked out once. The caller has checked ``is_servable``."""
        return UrlSigner(self, ttl=int(ttl if ttl is not None else storage_settings.SIGNED_URL_TTL),
                         disposition=disposition)


class UrlSigner:
    def __init__(self, store: BlobStore, *, ttl: int, disposition: str) -> None:
        if disposition not in ("inline", "attachment"):
            raise ValueError("disposition is 'inline' or 'attachment'")
        self._store, self._ttl, self._disposition = store, ttl, disposition
        self._expires = int(time.time()) + ttl
        self._local = store.is_local
        if self._local:  # "/files/<token>/<filename>": the route reversed once
            self._token = TokenMaker()
            self._prefix = reverse("storage-serve", kwargs={"token": "T", "filename": "F"})[:-3]

    def __call__(self, *, file_id: UUID, variant_id: UUID | None, key: str, mime_type: str,
                 filename: str) -> str:
        if self._local:
            token = self._token(FileGrant(file_id, variant_id, self._expires, self._disposition))
            return f"{self._prefix}{token}/{quote(filename, safe=_PATH_SAFE)}"
        disposition = served_disposition(self._disposition, mime_type)
        parameters = {"ResponseContentDisposition": content_disposition(disposition, filename),
                      "ResponseContentType": mime_type}
        return str(self._store.storage.url(key, parameters=parameters,  # type: ignore[call-arg]
                                           expire=self._ttl))


_PATH_SAFE = "!$&'()*+,;=~:@"  # what reverse() leaves unquoted in a path segment


SANITIZED_FLAG = "sanitized"  # meta key the processing sets once an SVG is made safe
_NEEDS_SANITIZING = ("image/svg+xml",)


def is_servable(stored: StoredFile) -> bool:
    """Cleared by the scanner, not quarantined, and (SVG) sanitised: the only files anyone
    is served."""
    if stored.mime_type in _NEEDS_SANITIZING and not stored.meta.get(SANITIZED_FLAG):
        return False
    return stored.scan_status == ScanStatus.CLEAN and not stored.is_quarantined


# What a browser shows inline as passive media: pixels, sound, moving pictures. Anything
# else is something it could run (HTML, SVG and XML with their script, PDF with its
# JavaScript, text it might sniff) or does not know, so it is served as a download
# whatever disposition a URL asked for: a polyglot (a JPEG that is also an HTML page, a
# PDF carrying JavaScript) opened from its link is saved, never rendered as a document.
# (An <img> still shows a sanitised SVG: a disposition does not apply to embedded
# images.)
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
                          "image/bmp", "image/tiff", "image/heic", "image/heif"})


def served_disposition(requested: str, mime_type: str) -> str:
    """``requested`` for passive media, ``attachment`` for any other type."""
    media_type = mime_type.split(";", 1)[0].strip().lower()
    if media_type in INLINE_TYPES or media_type.startswith(("video/", "audio/")):
        return requested
    return "attachment"


def download_name(stored: StoredFile, obj: StoredFile | Variant) -> str:
    if isinstance(obj, Variant):
        return variant_download_name(stored.original_name, obj.kind, obj.format)
    return stored.original_name


def variant_download_name(original_name: str, kind: str, format: str) -> str:
    return f"{original_name.rsplit('.', 1)[0]}-{kind}.{format}"


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266 header value with an ASCII fallback and the UTF-8 name."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _variants_changed(stored: StoredFile, delta: int) -> None:
    """In the transaction that made or dropped variants: the ledger (where the bucket
    counts variants) and the feature apps' own accounts."""
    if delta:
        quota.quota_variants_adjust(stored_file=stored, delta=delta)
        usage_changed.send(sender=StoredFile, stored_file=stored, file_bytes=0,
                           variant_bytes=delta, files=0)


blob_store = BlobStore()
