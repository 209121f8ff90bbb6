"""Upload request bodies sent without a Content-Length (``Transfer-Encoding: chunked``).

Django reads ``CONTENT_LENGTH`` bytes of a WSGI request body and takes a missing length
for an empty body, so a chunked upload reached the upload views as a request without
its file (a 400 that blamed the client), while the server went on reading a body nobody
wanted. Upload views call :func:`accept_chunked_body` before anything reads the body:

- with a server that de-chunks the body and ends ``wsgi.input`` where it ends
  (``wsgi.input_terminated``: gunicorn, the platform's server), the body is read as it
  arrives through :class:`CappedBody`, which raises ``UploadTooLarge`` (413) at the
  byte that crosses the view's limit. Django spools the file part to a temporary file
  (the announced length below is over ``FILE_UPLOAD_MAX_MEMORY_SIZE``) and the blob
  store streams it on, so an endless body costs a bounded read and flat memory;
- with a server that cannot (Django's development server passes the raw socket), it is
  refused with 411 rather than read as empty.

A body that something already read (a session's CSRF check reads the form first) is
too late to fix up: 411 too, never a silently empty upload.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.http import HttpRequest

from apps.storage.errors import LengthRequired, UploadTooLarge


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int = ..., /) -> bytes: ...


class CappedBody:
    """A request body that may not exceed ``limit`` bytes: the read that would cross it
    raises UploadTooLarge, having read at most one byte past the limit."""

    def __init__(self, raw: _Readable, limit: int) -> None:
        self._raw = raw
        self.limit = limit
        self.consumed = 0

    def _account(self, data: bytes) -> bytes:
        self.consumed += len(data)
        if self.consumed > self.limit:
            raise UploadTooLarge(f"The request body is larger than {self.limit} bytes.")
        return data

    def _allowance(self, size: int | None) -> int:
        left = self.limit + 1 - self.consumed  # one byte more than allowed: the signal
        return left if size is None or size < 0 else min(size, left)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(64 * 1024):
                parts.append(chunk)
            return b"".join(parts)
        return self._account(self._raw.read(self._allowance(size)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._account(self._raw.readline(self._allowance(size)))


def accept_chunked_body(request: Any, *, max_bytes: int) -> None:
    """Let an upload view read a chunked request body of at most ``max_bytes`` (see the
    module's docstring); does nothing for a request with a Content-Length.

    ``request`` is Django's HttpRequest or DRF's Request around one.
    """
    django_request: HttpRequest = getattr(request, "_request", request)
    meta = django_request.META
    if meta.get("CONTENT_LENGTH") not in (None, ""):
        return
    encoding = str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if "chunked" not in encoding:
        return
    already_read = (getattr(django_request, "_read_started", False)
                    or hasattr(django_request, "_post") or hasattr(django_request, "_body"))
    if not meta.get("wsgi.input_terminated") or already_read:
        raise LengthRequired()
    django_request._stream = CappedBody(meta["wsgi.input"], max_bytes)  # type: ignore[assignment]
    # What Django's and DRF's parsers need to read a body at all: the most it may be.
    meta["CONTENT_LENGTH"] = str(max_bytes)
