"""The media library API (spec media_library.md): thin views over services and selectors.

Every view extends ``access.WorkspaceView`` (membership and role first); bodies and
queries are checked by ``schemas``/``validation`` (400 with every problem listed, in
the ``nest`` dialect); responses are the ``presenters``' camelCase dicts.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request

from apps.core.responses import json_response
from apps.storage.errors import UploadTooLarge
from apps.storage.request_body import accept_chunked_body
from media_library import presenters, selectors, services, uploads
from media_library.access import PURGE, WorkspaceView, require_role
from media_library.conf import (
    LIST_DEFAULT_LIMIT,
    LIST_MAX_LIMIT,
    RECENT_DEFAULT_LIMIT,
    media_library_settings,
)
from media_library.errors import CategoryNotFound
from media_library.kinds import BIN_SECTION_OF_TYPE, ITEMS, KINDS, LINKS, TEMPLATES, Kind
from media_library.models import CategoryType, SavedLink, Template
from media_library.schemas import (
    CATEGORY_CREATE,
    CATEGORY_REORDER,
    CATEGORY_UPDATE,
    TEMPLATE_CLONE,
    bulk_input,
)
from media_library.selectors import SORT_FIELDS, ListQuery
from media_library.validation import (
    enum,
    query_boolean,
    query_integer,
    query_tags,
    query_uuid,
    query_value,
    string,
)

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and the text fields around the file


class _ListSchema(AutoSchema):
    """Collection GETs are named ``…_list`` in the OpenAPI document, apart from their
    detail routes' ``…_retrieve`` (their bodies are described in ``_RESPONSE_SHAPES``)."""

    def get_operation_id(self) -> str:
        operation_id = str(super().get_operation_id())
        if self.method == "GET" and operation_id.endswith("_retrieve"):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id


def _success(message: str, **extra: Any) -> HttpResponse:
    return json_response({"success": True, "message": message, **extra})


def _page_params(params: Any, problems: list[str]) -> tuple[int, int]:
    limit = query_value(params, "limit", query_integer(1, LIST_MAX_LIMIT), problems,
                        LIST_DEFAULT_LIMIT)
    offset = query_value(params, "offset", query_integer(0, 10**9), problems, 0)
    return limit, offset


def list_query(kind: Kind, params: Any) -> ListQuery:
    problems: list[str] = []
    limit, offset = _page_params(params, problems)
    query = ListQuery(
        limit=limit, offset=offset,
        category_id=query_value(params, "categoryId", query_uuid, problems),
        is_starred=query_value(params, "isStarred", query_boolean, problems),
        is_deleted=query_value(params, "isDeleted", query_boolean, problems, False),
        search=query_value(params, "search", string(200), problems),
    )
    if kind.type_param:
        query.type_value = query_value(params, kind.type_param, enum(kind.type_values), problems)
    if kind is ITEMS:
        query.tags = query_value(params, "tags", query_tags, problems, [])
        query.sort_by = query_value(params, "sortBy", enum(SORT_FIELDS), problems, "createdAt")
        query.sort_order = query_value(params, "sortOrder", enum(["asc", "desc"]), problems,
                                       "desc")
    if kind is TEMPLATES:
        query.platform = query_value(params, "platform", string(50), problems)
    if problems:
        raise ValidationError(problems)
    return query


# -- categories ---------------------------------------------------------------------------


class CategoryListView(WorkspaceView):
    schema = _ListSchema()
    def get(self, request: Request, workspace_id: str) -> HttpResponse:
        problems: list[str] = []
        type_value = query_value(request.query_params, "type", enum(CategoryType.values),
                                 problems)
        if problems:
            raise ValidationError(problems)
        rows = selectors.category_list(workspace=self.workspace, type_value=type_value)
        return json_response([presenters.category(row) for row in rows])

    def post(self, request: Request, workspace_id: str) -> HttpResponse:
        data = CATEGORY_CREATE.clean(request.data)
        row = services.category_create(workspace=self.workspace, data=data)
        return json_response(presenters.category(row), status=201)


class CategoryGroupedView(WorkspaceView):
    def get(self, request: Request, workspace_id: str) -> HttpResponse:
        grouped: dict[str, list[dict[str, Any]]] = {t: [] for t in CategoryType.values}
        for row in selectors.category_list(workspace=self.workspace):
            grouped[row.type].append(presenters.category_brief(row))
        return json_response(grouped)


class CategoryReorderView(WorkspaceView):
    def post(self, request: Request, workspace_id: str) -> HttpResponse:
        data = CATEGORY_REORDER.clean(request.data)
        services.category_reorder(workspace=self.workspace, type_value=data["type"],
                                  ids=data["category_ids"])
        return _success("Categories reordered successfully")


class CategoryDetailView(WorkspaceView):
    def _category(self, category_id: str) -> Any:
        row = selectors.category_get(workspace=self.workspace, category_id=category_id)
        if row is None:
            raise CategoryNotFound()
        return row

    def get(self, request: Request, workspace_id: str, category_id: str) -> HttpResponse:
        return json_response(presenters.category(self._category(category_id)))

    def put(self, request: Request, workspace_id: str, category_id: str) -> HttpResponse:
        row = self._category(category_id)
        data = CATEGORY_UPDATE.clean(request.data, partial=True)
        return json_response(presenters.category(services.category_update(category=row,
                                                                           data=data)))

    def delete(self, request: Request, workspace_id: str, category_id: str) -> HttpResponse:
        services.category_delete(category=self._category(category_id))
        return _success("Category deleted successfully")


# -- the four kinds of objects ------------------------------------------------------------


class KindView(WorkspaceView):
    kind: Kind = ITEMS  # each route says which (urls.py)

    def _row(self, object_id: str) -> Any:
        return selectors.object_get(self.kind, workspace=self.workspace, object_id=object_id)


class ObjectListView(KindView):
    schema = _ListSchema()

    def get(self, request: Request, workspace_id: str) -> HttpResponse:
        query = list_query(self.kind, request.query_params)
        rows, total = selectors.object_page(self.kind, workspace=self.workspace, query=query)
        return json_response({"items": presenters.library_objects(rows),
                              "total": total, "limit": query.limit, "offset": query.offset})

    def post(self, request: Request, workspace_id: str) -> HttpResponse:
        data = self.kind.create.clean(request.data)
        row = services.object_create(self.kind, workspace=self.workspace, user=self.user,
                                     data=data)
        return json_response(presenters.library_object(row), status=201)


class ObjectDetailView(KindView):
    def get(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        return json_response(presenters.library_object(self._row(object_id)))

    def put(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        row = self._row(object_id)
        data = self.kind.update.clean(request.data, partial=True)
        row = services.object_update(self.kind, row=row, data=data)
        return json_response(presenters.library_object(row))

    def delete(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        services.object_soft_delete(row=self._row(object_id))
        return _success(f"{self.kind.label} moved to recycle bin")


class ObjectRestoreView(KindView):
    def post(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        row = services.object_restore(row=self._row(object_id))
        return json_response(presenters.library_object(row))


class ObjectPermanentView(KindView):
    roles = {"DELETE": PURGE}

    def delete(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        services.object_permanent_delete(row=self._row(object_id))
        return _success(f"{self.kind.label} permanently deleted")


class ObjectUseView(KindView):
    def post(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        row = services.object_use(row=self._row(object_id))
        return json_response(presenters.library_object(row))


class ItemRecentView(KindView):
    kind = ITEMS

    def get(self, request: Request, workspace_id: str) -> HttpResponse:
        problems: list[str] = []
        limit = query_value(request.query_params, "limit", query_integer(1, LIST_MAX_LIMIT),
                            problems, RECENT_DEFAULT_LIMIT)
        if problems:
            raise ValidationError(problems)
        rows = selectors.recent_items(self.kind, workspace=self.workspace, limit=limit)
        return json_response(presenters.library_objects(rows))


class ItemUploadView(KindView):
    kind = ITEMS
    parser_classes = [MultiPartParser]

    def post(self, request: Request, workspace_id: str) -> HttpResponse:
        # a body far over the limit is refused before it is parsed into a temporary file
        limit = int(media_library_settings.MAX_FILE_BYTES)
        # a chunked body (no Content-Length) is read up to the same bound, then 413
        accept_chunked_body(request, max_bytes=limit + MULTIPART_OVERHEAD)
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + MULTIPART_OVERHEAD:
            raise UploadTooLarge(f"The file is larger than {limit} bytes.")
        row = uploads.item_upload(workspace=self.workspace, user=self.user,
                                  upload=request.FILES.get("file"), form=request.data)
        return json_response(presenters.library_object(row), status=201)


class ItemBulkView(KindView):
    kind = ITEMS

    def post(self, request: Request, workspace_id: str) -> HttpResponse:
        data = bulk_input(request.data)
        if data["action"] == "permanentDelete":
            require_role(self.membership, PURGE)
        count = services.items_bulk(workspace=self.workspace, ids=data["ids"],
                                    action=data["action"], category_id=data.get("category_id"))
        return _success("Bulk action completed", processedCount=count)


class TemplateCloneView(KindView):
    kind = TEMPLATES

    def post(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        row = self._row(object_id)
        assert isinstance(row, Template)
        data = TEMPLATE_CLONE.clean(request.data if isinstance(request.data, dict) else {})
        clone = services.template_clone(row=row, user=self.user, name=data.get("name"))
        return json_response(presenters.library_object(clone), status=201)


class LinkRefreshPreviewView(KindView):
    kind = LINKS

    def post(self, request: Request, workspace_id: str, object_id: str) -> HttpResponse:
        row = self._row(object_id)
        assert isinstance(row, SavedLink)
        return json_response(presenters.library_object(services.link_refresh_preview(row=row)))


# -- the recycle bin -----------------------------------------------------------------------


class RecycleBinView(WorkspaceView):
    def get(self, request: Request, workspace_id: str) -> HttpResponse:
        problems: list[str] = []
        params = request.query_params
        type_value = query_value(params, "type", enum(CategoryType.values), problems)
        limit, offset = _page_params(params, problems)
        if problems:
            raise ValidationError(problems)
        only = BIN_SECTION_OF_TYPE.get(type_value) if type_value else None
        kinds = [kind for kind in KINDS.values() if only is None or only is kind]
        sections = dict(zip([k.bin_section for k in kinds], selectors.bin_sections(
            kinds, workspace=self.workspace, limit=limit, offset=offset,
            type_value=type_value if only is ITEMS else None), strict=True))
        body = {}
        for kind in KINDS.values():
            rows, total = sections.get(kind.bin_section, ([], 0))
            body[kind.bin_section] = {"items": presenters.library_objects(rows, kind.model),
                                      "total": total, "limit": limit, "offset": offset}
        return json_response(body)


class RecycleBinEmptyView(WorkspaceView):
    roles = {"POST": PURGE}

    def post(self, request: Request, workspace_id: str) -> HttpResponse:
        count = services.bin_empty(workspace=self.workspace)
        return _success(f"Permanently deleted {count} items from recycle bin",
                        deletedCount=count)


_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_OBJECTS: dict[str, Any] = {"type": "array", "items": _OBJECT}
_PAGE: dict[str, Any] = {"type": "object", "required": ["items", "total", "limit", "offset"],
                         "properties": {"items": _OBJECTS, "total": {"type": "integer"},
                                        "limit": {"type": "integer"},
                                        "offset": {"type": "integer"}}}
# The bodies that are not one object (the spec's shapes: shared/specs/media_library.md).
_RESPONSE_SHAPES: dict[tuple[type, str], dict[str, Any]] = {
    (CategoryListView, "get"): _OBJECTS,
    (ObjectListView, "get"): _PAGE,
    (ItemRecentView, "get"): _OBJECTS,
    (RecycleBinView, "get"): {"type": "object", "additionalProperties": _PAGE},
}


def _describe_for_openapi() -> None:
    """Generic JSON bodies in the OpenAPI document where a view renders one object (the
    views render dicts, not serializers), and the real shape where it renders another."""
    for view in (CategoryListView, CategoryGroupedView, CategoryReorderView,
                 CategoryDetailView, ObjectListView, ObjectDetailView, ObjectRestoreView,
                 ObjectPermanentView, ObjectUseView, ItemRecentView, ItemUploadView, ItemBulkView,
                 TemplateCloneView, LinkRefreshPreviewView, RecycleBinView,
                 RecycleBinEmptyView):
        for method in ("get", "post", "put", "delete"):
            handler = view.__dict__.get(method)
            if handler is not None:
                shape = _RESPONSE_SHAPES.get((view, method), _OBJECT)
                setattr(view, method, extend_schema(
                    tags=["media_library"], request=OpenApiTypes.OBJECT if method in (
                        "post", "put") else None,
                    responses={200: shape, 201: shape})(handler))


_describe_for_openapi()
