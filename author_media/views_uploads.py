"""Uploads whose bytes do not come in the request that declares them (spec 6.1, 2-6):

- ``POST /v1/media/upload/presigned`` → where to send the file (an S3 presigned POST, or
  on local storage this server's signed upload URL, ``…/presigned/<token>``), with the
  declared size reserved from the storage limit; ``POST /v1/media/upload/confirm`` then
  records it as a MediaFile;
- ``POST /v1/media/upload/multipart/initiate | part | complete | abort``: numbered parts
  (presigned S3 part URLs, or on local storage bytes sent to this server), then one
  MediaFile.

Thin views over ``upload_sessions``; errors are problem+json (this app's dialect).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.accounts.permissions import request_user
from apps.core.responses import json_response
from apps.storage.blobs import blob_store
from author_media import presenters, upload_sessions
from author_media.errors import UploadNotFound
from author_media.models import StorageProvider, UploadProtocol, UploadSession, UploadState
from author_media.serializers import AuthorMediaUploadFieldsSerializer
from author_media.services import Stored
from author_media.upload_sessions import Declared, StagingWriter, Target
from author_media.views import stored_response

_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_MEDIA_FIELDS = ("folder", "site_id", "alt_text", "caption", "tags")
_TAGS = ["author_media"]


# -- request bodies -------------------------------------------------------------------------
class AuthorMediaDeclaredUploadSerializer(AuthorMediaUploadFieldsSerializer):
    """The file a client will send (and the MediaFile's optional fields)."""

    filename = serializers.CharField(max_length=255)
    mimeType = serializers.CharField(max_length=100)
    size = serializers.IntegerField(min_value=1)

    def validate_mimeType(self, value: str) -> str:
        mime = value.split(";")[0].strip().lower()
        if not _MIME.match(mime):
            raise serializers.ValidationError("Must be a MIME type such as image/png.")
        return mime


class AuthorMediaMultipartInitiateSerializer(AuthorMediaDeclaredUploadSerializer):
    partSize = serializers.IntegerField(required=False, min_value=1)


class AuthorMediaConfirmSerializer(serializers.Serializer):
    uploadId = serializers.UUIDField(required=False)
    key = serializers.CharField(required=False, max_length=512)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("uploadId") and not attrs.get("key"):
            raise serializers.ValidationError({"uploadId": ["The uploadId (or key) is required."]})
        return attrs


class AuthorMediaUploadIdSerializer(serializers.Serializer):
    uploadId = serializers.UUIDField()


class AuthorMediaPartSerializer(AuthorMediaUploadIdSerializer):
    partNumber = serializers.IntegerField(min_value=1)


class AuthorMediaCompletedPartSerializer(serializers.Serializer):
    partNumber = serializers.IntegerField(min_value=1)
    etag = serializers.CharField(max_length=200)


class AuthorMediaMultipartCompleteSerializer(AuthorMediaUploadIdSerializer):
    parts = serializers.ListField(child=AuthorMediaCompletedPartSerializer(), min_length=1,
                                  max_length=10_000)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _declared(data: dict[str, Any]) -> Declared:
    return Declared(filename=data["filename"], mime_type=data["mimeType"], size=data["size"],
                    fields={k: data[k] for k in _MEDIA_FIELDS if k in data})


# -- responses ------------------------------------------------------------------------------
def _provider() -> str:
    return StorageProvider.S3 if blob_store.is_s3 else StorageProvider.LOCAL


def _url(request: Request, url: str) -> str:
    return request.build_absolute_uri(url) if url.startswith("/") else url


def _target(request: Request, target: Target) -> dict[str, Any]:
    return {"method": target.method, "url": _url(request, target.url),
            "fields": target.fields, "expiresAt": presenters.timestamp(target.expires_at)}


def _session(session: UploadSession) -> dict[str, Any]:
    return {"uploadId": str(session.pk), "key": session.key, "protocol": session.protocol,
            "filename": session.filename, "mimeType": session.mime_type, "size": session.size,
            "storageProvider": _provider(),
            "uploadExpiresAt": presenters.timestamp(session.expires_at)}


def _finished(request: Request, outcome: Stored, *, repeated: bool) -> HttpResponse:
    """201 with the new file; 200 for a duplicate (``duplicateOf``) or a repeated call."""
    if repeated and not outcome.duplicate:
        body = presenters.media_file(outcome.media, request.build_absolute_uri)
        return json_response(body, status=200)
    return stored_response(request, outcome)


# -- presigned ------------------------------------------------------------------------------
class PresignedUploadView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_upload_presigned", tags=_TAGS,
                   request=AuthorMediaDeclaredUploadSerializer,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        declared = _declared(_valid(AuthorMediaDeclaredUploadSerializer, request.data))
        session, target = upload_sessions.presigned_open(user=request_user(request),
                                                         declared=declared)
        return json_response({**_session(session), **_target(request, target)}, status=201)


class ConfirmUploadView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_upload_confirm", tags=_TAGS,
                   request=AuthorMediaConfirmSerializer,
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        data = _valid(AuthorMediaConfirmSerializer, request.data)
        session = upload_sessions.session_get(
            user=request_user(request), upload_id=data.get("uploadId"), key=data.get("key"),
            protocol=UploadProtocol.PRESIGNED)
        repeated = session.state == UploadState.COMPLETED
        outcome = upload_sessions.presigned_confirm(session)
        return _finished(request, outcome, repeated=repeated)


# -- multipart ------------------------------------------------------------------------------
class MultipartInitiateView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_upload_multipart_initiate", tags=_TAGS,
                   request=AuthorMediaMultipartInitiateSerializer,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        data = _valid(AuthorMediaMultipartInitiateSerializer, request.data)
        session = upload_sessions.multipart_open(user=request_user(request),
                                                 declared=_declared(data),
                                                 part_size=data.get("partSize"))
        via_api = session.fields["via"] == upload_sessions.VIA_STAGED
        return json_response({**_session(session),
                              "partSize": int(session.fields["partSize"]),
                              "partCount": upload_sessions.part_count(session),
                              "partUpload": "api" if via_api else "presigned"}, status=201)


def _multipart(request: Request, upload_id: Any) -> UploadSession:
    return upload_sessions.session_get(user=request_user(request), upload_id=upload_id,
                                       protocol=UploadProtocol.MULTIPART)


def _received(session: UploadSession, received: upload_sessions.Received) -> HttpResponse:
    body: dict[str, Any] = {"uploadId": str(session.pk), "size": received.size,
                            "etag": received.etag}
    if received.part_number:
        body = {"uploadId": str(session.pk), "partNumber": received.part_number,
                "size": received.size, "etag": received.etag}
    response = json_response(body)
    response["ETag"] = received.etag
    return response


class MultipartPartView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="author_media_upload_multipart_part", tags=_TAGS,
        description="JSON `{uploadId, partNumber}`: where to PUT the part (a presigned S3 "
                    "URL, or this server's signed URL on local storage). On local storage "
                    "the part's bytes may also be sent here directly "
                    "(`application/octet-stream`, `uploadId` and `partNumber` in the query).",
        parameters=[OpenApiParameter("uploadId", str), OpenApiParameter("partNumber", int)],
        request={"application/json": AuthorMediaPartSerializer,
                 "application/octet-stream": OpenApiTypes.BINARY},
        responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        if request.content_type.split(";")[0].strip() == "application/octet-stream":
            data = _valid(AuthorMediaPartSerializer, request.query_params)
            session = _multipart(request, data["uploadId"])
            received = upload_sessions.receive_part(session, data["partNumber"],
                                                    upload_sessions.from_stream(request.stream))
            return _received(session, received)
        data = _valid(AuthorMediaPartSerializer, request.data)
        session = _multipart(request, data["uploadId"])
        target = upload_sessions.part_target(session, data["partNumber"])
        return json_response({"uploadId": str(session.pk), "partNumber": data["partNumber"],
                              "size": upload_sessions.expected_part_size(session,
                                                                         data["partNumber"]),
                              **_target(request, target)})


class MultipartCompleteView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_upload_multipart_complete", tags=_TAGS,
                   request=AuthorMediaMultipartCompleteSerializer,
                   responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> HttpResponse:
        data = _valid(AuthorMediaMultipartCompleteSerializer, request.data)
        session = _multipart(request, data["uploadId"])
        claimed = [(int(p["partNumber"]), str(p["etag"])) for p in data["parts"]]
        repeated = session.state == UploadState.COMPLETED
        outcome = upload_sessions.multipart_complete(session, claimed)
        return _finished(request, outcome, repeated=repeated)


class MultipartAbortView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(operation_id="author_media_upload_multipart_abort", tags=_TAGS,
                   request=AuthorMediaUploadIdSerializer, responses={204: None})
    def post(self, request: Request) -> HttpResponse:
        data = _valid(AuthorMediaUploadIdSerializer, request.data)
        upload_sessions.session_abort(_multipart(request, data["uploadId"]))
        return HttpResponse(status=204)


# -- the signed upload URL of local storage ---------------------------------------------------
class _FormFileHandler(FileUploadHandler):
    """Streams the form's ``file`` field into the staging writer (nothing in memory or
    in Django's temporary files); other files are skipped."""

    def __init__(self, writer: StagingWriter) -> None:
        super().__init__()
        self.writer = writer
        self.seen = False

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        if field_name != "file" or self.seen:
            raise SkipFile()
        self.seen = True

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.writer.write(raw_data)

    def file_complete(self, file_size: int) -> None:
        return None


def _form_feed(request: Request) -> upload_sessions.Feed:
    def feed(writer: StagingWriter) -> None:
        handler = _FormFileHandler(writer)
        request.upload_handlers = [handler]
        request.data  # noqa: B018 (parsing the form runs the handler)
        if not handler.seen:
            raise ValidationError({"file": ["A file field is required."]})
    return feed


class UploadTargetView(APIView):
    """``PUT`` (the raw body) or ``POST`` (a form with a ``file`` field, as S3's
    presigned POST) of the bytes of a local upload, authorised by the signed token alone
    (no credentials, like an S3 presigned URL)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    def _receive(self, request: Request, token: str) -> HttpResponse:
        session_id, part = upload_sessions.read_upload_token(token)
        session = UploadSession.objects.filter(pk=session_id).first()
        if session is None:
            raise UploadNotFound()
        is_form = request.content_type.split(";")[0].strip() == "multipart/form-data"
        feed = _form_feed(request) if is_form else upload_sessions.from_stream(request.stream)
        received = (upload_sessions.receive_part(session, part, feed) if part else
                    upload_sessions.receive_file(session, feed))
        return _received(session, received)

    @extend_schema(operation_id="author_media_upload_target_put", tags=_TAGS, auth=[],
                   request={"application/octet-stream": OpenApiTypes.BINARY},
                   responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, token: str) -> HttpResponse:
        return self._receive(request, token)

    @extend_schema(operation_id="author_media_upload_target_post", tags=_TAGS, auth=[],
                   request={"multipart/form-data": OpenApiTypes.OBJECT,
                            "application/octet-stream": OpenApiTypes.BINARY},
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, token: str) -> HttpResponse:
        return self._receive(request, token)
