"""Folders: paths like ``covers/2026/spring``, persisted so an empty folder stays.

A path is normalised (no leading/trailing slashes, no empty, ``.`` or ``..`` segments,
no control characters) before it is stored or compared; making a folder makes its
ancestors. Deleting a folder that holds files (in it or below) is refused unless the
caller says what happens to them: ``mode=moveToRoot`` (files keep existing, without a
folder) or ``mode=delete`` (files are soft-deleted, like DELETE /v1/media/<id>).
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User
from author_media.errors import FolderNotEmpty, FolderNotFound
from author_media.models import MediaFile, MediaFolder

MAX_PATH = 500
MAX_SEGMENT = 100
MAX_DEPTH = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
DELETE_MODES = ("moveToRoot", "delete")


def folder_path(value: Any, field: str = "folder") -> str | None:
    """The normalised path, None for "no folder" (null or empty), else 400."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError({field: ["Must be a string."]})
    segments = [s.strip() for s in value.strip().strip("/").split("/")]
    if segments == [""]:
        return None
    problems = []
    if any(s in ("", ".", "..") for s in segments):
        problems.append("Folder segments must not be empty, '.' or '..'.")
    if any(_CONTROL.search(s) for s in segments):
        problems.append("Folder names must not contain control characters or backslashes.")
    if any(len(s) > MAX_SEGMENT for s in segments):
        problems.append(f"A folder name is at most {MAX_SEGMENT} characters.")
    if len(segments) > MAX_DEPTH:
        problems.append(f"Folders nest at most {MAX_DEPTH} deep.")
    path = "/".join(segments)
    if len(path) > MAX_PATH:
        problems.append(f"A folder path is at most {MAX_PATH} characters.")
    if problems:
        raise ValidationError({field: problems})
    return path


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def folder_ensure(*, user: User, path: str | None) -> None:
    """The folder and its ancestors exist (idempotent, safe under concurrency)."""
    if path:
        MediaFolder.objects.bulk_create([MediaFolder(user=user, path=p) for p in _ancestors(path)],
                                        ignore_conflicts=True)


def folder_create(*, user: User, path: str) -> MediaFolder:
    folder_ensure(user=user, path=path)
    return MediaFolder.objects.get(user=user, path=path)


def _within(path: str) -> Q:
    return Q(folder=path) | Q(folder__startswith=f"{path}/")


def folder_list(*, user: User) -> list[dict[str, Any]]:
    """Every folder with its direct and total (subtree) count of live files."""
    folders = list(MediaFolder.objects.filter(user=user).order_by("path")
                   .values_list("path", "created_at"))
    direct = dict(MediaFile.objects.filter(user=user, deleted_at__isnull=True,
                                           folder__isnull=False)
                  .values_list("folder").annotate(n=Count("id")).values_list("folder", "n"))
    out = []
    for path, created_at in folders:
        total = sum(int(n) for f, n in direct.items()
                    if f and (f == path or f.startswith(f"{path}/")))
        out.append({"path": path, "name": path.rsplit("/", 1)[-1],
                    "parent": path.rsplit("/", 1)[0] if "/" in path else None,
                    "fileCount": direct.get(path, 0), "totalFileCount": total,
                    "createdAt": created_at})
    return out


def folder_delete(*, user: User, path: str, mode: str | None) -> dict[str, int]:
    """Delete the folder and its subfolders; what happens to their files, per ``mode``."""
    if mode is not None and mode not in DELETE_MODES:
        raise ValidationError({"mode": [f"Must be one of: {', '.join(DELETE_MODES)}."]})
    with transaction.atomic():
        folders: QuerySet[MediaFolder] = MediaFolder.objects.filter(
            Q(path=path) | Q(path__startswith=f"{path}/"), user=user)
        files = MediaFile.objects.filter(_within(path), user=user, deleted_at__isnull=True)
        if not folders.filter(path=path).exists() and not files.exists():
            raise FolderNotFound()
        count = files.count()
        if count and mode is None:
            raise FolderNotEmpty(extra={"fileCount": count})
        if mode == "delete":
            files.update(deleted_at=timezone.now())
        elif mode == "moveToRoot":
            files.update(folder=None)
        # binned files keep their folder text; restoring them recreates it
        deleted, _ = folders.delete()
    return {"deletedFolders": deleted, "affectedFiles": count}
