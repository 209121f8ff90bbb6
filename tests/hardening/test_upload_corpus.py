"""The upload attack corpus of the hardening issue (section 2), through the apps' real
HTTP upload endpoints, and a time-bounded fuzz of the image engines.

Every hostile file is posted to author_media ``POST /v1/media/upload``, user_library
``POST /api/library`` and media_library ``POST …/items/upload`` as a raw multipart body
(the client's file name byte for byte: Django's test client would strip its
directories). After commit the real work runs (Celery is eager): the clamd scan, then
the pipeline. Each upload must end in a defined state:

- refused with a 4xx in the app's error dialect, with nothing stored; or
- stored, then ``ready``, ``failed`` (with a reason) or ``infected`` (quarantined);

never a 5xx, never a task raising out of the worker. A stored file's key is the
platform's own (no byte of the client's name) and stays under the storage root. When
served (the URL the app hands out, then the signed file URL), it is never shown inline
as anything a browser could run: only passive media types are inline, everything else
is ``Content-Disposition: attachment`` with ``X-Content-Type-Options: nosniff``; an
infected file is never served. EPS/FITS/PDF bytes are never decoded (Ghostscript is
never started), nested playlists and SVG references never fetch (a recorder counts).

The expected outcome of a sample is the platform's (``tests/apps/processing/corpus.py``,
as the blob store and the pipeline decide it), unless the app does not take that kind
of file at all (user_library: images and videos; media_library: images, videos and
documents; author_media: anything but markup and script), in which case it is a 4xx.

Two requests need a real server: a chunked body with no Content-Length one byte over
the limit (gunicorn, the platform's server, started on the test database; 413 while
the body streams, the worker's peak memory flat), and 10,000 multipart parts.

Figures (``tests/hardening/figures.py``): ``UPLOAD files`` (distinct samples),
``served_inline``, ``server_errors``, ``crashes`` (per upload, 0 or 1), ``fuzzed``
(examples run through the engines).
"""

from __future__ import annotations

import io
import mimetypes
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import EpsImagePlugin, FitsImagePlugin, Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import Membership, Role, User, Workspace
from apps.core.errors import DomainError
from apps.processing import variants
from apps.processing.conf import processing_settings
from apps.processing.engines import exif, svg, video
from apps.processing.engines.probe import ProbeRefused, probe_image, refusing_bad_input
from apps.processing.engines.render import render_variants
from apps.storage.blobs import blob_store, is_servable, served_disposition
from apps.storage.errors import BlobNotFound
from apps.storage.models import ProcessingState, ScanStatus, StoredFile
from apps.storage.sniff import SNIFF_BYTES, Sniffed, claimed_type, sniff
from author_media.conf import REFUSED_EXTENSIONS, REFUSED_TYPES
from author_media.models import MediaFile
from author_media.services import REFUSED_CLAIMS
from media_library.models import MediaItem
from scripts.test_services import port_open
from tests.apps.processing import corpus as platform
from tests.apps.processing import photos, videos
from tests.apps.processing.engines.test_clamd import EICAR
from tests.hardening.figures import FULL, distinct, record
from tests.hardening.test_ssrf_corpus import Recorder
from user_library.models import LibraryItem
from user_library.services import declared_format

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db

# What a browser may show inline: pixels, sound, moving pictures. Anything else it could
# run (HTML, SVG, XML, script, PDF with its JavaScript) or does not know is a download.
PASSIVE_INLINE = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif",
                            "image/bmp", "image/tiff", "image/heic", "image/heif"})
ACTIVE = frozenset({"text/html", "image/svg+xml", "application/javascript", "text/javascript",
                    "application/pdf", "application/xml", "text/xml", "application/xhtml+xml",
                    "application/postscript", "text/plain", "application/octet-stream"})
TERMINAL = ("ready", "failed", "infected")


# --- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """One file a client sends: its name (byte for byte, NUL and RTL included), its
    bytes, the type it declares (None: guessed from the name, as browsers do) and the
    outcomes the platform may give it ("refused" is any 4xx)."""

    name: str
    make: Callable[[], bytes]
    outcomes: frozenset[str]
    content_type: str | None = None
    label: str = ""  # the sample's name in figures and test ids, when ``name`` is not

    @property
    def title(self) -> str:
        return self.label or self.name

    def declared(self) -> str:
        if self.content_type is not None:
            return self.content_type
        guessed, _ = mimetypes.guess_type(self.name.replace("\0", ""), strict=False)
        return guessed or "application/octet-stream"


def _outcomes(text: str) -> frozenset[str]:
    return frozenset("refused" if o.startswith("refused") else o for o in text.split("|"))


READY = frozenset({"ready"})
PNG_BYTES = platform.noisy("PNG", (48, 32))


@cache
def recorder() -> Recorder:
    """One loopback server per test process that counts every connection: SVG
    references and playlists below point at it, and nothing may ever connect."""
    return Recorder(("127.0.0.1",), routes={}).start()


def _recorded_playlist() -> bytes:
    url = recorder().url("/segment.ts")
    return (f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{url}\n#EXTINF:10,\n"
            "file:///etc/passwd\n#EXT-X-ENDLIST\n").encode()


def _recorded_svg() -> bytes:
    url = recorder().url("/x")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink"><image href="{url}.png" width="4" '
            f'height="4"/><use xlink:href="{url}.svg#a"/><style>@import url({url}.css);'
            f'</style><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" '
            f'src="{url}.html"/></foreignObject></svg>').encode()


def _recorded_dtd_svg() -> bytes:
    url = recorder().url("/evil.dtd")
    return (f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY % remote SYSTEM "{url}">'
            f'%remote;]><svg xmlns="http://www.w3.org/2000/svg"/>').encode()


def _names() -> list[Hostile]:
    """Hostile names on a harmless PNG: each is stored under a key of the platform's."""
    names = [
        ("../../../../etc/cron.d/evil.png", "name ../"),
        ("..\\..\\..\\Windows\\System32\\evil.png", "name ..\\"),
        ("/etc/passwd.png", "absolute name /"),
        ("C:\\Windows\\win.ini.png", "absolute name C:\\"),
        ("x" * 296 + ".png", "name of 300 characters"),
        ("nul\0byte.png", "name with NUL"),
        ("report\u202efdp.png", "name with RTL override"),
        ("\u2067photo\u2069\u200f.png", "name with bidi isolates"),
    ]
    return [Hostile(name, lambda: PNG_BYTES, READY, label=label) for name, label in names]


def _php_names() -> list[Hostile]:
    """Script named as images (a.jpg.php and a.php%00.jpg are in the platform corpus)."""
    php = platform.PHP
    return [
        Hostile("a.php\0.jpg", lambda: php, frozenset({"refused"}), label="a.php<NUL>.jpg"),
        Hostile("A.PHP", lambda: php, frozenset({"ready"})),
        Hostile("shell.php.jpg", platform.jpeg_html, READY, label="a.php.jpg JPEG"),
    ]


def _truncated_and_flipped(count: int) -> list[Hostile]:
    """``count`` damaged images over JPEG, PNG, WebP and GIF: cut at a random length or
    with a few random bits flipped (headers included, so a few stop being images)."""
    rng = random.Random(2024)
    bases = {"jpg": platform.noisy("JPEG", quality=90), "png": platform.noisy("PNG"),
             "webp": platform.noisy("WEBP"), "gif": platform.gif_frames(12, (40, 30))}
    out: list[Hostile] = []
    for index in range(count):
        ext = ("jpg", "png", "webp", "gif")[index % 4]
        base = bases[ext]
        if index % 8 < 4:
            cut = rng.randrange(1, len(base))
            out.append(Hostile(f"cut-{index}-at-{cut}.{ext}", partial(_cut, base, cut),
                               frozenset(TERMINAL[:2]) | {"refused"}))
        else:
            seed, flips = rng.randrange(1 << 30), rng.randrange(1, 40)
            out.append(Hostile(f"flip-{index}-x{flips}.{ext}", partial(_flip, base, seed, flips),
                               frozenset(TERMINAL[:2]) | {"refused"}))
    return out


def _cut(data: bytes, length: int) -> bytes:
    return data[:length]


@cache
def _ten_thousand_frames() -> bytes:
    return platform.gif_frames(10_000, (4, 4))  # 0.8 s to make: once per process


def _flip(data: bytes, seed: int, flips: int) -> bytes:
    rng = random.Random(seed)
    mutable = bytearray(data)
    for _ in range(flips):
        mutable[rng.randrange(len(mutable))] ^= 1 << rng.randrange(8)
    return bytes(mutable)


def hostile_corpus() -> list[Hostile]:
    # the platform's corpus (HTML named page.png, PSD named .jpg, SVGs, EICAR, bombs, ...)
    samples = [Hostile(s.name, s.make, _outcomes(s.outcome)) for s in platform.corpus()]
    samples += _names() + _php_names()
    samples += [
        Hostile("photo.png", lambda: PNG_BYTES, frozenset({"refused"}),
                content_type="text/html", label="PNG declared text/html"),
        Hostile("layers.psd.jpg", platform.psd, frozenset({"refused"}), label="PSD as .jpg"),
        Hostile("photo.tif.jpg", lambda: platform.noisy("TIFF"), frozenset({"failed"}),
                label="TIFF as .jpg"),
        Hostile("dos-eps.png", lambda: b"\xc5\xd0\xd3\xc6" + platform.EPS,
                frozenset({"refused"})),
        # FITS bytes are no image the platform knows: a name claiming one is refused
        Hostile("image.fits", platform.fits, frozenset({"refused"})),
        Hostile("10000-frames.gif", _ten_thousand_frames, READY),
        Hostile("recorded.m3u8", _recorded_playlist, READY),
        Hostile("recorded-hls.avi", lambda: platform.avi_hls(_recorded_playlist()),
                frozenset({"failed"})),
        Hostile("recorded.svg", _recorded_svg, READY),
        Hostile("remote-dtd.svg", _recorded_dtd_svg, frozenset({"failed"})),
        Hostile("eicar.com", lambda: EICAR, frozenset({"infected"})),
        Hostile("eicar.jpg", lambda: EICAR, frozenset({"refused"})),
    ]
    samples += _truncated_and_flipped(200 if FULL else 12)  # x 3 endpoints
    return samples


# --- the endpoints ------------------------------------------------------------------------


@dataclass
class Owner:
    user: User
    workspace: Workspace
    client: APIClient

    @property
    def library_base(self) -> str:
        return f"/workspaces/{self.workspace.id}/media-library"


@dataclass(frozen=True)
class Endpoint:
    """One upload endpoint: where it is, its error dialect, which files it takes, how
    its rows lead to the StoredFile and to the URL it hands out for the file."""

    name: str
    dialect: str
    kinds: frozenset[str]

    def path(self, workspace: Workspace) -> str:
        return {"author_media": "/v1/media/upload", "user_library": "/api/library",
                "media_library": f"/workspaces/{workspace.id}/media-library/items/upload",
                }[self.name]

    def fields(self) -> dict[str, str]:
        return {"source": "generate"} if self.name == "user_library" else {}

    def refuses(self, sample: Hostile, sniffed: Sniffed) -> bool:
        """Whether this app refuses the file whatever the platform would make of it."""
        if sniffed.kind not in self.kinds:
            return True
        name = sample.name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
        if self.name == "author_media":
            claims = set(claimed_type(name, sample.declared()))
            return (sniffed.mime_type in REFUSED_TYPES or bool(claims & REFUSED_CLAIMS)
                    or os.path.splitext(name.lower())[1] in REFUSED_EXTENSIONS)
        if self.name == "user_library":
            declared = declared_format(sample.declared())
            return sniffed.mime_type == "image/svg+xml" or (
                declared is not None and declared != sniffed.mime_type)
        return False

    def stored(self, owner: Owner, body: dict[str, Any]) -> StoredFile:
        if self.name == "author_media":
            row: Any = MediaFile.objects.get(pk=body["id"])
        elif self.name == "user_library":
            row = LibraryItem.objects.get(pk=body["item"]["id"])
        else:
            row = MediaItem.objects.get(pk=body["id"])
        assert row.stored_file is not None
        stored: StoredFile = row.stored_file
        return stored

    def served_url(self, owner: Owner, body: dict[str, Any]) -> str | None:
        """The URL the app now shows for the file (None while it is not to be served)."""
        client = owner.client
        detail = {"author_media": f"/v1/media/{body.get('id')}",
                  "user_library": f"/api/library/{body.get('item', {}).get('id')}",
                  "media_library": f"{owner.library_base}/items/{body.get('id')}"}[self.name]
        shown = client.get(detail)
        if shown.status_code == 404:  # hidden (quarantined): no URL either
            return None
        assert shown.status_code == 200, shown.content[:300]
        if self.name == "author_media":
            response = client.get(urlsplit(shown.json()["publicUrl"]).path)
            if response.status_code == 404:
                return None
            assert response.status_code == 302, response.content
            return str(response["Location"])
        if self.name == "user_library":
            url: str | None = shown.json()["item"]["signed_url"]
            return url
        url = shown.json()["fileUrl"]
        return url


ENDPOINTS = [
    Endpoint("author_media", "problem",
             frozenset({"image", "gif", "video", "document", "other"})),
    Endpoint("user_library", "success", frozenset({"image", "gif", "video"})),
    Endpoint("media_library", "nest", frozenset({"image", "gif", "video", "document"})),
]


def multipart(fields: dict[str, str], file_name: str, data: bytes, content_type: str,
              file_field: str = "file") -> tuple[bytes, str]:
    """A multipart/form-data body with ``file_name`` as the client wrote it (quotes and
    line breaks escaped as browsers do, everything else byte for byte)."""
    boundary = f"----hardening{uuid4().hex}"
    out = bytearray()
    for key, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                f"{value}\r\n").encode()
    escaped = (file_name.encode("utf-8").replace(b'"', b"%22").replace(b"\r", b"%0D")
               .replace(b"\n", b"%0A"))
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="').encode() + escaped + (
        f'"\r\nContent-Type: {content_type}\r\n\r\n').encode()
    out += data + f"\r\n--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def post_raw(client: APIClient, path: str, body: bytes, content_type: str) -> Any:
    """POST ``body`` as it is (the test client sends bytes untouched; its stub says str)."""
    data: Any = body
    return client.generic("POST", path, data, content_type=content_type)


def assert_dialect(endpoint: Endpoint, response: Any) -> None:
    """A refusal reads as every other error of the app does."""
    body = response.json()
    status = response.status_code
    if endpoint.dialect == "problem":
        assert response["Content-Type"] == "application/problem+json"
        assert body["status"] == status and body["code"] and body["title"], body
    elif endpoint.dialect == "success":
        assert body["success"] is False and isinstance(body["error"], str), body
    else:
        assert body["statusCode"] == status and body["error"] and body["message"], body


# --- what is checked on every stored file -------------------------------------------------

KEY_LAYOUTS = (
    re.compile(r"^[uw]/[0-9a-f-]+/\d{4}/\d{2}/[0-9a-f]{32}\.[a-z0-9]+$"),
    re.compile(r"^user-media/[0-9a-f-]+/\d{13}-[a-z0-9]{8}\.[a-z0-9]+$"),
    # a rewrite (metadata stripped, SVG sanitised) goes beside the old key
    re.compile(r"^user-media/[0-9a-f-]+/[0-9a-f]{32}\.[a-z0-9]+$"),
)
BIDI_AND_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def assert_key_is_ours(stored: StoredFile, media_root: Path, client_name: str) -> None:
    """The key is the platform's (no byte of the client's name) and under the root."""
    assert any(layout.match(stored.key) for layout in KEY_LAYOUTS), stored.key
    stem = os.path.splitext(client_name.replace("\\", "/").rsplit("/", 1)[-1])[0]
    if len(stem) >= 3:
        assert stem not in stored.key, (stem, stored.key)
    path = (media_root / stored.key).resolve()
    assert path.is_relative_to(media_root.resolve()) and path.is_file(), stored.key
    assert not BIDI_AND_CONTROL.search(stored.original_name), repr(stored.original_name)
    assert "/" not in stored.original_name and "\\" not in stored.original_name
    assert len(stored.original_name) <= 255


def served_inline_badly(response: Any) -> bool:
    """Whether a served response could run in the browser: inline, and not a passive
    media type. Checks the headers every served file must have."""
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    media_type = response["Content-Type"].split(";", 1)[0].strip().lower()
    disposition = response["Content-Disposition"].split(";", 1)[0].strip().lower()
    passive = media_type in PASSIVE_INLINE or media_type.startswith(("video/", "audio/"))
    if disposition != "attachment":
        assert media_type not in ACTIVE, media_type
    return disposition != "attachment" and not passive


def body_of(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def serve(url: str) -> Any:
    path = urlsplit(url)
    return Client().get(path.path + (f"?{path.query}" if path.query else ""))


# --- spies ------------------------------------------------------------------------------


@dataclass
class Decoders:
    """What must never run on an upload: Ghostscript, and the EPS and FITS decoders."""

    started: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def decoders(monkeypatch: pytest.MonkeyPatch) -> Iterator[Decoders]:
    spy = Decoders()

    def ghostscript(*args: Any, **kwargs: Any) -> Any:
        spy.started.append("EpsImagePlugin.Ghostscript")
        raise AssertionError("Ghostscript was started")

    def opened(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def _open(self: Any) -> Any:
            spy.started.append(name)
            return real(self)
        return _open

    real_popen = subprocess.Popen.__init__

    def popen(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
        if argv and os.path.basename(os.fsdecode(argv[0])).startswith("gs"):
            spy.started.append(f"subprocess {os.fsdecode(argv[0])}")
        real_popen(self, args, *rest, **kwargs)

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open",
                        opened("EPS decoder", EpsImagePlugin.EpsImageFile._open))
    monkeypatch.setattr(FitsImagePlugin.FitsImageFile, "_open",
                        opened("FITS decoder", FitsImagePlugin.FitsImageFile._open))
    monkeypatch.setattr(subprocess.Popen, "__init__", popen)
    yield spy
    assert spy.started == [], spy.started


@pytest.fixture
def owner(make_user: Any) -> Owner:
    user = make_user()
    workspace = Workspace.objects.create(name="Hardening")
    Membership.objects.create(workspace=workspace, user=user, role=Role.MEMBER)
    client = APIClient()
    client.force_authenticate(user)
    return Owner(user, workspace, client)


@pytest.fixture
def media_root(settings: Any) -> Path:
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


# --- the corpus through the endpoints -----------------------------------------------------


def _cases() -> list[Any]:
    return [pytest.param(endpoint, sample, id=f"{endpoint.name}-{sample.title}")
            for sample in hostile_corpus() for endpoint in ENDPOINTS]


@pytest.mark.parametrize(("endpoint", "sample"), _cases())
def test_hostile_upload_ends_in_a_defined_state(
        endpoint: Endpoint, sample: Hostile, owner: Owner, media_root: Path,
        django_capture_on_commit_callbacks: Any) -> None:
    data = sample.make()
    distinct("UPLOAD", files=sample.title)
    sniffed = sniff(data[:SNIFF_BYTES]) if data else None
    expected = (frozenset({"refused"}) if sniffed and endpoint.refuses(sample, sniffed)
                else sample.outcomes)
    seen_before = recorder().seen()
    body, content_type = multipart(endpoint.fields(), sample.name, data, sample.declared())
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_raw(owner.client, endpoint.path(owner.workspace), body, content_type)
    except Exception:  # a task raised out of the (eager) worker
        record("UPLOAD", crashes=1, server_errors=0, served_inline=0)
        raise
    server_error = int(response.status_code >= 500)
    record("UPLOAD", crashes=0, server_errors=server_error)
    assert not server_error, response.content[:500]
    assert recorder().seen() == seen_before, "something fetched a URL from the upload"

    if 400 <= response.status_code < 500:
        record("UPLOAD", served_inline=0)
        assert_dialect(endpoint, response)
        assert "refused" in expected, (response.status_code, response.content[:300])
        assert not StoredFile.objects.exists()  # nothing half-stored
        assert not [p for p in media_root.rglob("*") if p.is_file()]  # no bytes either
        return
    assert response.status_code in (200, 201), response.content[:300]
    stored = endpoint.stored(owner, response.json())
    stored.refresh_from_db()
    outcome = "infected" if stored.scan_status == ScanStatus.INFECTED else str(
        stored.processing_state)
    assert outcome in TERMINAL, (outcome, stored.scan_status)
    assert outcome in expected, (outcome, expected, stored.processing_error)
    assert_key_is_ours(stored, media_root, sample.name)
    if outcome == ProcessingState.FAILED:
        assert stored.processing_error  # a reason, for the user and the operator
        assert not stored.variants.exists()
    inline = check_serving(endpoint, owner, response.json(), stored, outcome)
    record("UPLOAD", served_inline=inline)
    assert not inline, f"{sample.title} was served inline as {stored.mime_type}"
    if sample.name == "10000-frames.gif":
        assert stored.frame_count == 10_000
        preview = stored.variants.get(spec="preview-1024", format="webp")
        with blob_store.open(preview) as handle:
            assert getattr(Image.open(handle), "n_frames", 1) <= 100


def check_serving(endpoint: Endpoint, owner: Owner, body: dict[str, Any],
                  stored: StoredFile, outcome: str) -> int:
    """Serve the file through the URL its app shows, and its variants; 1 when anything
    was served inline as a type a browser could run."""
    url = endpoint.served_url(owner, body)
    if outcome == "infected":
        assert stored.is_quarantined
        assert url is None  # never served, by any URL
        with pytest.raises(BlobNotFound):
            blob_store.signed_url(stored)
        return 0
    if not is_servable(stored):  # an SVG that could not be sanitised is never served
        assert outcome == ProcessingState.FAILED and url is None, (outcome, url)
        with pytest.raises(BlobNotFound):
            blob_store.signed_url(stored)
        return 0
    assert url is not None, "a clean file without a URL"
    response = serve(url)
    assert response.status_code == 200, response.content[:300]
    content = body_of(response)
    with blob_store.open(stored) as handle:
        assert content == handle.read()
    if stored.mime_type == "image/svg+xml":  # sanitised before it is served
        lowered = content.lower()
        for marker in (b"<script", b"onload", b"onclick", b"javascript:", b"foreignobject",
                       b"evil.example", b"127.0.0.1", b"<!doctype", b"<!entity"):
            assert marker not in lowered, marker
    bad = int(served_inline_badly(response))
    for variant in stored.variants.all():
        shown = serve(blob_store.signed_url(variant))
        assert shown.status_code == 200
        bad |= int(served_inline_badly(shown))
    return bad


# --- names, straight into the blob store --------------------------------------------------

RAW_NAMES = [
    "../../../../etc/passwd", "..\\..\\..\\boot.ini", "/etc/shadow", "C:\\Windows\\win.ini",
    "\\\\server\\share\\x.png", "a/../../b.png", "x" * 300 + ".png", "nul\0inside.png",
    "nul-ext.png\0.php", "evil\u202egnp.exe", "report\u202efdp.png", "\u2066\u2067x\u2069.png", "a\r\nSet-Cookie: x=1.png",
    "..", ".", "", "\x85\x9b.png", "CON.png", " .png ", "\udc80.png",
]


@pytest.mark.parametrize("name", RAW_NAMES, ids=[repr(n)[:40] for n in RAW_NAMES])
def test_raw_client_names_never_reach_keys(name: str, owner: Owner, media_root: Path,
                                           client: Client) -> None:
    """Paths without Django's multipart parser in between (a tus header, a JSON field):
    the blob store alone keeps the key its own and the name a harmless label."""
    distinct("UPLOAD", files=f"raw name {name!r}")
    try:
        stored = blob_store.put(PNG_BYTES, owner=owner.user, name=name)
    except DomainError as exc:  # a name claiming another type ("…exe"): refused, 4xx
        assert exc.status_code < 500 and not StoredFile.objects.exists()
        record("UPLOAD", served_inline=0, server_errors=0, crashes=0)
        return
    assert_key_is_ours(stored, media_root, name)
    assert stored.original_name and stored.original_name not in (".", "..")
    StoredFile.objects.filter(pk=stored.pk).update(scan_status=ScanStatus.CLEAN)
    stored.refresh_from_db()
    response = client.get(blob_store.signed_url(stored, disposition="attachment"))
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert "\r" not in header and "\n" not in header and "\u202e" not in header
    record("UPLOAD", served_inline=0, server_errors=0, crashes=0)


# --- serving from S3: the disposition travels in the presigned URL ------------------------


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    """A fresh bucket on the test services' S3 server, emptied and removed afterwards."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                          aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY",
                                                               "testing"))
    name = f"hardening-{uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    yield name
    for item in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


@pytest.mark.parametrize("sample", ["polyglot.pdf", "script.svg", "page.txt", "photo.png"])
def test_s3_urls_serve_active_types_as_attachments(sample: str, owner: Owner,
                                                   s3_endpoint: str, s3_bucket: str) -> None:
    """On S3 the disposition travels, signed, in the presigned URL: the same rule."""
    import requests

    from apps.storage.backends import S3Storage
    from apps.storage.blobs import BlobStore

    storage = S3Storage(bucket_name=s3_bucket, endpoint_url=s3_endpoint, access_key="testing",
                        secret_key="testing", region_name="us-east-1")
    store = BlobStore(storage)
    data = {"polyglot.pdf": platform.PDF_JS, "script.svg": platform.SVG_SCRIPT,
            "page.txt": b"plain text", "photo.png": PNG_BYTES}[sample]
    stored = store.put(data, owner=owner.user, name=sample)
    meta = {**stored.meta, "sanitized": True}
    StoredFile.objects.filter(pk=stored.pk).update(scan_status=ScanStatus.CLEAN, meta=meta)
    stored.refresh_from_db()
    url = store.signed_url(stored)  # inline asked for
    asked = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))
    disposition = asked["response-content-disposition"]
    passive = stored.mime_type in PASSIVE_INLINE
    assert disposition.startswith("inline" if passive else "attachment"), (sample, disposition)
    assert served_disposition("inline", stored.mime_type) == ("inline" if passive
                                                              else "attachment")
    fetched = requests.get(url, timeout=30)
    assert fetched.status_code == 200 and fetched.content == data
    assert fetched.headers["Content-Type"] == stored.mime_type


# --- 10,000 multipart parts ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("shape", ["fields", "files"])
def test_ten_thousand_multipart_parts_are_a_4xx(endpoint: Endpoint, shape: str,
                                                owner: Owner) -> None:
    boundary = f"----parts{uuid4().hex}"
    parts = []
    for index in range(10_000):
        if shape == "fields":
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="f{index}"'
                         f"\r\n\r\nv\r\n".encode())
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                         f'filename="p{index}.png"\r\nContent-Type: image/png\r\n\r\n'
                         .encode() + PNG_BYTES[:64] + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    distinct("UPLOAD", files=f"10,000 multipart {shape}")
    response = post_raw(owner.client, endpoint.path(owner.workspace), body,
                        f"multipart/form-data; boundary={boundary}")
    record("UPLOAD", server_errors=int(response.status_code >= 500), served_inline=0,
           crashes=0)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert_dialect(endpoint, response)
    assert not StoredFile.objects.exists()


# --- a chunked body one byte over the limit, against gunicorn -----------------------------

LIMIT = 24 * 1024 * 1024


@dataclass
class Gunicorn:
    """The Procfile's web server (one gthread worker) on the test database, with the
    upload limits lowered to ``LIMIT``; started and stopped by the test."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def worker(self) -> int:
        import psutil

        children = psutil.Process(self.process.pid).children()
        assert len(children) == 1, children
        return int(children[0].pid)

    def memory(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.worker}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
        return out

    def reset_peak(self) -> None:
        Path(f"/proc/{self.worker}/clear_refs").write_text("5")  # VmHWM := VmRSS


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return f"postgresql://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def gunicorn(transactional_db: None, tmp_path: Path, settings: Any) -> Iterator[Gunicorn]:
    media = tmp_path / "media"
    (tmp_path / "hardening_gunicorn_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        f"AUTHOR_MEDIA = {{'MAX_DIRECT_UPLOAD_BYTES': {LIMIT}}}\n"
        f"USER_LIBRARY = {{'MAX_FILE_BYTES': {LIMIT}}}\n"
        f"MEDIA_LIBRARY = {{'MAX_FILE_BYTES': {LIMIT}}}\n"
        f"FILE_UPLOAD_TEMP_DIR = {str(tmp_path)!r}\n"
        "STORAGES = {**STORAGES, 'default': {"
        "'BACKEND': 'django.core.files.storage.FileSystemStorage', "
        f"'OPTIONS': {{'location': {str(media)!r}, 'base_url': '/media/'}}}}}}\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update({"DJANGO_SETTINGS_MODULE": "hardening_gunicorn_settings",
                "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
                "DATABASE_URL": _database_url(), "SECRET_KEY": str(settings.SECRET_KEY),
                "VAR_DIR": str(tmp_path / "var"),
                # the production allocator settings (scripts/run.sh, Dockerfile)
                "MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "4194304",
                "MALLOC_TRIM_THRESHOLD_": "16777216"})
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4", "--timeout", "120"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Gunicorn(process, port, log)
    try:
        deadline = time.monotonic() + 60
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes (de-chunked) the client got to send before the answer came


def chunked_post(port: int, path: str, headers: dict[str, str],
                 chunks: Iterable[bytes]) -> Answer:
    """POST ``chunks`` with ``Transfer-Encoding: chunked`` and no Content-Length, as a
    streaming client does; stop sending as soon as the server answers."""
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
            "Transfer-Encoding: chunked", "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items())]
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        finished = True
        try:
            for chunk in chunks:
                if select.select([sock], [], [], 0)[0]:  # the server has answered
                    finished = False
                    break
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            if finished:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is what counts
        answer = b""
        try:
            while block := sock.recv(65536):
                answer += block
        except ConnectionResetError:
            pass
    head_text, _, body = answer.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1.1 "), answer[:200]
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return Answer(int(lines[0].split(" ")[1]), {k.lower(): v for k, v in fields.items()},
                  body, sent)


def _multipart_stream(fields: dict[str, str], name: str, file_size: int,
                      chunk: int = 256 * 1024) -> tuple[Iterator[bytes], str]:
    """A multipart body whose file part is ``file_size`` bytes of a PNG that never
    ends, made as it is sent (nothing of that size is held here either)."""
    boundary = f"----chunked{uuid4().hex}"
    preamble = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()) + (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/png\r\n\r\n").encode()

    def body() -> Iterator[bytes]:
        yield preamble
        filler = PNG_BYTES + bytes(chunk - len(PNG_BYTES))
        left = file_size
        while left > 0:
            piece = filler[:min(chunk, left)]
            filler = bytes(chunk)
            left -= len(piece)
            yield piece
        yield f"\r\n--{boundary}--\r\n".encode()

    return body(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
def test_chunked_body_over_the_limit_is_413_while_streaming_with_flat_memory(
        gunicorn: Gunicorn, make_user: Any) -> None:
    user = make_user("streamer")
    workspace = Workspace.objects.create(name="Streams")
    Membership.objects.create(workspace=workspace, user=user, role=Role.MEMBER)
    auth = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}
    for endpoint in ENDPOINTS:
        path = endpoint.path(workspace)
        # control: a chunked upload within the limit is read and stored (the 413s below
        # are the limit's, not a body the server could not read)
        small, _ = multipart(endpoint.fields(), "small.png", PNG_BYTES, "image/png")
        ok = chunked_post(gunicorn.port, path, {**auth, "Content-Type":
                                                _content_type_of(small)}, [small])
        assert ok.status in (200, 201), (endpoint.name, ok.status, ok.body[:300])

        # one byte over: the file part is LIMIT + 1 bytes, no Content-Length anywhere
        distinct("UPLOAD", files="chunked body one byte over the limit, no Content-Length")
        before = gunicorn.memory()
        gunicorn.reset_peak()
        body, content_type = _multipart_stream(endpoint.fields(), "big.png", LIMIT + 1)
        over = chunked_post(gunicorn.port, path, {**auth, "Content-Type": content_type},
                            body)
        peak = gunicorn.memory()["VmHWM"] - before["VmRSS"]
        record("UPLOAD", server_errors=int(over.status >= 500), served_inline=0, crashes=0)
        assert over.status == 413, (endpoint.name, over.status, over.body[:300])
        assert peak < 16 * 1024 * 1024, f"{endpoint.name}: {peak} bytes more at the peak"

        # a body that never ends: the answer comes while it is still being sent
        distinct("UPLOAD", files="chunked body that never ends")
        gunicorn.reset_peak()
        body, content_type = _multipart_stream(endpoint.fields(), "endless.png", 8 * LIMIT)
        endless = chunked_post(gunicorn.port, path, {**auth, "Content-Type": content_type},
                               body)
        peak = gunicorn.memory()["VmHWM"] - before["VmRSS"]
        record("UPLOAD", server_errors=int(endless.status >= 500), served_inline=0,
               crashes=0)
        assert endless.status == 413, (endpoint.name, endless.status, endless.body[:300])
        assert endless.sent < 4 * LIMIT, endless.sent  # refused while streaming
        assert peak < 16 * 1024 * 1024, f"{endpoint.name}: {peak} bytes more at the peak"
    assert StoredFile.objects.count() == len(ENDPOINTS)  # the three controls, nothing else
    assert "Traceback" not in gunicorn.log.read_text()


def _content_type_of(body: bytes) -> str:
    boundary = body.split(b"\r\n", 1)[0][2:].decode()
    return f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
def test_chunked_body_on_a_server_that_cannot_end_it_is_411(live_server: Any,
                                                            make_user: Any) -> None:
    """Django's development server (pytest-django's live server) does not de-chunk a
    body: the upload is refused as 411 rather than read as an empty request."""
    user = make_user("devserver")
    auth = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}
    small, _ = multipart({}, "small.png", PNG_BYTES, "image/png")
    port = int(urlsplit(live_server.url).port or 80)
    answer = chunked_post(port, "/v1/media/upload",
                          {**auth, "Content-Type": _content_type_of(small)}, [small])
    distinct("UPLOAD", files="chunked body to a server that does not de-chunk")
    record("UPLOAD", server_errors=int(answer.status >= 500), served_inline=0, crashes=0)
    assert answer.status == 411, (answer.status, answer.body[:300])
    assert not StoredFile.objects.exists()


# --- the engines, fuzzed ------------------------------------------------------------------

SEEDS = {  # small, and carrying what the engines parse: EXIF, XMP, ICC, orientation
    "jpeg": platform.noisy("JPEG", (40, 30), quality=80),
    "jpeg-private": photos.private_jpeg((40, 30), orientation=6),
    "jpeg-icc": photos.encode(photos.photo((40, 30)), "JPEG",
                              icc_profile=photos.swapped_primaries_icc()),
    "png-private": photos.private_png((24, 18)),
    "webp-private": photos.private_webp((24, 18)),
    "png": platform.noisy("PNG", (24, 18)),
    "webp": platform.noisy("WEBP", (24, 18)),
    "gif": platform.gif_frames(5, (12, 9)),
    "avif": platform.noisy("AVIF", (24, 18)),
    "webp-animated": b"",
}
MAGICS = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"GIF87a", b"RIFF\0\0\0\0WEBP",
          b"\0\0\0\x1cftypavif", b"%!PS-Adobe-3.0 EPSF-3.0\n", b"SIMPLE  =", b"%PDF-1.4\n",
          b"II*\0", b"MM\0*", b"BM", b"8BPS", b""]


def _animated_webp() -> bytes:
    frames = [Image.new("RGB", (8, 6), (i * 40, 0, 0)) for i in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


SEEDS["webp-animated"] = _animated_webp()


@dataclass
class Engines:
    """What the pipeline's image steps run on an upload's bytes, in their order: the
    probe, the metadata reading and private-metadata rewrite, the renderings. The only
    documented failure is ProbeRefused (a PermanentError: the file ends ``failed``);
    strip_private returns bytes or None."""

    crashed: bool = False
    examples: int = 0

    def run(self, data: bytes) -> None:
        self.examples += 1
        record("UPLOAD", fuzzed=1)
        limits = variants.render_limits()
        try:
            try:
                probe_image(io.BytesIO(data), allowed_formats=limits.allowed_formats,
                            max_pixels=limits.max_pixels,
                            max_animation_pixels=limits.max_animation_pixels)
            except ProbeRefused:
                return
            with refusing_bad_input():
                image = limits.open(io.BytesIO(data))
                with image:
                    exif.extract(image)
                    fmt = str(image.format)
            rewritten = exif.strip_private(data, fmt)
            assert rewritten is None or isinstance(rewritten, bytes)
            render_variants(io.BytesIO(data), list(variants.configured_specs().values()),
                            limits)
        except ProbeRefused:
            pass
        except BaseException:
            if not self.crashed:
                self.crashed = True
                record("UPLOAD", crashes=1)
            raise


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, value) edits: flip a bit, set a byte, cut, insert, delete."""
    mutable = bytearray(data)
    for kind, position, value in edits:
        if not mutable:
            break
        at = position % len(mutable)
        if kind == 0:
            mutable[at] ^= 1 << (value % 8)
        elif kind == 1:
            mutable[at] = value % 256
        elif kind == 2:
            del mutable[at:]
        elif kind == 3:
            mutable[at:at] = bytes([value % 256]) * (1 + value % 7)
        else:
            del mutable[at:at + 1 + value % 16]
    return bytes(mutable)


EDITS = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1 << 20), st.integers(0, 255)),
                 min_size=1, max_size=12)
FUZZ_SECONDS = float(os.environ.get("HARDENING_FUZZ_SECONDS", 120 if FULL else 3))
FUZZ_SETTINGS = hypothesis_settings(max_examples=40, deadline=None, database=None,
                                    suppress_health_check=list(HealthCheck),
                                    derandomize=False, print_blob=True)


# Pillow warns about the corrupt EXIF it tolerates; in a fuzz that is every other example
quiet_pillow = pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")


def _fuzz_for(seconds: float, once: Callable[[], None]) -> None:
    """Run hypothesis batches until ``seconds`` are spent: a time budget, not a count."""
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        once()


@quiet_pillow
def test_fuzz_engines_over_mutated_images() -> None:
    engines = Engines()

    @FUZZ_SETTINGS
    @given(seed=st.sampled_from(sorted(SEEDS)), edits=EDITS)
    def once(seed: str, edits: list[tuple[int, int, int]]) -> None:
        engines.run(_mutate(SEEDS[seed], edits))

    _fuzz_for(FUZZ_SECONDS, once)
    assert engines.examples > 0 and not engines.crashed


@quiet_pillow
def test_fuzz_engines_over_random_bytes() -> None:
    engines = Engines()

    @FUZZ_SETTINGS
    @given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048))
    def once(magic: bytes, tail: bytes) -> None:
        engines.run(magic + tail)

    _fuzz_for(FUZZ_SECONDS, once)
    assert engines.examples > 0 and not engines.crashed


VIDEO_SEEDS = {"mp4": videos.video_bytes("mp4", "libx264", size=(32, 24), frames=6),
               "webm": videos.video_bytes("webm", "libvpx-vp9", size=(32, 24), frames=6)}


def test_fuzz_video_probe_over_mutated_videos() -> None:
    """The video probe and poster over damaged MP4/WebM (FFmpeg's demuxers and decoders
    behind PyAV): the only documented failure is VideoRefused."""
    formats = tuple(processing_settings.VIDEO_FORMATS)
    max_pixels = int(processing_settings.MAX_VIDEO_PIXELS)
    crashed: list[BaseException] = []
    examples: list[int] = []

    @FUZZ_SETTINGS
    @given(seed=st.sampled_from(sorted(VIDEO_SEEDS)), edits=EDITS)
    def once(seed: str, edits: list[tuple[int, int, int]]) -> None:
        data = _mutate(VIDEO_SEEDS[seed], edits)
        examples.append(1)
        record("UPLOAD", fuzzed=1)
        try:
            video.probe_video(io.BytesIO(data), formats=formats, max_pixels=max_pixels)
            video.extract_poster(io.BytesIO(data), max_frames=60, formats=formats,
                                 max_pixels=max_pixels)
        except video.VideoRefused:
            pass
        except BaseException as exc:
            if not crashed:
                record("UPLOAD", crashes=1)
            crashed.append(exc)
            raise

    _fuzz_for(FUZZ_SECONDS / 2, once)
    assert examples and not crashed


# An SVG made of what attacks use: elements that run or fetch, handlers, script URLs
# in every spelling, external references, CSS that loads; the sanitiser's output must
# hold none of it, whatever the mix (an oracle independent of its allow-list).
_SVG_ELEMENTS = ["g", "a", "use", "image", "rect", "text", "style", "script", "foreignObject",
                 "iframe", "set", "animate", "handler", "feImage", "pattern", "html:script"]
_SVG_ATTRIBUTES = [
    ("onload", "alert(1)"), ("OnClick", "alert(1)"), ("href", "javascript:alert(1)"),
    ("xlink:href", " jAvAsCrIpT:alert(1)"), ("href", "java\tscript:alert(1)"),
    ("href", "java&#x09;script:alert(1)"), ("href", "https://evil.example/x.svg#a"),
    ("href", "//evil.example/x"), ("xlink:href", "data:text/html,<script>x</script>"),
    ("href", "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="), ("href", "#ok"),
    ("href", "data:image/png;base64,iVBORw0KGgo="), ("style", "fill:url(https://e.example/)"),
    ("style", "fill:u\\72l(https://e.example/)"), ("style", "x:expression(alert(1))"),
    ("style", "fill:red;background:url(#ok)"), ("fill", "url(https://e.example/#p)"),
    ("fill", "url(#ok)"), ("id", "ok"), ("width", "4"), ("values", "javascript:alert(1)"),
    ("attributeName", "href"), ("to", "javascript:alert(1)"), ("begin", "0s"),
]
_SVG_TEXT = ["", "hi", "@import url(https://e.example/x.css);", "rect{fill:url(#ok)}",
             "rect{fill:url(https://e.example/)}", "<![CDATA[alert(1)]]>", "&amp;",
             "a{behavior:url(x.htc)}", "javascript:alert(1)"]


def _svg_element(draw: Any, depth: int) -> str:
    tag = draw(st.sampled_from(_SVG_ELEMENTS))
    attributes = draw(st.lists(st.sampled_from(_SVG_ATTRIBUTES), max_size=4,
                               unique_by=lambda pair: pair[0].lower()))
    text = draw(st.sampled_from(_SVG_TEXT))
    children = ([_svg_element(draw, depth + 1) for _ in range(draw(st.integers(0, 2)))]
                if depth < 3 else [])
    attrs = "".join(f' {name}="{value}"' for name, value in attributes)
    return f"<{tag}{attrs}>{text}{''.join(children)}</{tag}>"


@st.composite
def hostile_svgs(draw: Any) -> bytes:
    body = "".join(_svg_element(draw, 0) for _ in range(draw(st.integers(1, 3))))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="{XLINK}" '
            f'xmlns:html="http://www.w3.org/1999/xhtml">{body}</svg>').encode()


XLINK = "http://www.w3.org/1999/xlink"
# (feImage and image may stay: their href is then local or an inline raster image)
_RUNS_OR_FETCHES = {"script", "foreignobject", "iframe", "set", "animate", "handler"}


def assert_svg_is_inert(data: bytes) -> None:
    """Nothing in ``data`` may run script or fetch: checked on the parsed output."""
    import xml.etree.ElementTree as ET

    assert b"<!doctype" not in data.lower() and b"<!entity" not in data.lower()
    root = ET.fromstring(data)  # noqa: S314 (the sanitiser's own output)
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1].lower()
        assert local not in _RUNS_OR_FETCHES, element.tag
        assert element.tag.startswith("{http://www.w3.org/2000/svg}"), element.tag
        for name, value in element.attrib.items():
            attribute = name.rsplit("}", 1)[-1].lower()
            squashed = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            assert not attribute.startswith("on"), name
            assert "javascript:" not in squashed and "data:text" not in squashed, value
            if attribute == "href":
                assert squashed.startswith(("#", "data:image/png", "data:image/jpeg",
                                            "data:image/gif", "data:image/webp")), value
            for target in re.findall(r"url\(['\"]?([^)'\"]*)", squashed):
                assert target.startswith(("#", "data:image/")), value
        css = (element.text or "").lower() if local == "style" else ""
        assert "@import" not in css and "behavior" not in css and "\\" not in css, css
        for target in re.findall(r"url\(\s*['\"]?([^)'\"]*)", css):
            assert target.strip().startswith(("#", "data:image/")), css


def test_fuzz_svg_sanitizer_output_is_inert() -> None:
    examples: list[int] = []

    @FUZZ_SETTINGS
    @given(document=hostile_svgs())
    def once(document: bytes) -> None:
        examples.append(1)
        record("UPLOAD", fuzzed=1)
        try:
            clean = svg.sanitize_svg(document)
        except svg.SvgRefused:
            return
        except BaseException:
            record("UPLOAD", crashes=1)
            raise
        assert_svg_is_inert(clean.data)
        assert svg.sanitize_svg(clean.data).data == clean.data  # a fixed point

    _fuzz_for(FUZZ_SECONDS / 2, once)
    assert examples


@quiet_pillow
def test_engines_over_the_damaged_image_corpus() -> None:
    """A few hundred truncated and bit-flipped JPEG/PNG/WebP/GIF files (deterministic:
    the same every run) through the same engines, without HTTP around them."""
    engines = Engines()
    count = 1200 if FULL else 240
    for sample in _truncated_and_flipped(count):
        engines.run(sample.make())
    assert engines.examples == count and not engines.crashed


def test_eps_fits_and_pdf_never_reach_a_decoder(decoders: Decoders) -> None:
    """Even handed to the probe directly (no sniffing before it), these are refused by
    the allow-list before any plugin of theirs opens them."""
    limits = variants.render_limits()
    for data in (platform.EPS, b"\xc5\xd0\xd3\xc6" + platform.EPS, platform.fits(),
                 platform.PDF_JS):
        with pytest.raises(ProbeRefused):
            probe_image(io.BytesIO(data), allowed_formats=limits.allowed_formats,
                        max_pixels=limits.max_pixels,
                        max_animation_pixels=limits.max_animation_pixels)
    assert decoders.started == []
    # control: the spy does see the EPS decoder when it is allowed to run
    with pytest.raises(Exception):
        Image.open(io.BytesIO(platform.EPS), formats=["EPS"]).load()
    assert "EPS decoder" in decoders.started
    decoders.started.clear()
