"""Credentials at their edges (docs/hardening.md, "Tenant isolation and audit").

- Signed URLs minted for tenant A: a changed character anywhere is refused (403 for the
  file and upload grants, 404 for the HMAC links of author_media and admin_media), an
  expired one is 410, a grant re-pointed at A's file from B's is refused, a validly
  signed grant that pairs B's file with A's variant serves nothing, and once A's file is
  gone its links are 404. A signed URL is a capability (as an S3 presigned URL, which
  nothing can bind to a caller): its holder is served whoever they are, and B's
  credentials on it change nothing (the matrix checks the same on every such route).
- A bearer credential (API key, JWT, the API secret) that differs in its last byte is a
  401 on every API.
- An API key cannot widen its own scopes: managing keys takes a login or an admin-scoped
  key, and only staff may hold ``admin``.
- A viewer cannot write in media_library.
- No non-staff caller (a user's session, JWT or API key; a staff user's key without the
  admin scope) reaches the Django admin, ``/api/admin/media`` or ``/v1/admin/media``.

Every denial here is checked to be exactly one ``platform.audit`` record naming the
route, never the token in the path.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from apps.accounts.models import ApiKey, Membership, Role, User, Workspace
from apps.accounts.services import api_key_create
from apps.storage.blobs import blob_store
from apps.storage.models import StoredFile, Variant
from apps.storage.signing import FileGrant, make_token
from author_media.models import UploadSession
from author_media.upload_sessions import upload_token
from tests.hardening.figures import FULL
from tests.media_library.factories import FORBIDDEN, snapshot
from tests.media_library.routes import WRITE_ROUTES, Route, build_library, call
from tests.user_library.helpers import LibraryItemFixture, png, save_item

pytestmark = pytest.mark.django_db

AUDIT = "platform.audit"
FILES_ROUTE = "files/<str:token>/<str:filename>"


# -- helpers ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _audit_and_no_throttle(caplog: pytest.LogCaptureFixture,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Audit records captured; no throttle (DRF's throttles read their rates at import,
    so tests/conftest.py's settings change misses them, and a 429 hides the answer)."""
    caplog.set_level(logging.INFO, logger=AUDIT)
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict.fromkeys(
        [*SimpleRateThrottle.THROTTLE_RATES, "anon", "user", "auth"]))


class Audit:
    """Sends one request and checks its audit trail: one record per denial, naming the
    route pattern and never the raw path; none for anything else."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog

    def records(self) -> list[logging.LogRecord]:
        return [r for r in self.caplog.records if r.name == AUDIT]

    def send(self, request: Callable[[], Any]) -> Any:
        self.caplog.clear()
        response = request()
        if getattr(response, "streaming", False):
            response.content_bytes = b"".join(response.streaming_content)
        return response

    def denied(self, request: Callable[[], Any], status: int, route: str,
               user: User | None = None) -> Any:
        response = self.send(request)
        assert response.status_code == status, (response.status_code, response.content[:300])
        records = self.records()
        assert len(records) == 1, [r.__dict__ for r in records]
        entry = records[0].__dict__
        assert (entry["event"], entry["status"], entry["route"]) == (
            "access_denied", status, route)
        assert entry["user"] == (str(user.pk) if user is not None else "anonymous")
        path = response.wsgi_request.path
        if path.strip("/") != route.strip("/"):
            assert path not in str(entry), "the record holds the raw path (a token)"
        return response

    def allowed(self, request: Callable[[], Any], *statuses: int) -> Any:
        response = self.send(request)
        assert response.status_code in statuses, (response.status_code,
                                                  response.content[:300])
        assert self.records() == []
        return response


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture) -> Audit:
    return Audit(caplog)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def jwt(user: User) -> APIClient:
    return bearer(str(AccessToken.for_user(user)))


def key_client(user: User, scopes: list[str]) -> APIClient:
    return bearer(api_key_create(user=user, name="script", scopes=scopes).token)


def changed(text: str, index: int) -> str:
    """``text`` with the character at ``index`` replaced by another one of its alphabet."""
    old = text[index]
    new = "B" if old == "A" else "A"
    if old.isdigit():
        new = "1" if old == "0" else "0"
    return text[:index] + new + text[index + 1:]


def body(response: Any) -> bytes:
    return bytes(getattr(response, "content_bytes", None) or response.content)


@dataclass
class Tenants:
    a: User
    b: User
    a_item: LibraryItemFixture
    b_item: LibraryItemFixture


@pytest.fixture
def tenants(make_user: Any, django_capture_on_commit_callbacks: Any) -> Tenants:
    """A and B, each with a library item the real clamd cleared and thumbnails made."""
    a, b = make_user("tenant-a"), make_user("tenant-b")
    with django_capture_on_commit_callbacks(execute=True):
        a_item = save_item(a, png(1), "image/png")
        b_item = save_item(b, png(2), "image/png")
    return Tenants(a, b, a_item, b_item)


def token_of(url: str) -> tuple[str, str]:
    _, _, token, filename = urlsplit(url).path.split("/", 3)
    return token, filename


def files_url(token: str, filename: str) -> str:
    return f"/files/{token}/{filename}"


# -- signed URLs of the blob store --------------------------------------------------------
def test_a_signed_url_is_a_capability_b_s_credentials_add_nothing(
        tenants: Tenants, audit: Audit) -> None:
    url = blob_store.signed_url(tenants.a_item.stored)
    anonymous = audit.allowed(lambda: APIClient().get(url), 200)
    with blob_store.open(tenants.a_item.stored) as handle:
        assert body(anonymous) == handle.read()
    for client in (jwt(tenants.b), key_client(tenants.b, ["read", "write"])):
        response = audit.allowed(partial(client.get, url), 200)
        assert body(response) == body(anonymous)
        assert response["Content-Disposition"] == anonymous["Content-Disposition"]


def test_a_tampered_signed_url_is_403(tenants: Tenants, audit: Audit) -> None:
    token, filename = token_of(blob_store.signed_url(tenants.a_item.stored))
    payload, _stamp, signature = token.split(":")
    positions = range(len(token)) if FULL else sorted({
        0, len(payload) // 2, len(payload) - 1, len(payload) + 1,  # payload, timestamp
        len(token) - len(signature), len(token) - 1})  # the signature's first and last
    for index in positions:
        if token[index] == ":":
            continue
        tampered = changed(token, index)
        response = audit.denied(partial(APIClient().get, files_url(tampered, filename)),
                                403, FILES_ROUTE)
        assert response.json()["code"] == "link_invalid"


def test_b_cannot_point_its_own_signed_url_at_a_s_file(tenants: Tenants, audit: Audit) -> None:
    """B's grant with A's file id put in its payload (B holds no key to re-sign it)."""
    b_token, filename = token_of(blob_store.signed_url(tenants.b_item.stored))
    a_token, _ = token_of(blob_store.signed_url(tenants.a_item.stored))
    b_payload, b_stamp, b_signature = b_token.split(":")
    a_payload = a_token.split(":")[0]
    forged = ":".join([a_payload, b_stamp, b_signature])
    # the file view reads no credentials (the token is the capability): "anonymous"
    audit.denied(lambda: jwt(tenants.b).get(files_url(forged, filename)), 403, FILES_ROUTE)
    # the file id spelled into a payload by hand, with B's signature: refused as well
    grant = base64.urlsafe_b64decode(b_payload + "==").decode()
    rewritten = grant.replace(tenants.b_item.stored.pk.hex, tenants.a_item.stored.pk.hex)
    assert rewritten != grant
    hand = base64.urlsafe_b64encode(rewritten.encode()).decode().rstrip("=")
    forged = ":".join([hand, b_stamp, b_signature])
    audit.denied(lambda: jwt(tenants.b).get(files_url(forged, filename)), 403, FILES_ROUTE)


def test_a_grant_pairing_b_s_file_with_a_s_variant_serves_nothing(
        tenants: Tenants, audit: Audit) -> None:
    """Even a validly signed grant cannot cross files: the variant must be the file's."""
    a_variant = Variant.objects.filter(stored_file=tenants.a_item.stored).first()
    assert a_variant is not None, "A's item has no thumbnail: the pipeline did not run"
    grant = FileGrant(tenants.b_item.stored.pk, a_variant.pk, int(time.time()) + 60, "inline")
    audit.denied(lambda: APIClient().get(files_url(make_token(grant), "x.webp")), 404,
                 FILES_ROUTE)
    own = FileGrant(tenants.a_item.stored.pk, a_variant.pk, int(time.time()) + 60, "inline")
    audit.allowed(lambda: APIClient().get(files_url(make_token(own), "x.webp")), 200)


def test_an_expired_signed_url_is_410(tenants: Tenants, audit: Audit) -> None:
    stored = tenants.a_item.stored
    expired = make_token(FileGrant(stored.pk, None, int(time.time()) - 1, "inline"))
    response = audit.send(lambda: jwt(tenants.b).get(files_url(expired, "x.png")))
    assert response.status_code == 410
    assert response.json()["code"] == "link_expired"
    assert b"\x89PNG" not in body(response)


def test_a_s_links_die_with_a_s_file(tenants: Tenants, audit: Audit,
                                     django_capture_on_commit_callbacks: Any) -> None:
    url = blob_store.signed_url(tenants.a_item.stored)
    audit.allowed(lambda: APIClient().get(url), 200)
    client = APIClient()
    client.force_authenticate(tenants.a)
    with django_capture_on_commit_callbacks(execute=True):
        audit.allowed(lambda: client.delete(f"/api/library/{tenants.a_item.id}"), 200)
    assert not StoredFile.objects.filter(pk=tenants.a_item.item.stored_file_id).exists()
    audit.denied(lambda: jwt(tenants.b).get(url), 404, FILES_ROUTE)


# -- the HMAC links of author_media and admin_media, and the upload grants ------------------
@pytest.fixture
def authors(make_user: Any, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A and B with one processed author_media file each; A with an open presigned
    upload (local storage: its bytes go to this server's signed upload URL)."""
    out: dict[str, Any] = {}
    for name, seed in (("a", 3), ("b", 4)):
        user = make_user(f"author-{name}")
        client = APIClient()
        client.force_authenticate(user)
        with django_capture_on_commit_callbacks(execute=True):
            media = client.post("/v1/media/upload", {
                "file": SimpleUploadedFile(f"{name}.png", png(seed), "image/png")},
                format="multipart").json()
        out[name], out[f"{name}_media"], out[f"{name}_client"] = user, media, client
    out["a_upload"] = out["a_client"].post("/v1/media/upload/presigned", {
        "filename": "a.png", "mimeType": "image/png", "size": 64}, format="json").json()
    return out


def test_author_links_cannot_be_moved_to_another_file(authors: dict[str, Any],
                                                      audit: Audit) -> None:
    route = "v1/media/files/<int:media_id>/<str:token>"
    a_url = urlsplit(authors["a_media"]["publicUrl"]).path
    b_url = urlsplit(authors["b_media"]["publicUrl"]).path
    a_id, b_token = authors["a_media"]["id"], b_url.split("/")[5]
    audit.allowed(lambda: APIClient().get(a_url), 302)  # the capability itself
    b = jwt(authors["b"])
    # a plain view: it reads no credentials, so its denials name no user
    audit.denied(lambda: b.get(f"/v1/media/files/{a_id}/{b_token}"), 404, route)
    audit.denied(lambda: b.get(changed(a_url, len(a_url) - 1)), 404, route)


def test_admin_media_file_links_cannot_be_forged(make_user: Any, audit: Audit,
                                                 django_capture_on_commit_callbacks: Any,
                                                 ) -> None:
    staff = make_user("console", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    with django_capture_on_commit_callbacks(execute=True):
        media = client.post("/api/admin/media", {
            "file": SimpleUploadedFile("c.png", png(5), "image/png")},
            format="multipart").json()["data"]["media"]
    path = urlsplit(media["url"]).path
    route = "api/admin/media/<str:media_id>/file/<str:token>"
    audit.allowed(lambda: APIClient().get(path), 302)
    outsider = jwt(make_user("outsider"))
    audit.denied(lambda: outsider.get(changed(path, len(path) - 1)), 404, route)


def test_upload_grants_are_signed_and_expire(authors: dict[str, Any], audit: Audit) -> None:
    route = "v1/media/upload/presigned/<str:token>"
    session = UploadSession.objects.get(pk=authors["a_upload"]["uploadId"])
    token = urlsplit(authors["a_upload"]["url"]).path.rsplit("/", 1)[1]
    data = png(6)[:64].ljust(64, b"\0")
    b: Any = jwt(authors["b"])  # (the stubs want a str body)

    def put(grant: str) -> Callable[[], Any]:
        return lambda: b.generic("PUT", f"/v1/media/upload/presigned/{grant}", data,
                                 "application/octet-stream")

    audit.denied(put(changed(token, len(token) - 1)), 403, route)
    audit.denied(put(changed(token, 2)), 403, route)
    response = audit.send(put(upload_token(session, part=0, ttl=-5)))
    assert response.status_code == 410
    session.refresh_from_db()
    assert session.state == "open" and not session.parts


# -- bearer credentials ---------------------------------------------------------------------
AUTHENTICATED = [("/api/library", "api/library"), ("/v1/media", "v1/media"),
                 ("/api/auth/me/", "api/auth/me/"), ("/api/workspaces/", "api/workspaces/"),
                 ("/api/admin/media", "api/admin/media"),
                 ("/v1/admin/media/quarantined", "v1/admin/media/quarantined")]


def test_an_api_key_off_by_its_last_byte_is_401(make_user: Any, audit: Audit) -> None:
    user = make_user("scripted")
    token = api_key_create(user=user, name="k", scopes=["read", "write"]).token
    audit.allowed(lambda: bearer(token).get("/api/library"), 200)
    secret_start = token.index("_", len("mpk_")) + 1
    positions = range(secret_start, len(token)) if FULL else (len(token) - 1, secret_start)
    for index in positions:
        forged = bearer(changed(token, index))
        for path, route in AUTHENTICATED:
            response = audit.denied(partial(forged.get, path), 401, route)
            assert response.status_code == 401


def test_a_jwt_off_by_its_last_byte_is_401(make_user: Any, audit: Audit) -> None:
    user = make_user("browser")
    token = str(AccessToken.for_user(user))
    audit.allowed(lambda: bearer(token).get("/api/auth/me/"), 200)
    forged = bearer(changed(token, len(token) - 1))
    for path, route in AUTHENTICATED:
        audit.denied(partial(forged.get, path), 401, route)


def test_the_api_secret_off_by_its_last_byte_is_401(settings: Any, audit: Audit) -> None:
    settings.API_SECRET_KEY = "platform-secret-0123456789abcdef"
    audit.allowed(lambda: bearer(settings.API_SECRET_KEY).get("/api/admin/media"), 200)
    forged = bearer(changed(settings.API_SECRET_KEY, len(settings.API_SECRET_KEY) - 1))
    for path, route in AUTHENTICATED:
        audit.denied(partial(forged.get, path), 401, route)
    audit.denied(lambda: forged.post("/api/media", {"media_type": "image",
                                                    "media_url": "https://x.example/a.jpg"},
                                     format="json"), 401, "api/media")


# -- API keys cannot widen their own scopes -------------------------------------------------
KEYS = "api/auth/api-keys/"
WIDER = [["read"], ["write"], ["admin"], ["read", "write", "admin"]]


def _keys_of(user: User) -> list[tuple[str, list[str]]]:
    return sorted((str(k.pk), sorted(k.scopes)) for k in ApiKey.objects.filter(user=user))


@pytest.mark.parametrize("scopes", [["read"], ["write"], ["read", "write"]])
@pytest.mark.parametrize("staff", [False, True])
def test_a_key_without_the_admin_scope_mints_and_revokes_nothing(
        scopes: list[str], staff: bool, make_user: Any, audit: Audit) -> None:
    user = make_user("keyholder", is_staff=staff)
    client = key_client(user, scopes)
    own = ApiKey.objects.get(user=user)
    before = _keys_of(user)
    for wanted in WIDER:
        audit.denied(partial(client.post, f"/{KEYS}", {"name": "wider", "scopes": wanted},
                             format="json"), 403, KEYS, user)
    audit.denied(lambda: client.delete(f"/{KEYS}{own.pk}/"), 403,
                 KEYS + "<uuid:key_id>/", user)
    for method in ("put", "patch"):  # no update of a key's scopes exists at all
        response = audit.send(partial(getattr(client, method), f"/{KEYS}{own.pk}/",
                                      {"scopes": ["admin"]}, format="json"))
        assert response.status_code in (403, 405)
    assert _keys_of(user) == before
    assert ApiKey.objects.get(pk=own.pk).revoked_at is None


def test_only_staff_logins_and_admin_keys_mint_admin_keys(make_user: Any,
                                                          audit: Audit) -> None:
    user = make_user("plain")
    login = jwt(user)
    audit.denied(lambda: login.post(f"/{KEYS}", {"name": "x", "scopes": ["admin"]},
                                    format="json"), 403, KEYS, user)
    audit.allowed(lambda: login.post(f"/{KEYS}", {"name": "x", "scopes": ["read", "write"]},
                                     format="json"), 201)
    assert sorted(k.scopes for k in ApiKey.objects.filter(user=user)) == [["read", "write"]]
    staff = make_user("ops", is_staff=True)
    admin_key = key_client(staff, ["admin"])
    created = audit.allowed(lambda: admin_key.post(
        f"/{KEYS}", {"name": "y", "scopes": ["admin"]}, format="json"), 201)
    assert created.json()["scopes"] == ["admin"]  # not wider than the key that asked


# -- a viewer cannot write -------------------------------------------------------------------
@pytest.fixture
def viewer_setup(make_user: Any) -> tuple[Workspace, User, Any]:
    workspace = Workspace.objects.create(name="viewed")
    viewer = make_user("viewer")
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    return workspace, viewer, build_library(workspace)


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=str)
def test_a_viewer_writes_nothing(route: Route, viewer_setup: tuple[Workspace, User, Any],
                                 audit: Audit) -> None:
    workspace, viewer, library = viewer_setup
    base = f"/workspaces/{workspace.pk}/media-library"
    before = snapshot(workspace)
    client = jwt(viewer)
    response = audit.denied(lambda: call(client, route, library.path(route, base),
                                         library.body(route)),
                            403, f"workspaces/<str:workspace_id>/media-library/{route.pattern}",
                            viewer)
    assert response.json() == FORBIDDEN
    assert snapshot(workspace) == before


def test_a_viewer_still_reads(viewer_setup: tuple[Workspace, User, Any], audit: Audit) -> None:
    workspace, viewer, _ = viewer_setup
    listed = audit.allowed(lambda: jwt(viewer).get(
        f"/workspaces/{workspace.pk}/media-library/items"), 200)
    assert listed.json()["total"] == 1


# -- non-staff never reach the consoles -----------------------------------------------------
CONSOLES = [("/api/admin/media", "api/admin/media"),
            ("/v1/admin/media/quarantined", "v1/admin/media/quarantined")]
DJANGO_ADMIN = ["/admin/", "/admin/accounts/apikey/", "/admin/accounts/user/",
                "/admin/storage/storedfile/", "/admin/user_library/libraryitem/"]


@pytest.fixture
def people(make_user: Any) -> dict[str, User]:
    return {"user": make_user("someone"), "staff": make_user("operator", is_staff=True)}


def test_non_staff_sessions_are_sent_to_the_console_s_sign_in(people: dict[str, User],
                                                             audit: Audit) -> None:
    client = APIClient()
    client.force_login(people["user"])
    for path in DJANGO_ADMIN:
        response = audit.denied(partial(client.get, path), 302,
                                path.removeprefix("/"), people["user"])
        assert urlsplit(response["Location"]).path == "/admin/login/"
    change = f"/admin/accounts/user/{people['user'].pk}/change/"
    audit.denied(lambda: client.post(change, {"is_staff": "on"}), 302,
                 "admin/accounts/user/<path:object_id>/change/", people["user"])
    people["user"].refresh_from_db()
    assert not people["user"].is_staff
    staff = APIClient()
    staff.force_login(people["staff"])
    audit.allowed(lambda: staff.get("/admin/"), 200)  # the gate does open for staff


@pytest.mark.parametrize("credential", ["session", "jwt", "api_key"])
def test_non_staff_never_reach_the_api_consoles(credential: str, people: dict[str, User],
                                                audit: Audit) -> None:
    user = people["user"]
    if credential == "session":
        client = APIClient()
        client.force_login(user)
    elif credential == "jwt":
        client = jwt(user)
    else:
        client = key_client(user, ["read", "write"])
    for path, route in CONSOLES:
        for method in ("get", "post", "put", "patch", "delete"):
            response = audit.send(partial(getattr(client, method), path, {}, format="json"))
            assert response.status_code in (403, 405), (method, path, response.status_code)
            routes = [r.__dict__["route"] for r in audit.records()]
            assert routes == ([route] if response.status_code == 403 else [])
    release = "v1/admin/media/<str:media_id>/release"
    audit.denied(lambda: client.post("/v1/admin/media/1/release", {}, format="json"), 403,
                 release, user)
    if credential != "session":  # Django admin reads no bearer: anonymous to it
        audit.denied(lambda: client.get("/admin/"), 302, "admin/")


def test_a_staff_user_s_key_without_the_admin_scope_is_refused(people: dict[str, User],
                                                              audit: Audit) -> None:
    staff = people["staff"]
    writer = key_client(staff, ["read", "write"])
    for path, route in CONSOLES:
        audit.denied(partial(writer.get, path), 403, route, staff)
    admin = key_client(staff, ["admin"])
    for path, _ in CONSOLES:
        audit.allowed(partial(admin.get, path), 200)  # the same gate opens with it


# -- the audit record names the caller -----------------------------------------------------
def test_a_denial_names_the_caller_and_how_it_came(tenants: Tenants, audit: Audit) -> None:
    """DRF writes the user it authenticated back onto the request, so a 404 behind a JWT,
    an API key or a session names that user (and the kind of credential, never it)."""
    path, route = f"/api/library/{tenants.a_item.id}", "api/library/<str:item_id>"
    token = api_key_create(user=tenants.b, name="k", scopes=["read"]).token
    session = APIClient()
    session.force_login(tenants.b)
    for client, credential in ((jwt(tenants.b), "bearer"), (bearer(token), "api_key"),
                               (session, "session")):
        audit.denied(partial(client.get, path), 404, route, tenants.b)
        entry = audit.records()[0].__dict__
        assert entry["credential"] == credential
        assert entry["view"] == "library-item"
        assert token not in str(entry)
