"""The ai_media API (spec ai_media.md): reads are public, writes need the API secret or
an API key with the write scope. Errors are ``{"error": "…"}`` (the app's dialect)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from ai_media import params, presenters, selectors, services
from ai_media.errors import MediaNotFound, SemanticSearchUnavailable
from ai_media.parsers import MediaBodyParser
from ai_media.similarity import embedding_of, similar_rows
from ai_media.validation import ItemInvalid
from apps.accounts.authentication import ApiKeyAuthentication, ApiSecretKeyAuthentication
from apps.accounts.permissions import ApiKeyScopePermission
from apps.core.pagination import KeysetCursor
from apps.core.responses import json_response

FEED_CURSOR = KeysetCursor(["created_at", "id"], salt="ai_media.feed")
SEARCH_CURSOR = KeysetCursor(["created_at", "id"], salt="ai_media.search")
_TYPE = OpenApiParameter("type", str, enum=["image", "video"])
_TAGS = OpenApiParameter("tags", str, description="Comma-separated tag values; ALL must match")
_CURSOR = OpenApiParameter("cursor", str, description="nextCursor of the previous page")


class PublicView(APIView):
    authentication_classes: list[Any] = []  # a stray Authorization header changes nothing
    permission_classes = [AllowAny]


class WriteView(APIView):
    authentication_classes = [ApiSecretKeyAuthentication, ApiKeyAuthentication]
    permission_classes = [IsAuthenticated, ApiKeyScopePermission]
    required_scope = "write"

    def permission_denied(self, request: Request, message: str | None = None,
                          code: str | None = None) -> NoReturn:
        if not request.successful_authenticator:
            raise exceptions.NotAuthenticated("Unauthorized")
        # not super(): MediaItemView borrows this method without being a WriteView
        APIView.permission_denied(self, request, message, code)


def _writer(request: Request) -> services.Writer:
    """The API secret and admin-scoped keys change any item; any other key only the
    items its user wrote (services.Writer)."""
    has_scope = getattr(request.auth, "has_scope", None)
    return services.Writer(owner_id=getattr(request.user, "pk", None),
                           any_item=bool(has_scope is not None and has_scope("admin")))


def _keyset_page(request: Request, keyset: KeysetCursor, tags: list[str]) -> dict[str, Any]:
    limit = params.limit(request.query_params, default=20, maximum=100)
    media_type = params.media_type(request.query_params)
    after = params.cursor_position(request.query_params, keyset)
    rows = selectors.media_page(media_type=media_type, tags=tags, after=after, limit=limit)
    page, more = rows[:limit], len(rows) > limit
    tags_of = selectors.media_tags_of([row[0] for row in page])
    next_cursor = (keyset.encode({"created_at": page[-1][5], "id": page[-1][0]})
                   if more else None)
    return {"data": [presenters.with_tag_list(row, tags_of[row[0]]) for row in page],
            "nextCursor": next_cursor}


class FeedView(PublicView):
    @extend_schema(operation_id="ai_media_feed", responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("limit", int, description="default 20, max 100"), _CURSOR, _TYPE, _TAGS])
    def get(self, request: Request) -> HttpResponse:
        return json_response(_keyset_page(request, FEED_CURSOR,
                                          params.tags(request.query_params)))


class SearchView(PublicView):
    @extend_schema(operation_id="ai_media_search", responses=OpenApiTypes.OBJECT, parameters=[
        _TAGS, OpenApiParameter("limit", int), _CURSOR, _TYPE])
    def get(self, request: Request) -> HttpResponse:
        tags = params.tags(request.query_params, required=True)
        body = _keyset_page(request, SEARCH_CURSOR, tags)
        body["totalMatches"] = selectors.media_match_count(
            media_type=params.media_type(request.query_params), tags=tags)
        return json_response(body)


class MediaItemView(APIView):
    """GET is public; DELETE (beyond the spec) needs write credentials."""

    def _is_read(self) -> bool:
        # request is None while drf-spectacular builds its mock request for the schema
        return getattr(getattr(self, "request", None), "method", None) == "GET"

    def get_authenticators(self) -> list[Any]:
        return [] if self._is_read() else [ApiSecretKeyAuthentication(), ApiKeyAuthentication()]

    def get_permissions(self) -> list[Any]:
        if self._is_read():
            return [AllowAny()]
        return [IsAuthenticated(), ApiKeyScopePermission()]

    permission_denied = WriteView.permission_denied
    required_scope = "write"

    @extend_schema(operation_id="ai_media_get", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, media_id: str) -> HttpResponse:
        row = selectors.media_row(media_id)
        if row is None:
            raise MediaNotFound()
        return json_response(presenters.with_tag_groups(row, selectors.media_tags_of(
            [media_id])[media_id]))

    @extend_schema(operation_id="ai_media_delete", responses={200: OpenApiTypes.OBJECT})
    def delete(self, request: Request, media_id: str) -> HttpResponse:
        if not services.media_delete(media_id=media_id, writer=_writer(request)):
            raise MediaNotFound()
        return json_response({"success": True})


class SimilarView(PublicView):
    @extend_schema(operation_id="ai_media_similar", responses=OpenApiTypes.OBJECT, parameters=[
        OpenApiParameter("limit", int, description="default 10, max 50"), _TYPE, _TAGS])
    def get(self, request: Request, media_id: str) -> HttpResponse:
        limit = params.limit(request.query_params, default=10, maximum=50)
        media_type = params.media_type(request.query_params)
        tags = params.tags(request.query_params)
        if selectors.media_row(media_id) is None:
            raise MediaNotFound()
        query = embedding_of(media_id)
        rows = ([] if query is None else
                similar_rows(query, limit=limit, exclude=media_id, media_type=media_type,
                             tags=tags))
        return json_response({"data": [presenters.with_similarity(row) for row in rows]})


class SemanticSearchView(PublicView):
    @extend_schema(operation_id="ai_media_semantic_search", responses=OpenApiTypes.OBJECT,
                   parameters=[OpenApiParameter("q", str, required=True),
                               OpenApiParameter("limit", int), _TYPE, _TAGS])
    def get(self, request: Request) -> HttpResponse:
        from apps.processing.embeddings import ClipDisabled, embed_text
        from apps.processing.engines.clip import ClipModelError

        text = str(request.query_params.get("q") or "").strip()
        if not text:
            raise exceptions.ValidationError({"q": ["q is required."]})
        if len(text) > 1000:
            raise exceptions.ValidationError({"q": ["q must be at most 1000 characters."]})
        limit = params.limit(request.query_params, default=10, maximum=50)
        media_type = params.media_type(request.query_params)
        tags = params.tags(request.query_params)
        try:
            query = embed_text(text)
        except (ClipDisabled, ClipModelError) as exc:
            raise SemanticSearchUnavailable() from exc
        rows = similar_rows(query, limit=limit, media_type=media_type, tags=tags)
        return json_response({"data": [presenters.with_similarity(row) for row in rows]})


class TagCategoriesView(PublicView):
    @extend_schema(operation_id="ai_media_tag_categories", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> HttpResponse:
        return json_response({"categories": selectors.tag_categories()})


class MediaCreateView(WriteView):
    parser_classes = [MediaBodyParser]
    @extend_schema(operation_id="ai_media_create", request=OpenApiTypes.ANY,
                   responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> HttpResponse:
        data = request.data
        if isinstance(data, list):
            result = services.media_upsert_many(data, writer=_writer(request))
            return json_response({"inserted": result.inserted, "created": result.created,
                                  "updated": result.updated,
                                  "errors": [e.as_dict() for e in result.errors or []]})
        try:
            media = services.media_create(data, writer=_writer(request))
        except ItemInvalid as exc:
            raise exceptions.ValidationError({"": [str(exc)]}) from None
        row = selectors.media_row(media.pk)
        assert row is not None
        return json_response({"data": presenters.with_tag_groups(
            row, selectors.media_tags_of([media.pk])[media.pk])}, status=201)
