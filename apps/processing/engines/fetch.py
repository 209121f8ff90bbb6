"""An SSRF-safe HTTP(S) fetcher: the one way the platform downloads a URL a user gave.

A user-supplied URL is a request the server makes on the user's behalf, from inside
the operator's network; left unchecked it reads cloud metadata (169.254.169.254),
admin panels on 127.0.0.1 or anything on 10.0.0.0/8. So, for every hop:

- only ``http``/``https``, no credentials in the URL, a plain host name or IP literal;
  numeric hosts in legacy forms (``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
  ``127.1``) are parsed the way the C resolver and browsers parse them, then vetted;
- the name is resolved exactly once, and every address it resolves to must be
  globally routable (no loopback, private, link-local, shared, multicast, reserved,
  unspecified; IPv6 addresses that embed an IPv4 one are judged by it): one bad
  answer refuses the URL, so mixing a public and a private record does not help;
- the connection goes to the vetted IP itself (no second lookup: DNS rebinding has
  nothing to race), with the right ``Host`` header and, for https, SNI and
  certificate verification against the host name;
- redirects are not followed by a library: each ``Location`` is a new hop, parsed,
  resolved and vetted again, at most ``max_redirects`` of them;
- one deadline covers resolution, connection, TLS and every read of every hop, and
  the body is capped on the *decompressed* bytes (gzip/deflate bombs stop at the cap).

Ports: ``allowed_ports`` (80 and 443 by default, ``None`` for any) applies to public
addresses; addresses inside ``allowed_networks`` (an operator's explicit trust, empty
by default, ``127.0.0.0/8`` in tests) may be reached on any port.

Every failure is a :class:`FetchError` with a short message fit to show a user; what
the message leaves out on purpose (which address a name resolved to) is in ``detail``,
for logs only.

This module is the entry point (:func:`fetch`, :class:`FetchResult`, redirects) and
re-exports the public names; the parts live beside it: ``fetch_errors`` (the
:class:`FetchError` hierarchy), ``fetch_policy`` (:class:`FetchPolicy`),
``fetch_addresses`` (URL parsing, resolution, address vetting) and ``fetch_transport``
(connection, request, body reading and decompression).
"""

from __future__ import annotations

import http.client
import logging
import ssl
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from apps.processing.engines.fetch_addresses import (
    MAX_URL_LENGTH,
    _parse_url,
    _remaining,
    _Target,
    _vetted_addresses,
    check_url,
    is_public_address,
)
from apps.processing.engines.fetch_errors import (
    FetchError,
    FetchFailed,
    FetchRefused,
    FetchTimeout,
    FetchTooLarge,
    FetchTooManyRedirects,
    FetchUnsupportedContent,
)
from apps.processing.engines.fetch_policy import FetchPolicy, IPAddress, IPNetwork
from apps.processing.engines.fetch_transport import (
    _connect,
    _DeadlineSocket,
    _read_body,
    _request,
)

__all__ = [
    "MAX_URL_LENGTH",
    "REDIRECT_STATUSES",
    "FetchError",
    "FetchFailed",
    "FetchPolicy",
    "FetchRefused",
    "FetchResult",
    "FetchTimeout",
    "FetchTooLarge",
    "FetchTooManyRedirects",
    "FetchUnsupportedContent",
    "IPAddress",
    "IPNetwork",
    "check_url",
    "content_charset",
    "fetch",
    "is_public_address",
    "media_type",
]

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# --- fetch ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final URL, after redirects (without fragment)
    status: int
    content_type: str  # the Content-Type header as sent, "" when absent
    headers: Mapping[str, str]  # lower-cased names
    body: bytes  # decoded from any Content-Encoding
    redirects: tuple[str, ...] = ()  # the URLs that redirected, in order

    @property
    def media_type(self) -> str:
        return media_type(self.content_type)

    @property
    def charset(self) -> str | None:
        return content_charset(self.content_type)


def media_type(content_type: str) -> str:
    """``text/html; charset=utf-8`` -> ``text/html``."""
    return content_type.split(";", 1)[0].strip().lower()


def content_charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").strip().lower() or None
    return None


def _hop(target: _Target, policy: FetchPolicy, deadline: float, accept: str,
         allowed_types: frozenset[str] | None) -> FetchResult | str:
    """One request: the result, or the absolute URL a redirect points to."""
    addresses = _vetted_addresses(target, policy, deadline)
    sock = _connect(target, addresses, policy, deadline)
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(_request(target, policy, accept))
        response = http.client.HTTPResponse(_DeadlineSocket(sock, deadline),  # type: ignore[arg-type]
                                            method="GET")
        response.begin()
        with response:
            status = response.status
            if status in REDIRECT_STATUSES:
                location = (response.getheader("Location") or "").strip()
                if not location:
                    raise FetchFailed("The server sent a redirect without a location.",
                                      status=status)
                return urljoin(target.url, location)
            if not 200 <= status < 300:
                raise FetchFailed(f"The server answered with HTTP status {status}.",
                                  status=status)
            content_type = response.getheader("Content-Type") or ""
            if allowed_types is not None and media_type(content_type) not in allowed_types:
                raise FetchUnsupportedContent(detail=content_type)
            body = _read_body(response, policy)
            headers = {name.lower(): value for name, value in response.getheaders()}
            return FetchResult(target.url, status, content_type, headers, body)
    finally:
        sock.close()


def fetch(url: str, *, policy: FetchPolicy | None = None,
          allowed_content_types: Collection[str] | None = None,
          accept: str | None = None) -> FetchResult:
    """GET ``url`` under ``policy`` (the settings' by default), following at most
    ``policy.max_redirects`` redirects, each vetted like the first URL.

    ``allowed_content_types`` (media types such as ``text/html``) refuses any other
    final response before its body is read; ``accept`` is the Accept header (by
    default, those types, or ``*/*``). Raises a :class:`FetchError` subclass.
    """
    policy = policy or FetchPolicy.from_settings()
    allowed = (frozenset(t.strip().lower() for t in allowed_content_types)
               if allowed_content_types is not None else None)
    accept = accept or (", ".join(sorted(allowed)) if allowed else "*/*")
    if any(c in accept for c in "\r\n"):
        raise ValueError("accept must be one line")
    try:
        return _follow(url, policy, accept, allowed)
    except FetchError as exc:
        logger.info("fetch of %.200s: %s (%s)", url, exc.message, exc.detail)
        raise


def _follow(url: str, policy: FetchPolicy, accept: str,
            allowed: frozenset[str] | None) -> FetchResult:
    """The hops of one fetch under one deadline; low-level errors become FetchErrors."""
    deadline = time.monotonic() + policy.timeout
    redirects: list[str] = []
    current = url
    try:
        for _ in range(policy.max_redirects + 1):
            target = _parse_url(current)
            outcome = _hop(target, policy, deadline, accept, allowed)
            if isinstance(outcome, FetchResult):
                return FetchResult(outcome.url, outcome.status, outcome.content_type,
                                   outcome.headers, outcome.body, tuple(redirects))
            redirects.append(target.url)
            current = outcome
    except TimeoutError as exc:
        raise FetchTimeout(detail=f"{policy.timeout}s deadline") from exc
    except ssl.SSLError as exc:
        raise FetchFailed("A secure connection to the server could not be established.",
                          detail=str(exc)) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchFailed("The connection to the server failed.", detail=repr(exc)) from exc
    raise FetchTooManyRedirects(detail=" -> ".join([*redirects, current]))
