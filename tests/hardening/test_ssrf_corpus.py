"""The SSRF corpus of the hardening issue (section 3), counted in connections.

Every target is tried against the real fetcher (``apps.processing.engines.fetch``) and
the real entry points that fetch a URL a user gave: the link-preview engine
(``previews.preview_of``), media_library's saved links (create, and
``POST links/<id>/refresh-preview``; the worker's task runs eagerly after commit) and
ai_media's URL import (``POST /api/media`` whose items are embedded from their
``media_url`` by the tiny CLIP model). author_media has no URL import.

What is counted is measured, not assumed:

- a :class:`Recorder` listens on 127.0.0.1:P and [::1]:P and logs every connection it
  accepts, with a sentinel connection that makes the log complete before it is read;
- the fetcher's own ``connect()`` calls are spied on, so attempts to addresses no local
  listener can stand for (169.254.169.254, 10.0.0.0/8, ...) are counted too; the spy
  refuses those, so nothing here leaves the machine;
- a "public" server stands in on 127.0.0.2:P (the same port), which these tests'
  policy trusts (``FETCH_ALLOWED_NETWORKS = ["127.0.0.2/32"]``): a redirect chain and a
  DNS rebinding then have a reachable first hop whose next one would be the recorder;
- names resolve through a stub (``socket.getaddrinfo`` patched for the names below
  only; the fetcher resolves through it).

The positive controls prove the counters: a policy that trusts the recorder's network
reaches it and is counted, through the fetcher and through each entry point.
"""

from __future__ import annotations

import gzip
import io
import ipaddress
import socket
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image
from rest_framework.test import APIClient

from ai_media.models import Media, MediaEmbedding
from apps.accounts.models import Membership, Role, User, Workspace
from apps.processing import previews
from apps.processing.engines import fetch_transport
from apps.processing.engines.fetch import (
    FetchError,
    FetchPolicy,
    FetchRefused,
    FetchTimeout,
    FetchTooLarge,
    fetch,
)
from apps.processing.errors import TransientError
from media_library.models import SavedLink
from tests.ai_media.factories import item
from tests.apps.processing.engines.test_fetch import send
from tests.hardening.figures import FULL, distinct, record

SECRET = "ssrf-corpus-api-secret-0123456789"  # ai_media's writer credential here
PUBLIC = "127.0.0.2"  # stands in for the internet: trusted by the tests' policy
FORBIDDEN_HOSTS = ("127.0.0.1", "::1")  # the recorder
Route = Callable[[BaseHTTPRequestHandler], None]


# --- the recorder ---------------------------------------------------------------------


class _CountingServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that logs the peer of every connection it accepts, before
    any byte is read: a client that connects and sends nothing is counted too."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 family: socket.AddressFamily) -> None:
        self.address_family = family
        self.accepted: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, peer = super().get_request()
        with self.lock:
            self.accepted.append((str(peer[0]), int(peer[1])))
        return conn, peer


def _handler(routes: dict[str, Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0], routes.get("*"))
            try:
                if route is not None:
                    route(self)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the fetcher hung up (a cap, a deadline): what some tests want
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@dataclass
class Recorder:
    """HTTP listeners on ``hosts``, all on one port, sharing one route table; each logs
    the connections it accepted."""

    hosts: tuple[str, ...]
    routes: dict[str, Route] = field(default_factory=dict)
    port: int = 0
    servers: dict[str, _CountingServer] = field(default_factory=dict)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, port: int = 0) -> Recorder:
        handler = _handler(self.routes)
        for _ in range(50):  # the first bind picks the port; the others must get it too
            try:
                self._bind_all(handler, port)
                break
            except OSError:
                self.stop()
                if port:
                    raise
        else:
            raise RuntimeError("no port free on every address of the recorder")
        for server in self.servers.values():
            thread = threading.Thread(target=server.serve_forever,
                                      kwargs={"poll_interval": 0.01}, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def _bind_all(self, handler: type[BaseHTTPRequestHandler], port: int) -> None:
        for host in self.hosts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            server = _CountingServer((host, port), handler, family)
            self.servers[host] = server
            port = port or int(server.server_address[1])
        self.port = port

    def stop(self) -> None:
        for server in self.servers.values():
            if self.threads:  # serve_forever runs: shutdown() waits for it to end
                server.shutdown()
            server.server_close()
        self.servers, self.threads = {}, []

    def url(self, path: str = "/", host: str | None = None) -> str:
        shown = host or self.hosts[0]
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}{path}"

    def seen(self) -> int:
        """Connections accepted so far by every listener, once each listener has accepted
        everything connected to it before this call (a sentinel connection per listener
        goes through the same FIFO accept queue; it is not counted)."""
        total = 0
        for host, server in self.servers.items():
            with socket.create_connection((host, self.port), timeout=5) as sentinel:
                mine = sentinel.getsockname()[:2]
                deadline = time.monotonic() + 5
                while (str(mine[0]), int(mine[1])) not in server.accepted:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"the recorder on {host} stopped accepting")
                    time.sleep(0.002)
            with server.lock:
                server.accepted.remove((str(mine[0]), int(mine[1])))
                total += len(server.accepted)
        return total


# --- what the routes answer -------------------------------------------------------------

PAGE = (b"<html><head><title>internal admin</title>"
        b'<meta property="og:title" content="secret"></head><body>secret</body></html>')


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()


def answer(handler: BaseHTTPRequestHandler) -> None:
    """What a reachable server gives: an image for image paths, else an HTML page."""
    if handler.path.split("?", 1)[0].endswith(".png"):
        send(handler, PNG, content_type="image/png")
    else:
        send(handler, PAGE)


def redirect(location: str) -> Route:
    return lambda handler: send(handler, b"", status=302, headers={"Location": location})


@cache
def gzip_bomb() -> bytes:
    """~64 KB on the wire, 64 MiB decoded (made once, when a test first needs it)."""
    return gzip.compress(b"\0" * (64 * 1024 * 1024), 9)


def _wanted_type(handler: BaseHTTPRequestHandler) -> str:
    """The type the client accepts (an image for an import, HTML for a preview): a bomb
    or a drip must get past the content-type check to test what it tests."""
    accept = handler.headers.get("Accept", "")
    return "image/png" if accept.startswith("image/") else "text/html"


def bomb(handler: BaseHTTPRequestHandler) -> None:
    send(handler, gzip_bomb(), content_type=_wanted_type(handler),
         headers={"Content-Encoding": "gzip"})


def drip(handler: BaseHTTPRequestHandler) -> None:
    """One byte every 50 ms of a body announced as 100 kB: every read succeeds, the
    whole never arrives (until the server gives up, long after any deadline)."""
    handler.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Type: {_wanted_type(handler)}\r\n"
                        "Content-Length: 100000\r\n\r\n".encode())
    handler.wfile.flush()
    stop = time.monotonic() + 8
    while time.monotonic() < stop:
        time.sleep(0.05)
        handler.wfile.write(b"x")
        handler.wfile.flush()


# --- the connection spy and the resolver stub -------------------------------------------


@dataclass
class ConnectSpy:
    """Every ``connect()`` the fetcher's transport makes, by address. Non-loopback
    addresses are refused after being counted: the tests never touch a real network."""

    attempts: list[tuple[str, int]] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = socket.socket.connect
        transport = fetch_transport.__name__

        def connect(sock: socket.socket, address: Any) -> None:
            if sys._getframe(1).f_globals.get("__name__") == transport:
                host, port = str(address[0]), int(address[1])
                self.attempts.append((host, port))
                if not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
                    raise ConnectionRefusedError("test: no network beyond this machine")
            real(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)


@dataclass
class StubResolver:
    """Names in ``answers`` resolve to their queued answers, one list of addresses per
    lookup (the last one repeats); other names go to the real resolver."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: dict[str, int] = field(default_factory=dict)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups[name] = self.lookups.get(name, 0) + 1
            queue = self.answers[name]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM,
                     6, "", (ip, port, 0, 0) if ":" in ip else (ip, port)) for ip in ips]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- the corpus -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One forbidden destination. ``url`` may use {port} (the recorder's port, shared by
    the public stand-in); ``names`` are resolver stub answers; ``outcome`` is the
    FetchError the fetcher must end with."""

    name: str
    url: str
    outcome: type[FetchError] = FetchRefused
    names: dict[str, list[list[str]]] = field(default_factory=dict)
    setup: Callable[[Recorder, Recorder], None] | None = None
    entries: tuple[str, ...] = ("fetch", "preview", "media_library", "ai_media")


def _chain(recorder: Recorder, public: Recorder) -> None:
    """public /r1 -> /r2 -> /r3 -> the recorder, in the spellings of the last hop."""
    public.routes["/r1"] = redirect("/r2")
    public.routes["/r2"] = redirect(f"http://127.0.0.1:{recorder.port}/admin")


def _chain_to_localhost(recorder: Recorder, public: Recorder) -> None:
    public.routes["/l1"] = redirect(f"//localhost:{recorder.port}/admin")  # scheme-relative


def _chain_to_ipv6(recorder: Recorder, public: Recorder) -> None:
    public.routes["/v1"] = redirect(f"http://[::1]:{recorder.port}/admin")


def _rebind(recorder: Recorder, public: Recorder) -> None:
    # the public stand-in sends the client back to the very same name: the second hop
    # is resolved again, and gets the second (loopback) answer
    public.routes["/first.png"] = redirect(f"http://rebind.example:{recorder.port}/second.png")


def _bombs(recorder: Recorder, public: Recorder) -> None:
    public.routes["/bomb"] = bomb


def _drip(recorder: Recorder, public: Recorder) -> None:
    public.routes["/drip"] = drip


TARGETS = [
    Target("127.0.0.1", "http://127.0.0.1:{port}/admin"),
    Target("localhost", "http://localhost:{port}/admin"),
    Target("[::1]", "http://[::1]:{port}/admin"),
    Target("0.0.0.0", "http://0.0.0.0:{port}/admin"),  # noqa: S104 (fetched, not bound)
    Target("169.254.169.254", "http://169.254.169.254/latest/meta-data/iam/"),
    Target("[::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]:{port}/admin"),
    Target("0x7f.1", "http://0x7f.1:{port}/admin"),
    Target("2130706433", "http://2130706433:{port}/admin"),
    Target("017700000001", "http://017700000001:{port}/admin"),
    Target("127.1", "http://127.1:{port}/admin"),
    Target("fullwidth 127.0.0.1", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/a"),
    Target("10.0.0.0/8", "http://10.0.0.1/"),
    Target("172.16.0.0/12", "http://172.16.5.4/"),
    Target("192.168.0.0/16", "http://192.168.1.1/"),
    Target("100.64.0.0/10", "http://100.64.0.1/"),
    Target("fc00::/7", "http://[fd00::1]/"),
    Target("fe80::/10", "http://[fe80::1]/"),
    Target("[::ffff:10.0.0.1]", "http://[::ffff:10.0.0.1]/"),
    Target("NAT64 of loopback", "http://[64:ff9b::7f00:1]:{port}/admin"),
    Target("6to4 of 169.254.169.254", "http://[2002:a9fe:a9fe::1]/"),
    Target("public name -> loopback", "http://images.example.com:{port}/logo.png",
           names={"images.example.com": [["127.0.0.1"]]}),
    Target("public name -> public + loopback", "http://mixed.example.com:{port}/logo.png",
           names={"mixed.example.com": [[PUBLIC, "127.0.0.1"]]}),
    Target("public name -> metadata", "http://meta.example.com/latest/meta-data/",
           names={"meta.example.com": [["169.254.169.254"]]}),
    Target("redirect chain -> 127.0.0.1", f"http://{PUBLIC}:{{port}}/r1", setup=_chain),
    Target("redirect -> //localhost", f"http://{PUBLIC}:{{port}}/l1",
           setup=_chain_to_localhost),
    Target("redirect -> [::1]", f"http://{PUBLIC}:{{port}}/v1", setup=_chain_to_ipv6),
    Target("dns rebinding", "http://rebind.example:{port}/first.png",
           names={"rebind.example": [[PUBLIC], ["127.0.0.1"]]}, setup=_rebind),
    Target("file:", "file:///etc/passwd"),
    Target("gopher:", "gopher://127.0.0.1:{port}/_GET%20/admin"),
    Target("ftp:", "ftp://127.0.0.1:{port}/etc/passwd"),
    Target("gzip bomb", f"http://{PUBLIC}:{{port}}/bomb", outcome=FetchTooLarge,
           setup=_bombs),
    Target("slow drip", f"http://{PUBLIC}:{{port}}/drip", outcome=FetchTimeout,
           setup=_drip, entries=("fetch", "preview")),
]
if FULL:  # more spellings of the same few addresses
    TARGETS += [
        Target("0177.0.0.1", "http://0177.0.0.1:{port}/admin"),
        Target("0x7f000001", "http://0x7f000001:{port}/admin"),
        Target("127.000.000.001", "http://127.000.000.001:{port}/admin"),
        Target("[::ffff:7f00:1]", "http://[::ffff:7f00:1]:{port}/admin"),
        Target("[::127.0.0.1]", "http://[::127.0.0.1]:{port}/admin"),
        Target("LOCALHOST", "http://LOCALHOST:{port}/admin"),
        # glibc does not resolve these, systemd-resolved does (RFC 6761): stub answers
        Target("localhost.", "http://localhost.:{port}/admin",
               names={"localhost.": [["127.0.0.1"]]}),
        Target("*.localhost", "http://admin.localhost:{port}/admin",
               names={"admin.localhost": [["127.0.0.1", "::1"]]}),
        Target("0", "http://0:{port}/admin"),
        Target("[::]", "http://[::]:{port}/admin"),
        Target("169.254.169.254 decimal", "http://2852039166/latest/meta-data/"),
        Target("169.254.169.254 hex", "http://0xa9fea9fe/latest/meta-data/"),
        Target("192.0.0.0/24", "http://192.0.0.1/"),
        Target("198.18.0.0/15", "http://198.18.0.1/"),
        Target("224.0.0.0/4", "http://224.0.0.1/"),
        Target("255.255.255.255", "http://255.255.255.255/"),
        Target("Teredo", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/"),
        Target("userinfo @127.0.0.1", "http://public.example@127.0.0.1:{port}/admin"),
        Target("dict:", "dict://127.0.0.1:{port}/stats"),
    ]
ENTRIES = ("fetch", "preview", "media_library", "ai_media")
SETTINGS = {"FETCH_ALLOWED_NETWORKS": [f"{PUBLIC}/32"], "FETCH_TIMEOUT": 1.5,
            "FETCH_MAX_BYTES": 1024 * 1024, "FETCH_ALLOWED_PORTS": None}


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def servers() -> Iterator[tuple[Recorder, Recorder]]:
    """The recorder (127.0.0.1 and ::1) and the public stand-in (127.0.0.2), one port."""
    for _ in range(20):
        recorder = Recorder(FORBIDDEN_HOSTS, routes={"*": answer}).start()
        try:
            public = Recorder((PUBLIC,), routes={"*": answer}).start(recorder.port)
            break
        except OSError:
            recorder.stop()
    else:
        raise RuntimeError("no port free on 127.0.0.1, ::1 and 127.0.0.2 at once")
    yield recorder, public
    recorder.stop()
    public.stop()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ConnectSpy:
    found = ConnectSpy()
    found.install(monkeypatch)
    return found


@pytest.fixture
def policy_settings(settings: Any) -> dict[str, Any]:
    """The deployment's policy in these tests: the public stand-in is the internet.
    ``FETCH_ALLOWED_PORTS = None`` so that the only thing refusing a target is its
    address: the port rule cannot hide a hole in the address rule."""
    settings.PROCESSING = {**getattr(settings, "PROCESSING", {}), **SETTINGS}
    return dict(settings.PROCESSING)


# --- the entry points -------------------------------------------------------------------


@dataclass
class Attempt:
    """What an entry point reported for one URL: the fetcher's error code (or "ok"), or
    a refusal of the URL before anything was queued (a 400)."""

    code: str
    detail: str = ""


def via_fetch(url: str, request: pytest.FixtureRequest) -> Attempt:
    try:
        result = fetch(url)
    except FetchError as exc:
        return Attempt(exc.code, exc.message)
    return Attempt("ok", result.url)


def via_preview(url: str, request: pytest.FixtureRequest) -> Attempt:
    try:
        preview = previews.preview_of(url)
    except TransientError as exc:  # a timeout: the task retries it later
        return Attempt(FetchTimeout.code, str(exc))
    if preview["status"] == "ok":
        return Attempt("ok", str(preview.get("url")))
    return Attempt(str(preview["code"]), str(preview["message"]))


def via_media_library(url: str, request: pytest.FixtureRequest) -> Attempt:
    """Create a link through the API (the preview task runs after commit), then ask for
    a refresh. A URL the API refuses is put on a row directly, and refreshed: the
    worker must refuse it on its own, whatever validation let through."""
    capture = request.getfixturevalue("django_capture_on_commit_callbacks")
    workspace = Workspace.objects.create(name="Acme")
    user = User.objects.create_user(username=f"linker-{uuid.uuid4().hex[:8]}",
                                    password="x-Pass-12345")
    Membership.objects.create(workspace=workspace, user=user, role=Role.MEMBER)
    client = APIClient()
    client.force_authenticate(user)
    base = f"/workspaces/{workspace.id}/media-library"
    with capture(execute=True):
        created = client.post(f"{base}/links", {"name": "x", "url": url}, format="json")
    assert created.status_code in (201, 400), created.content
    if created.status_code == 400:
        link_id = str(SavedLink.objects.create(workspace=workspace, name="x", url=url).pk)
    else:
        link_id = created.json()["id"]
    with capture(execute=True):
        refreshed = client.post(f"{base}/links/{link_id}/refresh-preview")
    assert refreshed.status_code == 200, refreshed.content
    preview = SavedLink.objects.get(pk=link_id).preview
    assert preview is not None, "the refresh ran no preview"
    shown = client.get(f"{base}/links/{link_id}").json()
    if preview["status"] == "ok":
        assert shown["previewStatus"] == "ready"
        return Attempt("ok", str(preview.get("url")))
    assert shown["previewStatus"] == "failed" and shown["previewTitle"] is None
    return Attempt(str(preview["code"]), str(preview["message"]))


def via_ai_media(url: str, request: pytest.FixtureRequest) -> Attempt:
    """Import an item whose ``media_url`` is the target; the embedding task fetches it."""
    request.getfixturevalue("clip_on")
    request.getfixturevalue("settings").API_SECRET_KEY = SECRET
    capture = request.getfixturevalue("django_capture_on_commit_callbacks")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {SECRET}")
    with capture(execute=True):
        response = client.post("/api/media", [item("target", media_url=url)], format="json")
    assert response.status_code in (200, 201, 207, 400), response.content
    body = response.json()
    if response.status_code == 400 or not body.get("inserted"):
        return Attempt("refused_by_api", str(body)[:200])
    media = Media.objects.get(pk="target")
    if MediaEmbedding.objects.filter(media_id="target").exists():
        return Attempt("ok", url)
    assert media.embedding_error, "the import neither embedded nor recorded why"
    return Attempt("error", media.embedding_error)


VIA: dict[str, Callable[[str, pytest.FixtureRequest], Attempt]] = {
    "fetch": via_fetch, "preview": via_preview, "media_library": via_media_library,
    "ai_media": via_ai_media}
CODES = {FetchRefused: {"fetch_refused", "refused_by_api"},
         FetchTooLarge: {"fetch_too_large"}, FetchTimeout: {"fetch_timeout"}}
# ai_media records the fetcher's message, not its code: every message FetchRefused has
MESSAGES = {FetchRefused: {FetchRefused.default_message, "The URL is empty.",
                           "The URL is not valid.", "Only http and https URLs can be fetched.",
                           "URLs with a user name or password are not allowed.",
                           "The URL has no host.", "The URL's port is not valid.",
                           "The URL's host name is not valid.",
                           "This URL points to an address that is not allowed.",
                           "This URL's port is not allowed."},
            FetchTooLarge: {FetchTooLarge.default_message},
            FetchTimeout: {FetchTimeout.default_message}}


def _cases() -> list[Any]:
    return [pytest.param(target, entry, id=f"{target.name}-{entry}")
            for target in TARGETS for entry in ENTRIES if entry in target.entries]


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "entry"), _cases())
def test_forbidden_target_gets_no_connection(
        target: Target, entry: str, servers: tuple[Recorder, Recorder], spy: ConnectSpy,
        policy_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    recorder, public = servers
    resolver = StubResolver({name: [list(a) for a in answers]
                             for name, answers in target.names.items()})
    resolver.install(monkeypatch)
    if target.setup is not None:
        target.setup(recorder, public)
    if entry in ("media_library", "ai_media"):
        request.getfixturevalue("db")
    url = target.url.format(port=recorder.port)
    started = time.monotonic()
    attempt = VIA[entry](url, request)
    elapsed = time.monotonic() - started

    seen = recorder.seen()
    listening = {(host, recorder.port) for host in FORBIDDEN_HOSTS}
    unseen = [a for a in spy.attempts if a[0] != PUBLIC and a not in listening]
    connections = seen + len(unseen)
    distinct("SSRF", targets=target.name)
    record("SSRF", connections=connections)
    assert connections == 0, (f"{target.name} via {entry}: {seen} connection(s) reached "
                              f"the recorder, other attempts: {unseen}")
    assert all(host == PUBLIC for host, _port in spy.attempts), spy.attempts
    if attempt.code == "error":  # ai_media: the fetcher's message
        assert attempt.detail in MESSAGES[target.outcome], attempt
    else:
        assert attempt.code in CODES[target.outcome], attempt
    assert "127.0.0.1" not in attempt.detail and "::1" not in attempt.detail  # not told
    for name in target.names:  # the stub was consulted: the case tested what it says
        assert resolver.lookups.get(name, 0) >= 1, resolver.lookups
    if target.name == "dns rebinding":
        # one lookup per hop: the first (public) answer was used for the first
        # connection, the second (loopback) answer refused the second hop; media_library
        # fetches twice (create, refresh), the second time with the loopback answer
        assert resolver.lookups["rebind.example"] == (3 if entry == "media_library" else 2)
        assert public.seen() >= 1
    if target.setup in (_chain, _chain_to_localhost, _chain_to_ipv6):
        assert public.seen() >= 1  # the chain was followed up to its forbidden hop
    if target.outcome is FetchTimeout:  # the deadline holds against a drip
        assert elapsed < float(SETTINGS["FETCH_TIMEOUT"]) + 1.5  # type: ignore[arg-type]


def test_refused_targets_are_refused_before_any_connection(
        servers: tuple[Recorder, Recorder], spy: ConnectSpy,
        policy_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetcher's refusals are decided on addresses, before a socket exists: the spy
    saw no attempt at all for the targets that need no hop."""
    recorder, _public = servers
    resolver = StubResolver({"images.example.com": [["127.0.0.1"]]})
    resolver.install(monkeypatch)
    for target in TARGETS:
        if target.setup is not None or target.outcome is not FetchRefused:
            continue
        resolver.answers.update({n: [list(a) for a in v] for n, v in target.names.items()})
        with pytest.raises(FetchRefused):
            fetch(target.url.format(port=recorder.port))
    assert spy.attempts == []
    assert recorder.seen() == 0


def test_gzip_bomb_stops_at_the_cap_in_memory_too(
        servers: tuple[Recorder, Recorder], policy_settings: dict[str, Any]) -> None:
    """64 MiB decoded from 64 KB: the fetcher stops at its 1 MiB cap, and its peak
    allocation stays near the cap, not near the bomb."""
    recorder, public = servers
    _bombs(recorder, public)
    gzip_bomb()  # made before the measurement: its 64 MiB of zeros are the server's
    tracemalloc.start()
    try:
        with pytest.raises(FetchTooLarge):
            fetch(public.url("/bomb"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while decoding a bomb"
    assert recorder.seen() == 0 and public.seen() == 1


def test_slow_drip_ends_at_the_deadline(servers: tuple[Recorder, Recorder],
                                        policy_settings: dict[str, Any]) -> None:
    recorder, public = servers
    _drip(recorder, public)
    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(public.url("/drip"))
    assert 1.0 < time.monotonic() - started < 3.0
    assert recorder.seen() == 0


# --- positive controls: the counters count ----------------------------------------------


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_control_a_trusted_network_reaches_the_recorder_and_is_counted(
        host: str, servers: tuple[Recorder, Recorder], spy: ConnectSpy) -> None:
    recorder, _public = servers
    network = "::1/128" if ":" in host else "127.0.0.1/32"
    policy = FetchPolicy(allowed_networks=(network,), timeout=3.0)
    result = fetch(recorder.url("/admin", host=host), policy=policy)
    assert result.body == PAGE
    assert recorder.seen() == 1
    assert spy.attempts == [(host, recorder.port)]
    assert recorder.seen() == 1  # settling again counts nothing twice


def test_control_entry_points_reach_a_trusted_recorder(
        servers: tuple[Recorder, Recorder], spy: ConnectSpy, settings: Any,
        request: pytest.FixtureRequest, db: None) -> None:
    """With the recorder's network trusted, every entry point above does fetch from it:
    their zero counts are refusals, not entry points that never fetch."""
    recorder, _public = servers
    settings.PROCESSING = {**SETTINGS, "FETCH_ALLOWED_NETWORKS": ["127.0.0.1/32"]}
    for entry in ENTRIES:
        before = recorder.seen()
        attempt = VIA[entry](recorder.url("/page.png" if entry == "ai_media" else "/page"),
                             request)
        assert attempt.code == "ok", (entry, attempt)
        assert recorder.seen() > before, f"{entry} did not reach the trusted recorder"
    assert spy.attempts and all(a == ("127.0.0.1", recorder.port) for a in spy.attempts)
