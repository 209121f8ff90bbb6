"""Where a URL may lead: parsing and normalising it, resolving its host once, vetting
every address it resolves to.

This is the SSRF boundary of the fetcher (:mod:`apps.processing.engines.fetch`): what
it returns is the only set of addresses a connection may go to, and it needs no
socket beyond name resolution, so it is kept apart from the transport.
"""

from __future__ import annotations

import ipaddress
import socket
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from apps.processing.engines.fetch_errors import FetchFailed, FetchRefused
from apps.processing.engines.fetch_policy import FetchPolicy, IPAddress

MAX_URL_LENGTH = 8192
_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._")
_LEGACY_IPV4_CHARS = frozenset(string.hexdigits.lower() + "x.")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_PATH_SAFE = "/%:@!$&'()*+,;=~"
_QUERY_SAFE = _PATH_SAFE + "?"


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
