"""The tus 1.0.0 endpoints (beyond the spec): ``/v1/media/upload/tus/`` creates an
upload, ``/v1/media/upload/tus/<id>`` is it (HEAD offset, PATCH bytes, DELETE).

tus answers are headers, not JSON: every response carries ``Tus-Resumable``; errors
keep this app's problem+json body (with the status codes tus defines: 409 offset,
412 version, 413 size, 415 content type, 460 checksum). Requests authenticate the
platform's usual ways (JWT, API key, session) and an upload is only its creator's:
anyone else gets 404. OPTIONS (capabilities, and what a browser's CORS preflight
sends without credentials) is public. The work is in ``tus.py``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import MethodNotAllowed, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import request_user
from author_media import tus
from author_media.models import UploadSession, UploadState
from author_media.services import Stored


class _AnyAccept(BaseContentNegotiation):
    """tus clients send whatever Accept they like; the only body is problem+json."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any,
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def _header(name: str, description: str, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.HEADER, required=required,
                            description=description)


TUS_RESUMABLE = _header("Tus-Resumable", "Always 1.0.0 (412 otherwise).", required=True)
UPLOAD_CHECKSUM = _header("Upload-Checksum", "`sha256 <base64 digest>` (or sha1) of this "
                          "request's body; 460 and nothing kept on a mismatch.")


def _content_length(request: Request) -> int | None:
    return tus.parse_int(request.META.get("CONTENT_LENGTH"), "Content-Length", required=False)


def _require_offset_stream(request: Request) -> None:
    media_type = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if media_type != tus.OFFSET_CONTENT_TYPE:
        raise tus.WrongContentType()


def _progress(response: HttpResponse, session: UploadSession, stored: Stored | None) -> None:
    """Upload-Offset, Upload-Expires while open, and the MediaFile once finished."""
    response["Upload-Offset"] = str(session.offset)
    if session.state == UploadState.OPEN:
        response["Upload-Expires"] = http_date(session.expires_at.timestamp())
    media_id = stored.media.pk if stored is not None else session.media_file_id
    if media_id is not None:
        response["X-Media-File-Id"] = str(media_id)
    if stored is not None and stored.duplicate:
        response["X-Media-Duplicate-Of"] = str(stored.media.pk)


class _TusView(APIView):
    """Headers in, headers out: no body parsing, any Accept, Tus-Resumable checked."""

    parser_classes: list[Any] = []
    content_negotiation_class = _AnyAccept

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tus_headers: dict[str, str] = {}  # added to whatever the response is

    def _is_options(self) -> bool:
        request = getattr(self, "request", None)  # None while the schema is generated
        return request is not None and request.method == "OPTIONS"

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [] if self._is_options() else super().get_authenticators()

    def get_permissions(self) -> Any:
        return [] if self._is_options() else super().get_permissions()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != tus.TUS_VERSION:
            raise tus.TusVersionUnsupported()

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, tus.OffsetMismatch):
            response["Upload-Offset"] = str(exc.current)
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = tus.TUS_VERSION
        for name, value in self.tus_headers.items():
            response[name] = value
        if response.status_code == 412:
            response["Tus-Version"] = tus.TUS_VERSION
        elif response.status_code == 413:
            response["Tus-Max-Size"] = str(tus.max_size())
        elif response.status_code == 460:
            response.reason_phrase = "Checksum Mismatch"
        return response

    @extend_schema(exclude=True)
    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = HttpResponse(status=204)
        response["Tus-Version"] = tus.TUS_VERSION
        response["Tus-Extension"] = ",".join(tus.EXTENSIONS)
        response["Tus-Max-Size"] = str(tus.max_size())
        response["Tus-Checksum-Algorithm"] = ",".join(tus.CHECKSUMS)
        return response


class TusCreateView(_TusView):
    @extend_schema(
        operation_id="author_media_tus_create", tags=["author_media"],
        summary="Create a resumable (tus 1.0.0) upload",
        description=(
            "tus `creation` (and `creation-with-upload`): reserves `Upload-Length` bytes of "
            "the storage quota (413 beyond it, with the headroom) and answers 201 with the "
            "upload's URL in `Location` and `Upload-Expires`. A body of type "
            "`application/offset+octet-stream` is the first chunk. See "
            "docs/api/author_media_tus.md."),
        parameters=[
            TUS_RESUMABLE,
            _header("Upload-Length", "The file's size in bytes.", required=True),
            _header("Upload-Metadata", "`key base64(value)` pairs: filename, filetype, "
                    "folder, siteId, altText, caption, tags (comma-separated)."),
            UPLOAD_CHECKSUM,
        ],
        request={tus.OFFSET_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={201: OpenApiResponse(description="Created; `Location` is the upload.")})
    def post(self, request: Request) -> HttpResponse:
        user = request_user(request)
        if request.headers.get("Upload-Defer-Length") is not None:
            raise ValidationError({"Upload-Defer-Length": [
                "Deferred lengths are not supported; send Upload-Length."]})
        length = tus.parse_int(request.headers.get("Upload-Length"), "Upload-Length")
        assert length is not None  # required
        first_chunk = _content_length(request) or 0
        checksum = None
        if first_chunk:
            _require_offset_stream(request)
            if first_chunk > length:
                raise tus.ExceedsLength(extra={"uploadLength": length, "uploadOffset": 0})
            checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
        session = tus.session_create(user=user, length=length,
                                     metadata_header=request.headers.get("Upload-Metadata"))
        self.tus_headers["Location"] = request.build_absolute_uri(
            reverse("am-tus-upload", kwargs={"upload_id": str(session.pk)}))
        stored = None
        if first_chunk:
            appended = tus.append(session=session, offset=0, nbytes=first_chunk,
                                  body=request._request, checksum=checksum)
            session, stored = appended.session, appended.stored
        response = HttpResponse(status=201)
        _progress(response, session, stored)
        return response


class TusUploadView(_TusView):
    @extend_schema(exclude=True)
    def head(self, request: Request, upload_id: str) -> HttpResponse:
        session = tus.session_get(user=request_user(request), upload_id=upload_id)
        tus.check_not_over(session)
        response = HttpResponse(status=200)
        _progress(response, session, None)
        response["Upload-Length"] = str(session.size)
        metadata = session.fields.get("metadata")
        if metadata:
            response["Upload-Metadata"] = metadata
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        operation_id="author_media_tus_patch", tags=["author_media"],
        summary="Append a chunk to a resumable upload",
        description=(
            "Appends the body at `Upload-Offset` (409 if that is not the upload's offset: "
            "ask it with HEAD). A chunk cut off midway keeps what arrived. The last byte "
            "stores the file: `X-Media-File-Id` names it (an existing file with the same "
            "bytes: `X-Media-Duplicate-Of` too)."),
        parameters=[TUS_RESUMABLE, _header("Upload-Offset", "Where this chunk goes.",
                                           required=True), UPLOAD_CHECKSUM],
        request={tus.OFFSET_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={204: OpenApiResponse(description="Appended; `Upload-Offset` is the new "
                                                    "offset.")})
    def patch(self, request: Request, upload_id: str) -> HttpResponse:
        session = tus.session_get(user=request_user(request), upload_id=upload_id)
        _require_offset_stream(request)
        offset = tus.parse_int(request.headers.get("Upload-Offset"), "Upload-Offset")
        assert offset is not None  # required
        nbytes = _content_length(request)
        if nbytes is None:  # no body, unless it is chunked (which WSGI cannot pass on)
            if request.META.get("HTTP_TRANSFER_ENCODING"):
                raise tus.LengthRequired()
            nbytes = 0
        checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
        appended = tus.append(session=session, offset=offset, nbytes=nbytes,
                              body=request._request, checksum=checksum)
        response = HttpResponse(status=204)
        _progress(response, appended.session, appended.stored)
        return response

    @extend_schema(
        operation_id="author_media_tus_delete", tags=["author_media"],
        summary="Terminate a resumable upload",
        description="tus `termination`: the received bytes are deleted and the quota "
                    "reservation released; 409 for an upload that is complete.",
        parameters=[TUS_RESUMABLE], responses={204: None})
    def delete(self, request: Request, upload_id: str) -> HttpResponse:
        tus.session_terminate(user=request_user(request), upload_id=upload_id)
        return HttpResponse(status=204)

    @extend_schema(
        operation_id="author_media_tus_override", tags=["author_media"],
        summary="PATCH or DELETE for clients that can only POST",
        description="tus `X-HTTP-Method-Override: PATCH` or `DELETE`.",
        parameters=[TUS_RESUMABLE, _header("X-HTTP-Method-Override", "PATCH or DELETE.",
                                           required=True)],
        request={tus.OFFSET_CONTENT_TYPE: OpenApiTypes.BINARY},
        responses={204: None})
    def post(self, request: Request, upload_id: str) -> HttpResponse:
        override = (request.headers.get("X-HTTP-Method-Override") or "").upper()
        if override == "PATCH":
            return self.patch(request, upload_id)
        if override == "DELETE":
            return self.delete(request, upload_id)
        raise MethodNotAllowed("POST")
