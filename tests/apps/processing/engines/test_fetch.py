"""The SSRF-safe fetcher against real HTTP(S) servers on 127.0.0.1.

The default policy must refuse those servers (loopback), in every spelling of the
address; the tests that need to reach them allow 127.0.0.0/8 explicitly. Nothing
here needs the network: public addresses appear only where the policy refuses them
before any connection (ports), and host names resolve through /etc/hosts or a
patched resolver.
"""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.processing.engines.fetch import (
    FetchError,
    FetchFailed,
    FetchPolicy,
    FetchRefused,
    FetchTimeout,
    FetchTooLarge,
    FetchTooManyRedirects,
    FetchUnsupportedContent,
    check_url,
    fetch,
    is_public_address,
)

LOOPBACK = FetchPolicy(allowed_networks=("127.0.0.0/8",), timeout=3.0)
Route = Callable[[BaseHTTPRequestHandler], None]


# --- a real server --------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 whose answers are plain functions per path."""

    host: str = "127.0.0.1"
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    scheme: str = "http"
    httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def start(self, ssl_context: ssl.SSLContext | None = None) -> LocalServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(Seen(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path.split("?", 1)[0])
                try:
                    if route is None:
                        send(self, b"not found", status=404, content_type="text/plain")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the fetcher hung up: what several tests want
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer((self.host, 0), Handler)
        httpd.block_on_close = False  # slow handlers end on their own
        if ssl_context is not None:
            httpd.socket = ssl_context.wrap_socket(httpd.socket, server_side=True)
            self.scheme = "https"
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


def send(handler: BaseHTTPRequestHandler, body: bytes, *, status: int = 200,
         content_type: str = "text/html; charset=utf-8",
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def page(body: bytes, **kwargs: Any) -> Route:
    return lambda handler: send(handler, body, **kwargs)


def redirect(location: str, status: int = 302) -> Route:
    return lambda handler: send(handler, b"", status=status, headers={"Location": location})


def dribble(prefix: bytes, unit: bytes, interval: float, *, seconds: float = 6.0) -> Route:
    """Send ``prefix`` then ``unit`` every ``interval`` s: always busy, never done."""
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(prefix)
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            time.sleep(interval)
            handler.wfile.write(unit)
    return route


@pytest.fixture
def server() -> Iterator[LocalServer]:
    running = LocalServer().start()
    yield running
    running.stop()


@dataclass
class FakeResolver:
    """Names in ``answers`` resolve to their queued answers, one list of addresses per
    lookup (the last one repeats); other names go to the real resolver."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: dict[str, int] = field(default_factory=dict)

    def __setitem__(self, name: str, answers: list[list[str]]) -> None:
        self.answers[name] = answers

    def getaddrinfo(self, real: Callable[..., Any], host: Any, port: Any,
                    *args: Any, **kwargs: Any) -> Any:
        if host not in self.answers:
            return real(host, port, *args, **kwargs)
        self.lookups[host] = self.lookups.get(host, 0) + 1
        queue = self.answers[host]
        ips = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (ip, port)) for ip in ips]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver()
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *args, **kwargs: fake.getaddrinfo(real, *args, **kwargs))
    return fake


# --- the policy refuses loopback and other private addresses ---------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1", "localhost", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1",
    "127.000.000.001", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]",
    "0.0.0.0", "0", "[::]", "LOCALHOST",  # noqa: S104  (fetched, not bound)
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_is_refused_by_default(server: LocalServer, host: str) -> None:
    server.routes["/"] = page(b"secret")
    with pytest.raises(FetchRefused) as caught:
        fetch(server.url("/", host=host), policy=FetchPolicy())
    assert server.requests == []
    assert "127.0.0.1" not in caught.value.message  # the user is not told the address


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/",
    "http://10.0.0.1/", "http://10.255.255.255:8080/", "http://192.168.1.1/",
    "http://172.16.0.1/", "http://100.64.0.1/", "http://192.0.0.1/", "http://198.18.0.1/",
    "http://224.0.0.1/", "http://255.255.255.255/", "http://240.0.0.1/",
    "http://[fe80::1]/", "http://[fc00::1]/", "http://[ff02::1]/", "http://[2001:db8::1]/",
    "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::]/", "http://[2002:7f00:1::]/",
    "http://0xa9fea9fe/", "http://2852039166/", "http://0251.0376.0251.0376/",
])
def test_private_link_local_and_reserved_addresses_are_refused(url: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchRefused):
        fetch(url, policy=FetchPolicy())
    assert time.monotonic() - started < 1  # refused, not tried


@pytest.mark.parametrize("address, public", [
    ("1.1.1.1", True), ("2606:4700:4700::1111", True), ("::ffff:1.1.1.1", True),
    ("64:ff9b::101:101", True), ("2002:101:101::1", True),
    ("127.0.0.1", False), ("::ffff:10.0.0.1", False), ("64:ff9b::7f00:1", False),
    ("169.254.169.254", False), ("0.0.0.0", False), ("::", False), ("224.0.0.251", False),  # noqa: S104
    ("100.64.0.1", False), ("fe80::1", False), ("::7f00:1", False),
])
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.com/file", "gopher://127.0.0.1:70/_stats",
    "javascript:alert(1)", "data:text/html,<h1>hi</h1>", "dict://127.0.0.1:11211/stats",
    "//example.com/", "example.com", "http:///path", "http://", "", "   ",
    "http://user:pass@example.com/", "http://user@example.com/", "http://[::1/",
    "http://example.com:99999/", "http://example.com:0/", "http://exa mple.com/",
    "http://example.com/\r\nX-Injected: 1", "http://exa%00mple.com/",
])
def test_malformed_urls_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(FetchRefused):
        fetch(url, policy=FetchPolicy())
    with pytest.raises(FetchRefused):
        check_url(url)


def test_check_url_normalises_without_network() -> None:
    assert check_url("HTTP://Bücher.Example/a b?q=é#frag") == (
        "http://xn--bcher-kva.example/a%20b?q=%C3%A9")
    assert check_url("http://0x7f.1:8080") == "http://127.0.0.1:8080/"


def test_public_address_on_an_unlisted_port_is_refused() -> None:
    with pytest.raises(FetchRefused, match="port"):
        fetch("http://1.1.1.1:25/", policy=FetchPolicy())


def test_an_answer_mixing_public_and_private_addresses_is_refused(
        server: LocalServer, resolver: FakeResolver) -> None:
    resolver["mixed.test"] = [["1.1.1.1", "127.0.0.1"]]
    with pytest.raises(FetchRefused):
        fetch(server.url("/", host="mixed.test"), policy=FetchPolicy(allowed_ports=None))
    assert server.requests == []


def test_unresolvable_name_fails() -> None:
    with pytest.raises(FetchFailed, match="resolved") as caught:
        fetch("http://no-such-host.invalid/", policy=FetchPolicy())
    assert caught.value.status is None


# --- fetching from an allowed network -------------------------------------------------


def test_fetch_from_an_allowed_network(server: LocalServer) -> None:
    server.routes["/hello"] = page(b"<p>hi</p>", headers={"X-Extra": "1"})
    result = fetch(server.url("/hello?x=1"), policy=LOOPBACK)
    assert (result.status, result.body, result.redirects) == (200, b"<p>hi</p>", ())
    assert result.url == server.url("/hello?x=1")
    assert result.media_type == "text/html" and result.charset == "utf-8"
    assert result.headers["x-extra"] == "1"
    seen = server.requests[0].headers
    assert seen["Host"] == f"127.0.0.1:{server.port}"
    assert seen["Accept-Encoding"] == "gzip, deflate"
    assert seen["User-Agent"] == LOOPBACK.user_agent


def test_allowed_networks_setting(server: LocalServer, settings: Any) -> None:
    server.routes["/"] = page(b"ok")
    with pytest.raises(FetchRefused):
        fetch(server.url())
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": ["127.0.0.0/8"], "FETCH_TIMEOUT": 2}
    assert fetch(server.url()).body == b"ok"
    assert FetchPolicy.from_settings().timeout == 2


def test_settings_given_as_single_values(settings: Any) -> None:
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": "10.0.0.0/8", "FETCH_ALLOWED_PORTS": 8080}
    policy = FetchPolicy.from_settings(timeout=1)
    assert policy.allowed_networks == ("10.0.0.0/8",) and policy.allowed_ports == (8080,)
    assert policy.timeout == 1 and policy.trusts(ipaddress.ip_address("10.1.2.3"))
    settings.PROCESSING = {"FETCH_ALLOWED_PORTS": None}
    assert FetchPolicy.from_settings().allowed_ports is None


def test_bad_settings_are_reported(settings: Any) -> None:
    settings.PROCESSING = {"FETCH_ALLOWED_NETWORKS": ["not a network"]}
    with pytest.raises(ImproperlyConfigured):
        FetchPolicy.from_settings()


def test_allowed_networks_do_not_cover_ipv6_loopback(server: LocalServer) -> None:
    server.routes["/"] = page(b"ok")
    with pytest.raises(FetchRefused):
        fetch(server.url("/", host="[::1]"), policy=LOOPBACK)


def test_ipv4_mapped_address_is_judged_and_reached_as_ipv4(server: LocalServer) -> None:
    server.routes["/"] = page(b"ok")
    assert fetch(server.url("/", host="[::ffff:127.0.0.1]"), policy=LOOPBACK).body == b"ok"


def test_legacy_numeric_host_is_normalised(server: LocalServer) -> None:
    server.routes["/"] = page(b"ok")
    result = fetch(server.url("/", host="2130706433"), policy=LOOPBACK)
    assert result.url == server.url("/")
    assert server.requests[0].headers["Host"] == f"127.0.0.1:{server.port}"


# --- DNS: one lookup per hop, and the connection goes to its answer ---------------------


def test_dns_rebinding_has_nothing_to_race(server: LocalServer,
                                           resolver: FakeResolver) -> None:
    # First answer: the (allowed) test server; any later one: a refused address.
    resolver["rebind.test"] = [["127.0.0.1"], ["192.0.2.1"]]
    server.routes["/"] = page(b"from the vetted address")
    result = fetch(server.url("/", host="rebind.test"), policy=LOOPBACK)
    assert result.body == b"from the vetted address"
    assert resolver.lookups == {"rebind.test": 1}
    assert server.requests[0].headers["Host"] == f"rebind.test:{server.port}"


def test_each_redirect_hop_is_resolved_once_and_vetted_again(
        server: LocalServer, resolver: FakeResolver) -> None:
    resolver["rebind.test"] = [["127.0.0.1"], ["169.254.169.254"]]
    server.routes["/a"] = redirect(server.url("/b", host="rebind.test"))
    server.routes["/b"] = page(b"never")
    with pytest.raises(FetchRefused):
        fetch(server.url("/a", host="rebind.test"), policy=LOOPBACK)
    assert resolver.lookups == {"rebind.test": 2}
    assert [seen.path for seen in server.requests] == ["/a"]


# --- redirects ------------------------------------------------------------------------


def test_redirects_are_followed_up_to_the_limit(server: LocalServer) -> None:
    for i in range(3):
        server.routes[f"/r{i}"] = redirect(f"/r{i + 1}", status=(301, 307, 308)[i])
    server.routes["/r3"] = page(b"done")
    result = fetch(server.url("/r0"), policy=LOOPBACK)
    assert result.body == b"done" and result.url == server.url("/r3")
    assert result.redirects == tuple(server.url(f"/r{i}") for i in range(3))


def test_too_many_redirects(server: LocalServer) -> None:
    for i in range(5):
        server.routes[f"/r{i}"] = redirect(f"/r{i + 1}")
    with pytest.raises(FetchTooManyRedirects):
        fetch(server.url("/r0"), policy=LOOPBACK)
    assert len(server.requests) == 4  # the first request and 3 redirects
    with pytest.raises(FetchTooManyRedirects):
        fetch(server.url("/r0"), policy=FetchPolicy(allowed_networks=("127.0.0.0/8",),
                                                    max_redirects=0))


@pytest.mark.parametrize("location", [
    "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/",
    "http://10.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1:{port}/",
    "http://user:pw@127.0.0.1:{port}/",
])
def test_a_redirect_to_a_forbidden_target_is_refused(server: LocalServer,
                                                     location: str) -> None:
    server.routes["/go"] = redirect(location.format(port=server.port))
    with pytest.raises(FetchRefused):
        fetch(server.url("/go"), policy=LOOPBACK)
    assert [seen.path for seen in server.requests] == ["/go"]


def test_a_redirect_outside_the_allowed_network_is_refused(server: LocalServer) -> None:
    server.routes["/go"] = redirect(server.url("/", host="127.0.0.2"))
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",))
    with pytest.raises(FetchRefused):
        fetch(server.url("/go"), policy=policy)
    assert [seen.path for seen in server.requests] == ["/go"]


def test_redirect_without_location_fails(server: LocalServer) -> None:
    server.routes["/"] = page(b"", status=302)
    with pytest.raises(FetchFailed, match="location"):
        fetch(server.url(), policy=LOOPBACK)


# --- statuses, connections ----------------------------------------------------------


def test_error_status(server: LocalServer) -> None:
    server.routes["/down"] = page(b"busy", status=503)
    with pytest.raises(FetchFailed) as caught:
        fetch(server.url("/missing"), policy=LOOPBACK)
    assert caught.value.status == 404 and not caught.value.retryable
    with pytest.raises(FetchFailed) as caught:
        fetch(server.url("/down"), policy=LOOPBACK)
    assert caught.value.status == 503 and caught.value.retryable


def test_connection_refused_fails() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchFailed) as caught:
        fetch(f"http://127.0.0.1:{port}/", policy=LOOPBACK)
    assert caught.value.status is None and caught.value.retryable


def test_a_body_cut_short_fails(server: LocalServer) -> None:
    def short(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                            b"Connection: close\r\n\r\nonly this")
    server.routes["/"] = short
    with pytest.raises(FetchFailed, match="cut short"):
        fetch(server.url(), policy=LOOPBACK)


def test_garbage_instead_of_http_fails(server: LocalServer) -> None:
    server.routes["/"] = lambda handler: handler.wfile.write(b"SSH-2.0-OpenSSH\r\n")
    with pytest.raises(FetchFailed):
        fetch(server.url(), policy=LOOPBACK)


def test_chunked_response(server: LocalServer) -> None:
    def chunked(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                            b"Content-Type: text/plain\r\n\r\n"
                            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    server.routes["/"] = chunked
    assert fetch(server.url(), policy=LOOPBACK).body == b"hello world"


# --- content types and encodings ------------------------------------------------------


def test_unwanted_content_type_is_refused_before_the_body(server: LocalServer) -> None:
    server.routes["/img"] = page(b"\x89PNG" * 100, content_type="image/png")
    with pytest.raises(FetchUnsupportedContent):
        fetch(server.url("/img"), policy=LOOPBACK, allowed_content_types=["text/html"])
    assert server.requests[0].headers["Accept"] == "text/html"
    assert fetch(server.url("/img"), policy=LOOPBACK).media_type == "image/png"


def test_missing_content_type_is_not_html(server: LocalServer) -> None:
    def bare(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    server.routes["/"] = bare
    with pytest.raises(FetchUnsupportedContent):
        fetch(server.url(), policy=LOOPBACK, allowed_content_types=["text/html"])
    assert fetch(server.url(), policy=LOOPBACK).content_type == ""


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as IIS sent it
    ("gzip", lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:])),  # members
])
def test_compressed_bodies_are_decoded(server: LocalServer, encoding: str,
                                       compress: Callable[[bytes], bytes]) -> None:
    text = b"<title>compressed</title>" * 50
    server.routes["/"] = page(compress(text), headers={"Content-Encoding": encoding})
    assert fetch(server.url(), policy=LOOPBACK).body == text


def test_unsupported_content_encoding(server: LocalServer) -> None:
    server.routes["/"] = page(b"\x0b\x02\x80hi\x03", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchUnsupportedContent, match="encoding"):
        fetch(server.url(), policy=LOOPBACK)


@pytest.mark.parametrize("body", [
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20,  # bad deflate block
    gzip.compress(b"<p>hello</p>" * 100)[:-30],  # truncated
    b"plain text, not gzip",
], ids=["bad-block", "truncated", "not-gzip"])
def test_corrupt_compressed_body_fails(server: LocalServer, body: bytes) -> None:
    server.routes["/"] = page(body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchFailed, match="corrupt"):
        fetch(server.url(), policy=LOOPBACK)


def test_empty_body_with_a_content_encoding(server: LocalServer) -> None:
    server.routes["/"] = page(b"", headers={"Content-Encoding": "gzip"})
    assert fetch(server.url(), policy=LOOPBACK).body == b""


# --- caps -----------------------------------------------------------------------------

SMALL = FetchPolicy(allowed_networks=("127.0.0.0/8",), max_bytes=1000, timeout=3.0)


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_body_at_the_cap_is_accepted_and_one_more_byte_is_not(
        server: LocalServer, encoding: str) -> None:
    def body(size: int) -> Route:
        data = b"a" * size
        if encoding == "gzip":
            return page(gzip.compress(data), headers={"Content-Encoding": "gzip"})
        return page(data)
    server.routes["/fits"] = body(1000)
    server.routes["/over"] = body(1001)
    assert len(fetch(server.url("/fits"), policy=SMALL).body) == 1000
    with pytest.raises(FetchTooLarge):
        fetch(server.url("/over"), policy=SMALL)


def test_streaming_ten_megabytes_stops_at_the_cap(server: LocalServer) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                            b"Connection: close\r\n\r\n")
        for _ in range(160):  # 10 MiB, no length announced
            handler.wfile.write(b"x" * 65536)
    server.routes["/"] = endless
    started = time.monotonic()
    with pytest.raises(FetchTooLarge):
        fetch(server.url(), policy=LOOPBACK)
    assert time.monotonic() - started < 2


def test_announced_length_over_the_cap_is_refused_at_once(server: LocalServer) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n")
        time.sleep(2)  # sends nothing: the fetcher must not wait for it
    server.routes["/"] = huge
    started = time.monotonic()
    with pytest.raises(FetchTooLarge):
        fetch(server.url(), policy=LOOPBACK)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", lambda data: gzip.compress(data, 9)), ("deflate", lambda data: zlib.compress(data, 9)),
], ids=["gzip", "deflate"])
def test_decompression_bomb_stops_at_the_cap(server: LocalServer, encoding: str,
                                             compress: Callable[[bytes], bytes]) -> None:
    bomb = compress(b"\0" * (20 * 1024 * 1024))
    assert len(bomb) < 100_000  # small on the wire, 20 MiB decoded
    server.routes["/"] = page(bomb, headers={"Content-Encoding": encoding})
    with pytest.raises(FetchTooLarge):
        fetch(server.url(), policy=LOOPBACK)


# --- the deadline ---------------------------------------------------------------------

QUICK = FetchPolicy(allowed_networks=("127.0.0.0/8",), timeout=1.0)


@pytest.mark.parametrize("route", [
    # A body dribbled one byte every 50 ms: every read succeeds, the whole never ends.
    dribble(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"x", 0.05),
    # Headers dribbled the same way.
    dribble(b"HTTP/1.1 200 OK\r\n", b"X-Slow: y\r\n", 0.05),
    # A chunked body whose chunk-size line never ends.
    dribble(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"0", 0.05),
    # Nothing at all.
    dribble(b"", b"", 0.05),
], ids=["body", "headers", "chunk-size", "silent"])
def test_slow_servers_hit_the_deadline(server: LocalServer, route: Route) -> None:
    server.routes["/"] = route
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as caught:
        fetch(server.url(), policy=QUICK)
    assert 0.9 < time.monotonic() - started < 2.0
    assert caught.value.retryable


def test_the_deadline_covers_all_hops(server: LocalServer) -> None:
    def slow_redirect(target: str) -> Route:
        def route(handler: BaseHTTPRequestHandler) -> None:
            time.sleep(0.4)
            send(handler, b"", status=302, headers={"Location": target})
        return route
    for i in range(3):
        server.routes[f"/r{i}"] = slow_redirect(f"/r{i + 1}")
    server.routes["/r3"] = page(b"late")
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(server.url("/r0"), policy=QUICK)
    assert time.monotonic() - started < 2.0


# --- errors are presentable -----------------------------------------------------------


def test_every_error_has_a_code_and_a_message() -> None:
    for kind in (FetchError, FetchRefused, FetchTooLarge, FetchTimeout, FetchFailed,
                 FetchTooManyRedirects, FetchUnsupportedContent):
        error = kind()
        assert error.message and str(error) == error.message and error.code.startswith("fetch")


# --- https: SNI and certificate checked against the name, connection to the vetted IP -


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(name("preview.test")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("preview.test")]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(pem))
    paths["cert"].write_bytes(leaf.public_bytes(pem))
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


@pytest.fixture
def tls_server(certificates: dict[str, Path]) -> Iterator[tuple[LocalServer, list[str]]]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates["cert"], certificates["key"])
    names: list[str] = []

    def remember_name(sock: Any, server_name: str | None, context: Any) -> None:
        names.append(server_name or "")

    context.sni_callback = remember_name
    running = LocalServer().start(ssl_context=context)
    running.routes["/"] = page(b"secure")
    yield running, names
    running.stop()


def test_https_verifies_the_certificate_against_the_name(
        tls_server: tuple[LocalServer, list[str]], certificates: dict[str, Path],
        resolver: FakeResolver) -> None:
    server, names = tls_server
    resolver["preview.test"] = [["127.0.0.1"]]
    trusting = ssl.create_default_context(cafile=str(certificates["ca"]))
    policy = FetchPolicy(allowed_networks=("127.0.0.0/8",), timeout=3, ssl_context=trusting)
    result = fetch(server.url("/", host="preview.test"), policy=policy)
    assert result.body == b"secure" and result.url.startswith("https://preview.test:")
    assert names == ["preview.test"]
    assert server.requests[0].headers["Host"] == f"preview.test:{server.port}"
    assert resolver.lookups == {"preview.test": 1}


def test_https_with_a_name_the_certificate_does_not_cover_fails(
        tls_server: tuple[LocalServer, list[str]], certificates: dict[str, Path],
        resolver: FakeResolver) -> None:
    server, _ = tls_server
    resolver["other.test"] = [["127.0.0.1"]]
    trusting = ssl.create_default_context(cafile=str(certificates["ca"]))
    policy = FetchPolicy(allowed_networks=("127.0.0.0/8",), timeout=3, ssl_context=trusting)
    for host in ("other.test", "127.0.0.1"):
        with pytest.raises(FetchFailed, match="secure connection"):
            fetch(server.url("/", host=host), policy=policy)
    assert server.requests == []


def test_https_with_an_untrusted_certificate_fails(
        tls_server: tuple[LocalServer, list[str]], resolver: FakeResolver) -> None:
    server, _ = tls_server
    resolver["preview.test"] = [["127.0.0.1"]]
    with pytest.raises(FetchFailed, match="secure connection"):
        fetch(server.url("/", host="preview.test"), policy=LOOPBACK)
    assert server.requests == []
