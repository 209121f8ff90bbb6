"""Serves files behind the platform's signed URLs, with HTTP Range support."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import IO

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_http_methods

from apps.core.dialects import ApiError
from apps.core.errors import DomainError
from apps.core.views import json_error
from apps.storage.blobs import (
    blob_store,
    content_disposition,
    download_name,
    is_servable,
    served_disposition,
)
from apps.storage.errors import BlobNotFound
from apps.storage.models import ScanStatus, StoredFile, Variant
from apps.storage.signals import bytes_served
from apps.storage.signing import read_token

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return json_error(request, ApiError(exc.status_code, exc.message, exc.code))


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive; None for no/ignored range; 'unsatisfiable' for a 416."""
    match = _RANGE.match(header.strip())
    if not match or "," in header:
        return None  # absent, multi-range or malformed: serve the whole file (RFC 9110)
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def _stream(handle: IO[bytes], remaining: int, on_done: Callable[[int], object],
            chunk: int = 256 * 1024) -> Iterator[bytes]:
    """The bytes of the range; ``on_done(n)`` with what was actually handed to the server
    (a client that hangs up halfway is counted for half)."""
    sent = 0
    try:
        while remaining > 0:
            data = handle.read(min(chunk, remaining))
            if not data:
                break
            remaining -= len(data)
            sent += len(data)
            yield data
    finally:
        handle.close()
        on_done(sent)


# Nothing served here may run script or fetch: a sandbox without allow-scripts. A
# (sanitised) SVG may use its inline styles and data: images, so it still renders.
DEFAULT_CSP = "default-src 'none'; sandbox"
CSP_BY_TYPE = {"image/svg+xml": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                "sandbox"}


@require_http_methods(["GET", "HEAD"])
def serve(request: HttpRequest, token: str,
          filename: str) -> HttpResponse | StreamingHttpResponse:
    try:
        grant = read_token(token)
    except DomainError as exc:
        return _error(request, exc)
    # A link issued before a quarantine (or a re-scan) stops working with it.
    stored = StoredFile.objects.filter(pk=grant.file_id, scan_status=ScanStatus.CLEAN,
                                       is_quarantined=False).first()
    if stored is not None and not is_servable(stored):
        stored = None
    obj: StoredFile | Variant | None = stored
    if stored is not None and grant.variant_id is not None:
        obj = Variant.objects.filter(pk=grant.variant_id, stored_file=stored).first()
    if obj is None or stored is None:
        return _error(request, BlobNotFound())
    # The name in the URL is not signed: the stored name goes in Content-Disposition, so
    # that an edited link cannot rename the download (or smuggle a CR/LF into the header).
    filename = download_name(stored, obj)
    size = obj.size
    wanted = _parse_range(request.headers.get("Range", ""), size)
    if wanted == "unsatisfiable":
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    length = max(0, end - start + 1)
    status = 206 if isinstance(wanted, tuple) else 200
    response: HttpResponse | StreamingHttpResponse
    if request.method == "HEAD":
        response = HttpResponse(status=status)
    else:
        try:
            handle = blob_store.open(obj)
        except DomainError as exc:
            return _error(request, exc)
        if start:
            handle.seek(start)
        variant = obj if isinstance(obj, Variant) else None

        def served(nbytes: int) -> None:
            if nbytes:
                bytes_served.send(sender=StoredFile, stored_file=stored, variant=variant,
                                  nbytes=nbytes)

        response = StreamingHttpResponse(_stream(handle, length, served), status=status)
    if isinstance(wanted, tuple):
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    response["Content-Type"] = obj.mime_type
    response["Accept-Ranges"] = "bytes"
    # Only passive media may be inline, whatever the link asked for (served_disposition).
    response["Content-Disposition"] = content_disposition(
        served_disposition(grant.disposition, obj.mime_type), filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_BY_TYPE.get(obj.mime_type, DEFAULT_CSP)
    response["Cache-Control"] = "private, max-age=300"
    response["ETag"] = f'"{obj.sha256}"' if isinstance(obj, StoredFile) else f'"{obj.pk}"'
    return response
