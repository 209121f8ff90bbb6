"""Image processing of the author's files (spec author_media.md, section 6.4):
``POST /v1/media/<id>/optimize|resize|crop``, ``GET /v1/media/<id>/variants`` and
``GET /v1/media/<id>/operations/<operationId>``.

An operation runs in the worker (``operation_tasks``): a POST answers 202 with the
operation's state and a ``statusUrl`` to poll, or 200 with the variant when the same
operation on the same bytes already finished (``operations``). Errors are problem+json;
bad input is a 400 with field errors and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.permissions import request_user
from apps.core.responses import json_response
from apps.processing.engines.variant_specs import ENCODINGS, FITS
from apps.storage.models import Variant
from author_media import operations, selectors
from author_media.conf import author_media_settings
from author_media.links import content_url
from author_media.models import MediaFile, MediaOperation
from author_media.presenters import Absolute, timestamp

MAX_DIMENSION = 8192  # the largest variant side the engines render (variant_specs)
FORMATS = sorted(ENCODINGS)


# -- input ------------------------------------------------------------------------------
class _Whole(serializers.IntegerField):
    """A JSON integer: ``"12"``, ``12.5`` or ``true`` is a mistake, not a number."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class _Ratio(serializers.FloatField):
    """A JSON number (integer or not), never a string or a boolean."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return float(super().to_internal_value(data))


def _format_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=FORMATS, required=False, allow_null=True,
        help_text="Output format; default: PNG for a PNG original, else WebP.")


class AuthorMediaResizeSerializer(serializers.Serializer):
    width = _Whole(required=False, allow_null=True, min_value=1, max_value=MAX_DIMENSION)
    height = _Whole(required=False, allow_null=True, min_value=1, max_value=MAX_DIMENSION)
    fit = serializers.ChoiceField(choices=FITS, default="contain",
                                  help_text="contain: within the box; cover: fill it, "
                                            "centre-cropped.")
    format = _format_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("width") is None and attrs.get("height") is None:
            raise serializers.ValidationError({"width": ["Give a width, a height, or both."]})
        return attrs


class AuthorMediaCropSerializer(serializers.Serializer):
    x = _Whole(min_value=0)
    y = _Whole(min_value=0)
    width = _Whole(min_value=1)
    height = _Whole(min_value=1)
    aspect = _Ratio(required=False, allow_null=True, min_value=0.01, max_value=100,
                    help_text="Width/height ratio: the box shrinks around its centre to it.")
    format = _format_field()


def _params(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The checked parameters, without the ones left out (what the operation records)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return {k: v for k, v in serializer.validated_data.items() if v is not None}


# -- output -----------------------------------------------------------------------------
class AuthorMediaVariantSerializer(serializers.Serializer):
    """Documentation of a variant in responses (bodies are built by :func:`variant_body`)."""

    kind = serializers.CharField()
    spec = serializers.CharField()
    format = serializers.CharField()
    mimeType = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField()
    url = serializers.URLField()
    createdAt = serializers.DateTimeField()


class AuthorMediaOperationStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=operations.OPERATIONS)
    state = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"])
    params = serializers.DictField()
    createdAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class AuthorMediaOptimizationSerializer(serializers.Serializer):
    isOptimized = serializers.BooleanField()
    originalSize = serializers.IntegerField(allow_null=True)
    optimizedSize = serializers.IntegerField(allow_null=True)
    compressionRatio = serializers.FloatField(allow_null=True)


class AuthorMediaOperationSerializer(serializers.Serializer):
    """Documentation of the body of every operation endpoint."""

    operation = AuthorMediaOperationStateSerializer()
    variant = AuthorMediaVariantSerializer(allow_null=True)
    statusUrl = serializers.URLField()
    optimization = AuthorMediaOptimizationSerializer(
        required=False, help_text="Only for optimize: the file's figures.")


def variant_url(media_id: int, variant: Variant) -> str:
    """The stable public URL of a variant; the format is named unless it is the default."""
    default = str(author_media_settings.VARIANT_FORMAT)
    return content_url(media_id, variant=variant.spec,
                       format=None if variant.format == default else variant.format)


def variant_body(media: MediaFile, variant: Variant, absolute: Absolute) -> dict[str, Any]:
    return {"kind": variant.kind, "spec": variant.spec, "format": variant.format,
            "mimeType": variant.mime_type, "width": variant.width, "height": variant.height,
            "size": variant.size, "url": absolute(variant_url(media.pk, variant)),
            "createdAt": timestamp(variant.created_at)}


def operation_body(request: Request, media: MediaFile, operation: MediaOperation,
                   variant: Variant | None) -> dict[str, Any]:
    absolute = request.build_absolute_uri
    body: dict[str, Any] = {
        "operation": {
            "id": str(operation.pk), "type": operation.operation, "state": operation.state,
            "params": operation.params, "createdAt": timestamp(operation.created_at),
            "finishedAt": timestamp(operation.finished_at), "error": operation.error or None,
        },
        "variant": variant_body(media, variant, absolute) if variant is not None else None,
        "statusUrl": absolute(reverse("am-operation", kwargs={
            "media_id": str(media.pk), "operation_id": str(operation.pk)})),
    }
    if operation.operation == "optimize":
        media.refresh_from_db(fields=["is_optimized", "original_size", "optimized_size",
                                      "compression_ratio"])
        body["optimization"] = {
            "isOptimized": media.is_optimized, "originalSize": media.original_size,
            "optimizedSize": media.optimized_size, "compressionRatio": media.compression_ratio}
    return body


# -- views ------------------------------------------------------------------------------
def _requested(request: Request, media_id: str, operation: str,
               params: dict[str, Any] | None = None,
               serializer_class: type[serializers.Serializer] | None = None) -> HttpResponse:
    media = selectors.media_get(user=request_user(request), media_id=media_id)
    if serializer_class is not None:
        params = _params(serializer_class, request.data)
    outcome = operations.operation_request(media=media, operation=operation,
                                           params=params or {})
    return json_response(operation_body(request, media, outcome.operation, outcome.variant),
                         status=200 if outcome.done else 202)


_RESPONSES = {200: AuthorMediaOperationSerializer, 202: AuthorMediaOperationSerializer}


class OptimizeView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_optimize", tags=["author_media"],
                   request=None, responses=_RESPONSES,
                   description="Re-encode the image in its format, upright and without "
                               "metadata; kept as the `optimized` variant when smaller.")
    def post(self, request: Request, media_id: str) -> HttpResponse:
        return _requested(request, media_id, "optimize")


class ResizeView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_resize", tags=["author_media"],
                   request=AuthorMediaResizeSerializer, responses=_RESPONSES)
    def post(self, request: Request, media_id: str) -> HttpResponse:
        return _requested(request, media_id, "resize",
                          serializer_class=AuthorMediaResizeSerializer)


class CropView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_crop", tags=["author_media"],
                   request=AuthorMediaCropSerializer, responses=_RESPONSES)
    def post(self, request: Request, media_id: str) -> HttpResponse:
        return _requested(request, media_id, "crop", serializer_class=AuthorMediaCropSerializer)


class OperationView(APIView):
    @extend_schema(operation_id="author_media_operation_get", tags=["author_media"],
                   responses=AuthorMediaOperationSerializer)
    def get(self, request: Request, media_id: str, operation_id: str) -> HttpResponse:
        media = selectors.media_get(user=request_user(request), media_id=media_id)
        operation = operations.operation_get(media=media, operation_id=operation_id)
        variant = operations.operation_variant(operation, media)
        return json_response(operation_body(request, media, operation, variant))


class VariantsView(APIView):
    @extend_schema(operation_id="author_media_variants", tags=["author_media"],
                   responses=AuthorMediaVariantSerializer(many=True))
    def get(self, request: Request, media_id: str) -> HttpResponse:
        media = selectors.media_get(user=request_user(request), media_id=media_id)
        absolute = request.build_absolute_uri
        return json_response([variant_body(media, v, absolute)
                              for v in operations.variants_list(media=media)])
