"""The S3 calls that Django's storage API has no word for: presigned POST policies,
multipart uploads driven by a client, HEAD, streamed GET and server-side copy.

They use the boto3 client of the configured ``S3Storage`` (django-storages), so the
endpoint, credentials, region and checksum settings are the storage's own, and keys are
mapped the way the storage maps them (its ``location`` prefix). Only ``apps.storage.blobs``
calls these: bytes enter and leave storage through the blob store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import ClientError
from django.core.files.storage import Storage
from storages.utils import clean_name, safe_join

from apps.core.errors import ConflictError
from apps.storage.errors import BlobNotFound

_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchUpload")


class MultipartRefused(Exception):
    """S3 refused to assemble the parts (a wrong ETag, a part under 5 MiB, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class ObjectChanged(ConflictError):
    """The object was overwritten between reading it and copying it."""

    code = "upload_changed"
    default_message = "The uploaded object changed while it was being checked."


@dataclass(frozen=True)
class UploadedPart:
    number: int
    etag: str
    size: int


def is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def _client(storage: Storage) -> Any:
    return storage.connection.meta.client  # type: ignore[attr-defined]


def _bucket(storage: Storage) -> str:
    return str(storage.bucket_name)  # type: ignore[attr-defined]


def object_key(storage: Storage, name: str) -> str:
    """The S3 key the storage uses for ``name`` (its ``location`` prefix applied)."""
    return str(safe_join(str(getattr(storage, "location", "") or ""), clean_name(name)))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _missing(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or _code(error) in _MISSING


def presigned_post(storage: Storage, name: str, *, size: int, content_type: str,
                   ttl: int) -> dict[str, Any]:
    """A browser form upload of exactly ``size`` bytes of ``content_type`` to ``name``.

    The policy pins the key, the Content-Type and the length (``content-length-range``
    from ``size`` to ``size``): S3 refuses any other body. (S3-compatible servers may
    not check policies, so the confirm step checks the object again anyway.)
    """
    fields = {"Content-Type": content_type}
    conditions: list[Any] = [{"Content-Type": content_type},
                             ["content-length-range", size, size]]
    post = _client(storage).generate_presigned_post(
        Bucket=_bucket(storage), Key=object_key(storage, name), Fields=fields,
        Conditions=conditions, ExpiresIn=ttl)
    return {"url": str(post["url"]), "fields": dict(post["fields"])}


def head(storage: Storage, name: str) -> tuple[int, str] | None:
    """(size, ETag) of the object, or None when there is none."""
    try:
        found = _client(storage).head_object(Bucket=_bucket(storage),
                                             Key=object_key(storage, name))
    except ClientError as error:
        if _missing(error):
            return None
        raise
    return int(found["ContentLength"]), str(found.get("ETag", ""))


def open_stream(storage: Storage, name: str) -> tuple[IO[bytes], str]:
    """The object's body as a stream read straight from the response (no temp file),
    and the ETag of exactly the version being read."""
    try:
        found = _client(storage).get_object(Bucket=_bucket(storage),
                                            Key=object_key(storage, name))
    except ClientError as error:
        if _missing(error):
            raise BlobNotFound() from None
        raise
    return found["Body"], str(found.get("ETag", ""))


def copy_if_unchanged(storage: Storage, source: str, target: str, *, etag: str,
                      content_type: str) -> None:
    """Server-side copy of ``source`` to ``target``, only if ``source`` still has
    ``etag`` (multipart copy for large objects, by boto3's managed transfer)."""
    client = _client(storage)
    try:
        client.copy(
            CopySource={"Bucket": _bucket(storage), "Key": object_key(storage, source)},
            Bucket=_bucket(storage), Key=object_key(storage, target),
            ExtraArgs={"CopySourceIfMatch": etag, "ContentType": content_type,
                       "MetadataDirective": "REPLACE"},
            Config=getattr(storage, "transfer_config", None))
    except ClientError as error:
        if _code(error) in ("PreconditionFailed", "412") or _missing(error):
            raise ObjectChanged(str(error)) from None
        raise


def multipart_create(storage: Storage, name: str, *, content_type: str) -> str:
    created = _client(storage).create_multipart_upload(
        Bucket=_bucket(storage), Key=object_key(storage, name), ContentType=content_type)
    return str(created["UploadId"])


def multipart_part_url(storage: Storage, name: str, *, upload_id: str, part_number: int,
                       ttl: int) -> str:
    """A presigned PUT URL for one part; the response's ETag header names the part."""
    return str(_client(storage).generate_presigned_url(
        "upload_part", ExpiresIn=ttl,
        Params={"Bucket": _bucket(storage), "Key": object_key(storage, name),
                "UploadId": upload_id, "PartNumber": part_number}))


def multipart_parts(storage: Storage, name: str, *, upload_id: str) -> list[UploadedPart]:
    """The parts S3 holds for the upload, by number (raises BlobNotFound when the upload
    is gone)."""
    client, parts, marker = _client(storage), [], 0
    while True:
        try:
            page = client.list_parts(Bucket=_bucket(storage), Key=object_key(storage, name),
                                     UploadId=upload_id, PartNumberMarker=marker)
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound() from None
            raise
        parts += [UploadedPart(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                  for p in page.get("Parts", [])]
        if not page.get("IsTruncated"):
            return sorted(parts, key=lambda p: p.number)
        marker = int(page["NextPartNumberMarker"])


def multipart_complete(storage: Storage, name: str, *, upload_id: str,
                       parts: list[tuple[int, str]]) -> None:
    """Assemble ``[(number, etag), ...]`` (ascending) into the object."""
    try:
        _client(storage).complete_multipart_upload(
            Bucket=_bucket(storage), Key=object_key(storage, name), UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]})
    except ClientError as error:
        if _missing(error):
            raise BlobNotFound() from None
        raise MultipartRefused(_code(error), str(error)) from None


def multipart_abort(storage: Storage, name: str, *, upload_id: str) -> None:
    """Drop the upload and its parts; an upload already gone is not an error."""
    try:
        _client(storage).abort_multipart_upload(
            Bucket=_bucket(storage), Key=object_key(storage, name), UploadId=upload_id)
    except ClientError as error:
        if not _missing(error):
            raise
