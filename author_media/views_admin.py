"""``/v1/admin/media``: what the scanner held back, and releasing it after review.

Staff only (a staff login, or an API key with the admin scope); anyone else gets a 403
problem. A release is the scanner's ``scan_release``: CLEAN, quarantine lifted, the
decision recorded with its actor and reason as a StoredFileTransition (the audit log),
and the processing the file skipped queued.
"""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.models import Scope
from apps.accounts.permissions import IsStaff, request_user
from apps.core.ids import parse_uuid
from apps.core.pagination import PageNumber
from apps.core.responses import json_response
from apps.processing.scanning import scan_release
from apps.storage.models import ScanStatus
from author_media import presenters
from author_media.errors import MediaFileNotFound
from author_media.models import MediaFile
from author_media.views import absolute, page_response

HELD = (ScanStatus.INFECTED, ScanStatus.FLAGGED, ScanStatus.BLOCKED, ScanStatus.ERROR)
DEFAULT_REASON = "Released after manual review"


class _AdminView(APIView):
    permission_classes = [IsAuthenticated, IsStaff]
    required_scope = Scope.ADMIN


class QuarantinedListView(_AdminView):
    @extend_schema(operation_id="author_media_admin_quarantined", tags=["author_media"],
                   parameters=[OpenApiParameter("scanStatus", str, enum=list(HELD)),
                               OpenApiParameter("userId", str), OpenApiParameter("page", int),
                               OpenApiParameter("pageSize", int)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponse:
        params = request.query_params
        page = PageNumber.from_params(params, default_size=20, max_size=100)
        rows = MediaFile.objects.filter(Q(is_quarantined=True) | Q(scan_status__in=HELD),
                                        deleted_at__isnull=True)
        problems: dict[str, list[str]] = {}
        status = params.get("scanStatus")
        if status:
            if status not in ScanStatus.values:
                problems["scanStatus"] = [f"Must be one of: {', '.join(ScanStatus.values)}."]
            rows = rows.filter(scan_status=status)
        user_id = params.get("userId")
        if user_id:
            parsed = parse_uuid(user_id)
            if parsed is None:
                problems["userId"] = ["Must be a user id (a UUID)."]
            else:
                rows = rows.filter(user_id=parsed)
        if problems:
            raise ValidationError(problems)
        return page_response(request, rows.order_by("-created_at", "-id"), page)


class ReleaseView(_AdminView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_admin_release", tags=["author_media"],
                   request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, media_id: str) -> HttpResponse:
        media = (MediaFile.objects.select_related("stored_file")
                 .filter(pk=int(media_id) if media_id.isdigit() and len(media_id) < 19 else 0,
                         deleted_at__isnull=True).first())
        if media is None or media.stored_file is None:
            raise MediaFileNotFound()
        body = request.data if isinstance(request.data, dict) else {}
        reason = body.get("reason", DEFAULT_REASON)
        if not isinstance(reason, str) or len(reason) > 500:
            raise ValidationError({"reason": ["Must be a string of at most 500 characters."]})
        scan_release(stored=media.stored_file, actor=request_user(request),
                     reason=reason.strip() or DEFAULT_REASON)
        media.refresh_from_db()
        return json_response(presenters.media_file(media, absolute(request)))
