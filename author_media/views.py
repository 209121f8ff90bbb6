"""The author's files API under ``/v1/media`` (spec author_media.md, section 6): thin
views over services and selectors; errors are RFC 9457 problem+json (this app's
dialect)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.permissions import request_user
from apps.core.forms import form_list
from apps.core.pagination import PageNumber
from apps.core.responses import json_response
from apps.storage.models import ScanStatus
from apps.storage.request_body import accept_chunked_body
from author_media import folders, presenters, selectors, services
from author_media.conf import author_media_settings
from author_media.errors import FileTooLarge
from author_media.serializers import (
    AuthorMediaFolderCreateSerializer,
    AuthorMediaMoveSerializer,
    AuthorMediaUpdateSerializer,
    AuthorMediaUploadFieldsSerializer,
)

MULTIPART_OVERHEAD = 64 * 1024
_UPLOAD_SCALARS = ("folder", "siteId", "altText", "caption")


def absolute(request: Request) -> presenters.Absolute:
    return request.build_absolute_uri


def _valid(serializer_class: type, data: Any, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def upload_fields(form: Any) -> dict[str, Any]:
    """The optional text fields of an upload (multipart form or JSON body)."""
    data: dict[str, Any] = {k: form.get(k) for k in _UPLOAD_SCALARS if k in form}
    if "tags" in form:
        data["tags"] = form_list(form, "tags")
    return _valid(AuthorMediaUploadFieldsSerializer, data)


def page_response(request: Request, rows: Any, page: PageNumber) -> HttpResponse:
    """``{data, total, page, pageSize, totalPages}`` of MediaFileDtos."""
    items = page.slice(rows)
    total = rows.count() if items or page.page > 1 else 0
    to_url = absolute(request)
    return json_response({"data": [presenters.media_file(r, to_url) for r in items],
                          "total": total, "page": page.page, "pageSize": page.page_size,
                          "totalPages": page.total_pages(total)})


def stored_response(request: Request, outcome: services.Stored) -> HttpResponse:
    """201 with the new file; 200 with the existing one, flagged, for a duplicate."""
    body = presenters.media_file(outcome.media, absolute(request),
                                 duplicate_of=outcome.media.pk if outcome.duplicate else None)
    return json_response(body, status=200 if outcome.duplicate else 201)


class MediaUploadView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(operation_id="author_media_upload", tags=["author_media"],
                   request={"multipart/form-data": OpenApiTypes.OBJECT},
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        limit = int(author_media_settings.MAX_DIRECT_UPLOAD_BYTES)
        # a chunked body (no Content-Length) is read up to the same bound, then 413
        accept_chunked_body(request, max_bytes=limit + MULTIPART_OVERHEAD)
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + MULTIPART_OVERHEAD:
            raise FileTooLarge(f"The file is larger than {limit} bytes; use a multipart or "
                               "resumable upload.", extra={"maxBytes": limit})
        upload = request.FILES.get("file")
        fields = upload_fields(request.data)
        if upload is None:
            raise ValidationError({"file": ["A file is required."]})
        outcome = services.media_file_store(
            user=request_user(request), stream=upload, name=upload.name or "upload",
            declared_type=upload.content_type, declared_size=upload.size, fields=fields,
            max_size=limit)
        return stored_response(request, outcome)


def _list_query(params: Any, user: Any) -> selectors.MediaQuery:
    problems: dict[str, list[str]] = {}
    query = selectors.MediaQuery(site_id=params.get("siteId") or None,
                                 search=(params.get("search") or "").strip() or None)
    if "folder" in params:
        try:
            query.folder = folders.folder_path(params.get("folder")) or ""
        except ValidationError as exc:
            problems.update(exc.detail)  # type: ignore[arg-type]
    query.recursive = params.get("recursive") in ("true", "1")
    if params.get("tags"):
        query.tags = [t.strip() for t in str(params["tags"]).split(",") if t.strip()]
    if params.get("mimeType"):
        query.mime_type = str(params["mimeType"]).strip().lower()
    status = params.get("scanStatus")
    if status:
        if status not in ScanStatus.values:
            problems["scanStatus"] = [f"Must be one of: {', '.join(ScanStatus.values)}."]
        query.scan_status = status
    for name, allowed in (("sort", selectors.SORTS), ("order", ("asc", "desc"))):
        value = params.get(name)
        if value:
            if value not in allowed:
                problems[name] = [f"Must be one of: {', '.join(allowed)}."]
            else:
                setattr(query, name, value)
    if query.search and len(query.search) > 200:
        problems["search"] = ["At most 200 characters."]
    for name, value in params.items():  # PostgreSQL text cannot hold NUL: a 400, not a 500
        if "\x00" in name or "\x00" in str(value):
            problems[name.replace("\x00", "")] = ["Must not contain NUL characters."]
    if problems:
        raise ValidationError(problems)
    return query


class MediaListView(APIView):
    @extend_schema(operation_id="author_media_list", tags=["author_media"], parameters=[
        OpenApiParameter("siteId", str), OpenApiParameter("folder", str),
        OpenApiParameter("recursive", bool), OpenApiParameter("tags", str),
        OpenApiParameter("mimeType", str), OpenApiParameter("scanStatus", str),
        OpenApiParameter("search", str), OpenApiParameter("sort", str),
        OpenApiParameter("order", str), OpenApiParameter("page", int),
        OpenApiParameter("pageSize", int)], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponse:
        user = request_user(request)
        page = PageNumber.from_params(request.query_params, default_size=20, max_size=100)
        rows = selectors.media_list(user=user, query=_list_query(request.query_params, user))
        return page_response(request, rows, page)


class MediaDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_get", tags=["author_media"],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, media_id: str) -> HttpResponse:
        media = selectors.media_get(user=request_user(request), media_id=media_id)
        return json_response(presenters.media_file(media, absolute(request)))

    @extend_schema(operation_id="author_media_update", tags=["author_media"],
                   request=AuthorMediaUpdateSerializer, responses=OpenApiTypes.OBJECT)
    def put(self, request: Request, media_id: str) -> HttpResponse:
        media = selectors.media_get(user=request_user(request), media_id=media_id)
        data = _valid(AuthorMediaUpdateSerializer, request.data, partial=True)
        media = services.media_file_update(media=media, data=data)
        return json_response(presenters.media_file(media, absolute(request)))

    @extend_schema(operation_id="author_media_delete", tags=["author_media"],
                   responses={204: None})
    def delete(self, request: Request, media_id: str) -> HttpResponse:
        media = selectors.media_get(user=request_user(request), media_id=media_id)
        services.media_file_delete(media=media)
        return HttpResponse(status=204)


class MediaMoveView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_move", tags=["author_media"],
                   request=AuthorMediaMoveSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, media_id: str) -> HttpResponse:
        media = selectors.media_get(user=request_user(request), media_id=media_id)
        data = _valid(AuthorMediaMoveSerializer, request.data)
        media = services.media_file_move(media=media, folder=data["folder"])
        return json_response(presenters.media_file(media, absolute(request)))


class FolderListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_folders", tags=["author_media"],
                   responses={200: {"type": "array", "items": {"type": "object"}}})
    def get(self, request: Request) -> HttpResponse:
        rows = folders.folder_list(user=request_user(request))
        return json_response([{**r, "createdAt": presenters.timestamp(r["createdAt"])}
                              for r in rows])

    @extend_schema(operation_id="author_media_folder_create", tags=["author_media"],
                   request=AuthorMediaFolderCreateSerializer,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        path = _valid(AuthorMediaFolderCreateSerializer, request.data)["path"]
        folder = folders.folder_create(user=request_user(request), path=path)
        return json_response({"path": folder.path, "name": path.rsplit("/", 1)[-1],
                              "createdAt": presenters.timestamp(folder.created_at)},
                             status=201)


class FolderDetailView(APIView):
    @extend_schema(operation_id="author_media_folder_delete", tags=["author_media"],
                   parameters=[OpenApiParameter("mode", str, enum=folders.DELETE_MODES)],
                   responses={200: OpenApiTypes.OBJECT})
    def delete(self, request: Request, folder_name: str) -> HttpResponse:
        path = folders.folder_path(folder_name, "folderName")
        if path is None:
            raise ValidationError({"folderName": ["A folder name is required."]})
        result = folders.folder_delete(user=request_user(request), path=path,
                                       mode=request.query_params.get("mode") or None)
        return json_response(result)
