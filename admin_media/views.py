"""``/api/admin/media``: the admin media console (spec admin_media.md).

Staff only: a staff user's session or JWT, or an API key (or the API secret) with the
admin scope; anyone else gets 401/403 in the console's envelope. Every answer is
``{success, message, data}`` with the spec's Chinese messages, or English for
``Accept-Language: en`` (messages.py, apps.core.languages). The writes read their JSON
body whatever the Content-Type says; a database failure is the operation's 500 message.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from admin_media import ingest, messages, presenters, selectors, services, validation
from admin_media.conf import admin_media_settings
from admin_media.errors import MediaNotFound, OperationFailed
from apps.accounts.models import Scope
from apps.accounts.permissions import IsStaff
from apps.core.errors import DomainError
from apps.core.responses import json_response
from apps.storage.blobs import blob_store, is_servable

logger = logging.getLogger(__name__)
Handler = TypeVar("Handler", bound=Callable[..., HttpResponse])


class AdminIsStaff(IsStaff):
    message = messages.STAFF_ONLY


def envelope(message: str, data: Any, status: int = 200) -> HttpResponse:
    return json_response({"success": True, "message": message, "data": data}, status=status)


def failing_as(message: str) -> Callable[[Handler], Handler]:
    """Any unforeseen failure (the database's, or a bug) answers the spec's 500 message
    for the operation; the cause goes to the log, not to the caller. The caller's own
    mistakes (domain and DRF errors) keep their status and message."""
    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        def run(*args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return handler(*args, **kwargs)
            except (DomainError, APIException):
                raise  # the caller's mistake, answered with its own message
            except Exception as exc:
                logger.exception("admin_media: %s", handler.__name__)
                raise OperationFailed(message) from exc
        return run  # type: ignore[return-value]
    return decorate


_LIST_PARAMETERS = [
    OpenApiParameter("type", str, description="MIME type, e.g. image/jpeg"),
    OpenApiParameter("mediaType", str, enum=["image", "video"]),
    OpenApiParameter("category", str, description="media whose category array holds it"),
    OpenApiParameter("supabaseId", str), OpenApiParameter("recordId", str),
    OpenApiParameter("aspectRatio", str, description="beyond the spec: n/m, e.g. 16/9"),
    OpenApiParameter("createdFrom", OpenApiTypes.DATETIME, description="beyond the spec"),
    OpenApiParameter("createdTo", OpenApiTypes.DATETIME, description="beyond the spec"),
    OpenApiParameter("page", int, description="default 1"),
    OpenApiParameter("pageSize", int, description="default 10, at most 100"),
]


class MediaFileView(APIView):
    """``GET /api/admin/media/<id>/file/<token>``: the stable link of an uploaded media's
    file (ingest.file_link), a redirect to a fresh signed URL of the storage. Open to
    anyone holding the link (it is the media's ``url``); 404 until the scanner has
    cleared the file, and for a deleted media or a wrong token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="admin_media_file", tags=["admin_media"],
                   responses={302: None, 404: OpenApiTypes.OBJECT})
    def get(self, request: Request, media_id: str, token: str) -> HttpResponse:
        media = (selectors.media_get_live(media_id)
                 if ingest.file_link_valid(media_id, token) else None)
        stored = media.stored_file if media is not None else None
        if stored is None or not is_servable(stored):
            raise MediaNotFound()
        return HttpResponseRedirect(blob_store.signed_url(
            stored, ttl=int(admin_media_settings.SIGNED_URL_TTL)))


class AdminMediaView(APIView):
    permission_classes = [IsAuthenticated, AdminIsStaff]
    required_scope = Scope.ADMIN
    parser_classes = [JSONParser, MultiPartParser]  # POST's upload; the rest read the body

    @extend_schema(operation_id="admin_media_list", tags=["admin_media"],
                   parameters=_LIST_PARAMETERS, responses=OpenApiTypes.OBJECT)
    @failing_as(messages.QUERY_FAILED)
    def get(self, request: Request) -> HttpResponse:
        query = validation.list_query(request.query_params)
        total = selectors.media_total(query)
        rows = selectors.media_page(query) if query.offset < total else []
        data = {"medias": [presenters.media(row) for row in rows], "total": total,
                "page": query.page, "pageSize": query.page_size,
                "totalPages": math.ceil(total / query.page_size)}
        return envelope(messages.text(messages.FOUND if rows else messages.NONE_FOUND), data)

    @extend_schema(operation_id="admin_media_set_category", tags=["admin_media"],
                   request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    @failing_as(messages.SET_CATEGORY_FAILED)
    def patch(self, request: Request) -> HttpResponse:
        body = validation.json_body(request.body)
        ids = validation.media_ids(body)
        if "category" not in body:
            raise validation.InvalidRequest(messages.CATEGORY_INVALID)
        categories = validation.categories(body["category"])
        updated = services.media_set_categories(media_ids=ids, categories=categories)
        return envelope(messages.updated(len(updated)), {
            "updatedCount": len(updated), "updatedIds": updated, "category": categories})

    @extend_schema(operation_id="admin_media_edit", tags=["admin_media"],
                   request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    @failing_as(messages.EDIT_FAILED)
    def put(self, request: Request) -> HttpResponse:
        edit = validation.media_edit(validation.json_body(request.body))
        media = services.media_edit(edit=edit)
        return envelope(messages.text(messages.UPDATED), {
            "media": presenters.media(presenters.row_of(media)), "updatedFields": edit.fields})

    @extend_schema(operation_id="admin_media_delete", tags=["admin_media"],
                   request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT})
    @failing_as(messages.DELETE_FAILED)
    def delete(self, request: Request) -> HttpResponse:
        ids = validation.media_ids(validation.json_body(request.body))
        deleted = services.media_soft_delete(media_ids=ids)
        return envelope(messages.deleted(len(deleted)), {
            "deletedCount": len(deleted), "deletedIds": [m.pk for m in deleted],
            "deletedUrls": [m.url for m in deleted]})

    @extend_schema(operation_id="admin_media_create", tags=["admin_media"],
                   request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT})
    @failing_as(messages.CREATE_FAILED)
    def post(self, request: Request) -> HttpResponse:
        media = ingest.media_ingest(request)
        return envelope(messages.text(messages.CREATED),
                        {"media": presenters.media(presenters.row_of(media))}, status=201)
