"""Reads of the author's files, always scoped to the caller.

Only the owner sees their files; quarantined files are hidden from everyone but admins
(who see them, and may filter by ``scanStatus``). Soft-deleted files are gone from every
read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from apps.accounts.models import User
from author_media.errors import MediaFileNotFound
from author_media.models import MediaFile

SORTS = {"createdAt": "created_at", "filename": "original_filename", "fileSize": "file_size",
         "usageCount": "usage_count"}


@dataclass
class MediaQuery:
    site_id: str | None = None
    folder: str | None = None
    recursive: bool = False
    tags: list[str] = field(default_factory=list)
    mime_type: str | None = None
    scan_status: str | None = None
    search: str | None = None
    sort: str = "createdAt"
    order: str = "desc"


def is_admin(user: User) -> bool:
    return bool(user.is_staff or user.is_superuser)


def media_visible_to(user: User) -> QuerySet[MediaFile]:
    rows = MediaFile.objects.filter(user=user, deleted_at__isnull=True)
    return rows if is_admin(user) else rows.filter(is_quarantined=False)


def media_get(*, user: User, media_id: object) -> MediaFile:
    try:
        pk = int(str(media_id))
    except ValueError:
        raise MediaFileNotFound() from None
    if not 0 < pk < 2**63:
        raise MediaFileNotFound()
    found = media_visible_to(user).filter(pk=pk).first()
    if found is None:
        raise MediaFileNotFound()
    return found


def media_list(*, user: User, query: MediaQuery) -> QuerySet[MediaFile]:
    rows = media_visible_to(user)
    if query.site_id:
        rows = rows.filter(site_id=query.site_id)
    if query.folder is not None:
        if query.folder == "":
            rows = rows.filter(folder__isnull=True)
        elif query.recursive:
            rows = rows.filter(Q(folder=query.folder) | Q(folder__startswith=f"{query.folder}/"))
        else:
            rows = rows.filter(folder=query.folder)
    if query.tags:
        rows = rows.filter(tags__contains=query.tags)
    if query.mime_type:
        prefix = query.mime_type
        rows = (rows.filter(mime_type__startswith=prefix) if prefix.endswith("/")
                else rows.filter(mime_type=prefix))
    if query.scan_status and is_admin(user):
        rows = rows.filter(scan_status=query.scan_status)
    if query.search:
        rows = rows.filter(Q(original_filename__icontains=query.search)
                           | Q(alt_text__icontains=query.search)
                           | Q(caption__icontains=query.search))
    column = SORTS[query.sort]
    prefix = "-" if query.order == "desc" else ""
    return rows.order_by(f"{prefix}{column}", f"{prefix}id")
