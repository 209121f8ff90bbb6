"""The library API (spec user_library.md): thin views over services and selectors.

Responses are JSON bytes from orjson (``presenters``); errors go through the platform's
exception handler in this app's ``success`` dialect (``{"success": false, "error"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.permissions import request_user
from apps.core.ids import parse_uuid
from apps.core.pagination import LimitOffset
from apps.core.responses import json_response
from apps.storage.request_body import accept_chunked_body
from user_library import selectors, services
from user_library.conf import (
    LIST_DEFAULT_LIMIT,
    LIST_MAX_LIMIT,
    SIMILAR_DEFAULT_LIMIT,
    SIMILAR_MAX_LIMIT,
    user_library_settings,
)
from user_library.errors import ItemNotFound
from user_library.models import MediaType
from user_library.presenters import ItemPresenter
from user_library.serializers import (
    UserLibraryBatchDeleteInputSerializer,
    UserLibraryBatchDeleteSerializer,
    UserLibraryCreateInputSerializer,
    UserLibraryItemResponseSerializer,
    UserLibraryListSerializer,
    UserLibrarySimilarSerializer,
    UserLibrarySuccessSerializer,
    UserLibraryUsageSerializer,
)
from user_library.usage import library_usage

BODY_OVERHEAD = 64 * 1024  # multipart boundaries and fields, or the JSON around fileData


def _media_type(params: Any) -> str | None:
    value = params.get("type")
    if value is None or value == "":
        return None
    if value not in MediaType.values:
        raise ValidationError({"type": ["type must be 'image' or 'video'."]})
    return str(value)


class LibraryListView(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="user_library_list",
        parameters=[OpenApiParameter("limit", int, description="1-100, default 20"),
                    OpenApiParameter("offset", int, description=">= 0, default 0"),
                    OpenApiParameter("type", str, enum=MediaType.values)],
        responses=UserLibraryListSerializer)
    def get(self, request: Request) -> HttpResponse:
        page = LimitOffset.from_params(request.query_params, default_limit=LIST_DEFAULT_LIMIT,
                                       max_limit=LIST_MAX_LIMIT)
        media_type = _media_type(request.query_params)
        user_id = request_user(request).pk
        total = selectors.library_item_total(user_id=user_id, media_type=media_type)
        rows = (selectors.library_item_rows(user_id=user_id, media_type=media_type,
                                            limit=page.limit, offset=page.offset)
                if page.offset < total else [])
        return json_response({"success": True, "items": ItemPresenter().items(rows),
                              "total": total, "has_more": page.has_more(total)})

    @extend_schema(operation_id="user_library_create", request=UserLibraryCreateInputSerializer,
                   responses={201: UserLibraryItemResponseSerializer})
    def post(self, request: Request) -> HttpResponse:
        user = request_user(request)
        # a chunked body (no Content-Length) is read up to the most a file may take as
        # base64 in JSON, then 413; the blob store holds the file itself to the limit
        limit = int(user_library_settings.MAX_FILE_BYTES)
        accept_chunked_body(request, max_bytes=limit * 4 // 3 + BODY_OVERHEAD)
        data = request.data
        if not isinstance(data, Mapping):
            raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
        upload = request.FILES.get("file")
        fields = {"source": data.get("source"), "metadata": data.get("metadata"),
                  "media_type": data.get("media_type", data.get("mediaType"))}
        if upload is not None:
            item = services.library_item_create(
                user=user, stream=upload, mime_type=upload.content_type, name=upload.name,
                size=upload.size, **fields)
        elif "fileData" in data:
            item = services.library_item_create_from_base64(
                user=user, file_data=data.get("fileData"), mime_type=data.get("mimeType"),
                **fields)
        else:
            raise ValidationError({"file": ["Send a file (multipart 'file') or base64 "
                                            "'fileData' with 'mimeType'."]})
        row = selectors.library_item_row(user_id=user.pk, item_id=item.pk)
        assert row is not None  # just created, by this user
        return json_response({"success": True, "item": ItemPresenter().item(row)}, status=201)


# Item ids are UUIDs; said so, a client (or a fuzzer) cannot take ``usage`` or ``batch``,
# the sibling routes, for an item.
ITEM_ID = OpenApiParameter("item_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class LibraryItemView(APIView):
    @extend_schema(operation_id="user_library_get", parameters=[ITEM_ID],
                   responses=UserLibraryItemResponseSerializer)
    def get(self, request: Request, item_id: str) -> HttpResponse:
        parsed = parse_uuid(item_id)
        row = (selectors.library_item_row(user_id=request_user(request).pk, item_id=parsed)
               if parsed is not None else None)
        if row is None:
            raise ItemNotFound()
        return json_response({"success": True, "item": ItemPresenter().item(row)})

    @extend_schema(operation_id="user_library_delete", parameters=[ITEM_ID],
                   responses={200: UserLibrarySuccessSerializer})
    def delete(self, request: Request, item_id: str) -> HttpResponse:
        services.library_item_delete(user=request_user(request), item_id=item_id)
        return json_response({"success": True})


class LibrarySimilarView(APIView):
    """The user's own items nearest to one of theirs (additive; docs/user_library.md)."""

    @extend_schema(
        operation_id="user_library_similar",
        parameters=[ITEM_ID, OpenApiParameter("limit", int, description="1-50, default 12")],
        responses=UserLibrarySimilarSerializer)
    def get(self, request: Request, item_id: str) -> HttpResponse:
        # only ``limit`` is read: an ``offset`` means nothing here and is not validated
        limit = LimitOffset.from_params({"limit": request.query_params.get("limit")},
                                        default_limit=SIMILAR_DEFAULT_LIMIT,
                                        max_limit=SIMILAR_MAX_LIMIT).limit
        user_id = request_user(request).pk
        parsed = parse_uuid(item_id)
        row = (selectors.library_item_row(user_id=user_id, item_id=parsed)
               if parsed is not None else None)
        if row is None or parsed is None:
            raise ItemNotFound()
        similar = selectors.library_item_similar(user_id=user_id, item_id=parsed,
                                                 file_id=row[6], limit=limit)
        if similar is None:
            return json_response({"success": True, "items": [],
                                  "embedding": selectors.library_item_embedding_state(row)})
        items = ItemPresenter().items([found for found, _ in similar])
        for item, (_, similarity) in zip(items, similar, strict=True):
            item["similarity"] = round(similarity, 6)
        return json_response({"success": True, "items": items, "embedding": "ready"})


class LibraryBatchDeleteView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="user_library_batch_delete",
                   request=UserLibraryBatchDeleteInputSerializer,
                   responses={200: UserLibraryBatchDeleteSerializer})
    def delete(self, request: Request) -> HttpResponse:
        body = UserLibraryBatchDeleteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        deleted = services.library_items_delete(user=request_user(request),
                                                ids=set(body.validated_data["ids"]))
        return json_response({"success": True, "deleted": deleted})


class LibraryUsageView(APIView):
    @extend_schema(operation_id="user_library_usage", responses=UserLibraryUsageSerializer)
    def get(self, request: Request) -> HttpResponse:
        return json_response({"success": True,
                              "usage": library_usage(user_id=request_user(request).pk)})
