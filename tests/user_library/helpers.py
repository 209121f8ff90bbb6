"""Media and small helpers of the library suite. Everything is generated at test time."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import Sum

from apps.accounts.models import User
from apps.storage.models import QuotaLedger, StoredFile
from tests.apps.processing.images import image_bytes
from tests.apps.processing.videos import video_bytes
from user_library.conf import QUOTA_BUCKET
from user_library.models import LibraryItem
from user_library.services import save_to_library

PNG = image_bytes("PNG", (64, 48))
JPEG = image_bytes("JPEG", (64, 48), color=(20, 120, 200))
WEBP = image_bytes("WEBP", (40, 30), color=(20, 200, 20))
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>'
ITEM_FIELDS = {"id", "user_id", "media_type", "source", "created_at", "file_size",
               "storage_path", "signed_url", "metadata", "status", "mime_type", "width",
               "height", "duration_seconds", "thumbnail_url", "preview_url"}
UNAUTHORIZED = {"success": False, "error": "Unauthorized"}
NOT_FOUND = {"success": False, "error": "Item not found"}
QUOTA_EXCEEDED = {"success": False, "error": "Storage quota exceeded"}


@lru_cache(maxsize=1)
def mp4() -> bytes:
    """A 1 s, 32x24 H.264 clip: black, then red, then blue frames."""
    return video_bytes("mp4", "libx264", size=(32, 24), frames=10)


def png(seed: int) -> bytes:
    """A distinct small PNG (different colour, same size) per seed."""
    return image_bytes("PNG", (64, 48), color=(seed * 37 % 256, seed * 91 % 256, 90))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class LibraryItemFixture:
    id: str
    storage_path: str
    data: bytes
    item: LibraryItem

    @property
    def stored(self) -> StoredFile:
        return StoredFile.objects.get(pk=self.item.stored_file_id)


def save_item(user: User, data: bytes, mime_type: str, *, source: str = "generate",
              media_type: str | None = None, metadata: dict[str, Any] | None = None,
              ) -> LibraryItemFixture:
    kind = media_type or ("video" if mime_type.startswith("video/") else "image")
    saved = save_to_library(user.pk, kind, source, b64(data), mime_type, metadata or {})
    assert saved is not None, "save_to_library refused a valid item"
    item = LibraryItem.objects.get(pk=saved.id)
    return LibraryItemFixture(saved.id, saved.storage_path, data, item)


def ledger(user: User) -> QuotaLedger | None:
    return QuotaLedger.objects.filter(owner_user=user, bucket=QUOTA_BUCKET).first()


def ledger_state(user: User) -> tuple[int, int, int, int, int]:
    """(used, reserved, files, images+gifs, videos) of the user's library ledger."""
    row = ledger(user)
    if row is None:
        return (0, 0, 0, 0, 0)
    return (row.used_bytes, row.reserved_bytes, row.file_count, row.image_count + row.gif_count,
            row.video_count)


def set_limit(user: User, limit_bytes: int | None) -> QuotaLedger:
    """What an operator does in the admin: the user's "library" ledger limit."""
    row, _ = QuotaLedger.objects.get_or_create(owner_user=user, bucket=QUOTA_BUCKET)
    row.limit_bytes = limit_bytes
    row.save(update_fields=["limit_bytes"])
    return row


def library_bytes(user: User) -> int:
    """The sum of the sizes of the user's library files, counted from the rows."""
    total = StoredFile.objects.filter(owner_user=user, quota_bucket=QUOTA_BUCKET).aggregate(
        total=Sum("size"))["total"]
    return int(total or 0)


def assert_ledger_matches_files(user: User) -> None:
    state = ledger_state(user)
    files = StoredFile.objects.filter(owner_user=user, quota_bucket=QUOTA_BUCKET)
    assert state[0] == library_bytes(user)
    assert state[1] == 0  # no reservation left behind
    assert state[2] == files.count() == LibraryItem.objects.filter(user=user).count()
