"""The tenant-isolation matrix: every route of the URL resolver, two tenants and every
method (docs/hardening.md, "Tenant isolation and audit").

Tenant A owns one of everything: a library item, a workspace (with a member) holding a
category and a live and a binned object of every kind plus an uploaded item, an
author's file with its folder, an image operation and three open upload sessions
(presigned, multipart, tus), an ai_media item written with A's own API key, and that
key. The platform (a staff operator) owns an admin_media file and an ai_media item.
Tenant B is a user with a JWT, B's API key (read+write), a member of B's own workspace
and a browser session (``FULL`` adds a viewer, an admin member, a read-only key and
the other workspace choices). Every route that ``get_resolver()`` knows is called with
its path parameters filled with A's real objects (or A's objects in the body, where a
route takes ids there), with GET, POST, PUT, PATCH and DELETE, as each of B's
identities, and:

- nothing answers 5xx (a documented 503 excepted);
- a path that names A's object never answers 2xx (the ai_media reads are public by
  contract), and staff routes never answer 2xx to B;
- no response carries anything of A's (ids, names, keys, storage paths, tokens) that
  B did not send itself; lists, counts and usage show B's own rows and bytes only;
- A's rows are the same afterwards: an md5 of every row A and the platform own;
- every denial (401/403/404, a Django-admin redirect to its sign-in page) is exactly
  one ``platform.audit`` record naming the route pattern (never the raw path), and
  nothing else is;
- a capability route (a signed URL: the token is the credential, as with an S3
  presigned URL) answers B exactly what it answers an anonymous caller: B's
  credentials add nothing.

A route added later is a new case here that fails until its parameters are mapped in
``SPECS`` (or it is skipped, with the reason, in ``SKIPPED``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models import Q, Sum
from django.http import HttpResponseBase
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from ai_media.services import media_upsert_many
from apps.accounts.models import ApiKey, Membership, Role, User, Workspace
from apps.accounts.services import api_key_create, workspace_create
from apps.storage.models import StoredFile, Variant
from author_media.conf import QUOTA_BUCKET as AUTHOR_BUCKET
from author_media.models import MediaFile
from media_library.kinds import KINDS
from media_library.models import Category
from tests.hardening.figures import FULL, distinct, record
from tests.media_library.factories import CREATE_BODIES, make
from tests.media_library.routes import Library, build_library
from tests.user_library.helpers import png
from user_library.conf import QUOTA_BUCKET as LIBRARY_BUCKET
from user_library.models import LibraryItem

AREA = "AUTHZ"
PASSWORD = "s3cret-Pass-123"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", *(("HEAD", "OPTIONS") if FULL else ()))
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DENIALS = frozenset({401, 403, 404})
AUDIT = "platform.audit"
ML = "workspaces/<str:workspace_id>/media-library/"
# The project's own apps: the rows a fingerprint covers (Django's content types,
# permissions and sessions belong to no tenant; B's own sessions land there).
PROJECT_APPS = ("accounts", "storage", "processing", "core", "user_library", "media_library",
                "ai_media", "author_media", "admin_media")


# -- the routes of the resolver --------------------------------------------------------
@dataclass(frozen=True)
class Route:
    pattern: str  # as ``request.resolver_match.route`` names it
    params: tuple[str, ...]
    is_admin: bool  # django.contrib.admin's URLs
    callback: Any

    def __str__(self) -> str:
        return self.pattern


def _join(prefix: str, pattern: str) -> str:
    """Django's ``URLResolver._join_route``: an inner regex's ``^`` is dropped."""
    return prefix + pattern.removeprefix("^") if prefix else pattern


def _walk(resolver: URLResolver, prefix: str = "", params: tuple[str, ...] = (),
          admin: bool = False) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        text = _join(prefix, str(entry.pattern))
        names = params + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            yield from _walk(entry, text, names, admin or entry.app_name == "admin")
        else:
            assert isinstance(entry, URLPattern)
            yield Route(text, names, admin, entry.callback)


ALL_ROUTES = list(_walk(get_resolver()))

# Routes that are not part of any tenant's API, and why they are left out:
SKIPPED = {
    "healthz": "the components' status (no tenant data; no credentials read)",
    "metrics": "aggregate counters with no tenant in their labels, behind their own token "
               "(tests/ops/test_metrics.py)",
    "api/schema/": "the OpenAPI document: the same static text for everyone",
    "api/docs/": "Swagger UI's static page over the schema",
    "browse/": "the media browser's HTML shell: no data of its own, everything it shows "
               "comes from the JSON APIs this matrix covers",
    "browse/login/": "the browser's sign-in form (an HTML page, public by design)",
    "browse/logout/": "the browser's sign-out (ends the caller's own session)",
    "admin/login/": "the console's sign-in form: public by design, it is what a "
                    "non-staff caller is sent to",
}
MATRIX_ROUTES = [r for r in ALL_ROUTES if r.pattern not in SKIPPED]


_PARAM = re.compile(r"<(?:[^>:]+:)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def fill_pattern(pattern: str, values: Mapping[str, str]) -> str:
    text = _PARAM.sub(lambda m: values[m["name"] or m["rname"]], pattern)
    return "/" + text.replace("^", "").replace("$", "")


# -- the tenants -----------------------------------------------------------------------
class Marks:
    """Unique strings for A's objects: a response that holds one shows A's data."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.private: set[str] = set()

    def __call__(self, what: str) -> str:
        value = f"{self.prefix}{what}"
        self.private.add(value)
        return value

    def public(self, what: str) -> str:
        """A unique string for something public by contract (not a leak if shown)."""
        return f"{self.prefix}{what}"

    def add(self, *values: object) -> None:
        for value in values:
            if value is None or value == "":
                continue
            text = str(value)
            self.private.add(text)
            if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                            text):
                self.private.add(text.replace("-", ""))


@dataclass
class TenantA:
    user: User
    member: User
    key: ApiKey
    workspace: Workspace
    library: Library  # media_library: a category, a live and a binned object per kind
    library_item_id: str
    ml_upload_id: str
    am_media_id: str
    am_folder: str
    am_operation_id: str
    presigned_id: str
    multipart_id: str
    tus_id: str
    ai_media_id: str
    file_path: str  # /files/<token>/<filename> of A's library item
    content_path: str  # /v1/media/files/<id>/<token>
    thumb_path: str  # /v1/media/files/<id>/<token>/<spec>
    variant_format_path: str  # /v1/media/files/<id>/<token>/<spec>.<format>
    upload_target_path: str  # /v1/media/upload/presigned/<token>


@dataclass
class Platform:
    operator: User
    admin_media_id: str
    admin_file_path: str  # /api/admin/media/<id>/file/<token>
    ai_media_id: str


@dataclass(frozen=True)
class Identity:
    """One of tenant B's ways in."""

    name: str
    user: User
    authorization: str | None  # the Authorization header
    session: bool  # signed in with a session cookie (the browser, the console)
    own_workspace: bool  # a workspace in the path is B's own (else A's)

    def client(self) -> APIClient:
        client = APIClient()
        if self.authorization:
            client.credentials(HTTP_AUTHORIZATION=self.authorization)
        if self.session:
            client.force_login(self.user)
        return client


@dataclass
class TenantB:
    user: User
    member: User
    workspace: Workspace
    identities: list[Identity]


@dataclass
class World:
    a: TenantA
    b: TenantB
    platform: Platform
    marks: Marks
    snapshot: dict[tuple[str, str], str]  # (table, pk) -> md5 of A's and the platform's rows
    storages: dict[str, Any]
    by_model: dict[type, list[Any]] = field(default_factory=dict)  # pks in the snapshot
    # One client per identity for the whole module (a client loads the middleware on
    # its first request, ~30 ms with WhiteNoise's finders); sessions are committed here.
    clients: dict[str, APIClient] = field(default_factory=dict)
    anonymous: APIClient = field(default_factory=APIClient)


def _ok(response: Any, *statuses: int) -> Any:
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    return json.loads(response.content) if response.content else None


def _path(url: str | None) -> str:
    assert url, "a URL was expected"
    return urlsplit(url).path


def _png_upload(name: str, seed: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(seed), "image/png")


def _client_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def build_tenant_a(m: Marks) -> TenantA:
    user = User.objects.create_user(username=m("user"), email=f"{m('mail')}@example.com",
                                    password=PASSWORD)
    member = User.objects.create_user(username=m("member"), password=PASSWORD)
    key = api_key_create(user=user, name=m("key"), scopes=["read", "write"])
    workspace = workspace_create(user=user, name=m("workspace"))
    Membership.objects.create(workspace=workspace, user=member, role=Role.MEMBER)
    client = _client_as(user)

    # user_library: one processed item (scanned by the real clamd, thumbnails made)
    item = _ok(client.post("/api/library", {"file": _png_upload(m("lib") + ".png", 11),
                                            "source": "generate"}, format="multipart"), 201)
    listed = _ok(client.get("/api/library"), 200)["items"][0]
    assert listed["id"] == item["item"]["id"] and listed["signed_url"], listed

    # media_library: the library of tests/media_library, a marked object per kind, and
    # an uploaded item with a stored file
    library = build_library(workspace)
    for key_name in KINDS:
        make(key_name, workspace, m(f"ml-{key_name}"))
    uploaded = _ok(client.post(f"/workspaces/{workspace.pk}/media-library/items/upload",
                               {"file": _png_upload(m("mlup") + ".png", 12),
                                "name": m("ml-upload")}, format="multipart"), 201)

    # author_media: a processed file in a folder, an operation, an empty folder and one
    # open upload session of each protocol
    folder = m("folder")
    media = _ok(client.post("/v1/media/upload", {
        "file": _png_upload(m("am") + ".png", 13), "folder": folder,
        "caption": m("caption"), "altText": m("alt"), "tags": m("tag")},
        format="multipart"), 201)
    operation = _ok(client.post(f"/v1/media/{media['id']}/resize",
                                {"width": 8, "format": "png"}, format="json"), 200, 202)
    operation = _ok(client.get(f"/v1/media/{media['id']}/operations/"
                               f"{operation['operation']['id']}"), 200)
    assert operation["variant"], operation
    _ok(client.post("/v1/media/folders", {"path": m("folder-empty")}, format="json"), 201)
    presigned = _ok(client.post("/v1/media/upload/presigned", {
        "filename": m("pre") + ".png", "mimeType": "image/png", "size": 64},
        format="json"), 201)
    multipart = _ok(client.post("/v1/media/upload/multipart/initiate", {
        "filename": m("multi") + ".png", "mimeType": "image/png", "size": 64},
        format="json"), 201)
    name = base64.b64encode((m("tus") + ".png").encode()).decode()
    tus = client.post("/v1/media/upload/tus/", HTTP_TUS_RESUMABLE="1.0.0",
                      HTTP_UPLOAD_LENGTH="64", HTTP_UPLOAD_METADATA=f"filename {name}")
    assert tus.status_code == 201, tus.content
    detail = _ok(client.get(f"/v1/media/{media['id']}"), 200)
    assert detail["thumbnailUrl"], detail

    # ai_media: an item written with A's own API key
    writer = APIClient()
    writer.credentials(HTTP_AUTHORIZATION=f"Bearer {key.token}")
    ai_item = _ok(writer.post("/api/media", {
        "id": m.public("ai"), "media_type": "image",
        "media_url": "https://cdn.example.com/a.jpg", "title": m.public("ai-title"),
        "ai_tags": {"hair": [m.public("aitag")]}}, format="json"), 201)

    return TenantA(
        user=user, member=member, key=key.key, workspace=workspace, library=library,
        library_item_id=item["item"]["id"], ml_upload_id=uploaded["id"],
        am_media_id=media["id"], am_folder=folder,
        am_operation_id=operation["operation"]["id"], presigned_id=presigned["uploadId"],
        multipart_id=multipart["uploadId"], tus_id=_path(tus["Location"]).rsplit("/", 1)[-1],
        ai_media_id=ai_item["data"]["id"], file_path=_path(listed["signed_url"]),
        content_path=_path(detail["publicUrl"]), thumb_path=_path(detail["thumbnailUrl"]),
        variant_format_path=_path(operation["variant"]["url"]),
        upload_target_path=_path(presigned["url"]))


def build_platform(m: Marks, tag: str) -> Platform:
    operator = User.objects.create_user(username=f"operator{tag}", password=PASSWORD,
                                        is_staff=True)
    media = _ok(_client_as(operator).post("/api/admin/media", {
        "file": _png_upload(m("adm") + ".png", 14), "supabaseId": m("supabase")},
        format="multipart"), 201)["data"]["media"]
    result = media_upsert_many([{"id": f"platform{tag}", "media_type": "image",
                                 "media_url": "https://cdn.example.com/p.jpg"}])
    assert result.errors == [], result.errors
    return Platform(operator=operator, admin_media_id=media["id"],
                    admin_file_path=_path(media["url"]), ai_media_id=f"platform{tag}")


def _jwt(user: User) -> str:
    return f"Bearer {AccessToken.for_user(user)}"


def build_tenant_b(tag: str) -> TenantB:
    user = User.objects.create_user(username=f"tntb{tag}user", password=PASSWORD)
    member = User.objects.create_user(username=f"tntb{tag}member", password=PASSWORD)
    workspace = workspace_create(user=user, name=f"tntb{tag}workspace")
    Membership.objects.create(workspace=workspace, user=member, role=Role.MEMBER)
    key = api_key_create(user=user, name="b-script", scopes=["read", "write"]).token
    identities = [
        Identity("b_user_jwt", user, _jwt(user), session=False, own_workspace=False),
        Identity("b_api_key", user, f"Bearer {key}", session=False, own_workspace=False),
        Identity("b_member_jwt", member, _jwt(member), session=False, own_workspace=True),
        Identity("b_user_session", user, None, session=True, own_workspace=True),
    ]
    if FULL:
        viewer = User.objects.create_user(username=f"tntb{tag}viewer", password=PASSWORD)
        admin = User.objects.create_user(username=f"tntb{tag}admin", password=PASSWORD)
        Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
        Membership.objects.create(workspace=workspace, user=admin, role=Role.ADMIN)
        reader = api_key_create(user=user, name="b-reader", scopes=["read"]).token
        identities += [
            Identity("b_user_jwt_own", user, _jwt(user), session=False, own_workspace=True),
            Identity("b_api_key_own", user, f"Bearer {key}", session=False,
                     own_workspace=True),
            Identity("b_read_key", user, f"Bearer {reader}", session=False,
                     own_workspace=False),
            Identity("b_viewer_jwt", viewer, _jwt(viewer), session=False, own_workspace=True),
            Identity("b_admin_jwt", admin, _jwt(admin), session=False, own_workspace=True),
            Identity("b_member_jwt_foreign", member, _jwt(member), session=False,
                     own_workspace=False),
            Identity("b_member_session", member, None, session=True, own_workspace=True),
        ]
    return TenantB(user=user, member=member, workspace=workspace, identities=identities)


def _tables() -> list[tuple[str, str]]:
    """(table, key expression) of every concrete model of the project's apps: the
    primary key, or for a composite one the row's own md5 (a changed row then shows as
    one gone)."""
    found = []
    for model in django_apps.get_models():
        meta = model._meta
        if meta.app_label in PROJECT_APPS and meta.managed and not meta.proxy:
            column = getattr(meta.pk, "column", None)
            found.append((meta.db_table, f't."{column}"::text' if column else "md5(t::text)"))
    return sorted(set(found))


def fingerprint() -> dict[tuple[str, str], str]:
    """An md5 of every row of the project's tables, in one statement."""
    parts = [f"SELECT '{table}', {key}, md5(t::text) FROM \"{table}\" t"  # noqa: S608
             for table, key in _tables()]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {(table, pk): digest for table, pk, digest in cursor.fetchall()}


def build_world(storages: dict[str, Any]) -> World:
    tag = secrets.token_hex(4)
    marks = Marks(f"tnta{tag}")
    a = build_tenant_a(marks)
    platform = build_platform(marks, tag)
    snapshot = fingerprint()  # before B exists: these rows are A's and the platform's
    _mark_private(marks, a, platform)
    b = build_tenant_b(tag)
    world = World(a=a, b=b, platform=platform, marks=marks, snapshot=snapshot,
                  storages=storages)
    for model in django_apps.get_models():
        table = model._meta.db_table
        world.by_model[model] = [pk for (t, pk) in snapshot if t == table]
    world.clients = {who.name: who.client() for who in b.identities}
    return world


def _mark_private(m: Marks, a: TenantA, platform: Platform) -> None:
    """Everything of A's (and of the staff-only console) that B must never be shown:
    ids, names, keys, storage paths, digests. The public ai_media catalogue is not."""
    m.add(a.user.pk, a.user.username, a.user.email, a.member.pk, a.member.username,
          a.key.pk, a.key.prefix, a.workspace.pk, a.library_item_id, a.ml_upload_id,
          a.am_operation_id, a.presigned_id, a.multipart_id, a.tus_id, platform.admin_media_id)
    for group in (a.library.categories, a.library.live, a.library.binned):
        m.add(*(obj.pk for obj in group.values()))
    for model in (c.model for c in KINDS.values()):
        m.add(*model.objects.filter(workspace=a.workspace).values_list("pk", flat=True))
    m.add(*Category.objects.filter(workspace=a.workspace).values_list("pk", flat=True))
    files = StoredFile.objects.filter(Q(owner_user__in=[a.user, platform.operator])
                                      | Q(owner_workspace=a.workspace))
    for stored in files:
        m.add(stored.pk, stored.key, stored.sha256)
    for variant in Variant.objects.filter(stored_file__in=files):
        m.add(variant.pk, variant.key)
    for media in MediaFile.objects.filter(user=a.user):
        m.add(media.storage_path, media.filename)
    # the capabilities minted for A: shown to B anywhere, they would be a leak
    m.add(a.file_path.split("/")[2], a.content_path.split("/")[5],
          a.upload_target_path.split("/")[-1], platform.admin_file_path.split("/")[6])


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A and B, built once per module (and per xdist worker) and committed, so that the
    after-commit work (the real clamd scan, thumbnails, operations) runs; every test then
    runs in its own rolled-back transaction, and the module ends with a flush."""
    from config.celery import app

    app.conf.task_always_eager = True  # tests/conftest.py's fixture is function-scoped
    app.conf.task_eager_propagates = True
    root: Path = tmp_path_factory.mktemp("matrix-media")
    storages = {**settings.STORAGES,
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                            "OPTIONS": {"location": str(root), "base_url": "/media/"}}}
    with override_settings(STORAGES=storages), django_db_blocker.unblock(), \
            pytest.MonkeyPatch.context() as patch:
        # No throttle while the matrix runs: DRF's throttles read their rates once, at
        # import (tests/conftest.py's settings change does not reach them), a 429 would
        # hide what a route answers, and thousands of requests from one address would
        # use up the shared Redis counters of the tests that run next.
        patch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict.fromkeys(
            [*SimpleRateThrottle.THROTTLE_RATES, "anon", "user", "auth"]))
        try:
            yield build_world(storages)
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _world_storage(world: World, settings: Any) -> None:
    """Back to the world's storage (tests/conftest.py gives each test an empty one)."""
    settings.STORAGES = world.storages


# -- what each route is called with ----------------------------------------------------
@dataclass(frozen=True)
class Fill:
    value: str
    foreign: bool  # one of A's objects (or A's workspace)


Filler = Callable[[World, Identity], Fill]


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str
    known: tuple[str, ...] = ()  # what B knows from it: the SHA-256 of the files it sends


BodyMaker = Callable[[World, Identity], Body]
Check = Callable[[World, Identity, Any], list[str]]


def a_(getter: Callable[[World], object]) -> Filler:
    """A parameter filled with one of A's objects."""
    return lambda w, who: Fill(str(getter(w)), True)


def const(value: str) -> Filler:
    return lambda w, who: Fill(value, False)


def workspace_param(w: World, who: Identity) -> Fill:
    """B's own workspace for an identity that works there (then A's objects are still
    in the other parameters), else A's workspace."""
    if who.own_workspace:
        return Fill(str(w.b.workspace.pk), False)
    return Fill(str(w.a.workspace.pk), True)


def as_json(make_body: Callable[[World, Identity], object]) -> BodyMaker:
    return lambda w, who: Body(json.dumps(make_body(w, who)).encode(), "application/json")


def as_form(make_fields: Callable[[World, Identity], dict[str, Any]]) -> BodyMaker:
    def make_body(w: World, who: Identity) -> Body:
        fields = make_fields(w, who)
        digests = []
        for value in fields.values():
            if isinstance(value, SimpleUploadedFile):
                digests.append(hashlib.sha256(value.read()).hexdigest())
                value.seek(0)
        return Body(encode_multipart(BOUNDARY, fields), MULTIPART_CONTENT, tuple(digests))
    return make_body


def raw(data: bytes, content_type: str) -> BodyMaker:
    return lambda w, who: Body(data, content_type)


@dataclass(frozen=True)
class Spec:
    tenant: str  # whose objects the route reaches, or why it has none
    params: Mapping[str, Filler] = field(default_factory=dict)
    bodies: Mapping[str, BodyMaker] = field(default_factory=dict)
    # tenant: A's objects in the path; capability: the token is the credential;
    # staff: the console; public: a catalogue anyone reads
    kind: str = "tenant"
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    public_methods: frozenset[str] = frozenset()  # reads the contract opens to anyone
    allowed_5xx: Mapping[int, str] = field(default_factory=dict)  # status -> why
    check: Check | None = None  # B's 2xx GET: only B's rows and bytes


# checks of B's lists, counts and usage against B's own rows ----------------------------
def check_library_list(w: World, who: Identity, body: Any) -> list[str]:
    expected = LibraryItem.objects.filter(user=who.user).count()
    problems = [] if body["total"] == expected else [f"total {body['total']} != {expected}"]
    return problems + [f"item of {i['user_id']}" for i in body["items"]
                       if i["user_id"] != str(who.user.pk)]


def check_library_usage(w: World, who: Identity, body: Any) -> list[str]:
    rows = StoredFile.objects.filter(owner_user=who.user, quota_bucket=LIBRARY_BUCKET)
    used = int(rows.aggregate(n=Sum("size"))["n"] or 0)
    usage = body["usage"]
    got = (usage["used_bytes"], usage["item_count"])
    return [] if got == (used, rows.count()) else [f"usage {got} != {(used, rows.count())}"]


def check_batch(w: World, who: Identity, body: Any) -> list[str]:
    return [] if body["deleted"] == 0 else [f"deleted {body['deleted']} of A's items"]


def _author_bytes(user: User) -> int:
    files = StoredFile.objects.filter(owner_user=user, quota_bucket=AUTHOR_BUCKET)
    return int((files.aggregate(n=Sum("size"))["n"] or 0)
               + (Variant.objects.filter(stored_file__in=files).aggregate(n=Sum("size"))["n"]
                  or 0))


def check_author_list(w: World, who: Identity, body: Any) -> list[str]:
    expected = MediaFile.objects.filter(user=who.user, deleted_at__isnull=True,
                                        is_quarantined=False).count()
    problems = [] if body["total"] == expected else [f"total {body['total']} != {expected}"]
    return problems + [f"file of {d['userId']}" for d in body["data"]
                       if d["userId"] != str(who.user.pk)]


def check_author_usage(w: World, who: Identity, body: Any) -> list[str]:
    total = body.get("total", body)
    got = (total["userId"], total["totalBytes"])
    expected = (str(who.user.pk), _author_bytes(who.user))
    problems = [] if got == expected else [f"usage {got} != {expected}"]
    if "bySite" in body:
        sites = sum(site["bytes"] for site in body["bySite"])
        if sites != expected[1]:
            problems.append(f"bySite {sites} != {expected[1]}")
    return problems


def check_author_folders(w: World, who: Identity, body: Any) -> list[str]:
    """Folders are B's, and so are the files they count (a folder of B's named like
    one of A's must not count A's files)."""
    problems = []
    for folder in body:
        mine = MediaFile.objects.filter(user=who.user, folder=folder["path"],
                                        deleted_at__isnull=True).count()
        if folder["fileCount"] != mine:
            problems.append(f"folder {folder['path']} counts {folder['fileCount']} != {mine}")
    return problems


def check_ml_list(model: Any) -> Check:
    def check(w: World, who: Identity, body: Any) -> list[str]:
        expected = model.objects.filter(workspace=w.b.workspace, is_deleted=False).count()
        return [] if body["total"] == expected else [f"total {body['total']} != {expected}"]
    return check


def check_ml_bin(w: World, who: Identity, body: Any) -> list[str]:
    problems = []
    for kind in KINDS.values():
        expected = kind.model.objects.filter(workspace=w.b.workspace, is_deleted=True).count()
        if body[kind.bin_section]["total"] != expected:
            problems.append(f"{kind.bin_section} {body[kind.bin_section]['total']} != {expected}")
    return problems


def check_ml_categories(w: World, who: Identity, body: Any) -> list[str]:
    expected = Category.objects.filter(workspace=w.b.workspace).count()
    got = len(body) if isinstance(body, list) else sum(len(v) for v in body.values())
    return [] if got == expected else [f"{got} categories != {expected}"]


def check_bulk(w: World, who: Identity, body: Any) -> list[str]:
    return [] if body["processedCount"] == 0 else [f"processed {body['processedCount']}"]


def check_workspaces(w: World, who: Identity, body: Any) -> list[str]:
    mine = {str(pk) for pk in Workspace.objects.filter(memberships__user=who.user)
            .values_list("pk", flat=True)}
    return [f"workspace {x['id']}" for x in body if x["id"] not in mine]


def check_api_keys(w: World, who: Identity, body: Any) -> list[str]:
    mine = {str(pk) for pk in ApiKey.objects.filter(user=who.user).values_list("pk", flat=True)}
    return [f"key {x['id']}" for x in body if x["id"] not in mine]


def check_me(w: World, who: Identity, body: Any) -> list[str]:
    return [] if body["id"] == str(who.user.pk) else [f"me is {body['id']}"]


# the map of every route -------------------------------------------------------------------
def _library_item(w: World) -> str:
    return w.a.library_item_id


def _ml_object(kind: str, pool: str = "live") -> Filler:
    return a_(lambda w: getattr(w.a.library, pool)[kind].pk)


def _ml_specs() -> dict[str, Spec]:
    ws = {"workspace_id": workspace_param}
    tenant = "A's workspace library (a member of B's workspace gets A's ids in B's path)"
    specs = {
        ML + "categories": Spec(tenant, ws, {"POST": as_json(
            lambda w, who: {"name": "B's", "type": "image"})}, check=check_ml_categories),
        ML + "categories/grouped": Spec(tenant, ws, check=check_ml_categories),
        ML + "categories/reorder": Spec(tenant, ws, {"POST": as_json(lambda w, who: {
            "type": "image", "categoryIds": [str(w.a.library.categories["items"].pk)]})}),
        ML + "categories/<str:category_id>": Spec(
            tenant, {**ws, "category_id": a_(lambda w: w.a.library.categories["items"].pk)},
            {"PUT": as_json(lambda w, who: {"name": "pwned"})}),
        ML + "items/recent": Spec(tenant, ws),
        ML + "items/bulk": Spec(tenant, ws, {"POST": as_json(lambda w, who: {
            "ids": [str(w.a.library.live["items"].pk), str(w.a.library.binned["items"].pk)],
            "action": "delete"})}, check=check_bulk),
        ML + "items/upload": Spec(tenant, ws, {"POST": as_form(lambda w, who: {
            "file": _png_upload("b.png", 12),  # A's bytes: no dedup across tenants
            "categoryId": str(w.a.library.categories["items"].pk)})}),
        ML + "templates/<str:object_id>/clone": Spec(
            tenant, {**ws, "object_id": _ml_object("templates")},
            {"POST": as_json(lambda w, who: {"name": "cloned"})}),
        ML + "links/<str:object_id>/refresh-preview": Spec(
            tenant, {**ws, "object_id": _ml_object("links")}),
        ML + "recycle-bin": Spec(tenant, ws, check=check_ml_bin),
        ML + "recycle-bin/empty": Spec(tenant, ws),
    }
    for key, kind in KINDS.items():
        def create(w: World, who: Identity, key: str = key) -> object:
            foreign = w.a.library.categories[key].pk
            return CREATE_BODIES[key](categoryId=str(foreign))

        specs[ML + key] = Spec(tenant, ws, {"POST": as_json(create)},
                               check=check_ml_list(kind.model))
        one = {**ws, "object_id": _ml_object(key)}
        specs[ML + f"{key}/<str:object_id>"] = Spec(
            tenant, one, {"PUT": as_json(lambda w, who: {"name": "pwned", "isStarred": True})})
        specs[ML + f"{key}/<str:object_id>/restore"] = Spec(
            tenant, {**ws, "object_id": _ml_object(key, "binned")})
        specs[ML + f"{key}/<str:object_id>/permanent"] = Spec(tenant, one)
        specs[ML + f"{key}/<str:object_id>/use"] = Spec(tenant, one)
    return specs


_TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
_NEW_FILE = {"filename": "b.png", "mimeType": "image/png", "size": 64}
_MEDIA = {"media_id": a_(lambda w: w.a.am_media_id)}
_ADMIN_MEDIA = "the staff console: admin_media's media belong to the platform"
_PUBLIC = "none: ai_media's catalogue is public to read by contract (shared/specs/ai_media.md)"

SPECS: dict[str, Spec] = {
    # accounts ---------------------------------------------------------------------------
    "api/auth/register/": Spec(
        "none: creates a new account; A's username is taken, nothing of A's is returned",
        bodies={"POST": as_json(lambda w, who: {"username": w.a.user.username,
                                                "password": "An0ther-Long-Pass!"})}),
    "api/auth/token/": Spec(
        "none: exchanges a username and password; B tries A's username",
        bodies={"POST": as_json(lambda w, who: {"username": w.a.user.username,
                                                "password": "not-A's-password"})}),
    "api/auth/token/refresh/": Spec(
        "none: exchanges a refresh token; B sends a forged one",
        bodies={"POST": as_json(lambda w, who: {"refresh": "forged.refresh.token"})}),
    "api/auth/me/": Spec("the caller's own account", check=check_me),
    "api/auth/api-keys/": Spec(
        "the caller's own keys; B asks for a key with the admin scope (never B's to have)",
        bodies={"POST": as_json(lambda w, who: {"name": "widen", "scopes": ["admin"]})},
        check=check_api_keys),
    "api/auth/api-keys/<uuid:key_id>/": Spec("A's API key",
                                             {"key_id": a_(lambda w: w.a.key.pk)}),
    "api/workspaces/": Spec("the caller's workspaces",
                            bodies={"POST": as_json(lambda w, who: {"name": "B's new"})},
                            check=check_workspaces),
    "api/workspaces/<str:workspace_id>/": Spec("A's workspace",
                                               {"workspace_id": workspace_param}),
    "api/workspaces/<str:workspace_id>/members/": Spec(
        "A's workspace: B tries to make itself an owner",
        {"workspace_id": workspace_param},
        {"POST": as_json(lambda w, who: {"username": who.user.username, "role": "owner"})}),
    "api/workspaces/<str:workspace_id>/members/<uuid:user_id>/": Spec(
        "A's workspace and A's member", {"workspace_id": workspace_param,
                                         "user_id": a_(lambda w: w.a.member.pk)}),
    # storage ---------------------------------------------------------------------------
    "files/<str:token>/<str:filename>": Spec(
        "A's file behind a signed URL minted for A", {
            "token": a_(lambda w: w.a.file_path.split("/")[2]),
            "filename": a_(lambda w: w.a.file_path.split("/")[3])}, kind="capability"),
    # user_library ----------------------------------------------------------------------
    "api/library": Spec("the caller's library", bodies={"POST": as_json(lambda w, who: {
        "source": "generate", "mimeType": "image/png",
        "fileData": base64.b64encode(png(11)).decode()})},  # A's bytes
        check=check_library_list),
    "api/library/batch": Spec("A's items, by id in the body", bodies={
        "DELETE": as_json(lambda w, who: {"ids": [w.a.library_item_id]})}, check=check_batch),
    "api/library/usage": Spec("the caller's usage", check=check_library_usage),
    "api/library/<str:item_id>/similar": Spec("A's library item",
                                              {"item_id": a_(_library_item)}),
    "api/library/<str:item_id>": Spec("A's library item", {"item_id": a_(_library_item)}),
    # media_library ------------------------------------------------------------------------
    **_ml_specs(),
    # admin_media --------------------------------------------------------------------------
    "api/admin/media": Spec(_ADMIN_MEDIA, kind="staff", bodies={
        "POST": as_json(lambda w, who: {"url": "https://example.com/b.jpg",
                                        "type": "image/jpeg"}),
        "PUT": as_json(lambda w, who: {"id": w.platform.admin_media_id, "aspectRatio": "1/1"}),
        "PATCH": as_json(lambda w, who: {"mediaIds": [w.platform.admin_media_id],
                                         "category": ["pwned"]}),
        "DELETE": as_json(lambda w, who: {"mediaIds": [w.platform.admin_media_id]})}),
    "api/admin/media/<str:media_id>/file/<str:token>": Spec(
        "the console's file link (a signed capability, the media's url)", {
            "media_id": a_(lambda w: w.platform.admin_file_path.split("/")[4]),
            "token": a_(lambda w: w.platform.admin_file_path.split("/")[6])},
        kind="capability"),
    # ai_media ---------------------------------------------------------------------------
    "api/feed": Spec(_PUBLIC, kind="public"),
    "api/search/semantic": Spec(_PUBLIC, kind="public", query="?q=cat", allowed_5xx={
        503: "no CLIP model is configured in the suite: the documented 503"}),
    "api/search": Spec(_PUBLIC, kind="public", query="?tags=red"),
    "api/tag-categories": Spec(_PUBLIC, kind="public"),
    "api/media": Spec(
        "the catalogue's writes: B's key tries to overwrite the item A's key wrote",
        bodies={"POST": as_json(lambda w, who: {
            "id": w.a.ai_media_id, "media_type": "image",
            "media_url": "https://evil.example.com/x.jpg", "title": "pwned"})}),
    "api/media/<str:media_id>": Spec(
        "the item A's key wrote (public to read, A's to change)",
        {"media_id": a_(lambda w: w.a.ai_media_id)}, public_methods=frozenset({"GET"})),
    "api/similar/<str:media_id>": Spec(
        "the item A's key wrote (public to read)", {"media_id": a_(lambda w: w.a.ai_media_id)},
        public_methods=frozenset({"GET"})),
    # author_media --------------------------------------------------------------------------
    "v1/media/upload": Spec("the caller's files (B names A's folder: it gets its own)",
                            bodies={"POST": as_form(lambda w, who: {
                                # A's very bytes: a per-user dedup must not hand
                                # B A's file as the "duplicate"
                                "file": _png_upload("b.png", 13), "folder": w.a.am_folder})}),
    "v1/media/upload/presigned": Spec("the caller's uploads", bodies={
        "POST": as_json(lambda w, who: _NEW_FILE)}),
    "v1/media/upload/presigned/<str:token>": Spec(
        "A's presigned upload (the signed URL is the capability, as S3's)",
        {"token": a_(lambda w: w.a.upload_target_path.split("/")[-1])}, kind="capability"),
    "v1/media/upload/confirm": Spec("A's presigned upload, by id in the body", bodies={
        "POST": as_json(lambda w, who: {"uploadId": w.a.presigned_id})}),
    "v1/media/upload/multipart/initiate": Spec("the caller's uploads", bodies={
        "POST": as_json(lambda w, who: _NEW_FILE)}),
    "v1/media/upload/multipart/part": Spec("A's multipart upload, by id in the body", bodies={
        "POST": as_json(lambda w, who: {"uploadId": w.a.multipart_id, "partNumber": 1})}),
    "v1/media/upload/multipart/complete": Spec("A's multipart upload", bodies={
        "POST": as_json(lambda w, who: {"uploadId": w.a.multipart_id,
                                        "parts": [{"partNumber": 1, "etag": "x"}]})}),
    "v1/media/upload/multipart/abort": Spec("A's multipart upload", bodies={
        "POST": as_json(lambda w, who: {"uploadId": w.a.multipart_id})}),
    "v1/media/upload/tus/": Spec("the caller's uploads", {}, {
        "POST": raw(b"", "application/offset+octet-stream")},
        headers={**_TUS, "HTTP_UPLOAD_LENGTH": "64"}),
    "v1/media/upload/tus/<str:upload_id>": Spec(
        "A's tus upload", {"upload_id": a_(lambda w: w.a.tus_id)},
        {"PATCH": raw(b"x", "application/offset+octet-stream")},
        headers={**_TUS, "HTTP_UPLOAD_OFFSET": "0"}),
    "v1/media/<str:media_id>/optimize": Spec("A's file", _MEDIA),
    "v1/media/<str:media_id>/resize": Spec("A's file", _MEDIA, {
        "POST": as_json(lambda w, who: {"width": 4})}),
    "v1/media/<str:media_id>/crop": Spec("A's file", _MEDIA, {
        "POST": as_json(lambda w, who: {"x": 0, "y": 0, "width": 2, "height": 2})}),
    "v1/media/<str:media_id>/variants": Spec("A's file", _MEDIA),
    "v1/media/<str:media_id>/operations/<str:operation_id>": Spec(
        "A's file and its operation",
        {**_MEDIA, "operation_id": a_(lambda w: w.a.am_operation_id)}),
    "v1/media/files/<int:media_id>/<str:token>/<str:spec>.<str:format>": Spec(
        "A's variant behind its stable link (an HMAC of the id: a capability)", {
            "media_id": a_(lambda w: w.a.am_media_id),
            "token": a_(lambda w: w.a.variant_format_path.split("/")[5]),
            "spec": a_(lambda w: w.a.variant_format_path.split("/")[6].split(".")[0]),
            "format": a_(lambda w: w.a.variant_format_path.split(".")[-1])},
        kind="capability"),
    "v1/media": Spec("the caller's files", check=check_author_list),
    "v1/media/folders": Spec("the caller's folders (B names A's folder: it gets its own)",
                             bodies={"POST": as_json(lambda w, who: {"path": w.a.am_folder})},
                             check=check_author_folders),
    "v1/media/folders/(?P<folder_name>.+)$": Spec(
        "A's folder", {"folder_name": a_(lambda w: w.a.am_folder)}),
    "v1/media/usage": Spec("the caller's usage", check=check_author_usage),
    "v1/media/usage/breakdown": Spec("the caller's usage", check=check_author_usage),
    "v1/media/files/<int:media_id>/<str:token>": Spec(
        "A's file behind its stable link (a capability)", {
            "media_id": a_(lambda w: w.a.am_media_id),
            "token": a_(lambda w: w.a.content_path.split("/")[5])}, kind="capability"),
    "v1/media/files/<int:media_id>/<str:token>/<str:spec>": Spec(
        "A's thumbnail behind its stable link (a capability)", {
            "media_id": a_(lambda w: w.a.am_media_id),
            "token": a_(lambda w: w.a.thumb_path.split("/")[5]),
            "spec": a_(lambda w: w.a.thumb_path.split("/")[6])}, kind="capability"),
    "v1/media/<str:media_id>": Spec("A's file", _MEDIA, {
        "PUT": as_json(lambda w, who: {"altText": "pwned"})}),
    "v1/media/<str:media_id>/move": Spec("A's file", _MEDIA, {
        "POST": as_json(lambda w, who: {"folder": "pwned"})}),
    "v1/admin/media/quarantined": Spec("the staff console: every author's held files",
                                       kind="staff"),
    "v1/admin/media/<str:media_id>/release": Spec(
        "the staff console: A's file", _MEDIA, {"POST": as_json(lambda w, who: {
            "reason": "pwned"})}, kind="staff"),
}


def _admin_object(model: type | None) -> Filler:
    """A row of the ModelAdmin's model (A's, or the platform's: the snapshot's first)."""
    def fill(w: World, who: Identity) -> Fill:
        pks = w.by_model.get(model, []) if model is not None else []
        return Fill(pks[0] if pks else "1", bool(pks))
    return fill


def admin_spec(route: Route) -> Spec:
    """django.contrib.admin's routes, one gate for all (``AdminSite.admin_view``: active
    staff only), so their parameters are filled the same way for every model: a row of
    the ModelAdmin's model. A parameter of a new kind still fails the matrix."""
    model_admin = getattr(route.callback, "model_admin", None)
    model = model_admin.model if model_admin is not None else None
    fillers: dict[str, Filler] = {
        "object_id": _admin_object(model if model is not None else LibraryItem),
        "id": a_(lambda w: w.a.user.pk),  # UserAdmin's password change
        "content_type_id": const(str(ContentType.objects.get_for_model(LibraryItem).pk)),
        "app_label": const("user_library"),
        "url": const("no-such-console-page/"),
    }
    unknown = set(route.params) - set(fillers)
    if unknown:
        pytest.fail(f"admin route {route} has parameters {unknown} the matrix cannot fill")
    return Spec("the staff console (Django admin)",
                {name: fillers[name] for name in route.params}, kind="staff")


def spec_for(route: Route) -> Spec:
    if route.is_admin:
        return admin_spec(route)
    spec = SPECS.get(route.pattern)
    if spec is None:
        pytest.fail(f"route {route.pattern!r} is not in the tenant matrix: add it to SPECS "
                    "(fill its parameters with tenant A's objects) or to SKIPPED, with why")
    if set(spec.params) != set(route.params):
        pytest.fail(f"route {route.pattern!r} takes {sorted(route.params)}; SPECS fills "
                    f"{sorted(spec.params)}")
    return spec


def identities_for(world: World, route: Route) -> list[Identity]:
    """Every identity, except that the fast tier calls the console's ~160 routes as the
    signed-in browser user (the only credential Django admin reads) and as the API key
    (which it must not read): a JWT reaches it exactly as the key does, anonymous."""
    if FULL or not route.is_admin:
        return world.b.identities
    return [i for i in world.b.identities if i.name in ("b_user_session", "b_api_key")]


# -- one request and its verdict --------------------------------------------------------
@dataclass
class Sent:
    method: str
    path: str
    body: Body | None
    headers: dict[str, str]

    def text(self) -> str:
        body = self.body.data.decode("utf-8", "replace") if self.body else ""
        known = self.body.known if self.body else ()
        return " ".join([self.path, body, *known, *self.headers.values()])


def send(client: APIClient, sent: Sent) -> tuple[Any, bytes]:
    api: Any = client  # the stubs type extra headers (**extra) and bodies too narrowly
    if sent.body is None:
        response = api.generic(sent.method, sent.path, **sent.headers)
    else:
        response = api.generic(sent.method, sent.path, sent.body.data,
                               sent.body.content_type, **sent.headers)
    if getattr(response, "streaming", False):
        return response, b"".join(response.streaming_content)
    return response, bytes(response.content)


def _is_admin_login_redirect(route: Route, response: HttpResponseBase) -> bool:
    return (route.is_admin and response.status_code in (301, 302, 303, 307, 308)
            and urlsplit(response.get("Location") or "").path == "/admin/login/")


def is_denial(route: Route, response: HttpResponseBase) -> bool:
    return response.status_code in DENIALS or _is_admin_login_redirect(route, response)


def audit_problems(route: Route, sent: Sent, response: HttpResponseBase,
                   who: Identity | None, records: list[logging.LogRecord]) -> list[str]:
    """Exactly one record for a denial, naming the route (never the raw path); none for
    anything else."""
    audited = [r for r in records if r.name == AUDIT]
    if not is_denial(route, response):
        return [f"{len(audited)} audit records for a {response.status_code}"] if audited else []
    if len(audited) != 1:
        return [f"{len(audited)} audit records for a denial ({response.status_code})"]
    entry = audited[0].__dict__
    problems = []
    users = {"anonymous"} | ({str(who.user.pk)} if who is not None else set())
    expected = {"event": "access_denied", "status": response.status_code,
                "method": sent.method, "route": route.pattern}
    for name, value in expected.items():
        if entry.get(name) != value:
            problems.append(f"audit {name}={entry.get(name)!r}, expected {value!r}")
    if entry.get("user") not in users:
        problems.append(f"audit user {entry.get('user')!r} not in {users}")
    if entry.get("view") is None:
        problems.append("audit record without the view's name")
    if route.pattern != sent.path.lstrip("/") and sent.path.split("?")[0] in str(entry):
        problems.append("the audit record holds the raw path")
    return problems


def leaked(world: World, sent: Sent, response: HttpResponseBase, content: bytes,
           told: frozenset[str] = frozenset()) -> set[str]:
    """A's private strings in the response that B did not send itself (in this request,
    or in ``told``: the earlier ones of the route, e.g. the name of a folder B made)."""
    headers = " ".join(f"{k}: {v}" for k, v in response.items())
    text = content.decode("utf-8", "replace") + " " + headers
    asked = sent.text()
    return {mark for mark in world.marks.private
            if mark in text and mark not in asked and mark not in told}


def changed_rows(world: World) -> list[tuple[str, str]]:
    now = fingerprint()
    return sorted(key for key, digest in world.snapshot.items() if now.get(key) != digest)


class Matrix:
    """The requests of one route, their verdicts and the figures."""

    def __init__(self, world: World, route: Route, spec: Spec,
                 caplog: pytest.LogCaptureFixture) -> None:
        self.world, self.route, self.spec, self.caplog = world, route, spec, caplog
        self.problems: list[str] = []
        self.told: set[str] = set()  # A's strings B has sent in this route's requests

    def prepare(self, who: Identity, method: str) -> tuple[Sent, bool]:
        fills = {name: filler(self.world, who) for name, filler in self.spec.params.items()}
        path = fill_pattern(self.route.pattern, {k: f.value for k, f in fills.items()})
        maker = self.spec.bodies.get(method)
        body = maker(self.world, who) if maker else (
            Body(b"{}", "application/json") if method in ("POST", "PUT", "PATCH") else None)
        sent = Sent(method, path + self.spec.query, body, dict(self.spec.headers))
        return sent, any(f.foreign for f in fills.values())

    def call(self, client: APIClient, sent: Sent,
             who: Identity | None) -> tuple[HttpResponseBase, bytes, list[str], bool]:
        """The response, its body, what is wrong with its audit trail, and whether it is
        a denial that left no audit record at all (the figure ``unaudited``)."""
        self.caplog.clear()
        response, content = send(client, sent)
        records = self.caplog.records
        audit = audit_problems(self.route, sent, response, who, records)
        unaudited = is_denial(self.route, response) and not any(
            r.name == AUDIT for r in records)
        return response, content, audit, unaudited

    def run(self, who: Identity, method: str) -> None:
        sent, foreign = self.prepare(who, method)
        assert resolve(sent.path.split("?")[0]).route == self.route.pattern, sent.path
        response, content, audit, unaudited = self.call(self.world.clients[who.name], sent,
                                                        who)
        status = response.status_code
        problems = [f"audit: {p}" for p in audit]
        cross = False
        two = 200 <= status < 300
        if status >= 500 and status not in self.spec.allowed_5xx:
            problems.append(f"{status}: {content[:300]!r}")
        if status == 429:
            problems.append("throttled: the route's own answer is hidden")
        kind = self.spec.kind
        if kind == "capability":
            anonymous, anonymous_content, anon_audit, anon_unaudited = self.call(
                self.world.anonymous, sent, None)
            record(AREA, requests=1, cross_tenant_2xx=0, unaudited=int(anon_unaudited))
            problems += [f"audit (anonymous): {p}" for p in anon_audit]
            if anonymous.status_code != status or (
                    method == "GET" and status == 200 and anonymous_content != content):
                problems.append(f"B's credentials changed a capability's answer: "
                                f"{status} vs anonymous {anonymous.status_code}")
                cross = two
        else:
            public = self.spec.public_methods | (
                {"HEAD"} if "GET" in self.spec.public_methods else set())
            # OPTIONS is DRF's metadata: the view's description, the same for any id
            if two and (kind == "staff" or (
                    foreign and method not in public and method != "OPTIONS")):
                problems.append(f"{status} on A's object: {content[:200]!r}")
                cross = True
            shown = leaked(self.world, sent, response, content, frozenset(self.told))
            if shown:
                problems.append(f"{status} shows A's data: {sorted(shown)[:5]}")
                cross = cross or two
            if two and method == "GET" and not foreign and self.spec.check is not None:
                try:
                    wrong = self.spec.check(self.world, who, json.loads(content))
                except (KeyError, TypeError, ValueError) as exc:
                    wrong = [f"unreadable body ({exc!r}): {content[:200]!r}"]
                problems += [f"B's count: {p}" for p in wrong]
                cross = cross or bool(wrong)
        if two and method in WRITES:
            rows = changed_rows(self.world)
            if rows:
                problems.append(f"{status} changed A's rows: {rows[:5]}")
                cross = True
        asked = sent.text()
        self.told |= {mark for mark in self.world.marks.private if mark in asked}
        distinct(AREA, routes=self.route.pattern)
        distinct(AREA, methods=method)
        record(AREA, requests=1, cross_tenant_2xx=int(cross), unaudited=int(unaudited))
        self.problems += [f"{who.name} {method} {sent.path}: {p}" for p in problems]


@pytest.mark.parametrize("route", MATRIX_ROUTES, ids=str)
def test_tenant_b_never_reaches_tenant_a(route: Route, world: World, db: None,
                                         caplog: pytest.LogCaptureFixture) -> None:
    spec = spec_for(route)
    caplog.set_level(logging.INFO, logger=AUDIT)
    matrix = Matrix(world, route, spec, caplog)
    for who in identities_for(world, route):
        for method in METHODS:
            matrix.run(who, method)
    rows = changed_rows(world)
    if rows:
        matrix.problems.append(f"A's rows changed: {rows[:10]}")
    assert not matrix.problems, "\n".join(matrix.problems[:40])


def test_the_matrix_maps_exactly_the_routes_of_the_resolver() -> None:
    """Every route is either mapped or skipped with a reason, and nothing mapped is gone:
    a route added (or a parameter renamed) fails here and in its own case."""
    patterns = {r.pattern for r in ALL_ROUTES}
    api = {r.pattern for r in ALL_ROUTES if not r.is_admin} - set(SKIPPED)
    assert api - set(SPECS) == set(), "routes missing from SPECS"
    assert set(SPECS) - patterns == set(), "SPECS names routes the resolver no longer has"
    assert set(SKIPPED) <= patterns, "SKIPPED names routes the resolver no longer has"
    assert len(MATRIX_ROUTES) > 200  # the console's routes are in the matrix too


def test_an_unmapped_route_fails_the_matrix() -> None:
    """What a route added later meets: no entry in SPECS (or a renamed parameter) is a
    failure of its case, not a silent pass."""
    with pytest.raises(pytest.fail.Exception, match="not in the tenant matrix"):
        spec_for(Route("api/library/<str:item_id>/share", ("item_id",), False, None))
    with pytest.raises(pytest.fail.Exception, match="takes"):
        spec_for(Route("api/library/<str:item_id>", ("id",), False, None))


def test_the_fill_reaches_the_route_it_fills(world: World, db: None) -> None:
    """Each route's filled path resolves to that very route (so the matrix does not
    test a neighbour), and carries A's objects where the route takes one."""
    for route in MATRIX_ROUTES:
        spec = spec_for(route)
        for who in world.b.identities[:1]:
            fills = {n: f(world, who) for n, f in spec.params.items()}
            path = fill_pattern(route.pattern, {k: f.value for k, f in fills.items()})
            assert resolve(path).route == route.pattern, (route.pattern, path)
            if route.params and spec.kind != "staff":
                assert any(f.foreign for f in fills.values()), route.pattern


def test_a_leak_would_be_seen(world: World, db: None) -> None:
    """The detectors detect: A's own view of A's item shows A's marks, and a change of
    one of A's rows shows in the fingerprint."""
    client = _client_as(world.a.user)
    response = client.get(f"/api/library/{world.a.library_item_id}")
    sent = Sent("GET", "/api/library", None, {})
    assert leaked(world, sent, response, response.content)
    LibraryItem.objects.filter(pk=world.a.library_item_id).update(source="angles")
    assert changed_rows(world) == [("library_items", world.a.library_item_id)]


def test_a_missing_audit_record_would_be_seen(world: World, db: None, settings: Any,
                                              caplog: pytest.LogCaptureFixture) -> None:
    """Without the audit middleware, B's 404 on A's item is a finding of the matrix."""
    caplog.set_level(logging.INFO, logger=AUDIT)
    route = next(r for r in ALL_ROUTES if r.pattern == "api/library/<str:item_id>")
    sent = Sent("GET", f"/api/library/{world.a.library_item_id}", None, {})
    who = world.b.identities[0]
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "apps.core.audit."
                           "AuditDenialsMiddleware"]
    client = who.client()  # a new client loads the middleware as configured now
    caplog.clear()
    response, _ = send(client, sent)
    assert response.status_code == 404
    assert audit_problems(route, sent, response, who, caplog.records) == [
        "0 audit records for a denial (404)"]


def test_ai_media_writers_change_only_their_own_items(make_user: Any, settings: Any,
                                                      caplog: pytest.LogCaptureFixture,
                                                      ) -> None:
    """The finding behind ``media.owner``: any registered user's write key could
    overwrite or delete the items another tenant's key wrote. Now a key changes its own
    user's items only; the API secret and admin-scoped keys still change any."""
    caplog.set_level(logging.INFO, logger=AUDIT)
    a_key = api_key_create(user=make_user("importer-a"), name="a", scopes=["write"]).token
    b_key = api_key_create(user=make_user("importer-b"), name="b", scopes=["write"]).token
    a, b = APIClient(), APIClient()
    a.credentials(HTTP_AUTHORIZATION=f"Bearer {a_key}")
    b.credentials(HTTP_AUTHORIZATION=f"Bearer {b_key}")
    url = "https://cdn.example.com/"

    def item(media_id: str, title: str) -> dict[str, Any]:
        return {"id": media_id, "media_type": "image", "media_url": url + media_id,
                "title": title, "ai_tags": {"hair": [title]}}

    assert a.post("/api/media", item("x", "mine"), format="json").status_code == 201
    caplog.clear()
    refused = b.post("/api/media", item("x", "theirs"), format="json")
    assert refused.status_code == 403
    assert refused.json() == {"error": "This item belongs to another writer."}
    assert [r.__dict__["route"] for r in caplog.records if r.name == AUDIT] == ["api/media"]
    bulk = b.post("/api/media", [item("x", "theirs"), item("y", "theirs")], format="json")
    assert bulk.json() == {"inserted": 1, "created": 1, "updated": 0, "errors": [
        {"index": 0, "id": "x", "error": "id belongs to an item another writer owns"}]}
    assert b.delete("/api/media/x").status_code == 404
    assert a.get("/api/media/x").json()["title"] == "mine"  # unchanged, tags included
    hair = a.get("/api/tag-categories").json()["categories"][0]["values"]
    counts = {v["value"]: v["count"] for v in hair if v["value"] in ("mine", "theirs")}
    assert counts == {"mine": 1, "theirs": 1}  # B's refused "x" counted nothing
    # the owner still updates and deletes its own; B its own
    assert a.post("/api/media", item("x", "mine too"), format="json").status_code == 201
    assert b.delete("/api/media/y").json() == {"success": True}
    # the platform's credentials change anyone's
    settings.API_SECRET_KEY = "platform-secret-0123456789"
    platform = APIClient()
    platform.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.API_SECRET_KEY}")
    assert platform.post("/api/media", item("x", "curated"), format="json").status_code == 201
    staff_key = api_key_create(user=make_user("curator", is_staff=True), name="c",
                               scopes=["admin"]).token
    curator = APIClient()
    curator.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_key}")
    assert curator.delete("/api/media/x").json() == {"success": True}
