"""``GET /v1/media/usage`` and ``/usage/breakdown``: the caller's StorageUsage."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Sum
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.permissions import request_user
from apps.core.responses import json_response
from apps.storage import quota
from apps.storage.models import Variant
from author_media import presenters, usage
from author_media.conf import QUOTA_BUCKET
from author_media.models import MediaFile


def _usage_body(user: Any) -> tuple[Any, dict[str, Any]]:
    row = usage.usage_for(user.pk)
    reserved = quota.ledger_for(user, QUOTA_BUCKET).reserved_bytes
    return row, presenters.storage_usage(row, reserved_bytes=reserved)


class UsageView(APIView):
    @extend_schema(operation_id="author_media_usage", tags=["author_media"],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponse:
        return json_response(_usage_body(request_user(request))[1])


class UsageBreakdownView(APIView):
    @extend_schema(operation_id="author_media_usage_breakdown", tags=["author_media"],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponse:
        user = request_user(request)
        row, body = _usage_body(user)
        by_kind = [
            {"type": "image", "bytes": row.image_bytes, "files": row.image_files},
            {"type": "video", "bytes": row.video_bytes, "files": row.video_files},
            {"type": "document", "bytes": row.document_bytes, "files": row.document_files},
            {"type": "other", "bytes": row.other_bytes,
             "files": row.total_files - row.image_files - row.video_files
             - row.document_files},
        ]
        for entry in by_kind:
            entry["share"] = round(entry["bytes"] / row.total_bytes, 4) if row.total_bytes else 0
        return json_response({"total": body, "byType": by_kind, "bySite": _by_site(user)})


def _by_site(user: Any) -> list[dict[str, Any]]:
    """Stored bytes (originals and variants) and files per site; live and binned files
    both occupy storage until purged."""
    files = MediaFile.objects.filter(user=user)
    sites: dict[Any, dict[str, Any]] = {}
    for site, nbytes, count in (files.values_list("site_id").annotate(
            b=Sum("file_size"), n=Count("id")).values_list("site_id", "b", "n")):
        sites[site] = {"siteId": site, "bytes": int(nbytes or 0), "files": count}
    for site, nbytes in (Variant.objects.filter(stored_file__media_file__user=user)
                         .values_list("stored_file__media_file__site_id")
                         .annotate(b=Sum("size")).values_list("stored_file__media_file__site_id",
                                                              "b")):
        sites.setdefault(site, {"siteId": site, "bytes": 0, "files": 0})
        sites[site]["bytes"] += int(nbytes or 0)
    return sorted(sites.values(), key=lambda s: (-s["bytes"], s["siteId"] or ""))
