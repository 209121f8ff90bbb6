"""``POST …/items/upload``: a file stored here instead of an external ``fileUrl``.

The bytes stream through the blob store (hashed, sniffed, size-limited while they
arrive), charged to the workspace's ``media_library`` quota ledger; the MediaItem is
inserted in the same transaction as its StoredFile, so an item and its file exist
together or not at all. ``type``, ``mimeType`` and ``fileSize`` come from the bytes at
once; ``width``/``height``/``duration`` when the worker's probe has run (the
``media_library.item_facts`` step copies them onto the item, so lists filter and sort
on plain columns). ``fileUrl``/``thumbnailUrl`` are signed at presentation
(``file_urls``): the stored columns stay empty, because a signed URL expires.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User, Workspace
from apps.core.forms import form_list
from apps.processing import pipeline
from apps.storage.blobs import blob_store
from apps.storage.models import MediaKind, StoredFile
from media_library.conf import QUOTA_BUCKET, media_library_settings
from media_library.kinds import ITEMS
from media_library.models import ItemType, MediaItem
from media_library.schemas import ITEM_UPLOAD
from media_library.services import checked_category

ACCEPTED_KINDS = (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.GIF, MediaKind.DOCUMENT)
_ITEM_TYPE_OF_KIND = {MediaKind.IMAGE: ItemType.IMAGE, MediaKind.VIDEO: ItemType.VIDEO,
                      MediaKind.GIF: ItemType.GIF, MediaKind.DOCUMENT: ItemType.DOCUMENT}
_SCALARS = ("name", "description", "type", "categoryId", "isStarred")


def form_fields(form: Any) -> dict[str, Any]:
    """The multipart text fields as the JSON body would carry them: ``isStarred`` as a
    boolean, ``tags`` as a list (repeated fields, one comma-separated field, or a JSON
    array). Anything else is left as text for the schema to judge."""
    fields: dict[str, Any] = {name: form.get(name) for name in _SCALARS if name in form}
    starred = fields.get("isStarred")
    if isinstance(starred, str) and starred.lower() in ("true", "false"):
        fields["isStarred"] = starred.lower() == "true"
    if "tags" in form:
        fields["tags"] = form_list(form, "tags")
    return fields


def item_upload(*, workspace: Workspace, user: User, upload: UploadedFile | None,
                form: Any) -> MediaItem:
    """Store ``upload`` as a new item of ``workspace``.

    Raises ValidationError (400: no file, bad fields, a category of another type, a
    ``type`` the bytes contradict), CategoryNotFound, or the blob store's errors (413
    too large / over quota, 415 not an image, video, GIF or document, or bytes that
    contradict the declared Content-Type or extension); on any error nothing is stored
    and nothing is charged.
    """
    problems: list[str] = []
    data = ITEM_UPLOAD.collect(form_fields(form), problems)
    if upload is None:
        problems.insert(0, "file should not be empty")
    if problems:
        raise ValidationError(problems)
    assert upload is not None
    category = checked_category(ITEMS, workspace, data, data.get("type"))
    created: list[MediaItem] = []

    def attach(stored: StoredFile) -> None:
        actual = _ITEM_TYPE_OF_KIND[MediaKind(stored.kind)]
        if data.get("type", actual) != actual:
            raise ValidationError([f"type is {data['type']} but the file is {actual}"])
        if category is not None and category.type != actual:
            raise ValidationError([f"categoryId must be a category of type {actual}"])
        created.append(MediaItem.objects.create(
            workspace=workspace, uploaded_by=user, stored_file=stored,
            name=data.get("name") or stored.original_name[:255], type=actual,
            description=data.get("description"), category=category,
            tags=data.get("tags") or [], is_starred=data.get("is_starred", False),
            file_url="", mime_type=stored.mime_type, file_size=stored.size))

    limit = int(media_library_settings.MAX_FILE_BYTES)
    stored = blob_store.put(
        upload, owner=workspace, name=upload.name, declared_type=upload.content_type,
        max_size=limit, declared_size=upload.size, allowed_kinds=ACCEPTED_KINDS,
        quota_bucket=QUOTA_BUCKET, attach=attach)
    pipeline.enqueue(stored)
    item = created[0]
    item.stored_file = stored
    return item


def copy_probed_facts(stored: StoredFile) -> None:
    """The ``media_library.item_facts`` step: the probe's dimensions and duration (whole
    seconds, as the spec types it) onto the items that hold the file."""
    duration = round(stored.duration) if stored.duration is not None else None
    MediaItem.objects.filter(stored_file=stored).update(
        width=stored.width, height=stored.height, duration=duration,
        mime_type=stored.mime_type, file_size=stored.size)
