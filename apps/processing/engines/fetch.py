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
"""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import logging
import socket
import ssl
import string
import threading
import time
import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_URL_LENGTH = 8192
_CHUNK = 64 * 1024
_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._")
_LEGACY_IPV4_CHARS = frozenset(string.hexdigits.lower() + "x.")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?"


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


# --- policy ---------------------------------------------------------------------------

# Attribute of FetchPolicy -> key in settings.PROCESSING.
_SETTING_KEYS = {
    "timeout": "FETCH_TIMEOUT",
    "max_bytes": "FETCH_MAX_BYTES",
    "max_redirects": "FETCH_MAX_REDIRECTS",
    "allowed_networks": "FETCH_ALLOWED_NETWORKS",
    "allowed_ports": "FETCH_ALLOWED_PORTS",
    "user_agent": "FETCH_USER_AGENT",
}


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; the defaults are the platform's, ``from_settings`` applies
    the deployment's ``PROCESSING`` overrides, tests build their own."""

    timeout: float = 5.0
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 3
    allowed_networks: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] | None = (80, 443)
    user_agent: str = "media-platform-fetcher/0.1"
    # Not a setting: a context trusting a private CA (tests, internal imports).
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    networks: tuple[IPNetwork, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("timeout and max_bytes must be positive, max_redirects >= 0")
        if any(c in self.user_agent for c in "\r\n"):
            raise ValueError("user_agent must be one line")
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        object.__setattr__(self, "networks", networks)

    @classmethod
    def from_settings(cls, **overrides: Any) -> FetchPolicy:
        """The policy configured in ``PROCESSING`` (``FETCH_*`` keys of
        apps/processing/conf.py), read now so that ``override_settings`` applies; keyword
        arguments win."""
        from apps.processing.conf import processing_settings

        values: dict[str, Any] = {attr: getattr(processing_settings, key)
                                  for attr, key in _SETTING_KEYS.items()}
        values.update(overrides)
        for attr in ("allowed_networks", "allowed_ports"):
            value = values.get(attr)
            if isinstance(value, str | int):  # one network or port given bare
                values[attr] = (value,)
            elif value is not None:
                values[attr] = tuple(value)
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"PROCESSING FETCH_* settings: {exc}") from exc

    def trusts(self, ip: IPAddress) -> bool:
        """Whether the operator allowed this (otherwise refused) address explicitly."""
        return any(ip.version == net.version and ip in net for net in self.networks)


# --- addresses ------------------------------------------------------------------------


def _normalise(ip: IPAddress) -> IPAddress:
    """``::ffff:a.b.c.d`` is the IPv4 address a.b.c.d: vet it and connect to it as one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a translation/tunnel prefix routes to (6to4, Teredo, NAT64, ...)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """Whether ``ip`` is globally routable: what an untrusted URL may reach."""
    ip = _normalise(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            if not is_public_address(embedded):
                return False
            # NAT64 of a public address is how IPv6-only hosts reach it; ::/8 is
            # "reserved" to Python, so it is judged by the embedded address alone.
            if ip in _NAT64:
                return True
    return bool(ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)))


def _numeric_host(host: str) -> IPAddress | None:
    """The IP address ``host`` spells, also in the legacy IPv4 forms inet_aton accepts
    (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``), else None (a name)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and set(host) <= _LEGACY_IPV4_CHARS:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


# --- URLs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    ip: IPAddress | None
    host_header: str
    request_target: str


def _ascii_host(hostname: str) -> str:
    try:
        host = hostname if hostname.isascii() else hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise FetchRefused("The URL's host name is not valid.", detail=hostname) from exc
    if not host or not set(host) <= _HOST_CHARS:
        raise FetchRefused("The URL's host name is not valid.", detail=hostname)
    return host


def _parse_url(url: str) -> _Target:
    """Check the parts of ``url`` that need no network; normalise what is sent."""
    if not isinstance(url, str) or not url.strip():
        raise FetchRefused("The URL is empty.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise FetchRefused("The URL is not valid.")
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        raise FetchRefused("The URL is not valid.", detail=str(exc)) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused("Only http and https URLs can be fetched.", detail=scheme)
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("URLs with a user name or password are not allowed.")
    if not hostname:
        raise FetchRefused("The URL has no host.")
    default_port = 443 if scheme == "https" else 80
    port = default_port if port is None else port
    if port == 0:
        raise FetchRefused("The URL's port is not valid.")
    ip: IPAddress | None
    if ":" in hostname:  # an IPv6 literal (urlsplit saw the brackets)
        try:
            ip = ipaddress.IPv6Address(hostname)
        except ValueError as exc:
            raise FetchRefused("The URL is not valid.", detail=hostname) from exc
        host = str(ip)
    else:
        host = _ascii_host(hostname)
        ip = _numeric_host(host)
        host = str(ip) if ip is not None else host
    shown = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    target = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_QUERY_SAFE)
    clean = f"{scheme}://{host_header}{target}"  # normalised: what was requested
    return _Target(clean, scheme, host, port, ip, host_header, target)


def check_url(url: str) -> str:
    """Refuse, without any network access, a URL the fetcher would never fetch (scheme,
    credentials, malformed host or port); return it normalised. For form validation:
    addresses are still vetted by :func:`fetch`."""
    return _parse_url(url).url


# --- resolution -----------------------------------------------------------------------


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


def _getaddrinfo(host: str, port: int, deadline: float) -> list[str]:
    """``getaddrinfo`` bounded by the deadline (it has no timeout of its own): it runs
    in a daemon thread that is abandoned if the deadline passes."""
    answers: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            answers.extend(str(info[4][0]) for info in infos)
        except (OSError, UnicodeError) as exc:
            errors.append(exc)

    worker = threading.Thread(target=work, name="fetch-resolve", daemon=True)
    worker.start()
    worker.join(_remaining(deadline))
    if worker.is_alive():
        raise TimeoutError("name resolution")
    if errors or not answers:
        raise FetchFailed("The host name could not be resolved.",
                          detail=f"{host}: {errors[0] if errors else 'no address'}")
    return answers


def _vetted_addresses(target: _Target, policy: FetchPolicy, deadline: float) -> list[IPAddress]:
    """Resolve the host once and return its addresses, or refuse if any one of them is
    not allowed (a mix of public and private answers is an attack, not a fallback)."""
    if target.ip is not None:
        raw: Iterable[IPAddress] = [target.ip]
    else:
        raw = (ipaddress.ip_address(a.split("%", 1)[0])
               for a in _getaddrinfo(target.host, target.port, deadline))
    addresses = list(dict.fromkeys(_normalise(ip) for ip in raw))
    for ip in addresses:
        if policy.trusts(ip):
            continue
        if not is_public_address(ip):
            raise FetchRefused("This URL points to an address that is not allowed.",
                               detail=f"{target.host} -> {ip}")
        if policy.allowed_ports is not None and target.port not in policy.allowed_ports:
            raise FetchRefused("This URL's port is not allowed.", detail=str(target.port))
    return addresses


# --- connection -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side where each read may only wait until the shared
    deadline: a server dribbling headers or body one byte at a time still stops."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile('rb')``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


def _connect(target: _Target, addresses: list[IPAddress], policy: FetchPolicy,
             deadline: float) -> socket.socket:
    """Connect to the first vetted address that answers (never to the name)."""
    failure: OSError | None = None
    for ip in addresses:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect((str(ip), target.port))
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        if target.scheme != "https":
            return sock
        context = policy.ssl_context or _default_ssl_context()
        try:
            sock.settimeout(_remaining(deadline))
            return context.wrap_socket(sock, server_hostname=target.host)
        except BaseException:
            sock.close()
            raise
    raise FetchFailed("The server could not be reached.", detail=f"{target.host}: {failure}")


def _request(target: _Target, policy: FetchPolicy, accept: str) -> bytes:
    lines = [
        f"GET {target.request_target} HTTP/1.1",
        f"Host: {target.host_header}",
        f"User-Agent: {policy.user_agent}",
        f"Accept: {accept}",
        "Accept-Encoding: gzip, deflate",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii", "strict")


# --- body -----------------------------------------------------------------------------


class _Decoder:
    """Content-Encoding decoding that never produces more than ``limit`` bytes in all."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self.produced = 0
        self.fed = False
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _output(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self.produced > self.limit:
            raise FetchTooLarge(detail=f"over {self.limit} bytes decoded")
        return data

    def feed(self, chunk: bytes) -> bytes:
        self.fed = self.fed or bool(chunk)
        if self.encoding == "identity":
            return self._output(chunk)
        if self._zlib is None:  # deflate: zlib-wrapped per the RFC, raw by some servers
            raw = not (len(chunk) >= 2 and chunk[0] & 0x0F == 8
                       and (chunk[0] << 8 | chunk[1]) % 31 == 0)
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        out = bytearray()
        while chunk:
            if self._zlib.eof:
                if self.encoding == "deflate" or not chunk.startswith(b"\x1f\x8b"):
                    break  # trailing bytes after the stream: ignored, as browsers do
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
            budget = self.limit - self.produced - len(out)
            try:
                # budget + 1: producing more than the budget is the signal to stop.
                out += self._zlib.decompress(chunk, budget + 1)
            except zlib.error as exc:
                raise FetchFailed("The response is corrupt.", detail=str(exc)) from exc
            if len(out) > budget:
                raise FetchTooLarge(detail=f"over {self.limit} bytes decoded")
            chunk = self._zlib.unused_data if self._zlib.eof else b""
        return self._output(bytes(out))

    def finish(self) -> None:
        """A compressed stream that stops before its end is a truncated body."""
        if self.fed and self._zlib is not None and not self._zlib.eof:
            raise FetchFailed("The response is corrupt.", detail="truncated stream")


def _content_length(response: http.client.HTTPResponse) -> int | None:
    if "chunked" in (response.getheader("Transfer-Encoding") or "").lower():
        return None
    try:
        value = int(response.getheader("Content-Length") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


def _read_body(response: http.client.HTTPResponse, policy: FetchPolicy) -> bytes:
    encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise FetchUnsupportedContent("The server sent an unsupported content encoding.",
                                      detail=encoding)
    expected = _content_length(response)
    if expected is not None and expected > policy.max_bytes:
        raise FetchTooLarge(detail=f"Content-Length {expected}")
    decoder = _Decoder(encoding, policy.max_bytes)
    body = bytearray()
    received = 0
    while chunk := response.read1(_CHUNK):
        received += len(chunk)
        if received > policy.max_bytes:
            raise FetchTooLarge(detail=f"over {policy.max_bytes} bytes received")
        body += decoder.feed(chunk)
    if expected is not None and received < expected:
        raise FetchFailed("The response was cut short.", detail=f"{received}/{expected}")
    decoder.finish()
    return bytes(body)


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
