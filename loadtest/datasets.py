"""The data the load runs against: the benchmarks' datasets, and the fixture of the mix.

The datasets are written by the benchmarks' own loaders (``bench/*_loader.py``, COPY
with the secondary indexes dropped and rebuilt, then ``VACUUM ANALYZE``), at the sizes
the benchmarks measure at (``FULL``) times ``scale``, so that a page the load test asks
for costs what the benchmarks say it costs; ai_media's HNSW index is built as
``bench_ai_media`` builds it (``/api/similar`` needs it). Every loader reuses a database
that already holds its plan, so a second run against the same services skips the load.

The *fixture* (``var/loadtest/fixture.json``, read by ``locustfile.py``) holds what the
simulated clients need and could not guess: JWTs of the loaded users (the library's big
user and others, the media library's workspace member, the admin console's staff user,
upload users made here), the API secret for ai_media's writes, ids to ask
``/api/similar`` about, the items whose tags are edited (with their fields and
embedding: an upsert replaces an item whole) and the media-library items that are
binned and restored. It is built in the runner, which has Django, so that the locust
process needs none.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

# The benchmarks' sizes (BENCH_*_ITEMS defaults): the "1M class".
FULL: dict[str, dict[str, int]] = {
    "ai_media": {"items": 1_000_000},
    "user_library": {"items": 1_000_000, "users": 1000},
    "admin_media": {"rows": 2_000_000, "users": 50_000},
    "media_library": {"items": 200_000, "binned": 20_000, "objects": 2000, "others": 5,
                      "other_items": 8000},
}
# Floors of a scaled plan, so that the loaders' shapes (a big library user, quarantined
# files among its newest, ten import batches, categories per type) still hold.
MINIMUM: dict[str, dict[str, int]] = {
    "ai_media": {"items": 2000},
    "user_library": {"items": 5000, "users": 20},
    "admin_media": {"rows": 5000, "users": 200},
    "media_library": {"items": 2000, "binned": 200, "objects": 20, "others": 2,
                      "other_items": 200},
}
SIMILAR_IDS = 2000  # ids /api/similar is asked about
TAG_EDIT_ITEMS = 200  # ai_media items whose tags the writers edit
BIN_ITEMS = 300  # media-library items the writers bin and restore
LIBRARY_USERS = 50  # library users the readers act as (the big one among them)
UPLOAD_USERS = 20  # author_media users who upload
UPLOAD_PREFIX = "loadtest-author-"
FUNCTION_WORDS = ("with", "from")
Log = Callable[[str], None]


def plans(scale: float) -> dict[str, dict[str, int]]:
    """The loaders' specs at ``scale`` times the benchmarks' sizes (floors kept)."""
    return {name: {key: max(MINIMUM[name][key], round(value * scale))
                   if key != "others" else value
                   for key, value in spec.items()}
            for name, spec in FULL.items()}


def _timed(log: Log, what: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    result = work()
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    log(f"{what}: {'reused' if result.get('reused') else 'loaded'} in "
        f"{result['elapsed_s']:.0f}s")
    return result


def load_all(specs: dict[str, dict[str, int]], log: Log) -> dict[str, Any]:
    """Run the four loaders (and the HNSW build) in this process; what each did."""
    from bench import admin_media_loader, ai_media_loader, library_loader, media_library_loader
    from bench.bench_ai_media import maintenance_settings

    out: dict[str, Any] = {}
    out["ai_media"] = _timed(log, f"ai_media {specs['ai_media']}", lambda: ai_media_loader.load(
        ai_media_loader.Plan.from_spec(specs["ai_media"])))
    if not out["ai_media"].get("hnsw_present"):
        mem_mb, workers = maintenance_settings()
        out["hnsw"] = _timed(log, "ai_media HNSW index", lambda: ai_media_loader.build_hnsw(
            out["ai_media"]["hnsw_ddl"], maintenance_work_mem_mb=mem_mb, workers=workers))
    out["user_library"] = _timed(
        log, f"user_library {specs['user_library']}",
        lambda: library_loader.load(library_loader.Plan.from_spec(specs["user_library"])))
    out["user_library"]["users"] = len(out["user_library"]["users"])
    out["admin_media"] = _timed(
        log, f"admin_media {specs['admin_media']}",
        lambda: admin_media_loader.load(admin_media_loader.Plan.from_spec(specs["admin_media"])))
    out["media_library"] = _timed(
        log, f"media_library {specs['media_library']}",
        lambda: media_library_loader.load(
            media_library_loader.Plan.from_spec(specs["media_library"])))
    return out


# -- the fixture -------------------------------------------------------------------------

def _token(user: Any) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def _library(cursor: Any) -> dict[str, Any]:
    """JWTs of the big library user and of others, with their item counts (the readers
    page within them)."""
    from apps.accounts.models import User
    from bench.library_loader import users_of_plan

    loaded = users_of_plan(cursor)
    chosen = loaded[:1] + loaded[1:][:: max(1, (len(loaded) - 1) // (LIBRARY_USERS - 1))]
    users = {str(u.pk): u for u in User.objects.filter(pk__in=[c["id"] for c in chosen])}
    return {"users": [{"token": _token(users[c["id"]]), "items": c["items"]}
                      for c in chosen[:LIBRARY_USERS]]}


def _tag_edit_items(cursor: Any) -> list[dict[str, Any]]:
    """Whole items as ``POST /api/media`` takes them (fields, tags grouped, embedding):
    the writer changes one tag and sends the rest back unchanged."""
    cursor.execute("""
        SELECT m.id, m.media_type, m.thumbnail_url, m.media_url, m.title, m.created_at,
               e.embedding::text,
               (SELECT json_agg(json_build_array(t.tag_category, t.tag_value))
                  FROM media_tags t WHERE t.media_id = m.id)
        FROM media m JOIN media_embeddings e ON e.media_id = m.id
        ORDER BY random() LIMIT %s""", [TAG_EDIT_ITEMS])
    items = []
    for media_id, media_type, thumb, url, title, created, vector, tags in cursor.fetchall():
        grouped: dict[str, list[str]] = {}
        for category, value in tags or []:
            grouped.setdefault(category, []).append(value)
        item = {"id": media_id, "media_type": media_type, "thumbnail_url": thumb,
                "media_url": url, "created_at": created.isoformat().replace("+00:00", "Z"),
                "ai_tags": grouped, "clip_embedding": json.loads(vector)}
        if title is not None:
            item["title"] = title
        items.append(item)
    return items


def _search_tags() -> list[str]:
    """``tags=`` values: two common values (a large result), and a common and a rare one
    (a selective one), as bench_ai_media asks."""
    from bench.ai_media_loader import CATEGORIES

    values = list(CATEGORIES.values())
    out = []
    for i in range(len(values) - 1):
        first, second = values[i], values[i + 1]
        out += [f"{first[0]},{second[0]}", f"{first[1]},{second[0]}",
                f"{first[0]},{second[-1]}", first[0]]
    return out


def _ai_media(cursor: Any) -> dict[str, Any]:
    from bench.ai_media_loader import CATEGORIES

    cursor.execute("SELECT id FROM media ORDER BY random() LIMIT %s", [SIMILAR_IDS])
    return {"similar_ids": [r[0] for r in cursor.fetchall()],
            "search_tags": _search_tags(), "categories": {k: list(v) for k, v in
                                                          CATEGORIES.items()},
            "tag_edit_items": _tag_edit_items(cursor)}


def _media_library(cursor: Any) -> dict[str, Any]:
    """The workspace member's JWT, what to search for, and items to bin and restore."""
    from apps.accounts.models import User
    from bench import media_library_loader as loader

    found = loader.workspace_of_plan(cursor)
    assert found is not None, "the media library dataset is not loaded"
    cursor.execute("""SELECT id FROM media_library_items
                      WHERE workspace_id = %s AND NOT is_deleted
                      ORDER BY random() LIMIT %s""", [found["workspace_id"], BIN_ITEMS])
    return {"workspace_id": found["workspace_id"],
            "token": _token(User.objects.get(pk=found["user_id"])),
            "search": _search_words(), "bin_items": [str(r[0]) for r in cursor.fetchall()]}


def _search_words() -> list[str]:
    """What people type in the media library's search box: the loader's two needles
    (0.5 % and 5 % of the items, in any case) and words of its vocabulary that a person
    would search for (four letters or more, no function word: its head is "a", "the",
    "of"..., which nobody searches and which trigram indexes cannot serve)."""
    from bench import media_library_loader as loader

    needles = [word for word, _share in loader.NEEDLES.values()]
    words = [w for w in loader.WORDS if len(w) >= 4 and w not in FUNCTION_WORDS]
    return needles + [n.capitalize() for n in needles] + words[::6]


def _admin_media() -> dict[str, Any]:
    """The staff user's JWT and the console's filters (the values the loader drew)."""
    from apps.accounts.models import User
    from bench import admin_media_loader as loader

    return {"token": _token(User.objects.get(username=loader.STAFF_USERNAME)),
            "categories": list(loader.CATEGORIES),
            "mime_types": [mime for _kind, mime, _ext, _share in loader.MIMES],
            "aspect_ratios": [a[0] for a in loader.ASPECTS]}


def _uploaders() -> list[str]:
    """JWTs of the upload users (business tier: the run's uploads never hit a quota)."""
    from apps.accounts.models import User
    from author_media import usage

    tokens = []
    for i in range(UPLOAD_USERS):
        user, _created = User.objects.get_or_create(
            username=f"{UPLOAD_PREFIX}{i:02d}",
            defaults={"email": f"{UPLOAD_PREFIX}{i:02d}@loadtest.test"})
        usage.usage_set_tier(user_id=user.pk, tier="business")
        tokens.append(_token(user))
    return tokens


def build_fixture(api_secret: str) -> dict[str, Any]:
    """Everything the locust users draw from (see the module's docstring)."""
    from django.db import connection

    with connection.cursor() as cursor:
        fixture = {"api_secret": api_secret, "library": _library(cursor),
                   "ai_media": _ai_media(cursor), "media_library": _media_library(cursor),
                   "admin_media": _admin_media(), "uploaders": _uploaders()}
    return fixture


def restore_binned(item_ids: list[str]) -> int:
    """Put back the items a run left in the recycle bin (a client stopped between its
    delete and its restore), so that the media library loader finds its plan again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""UPDATE media_library_items SET is_deleted = false, deleted_at = NULL
                          WHERE id = ANY(%s::uuid[]) AND is_deleted""", [item_ids])
        return int(cursor.rowcount)


def upload_readiness(since: float) -> dict[str, Any]:
    """Server-side time-to-ready of the run's uploads (author_media ``processed_at`` -
    ``created_at``): exact, and independent of the clients' polling interval."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT extract(epoch FROM (f.processed_at - f.created_at)), f.is_processed,
                   f.scan_status
            FROM media_files f JOIN accounts_user u ON u.id = f.user_id
            WHERE u.username LIKE %s AND f.created_at >= to_timestamp(%s)""",
                       [f"{UPLOAD_PREFIX}%", since])
        rows = cursor.fetchall()
    ready = [float(s) for s, done, _scan in rows if done and s is not None]
    scans: dict[str, int] = {}
    for _s, _done, scan in rows:
        scans[scan] = scans.get(scan, 0) + 1
    return {"uploaded": len(rows), "ready": len(ready), "seconds": ready,
            "scan_status": scans}
