"""How media get into the console (beyond the spec, which only reads and edits them).

- ``POST /api/admin/media`` with a JSON body: a media at an external ``url``, its MIME
  ``type`` given (``mediaType`` follows from it);
- ``POST /api/admin/media`` as multipart with a ``file``: the bytes stream through the
  platform's blob store (hashed, sniffed: ``type`` and ``mediaType`` come from the bytes,
  not from the client; scanned; charged to the staff user's ``admin_media`` quota
  ledger); ``url`` is the media's stable file link (:func:`file_link`), which redirects
  to a fresh signed URL of the storage once the scanner has cleared the file; the
  worker's probe fills ``meta.width/height/size`` (and ``duration``) and, when none was
  given, ``aspectRatio`` (the ``admin_media.media_facts`` step);
- ``manage.py import_admin_media export.jsonl``: lines in the shape GET answers with
  (management/commands/import_admin_media.py), through :func:`media_fields`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.urls import reverse
from rest_framework.request import Request

from admin_media import messages, services, validation
from admin_media.conf import QUOTA_BUCKET, admin_media_settings
from admin_media.errors import InvalidRequest
from admin_media.models import Media, MediaType
from apps.accounts.permissions import request_user
from apps.core.forms import form_list
from apps.processing import pipeline
from apps.storage.blobs import blob_store
from apps.storage.models import MediaKind, StoredFile

ID_PATTERN = re.compile(r"[A-Za-z0-9._:~-]{1,128}")
MIME_TYPE = re.compile(r"(image|video)/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
MAX_TEXT = 512
MAX_META_BYTES = 16 * 1024
TEXT_FIELDS = {"supabaseId": "supabase_id", "recordId": "record_id", "taskId": "task_id",
               "uploadSource": "upload_source"}
ACCEPTED_KINDS = (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.GIF)
_MEDIA_TYPE_OF_KIND = {MediaKind.IMAGE: MediaType.IMAGE, MediaKind.GIF: MediaType.IMAGE,
                       MediaKind.VIDEO: MediaType.VIDEO}
_LINK_SALT = "admin_media.file"


def media_ingest(request: Request) -> Media:
    """POST's media: from the multipart ``file`` or from the JSON body's ``url``."""
    upload = request.FILES.get("file") if request.content_type.startswith(
        "multipart/") else None
    if upload is not None:
        return media_upload(request, upload)
    if request.content_type.startswith("multipart/"):
        raise InvalidRequest(messages.FILE_OR_URL)
    body = validation.json_body(request.body)
    if "url" not in body:
        raise InvalidRequest(messages.FILE_OR_URL)
    return services.media_create(fields=media_fields(body))


def media_fields(body: dict[str, Any], *, exported: bool = False) -> dict[str, Any]:
    """The model fields of a new media described in the spec's names; InvalidRequest
    with the first problem. ``exported`` (the import) also reads ``id``, ``isDelete``,
    ``createdAt`` and ``updatedAt``; POST leaves those to the server."""
    fields: dict[str, Any] = {
        "url": validation.http_url(body.get("url"), messages.URL_INVALID)}
    mime = body.get("type")
    if not isinstance(mime, str) or not MIME_TYPE.fullmatch(mime):
        raise InvalidRequest(messages.MIME_TYPE_INVALID)
    fields["type"] = mime.lower()
    fields["media_type"] = fields["type"].split("/", 1)[0]
    if body.get("mediaType") not in (None, fields["media_type"]):
        raise InvalidRequest(messages.MEDIA_TYPE_CONTRADICTS)
    fields.update(_common_fields(body))
    meta = body.get("meta")
    if meta is not None:
        if not isinstance(meta, dict) or len(orjson.dumps(meta)) > MAX_META_BYTES:
            raise InvalidRequest(messages.META_INVALID)
        fields["meta"] = meta
    if exported:
        fields.update(_exported_fields(body))
    return fields


def _common_fields(body: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, field in TEXT_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_TEXT or "\x00" in value:
            raise InvalidRequest(messages.text(messages.TEXT_INVALID) % {
                "field": name, "limit": MAX_TEXT})
        fields[field] = value
    if body.get("aspectRatio") is not None:
        fields["aspect_ratio"] = validation.aspect_ratio(body["aspectRatio"])
    if body.get("category") is not None:
        fields["category"] = validation.categories(body["category"])
    return fields


def _exported_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    media_id = body.get("id")
    if media_id is not None:
        if not isinstance(media_id, str) or not ID_PATTERN.fullmatch(media_id):
            raise InvalidRequest(messages.ID_INVALID)
        fields["id"] = media_id
    if body.get("isDelete") is not None:
        if not isinstance(body["isDelete"], bool):
            raise InvalidRequest(messages.text(messages.TEXT_INVALID) % {
                "field": "isDelete", "limit": 5})
        fields["is_delete"] = body["isDelete"]
    for name, field, message in (("createdAt", "created_at", messages.CREATED_FROM_INVALID),
                                 ("updatedAt", "updated_at", messages.CREATED_TO_INVALID)):
        if body.get(name) is not None:
            fields[field] = validation.datetime_value(body[name], message)
    return fields


def media_upload(request: Request, upload: UploadedFile) -> Media:
    """Store ``upload`` and create its media in the same transaction."""
    form: Any = request.data
    given: dict[str, Any] = {name: form.get(name) for name in (*TEXT_FIELDS, "aspectRatio")
                             if form.get(name) not in (None, "")}
    if "category" in form:
        given["category"] = form_list(form, "category")
    fields = _common_fields(given)
    created: list[Media] = []

    def attach(stored: StoredFile) -> None:
        media_type = _MEDIA_TYPE_OF_KIND[MediaKind(stored.kind)]
        declared = form.get("mediaType")
        if declared not in (None, "", media_type):
            raise InvalidRequest(messages.MEDIA_TYPE_CONTRADICTS)
        media = Media(stored_file=stored, type=stored.mime_type, media_type=media_type,
                      meta={"size": stored.size}, **fields)
        media.url = request.build_absolute_uri(file_link(media.pk))
        created.append(services.media_create(fields={
            "id": media.pk, "stored_file": stored, "url": media.url, "type": media.type,
            "media_type": media_type, "meta": media.meta, **fields}))

    stored = blob_store.put(
        upload, owner=request_user(request), name=upload.name,
        declared_type=upload.content_type, declared_size=upload.size,
        max_size=int(admin_media_settings.MAX_FILE_BYTES), allowed_kinds=ACCEPTED_KINDS,
        quota_bucket=QUOTA_BUCKET, attach=attach)
    pipeline.enqueue(stored)
    return created[0]


def file_link(media_id: str) -> str:
    """The media's stable file path: signed, so ids alone open nothing."""
    token = signing.Signer(salt=_LINK_SALT).sign(media_id).rsplit(":", 1)[1]
    return reverse("admin-media-file", kwargs={"media_id": media_id, "token": token})


def file_link_valid(media_id: str, token: str) -> bool:
    try:
        signing.Signer(salt=_LINK_SALT).unsign(f"{media_id}:{token}")
    except signing.BadSignature:
        return False
    return True


def copy_probed_facts(stored: StoredFile) -> None:
    """The ``admin_media.media_facts`` step: the probe's facts into ``meta`` (and an
    ``aspectRatio`` in lowest terms where none was given)."""
    holders: QuerySet[Media] = Media.objects.filter(stored_file=stored)
    for media in holders:
        facts: dict[str, Any] = {"width": stored.width, "height": stored.height,
                                 "size": stored.size}
        if stored.duration is not None:
            facts["duration"] = stored.duration
        media.meta = {**(media.meta or {}), **{k: v for k, v in facts.items()
                                               if v is not None}}
        update = ["meta"]
        if not media.aspect_ratio and stored.width and stored.height:
            divisor = math.gcd(stored.width, stored.height)
            media.aspect_ratio = f"{stored.width // divisor}/{stored.height // divisor}"
            update.append("aspect_ratio")
        media.save(update_fields=update)
