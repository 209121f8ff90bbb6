"""``POST /api/admin/media`` (beyond the spec): a media from a URL (JSON) or from an
uploaded file (multipart, through apps.storage). Filled in by the ingest work."""

from __future__ import annotations

from rest_framework.request import Request

from admin_media.errors import InvalidRequest
from admin_media.messages import FILE_OR_URL
from admin_media.models import Media


def media_ingest(request: Request) -> Media:
    raise InvalidRequest(FILE_OR_URL)
