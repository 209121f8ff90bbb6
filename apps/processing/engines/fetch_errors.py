"""The errors of the SSRF-safe fetcher (:mod:`apps.processing.engines.fetch`).

Kept apart so that every part of the fetcher (address vetting, transport, redirects)
raises the same small hierarchy without importing the others: callers catch
:class:`FetchError`, show its ``message`` and log its ``detail``.
"""

from __future__ import annotations

# --- errors ---------------------------------------------------------------------------


class FetchError(Exception):
    """Any failure to fetch a URL; ``message`` may be shown to users, ``detail`` may not."""

    code = "fetch_error"
    default_message = "The URL could not be fetched."

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)

    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed (timeouts, 5xx, dropped connections)."""
        return False


class FetchRefused(FetchError):
    """The URL breaks the policy (scheme, credentials, address, port): never retried."""

    code = "fetch_refused"
    default_message = "This URL is not allowed."


class FetchTooLarge(FetchError):
    code = "fetch_too_large"
    default_message = "The response is too large."


class FetchTimeout(FetchError):
    code = "fetch_timeout"
    default_message = "The server took too long to respond."

    @property
    def retryable(self) -> bool:
        return True


class FetchFailed(FetchError):
    """The server answered badly (``status`` set) or could not be reached (``status`` None)."""

    code = "fetch_failed"

    def __init__(self, message: str | None = None, *, status: int | None = None,
                 detail: str = "") -> None:
        self.status = status
        super().__init__(message, detail=detail)

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class FetchTooManyRedirects(FetchFailed):
    code = "fetch_too_many_redirects"
    default_message = "The URL redirects too many times."

    @property
    def retryable(self) -> bool:
        return False


class FetchUnsupportedContent(FetchError):
    """The response is of a content type (or content encoding) the caller cannot use."""

    code = "fetch_unsupported_content"
    default_message = "The URL does not point to a supported kind of content."
