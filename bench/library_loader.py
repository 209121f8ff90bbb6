"""Bulk loader of ``bench_user_library``: a big library written with COPY, as a real one.

    python -m bench.library_loader '{"items": 1000000, "users": 1000}'   (Django env set)

Writes ``users`` users (``bench-library-0000`` …), ``items`` library items over them,
one user (``bench-library-0000``) holding ``big_share`` of them (100,000 of 1,000,000)
and the others the rest in equal parts (about 900 each), every item with its
StoredFile exactly as ``user_library.services`` makes one: key
``user-media/<user>/<ms>-<random8>.<ext>``, charged to the ``library`` quota bucket,
scanned CLEAN, processing ``ready``; 78 % images, 2 % GIFs, 20 % videos; ``created_at``
spread uniformly over a year and the rows inserted in time order across all users (so a
user's rows are scattered over the heap, as years of uploads leave them). A fraction of
the files (``variant_fraction``) has the thumb-256 and preview-1024 WebP variants with
the configured spec hashes, so the list signs their URLs; a few files (``quarantined``
of the big user, one of every 50th other user) are quarantined, so the list's quarantine
filter hides real rows. Each user's ``library`` QuotaLedger row holds the counters of
what was loaded (file, image, GIF and video counts, used bytes), as the upload path
maintains them.

Speed: rows are generated as COPY text (values drawn from small pools where they do
not matter, such as the metadata objects) and streamed through psycopg 3's
``cursor.copy`` on Django's connection, with ``session_replication_role = replica``
for the load's session when the role may set it (the test services' superuser can), so
the deferred foreign-key triggers do not queue millions of checks (the rows are
consistent by construction), and with the secondary indexes of
the three big tables dropped before and rebuilt (sorted) after the COPY. Each of the
two saves about a tenth at 1,000,000 items on 2 cores (62 s in all; 70 s with the
triggers or with the indexes kept). Then ``VACUUM ANALYZE``: the visibility map it sets
is what lets a page at a deep offset be an index-only scan.

A database that already holds this loader's users is reused as it is when it holds
the same number of items (repeated runs against one database), and refused otherwise.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

USERNAME_PREFIX = "bench-library-"
BUCKET = "library"
SPECS = ("thumb-256", "preview-1024")
VARIANT_FORMAT = "webp"
LIMIT_BYTES = 4 * 1024**4  # an operator-set limit: the big user's library is ~1 TB
YEAR_MS = 365 * 24 * 3600 * 1000
CHUNK_ROWS = 20_000
POOL_BITS = 12
POOL = 1 << POOL_BITS  # distinct metadata objects per media type
SOURCES = ("product-enhance", "fashion-motion", "generate", "angles")
MODELS = ("flux-pro-1.1", "sdxl-turbo", "kling-2.1", "veo-3", "imagen-4")
RATIOS = ("1:1", "16:9", "9:16", "4:5", "3:2")
WORDS = ("studio", "portrait", "sneaker", "linen", "dress", "golden", "hour", "soft",
         "light", "marble", "product", "shot", "on", "white", "background", "cinematic",
         "slow", "motion", "runway", "model", "walking", "close-up", "of", "a", "leather",
         "bag", "with", "shadows", "minimal", "pastel", "backdrop", "85mm", "bokeh")
# (kind, media_type, mime type, extension, share)
KINDS = (("image", "image", "image/webp", ".webp", 0.50),
         ("image", "image", "image/png", ".png", 0.18),
         ("image", "image", "image/jpeg", ".jpg", 0.10),
         ("gif", "image", "image/gif", ".gif", 0.02),
         ("video", "video", "video/mp4", ".mp4", 0.20))
# Tables whose secondary indexes are rebuilt after the COPY.
BIG_TABLES = ("storage_storedfile", "library_items", "storage_variant")


@dataclass(frozen=True)
class Plan:
    items: int = 1_000_000
    users: int = 1000
    big_share: float = 0.1
    variant_fraction: float = 0.9
    quarantined: int = 10  # of the big user
    seed: int = 20240611
    drop_indexes: bool = True
    replica_role: bool = True

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Plan:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in spec.items() if k in fields})

    def counts(self) -> list[int]:
        """Items per user: the big user first, the others equal shares of the rest."""
        big = round(self.items * self.big_share)
        rest, others = self.items - big, self.users - 1
        base, extra = divmod(rest, others)
        return [big] + [base + (1 if i < extra else 0) for i in range(others)]


def _uuid7(millis: int, rng: random.Random) -> str:
    """A version-7 UUID of ``millis`` (as apps.core.ids.uuid7 makes them), as text."""
    rand = rng.getrandbits(74)
    value = ((millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
             | (rand & ((1 << 62) - 1)))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ts(millis: int) -> str:
    return (dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
            .strftime("%Y-%m-%d %H:%M:%S.%f+00"))


def _metadata(rng: random.Random, kind: str) -> str:
    prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
    data: dict[str, Any] = {"prompt": prompt, "model": rng.choice(MODELS),
                            "seed": rng.getrandbits(31), "aspect_ratio": rng.choice(RATIOS)}
    if kind == "video":
        data["duration_seconds"] = rng.choice((5, 8, 10))
    return json.dumps(data, separators=(", ", ": "))


class _Copier:
    """COPY ... FROM STDIN in text format, fed with joined chunks of lines."""

    def __init__(self, cursor: Any, table: str, columns: tuple[str, ...]) -> None:
        self._cm = cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN")
        self._lines: list[str] = []
        self.rows = 0

    def __enter__(self) -> _Copier:
        self._copy = self._cm.__enter__()
        return self

    def row(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            self._copy.write("\n".join(self._lines) + "\n")
            self.rows += len(self._lines)
            self._lines = []

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.flush()
        self._cm.__exit__(*exc)


FILE_COLUMNS = ("id", "key", "original_name", "size", "sha256", "mime_type", "kind", "width",
                "height", "duration", "frame_count", "dominant_color", "blurhash", "meta",
                "scan_status", "scanned_at", "scan_result", "is_quarantined", "quota_bucket",
                "processing_state", "processing_error", "state_changed_at", "owner_user_id",
                "owner_workspace_id", "created_at", "updated_at")
ITEM_COLUMNS = ("id", "user_id", "stored_file_id", "media_type", "source", "metadata",
                "created_at")
VARIANT_COLUMNS = ("id", "stored_file_id", "kind", "spec", "spec_hash", "source_sha256",
                   "format", "mime_type", "width", "height", "size", "key", "created_at")
USER_COLUMNS = ("id", "password", "last_login", "is_superuser", "username", "first_name",
                "last_name", "email", "is_staff", "is_active", "date_joined")
LEDGER_COLUMNS = ("owner_user_id", "owner_workspace_id", "bucket", "limit_bytes", "used_bytes",
                  "reserved_bytes", "file_count", "image_count", "video_count", "gif_count",
                  "document_count", "other_count", "updated_at")


def _secondary_indexes(cursor: Any) -> list[tuple[str, str]]:
    """(name, definition) of the big tables' indexes that back no constraint."""
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1""", [list(BIG_TABLES)])
    return [(str(name), str(ddl)) for name, ddl in cursor.fetchall()]


def _spec_hashes() -> dict[str, str]:
    from apps.processing.variants import configured_specs

    specs = configured_specs()
    return {name: specs[name].hash for name in SPECS}


def _existing(cursor: Any) -> int | None:
    """Items already loaded by this loader (None: none of its users exist)."""
    cursor.execute("SELECT id FROM accounts_user WHERE username = %s", [f"{USERNAME_PREFIX}0000"])
    if cursor.fetchone() is None:
        return None
    cursor.execute("""SELECT coalesce(sum(l.file_count), 0) FROM storage_quotaledger l
                      JOIN accounts_user u ON u.id = l.owner_user_id
                      WHERE l.bucket = %s AND u.username LIKE %s""",
                   [BUCKET, f"{USERNAME_PREFIX}%"])
    return int(cursor.fetchone()[0])


def users_of_plan(cursor: Any) -> list[dict[str, Any]]:
    """The loaded users with their ledger counters, the big user first."""
    cursor.execute("""SELECT u.id, u.username, l.file_count, l.used_bytes
                      FROM accounts_user u JOIN storage_quotaledger l
                        ON l.owner_user_id = u.id AND l.bucket = %s
                      WHERE u.username LIKE %s ORDER BY u.username""",
                   [BUCKET, f"{USERNAME_PREFIX}%"])
    return [{"id": str(i), "username": n, "items": c, "used_bytes": b}
            for i, n, c, b in cursor.fetchall()]


def load(plan: Plan) -> dict[str, Any]:
    """Load ``plan`` into the default database; returns what was loaded and the timings."""
    from django.db import connection

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        existing = _existing(cursor)
        if existing is not None:
            if existing != plan.items:
                raise RuntimeError(
                    f"the database already holds {existing} bench library items, not "
                    f"{plan.items}: use a fresh database (scripts/test_services.py)")
            return {"plan": asdict(plan), "reused": True, "timings": {},
                    "users": users_of_plan(cursor)}
    hashes = _spec_hashes()
    rng = random.Random(plan.seed)
    counts = plan.counts()
    now_ms = int(time.time() * 1000) - 60_000
    user_ids = [_uuid7(now_ms - YEAR_MS - 86_400_000 + i, rng) for i in range(plan.users)]
    # One slot per item in global time order, each slot given to a user: a user's items
    # are interleaved with everybody else's, as in a library filled over a year.
    owners = [u for u, n in enumerate(counts) for _ in range(n)]
    rng.shuffle(owners)
    stamps = sorted(rng.randrange(now_ms - YEAR_MS, now_ms) for _ in range(plan.items))
    big_positions = [i for i, u in enumerate(owners) if u == 0]
    quarantined = set(rng.sample(big_positions[:-20], max(0, plan.quarantined - 1)))
    quarantined.add(big_positions[-5])  # one among the newest page: the anti-join shows
    seen_user: set[int] = set()
    for i in range(len(owners) - 1, -1, -1):  # the newest item of every 50th other user
        u = owners[i]
        if u and u % 50 == 1 and u not in seen_user:
            seen_user.add(u)
            quarantined.add(i)
    cum_weights = list(itertools.accumulate(k[4] for k in KINDS))
    # Generation parameters are drawn from small pools: a million json.dumps and word
    # choices would cost more than the COPY itself, and the values do not matter.
    metadata = {kind: [_metadata(rng, kind) for _ in range(POOL)] for kind in ("image", "video")}
    timings["generate_plan_s"] = time.perf_counter() - started

    ledgers = [{"bytes": 0, "files": 0, "image": 0, "gif": 0, "video": 0}
               for _ in range(plan.users)]
    raw = connection.cursor().connection  # psycopg 3's connection under Django's
    with connection.cursor() as cursor:
        if plan.replica_role:
            try:
                with connection.cursor() as probe:
                    probe.execute("SET session_replication_role = replica")
            except Exception:  # not a superuser: keep the triggers, only slower
                plan = Plan(**{**asdict(plan), "replica_role": False})
        dropped = _secondary_indexes(cursor) if plan.drop_indexes else []
        for name, _ddl in dropped:
            cursor.execute(f"DROP INDEX {name}")
        t = time.perf_counter()
        with raw.cursor() as copy_cursor:
            with _Copier(copy_cursor, "accounts_user", USER_COLUMNS) as out:
                joined = _ts(now_ms - YEAR_MS - 86_400_000)
                for i, uid in enumerate(user_ids):
                    out.row(f"{uid}\t!bench{rng.getrandbits(64):x}\t\\N\tf\t"
                            f"{USERNAME_PREFIX}{i:04d}\t\t\t{USERNAME_PREFIX}{i:04d}@bench.test"
                            f"\tf\tt\t{joined}")
            timings["copy_users_s"] = time.perf_counter() - t
            t = time.perf_counter()
            variant_files: list[tuple[str, str, str, int, str]] = []
            items: list[str] = []
            random_ = rng.random
            bits = rng.getrandbits
            with _Copier(copy_cursor, "storage_storedfile", FILE_COLUMNS) as out:
                for i, (u, millis) in enumerate(zip(owners, stamps, strict=True)):
                    kind, media_type, mime, ext, _share = KINDS[
                        bisect.bisect(cum_weights, random_() * cum_weights[-1])]
                    fid = _uuid7(millis, rng)
                    uid = user_ids[u]
                    ts = _ts(millis)
                    token = f"{bits(32):08x}"
                    key = f"user-media/{uid}/{millis}-{token}{ext}"
                    sha = f"{bits(256):064x}"
                    source = SOURCES[bits(2)]
                    if kind == "video":
                        size = 1_000_000 + bits(25)
                        dims, duration = "1920\t1080", ("5.0", "8.0", "10.0", "8.0")[bits(2)]
                    else:
                        size = 100_000 + bits(21) + bits(19)
                        dims, duration = ("1024\t1024", "1024\t1536", "1024\t768",
                                          "1024\t1024")[bits(2)], "\\N"
                    bad = i in quarantined
                    out.row(f"{fid}\t{key}\t{source}-{token}{ext}\t{size}\t{sha}\t{mime}\t"
                            f"{kind}\t{dims}\t{duration}\t\\N\t\t\t{{}}\t"
                            f"{'INFECTED' if bad else 'CLEAN'}\t{ts}\t"
                            f"{'Eicar-Test-Signature' if bad else ''}\t{'t' if bad else 'f'}\t"
                            f"{BUCKET}\tready\t\t{ts}\t{uid}\t\\N\t{ts}\t{ts}")
                    ledger = ledgers[u]
                    ledger["bytes"] += size
                    ledger["files"] += 1
                    ledger[kind] += 1
                    meta = metadata["video" if kind == "video" else "image"][bits(POOL_BITS)]
                    items.append(f"{_uuid7(millis, rng)}\t{uid}\t{fid}\t{media_type}\t"
                                 f"{source}\t{meta}\t{ts}")
                    if not bad and random_() < plan.variant_fraction:
                        variant_files.append((fid, key, sha, millis, ts))
            timings["copy_files_s"] = time.perf_counter() - t
            t = time.perf_counter()
            with _Copier(copy_cursor, "library_items", ITEM_COLUMNS) as out:
                for line in items:
                    out.row(line)
            del items
            timings["copy_items_s"] = time.perf_counter() - t
            t = time.perf_counter()
            with _Copier(copy_cursor, "storage_variant", VARIANT_COLUMNS) as out:
                shapes = [(spec, vkind, dims, vsize, hashes[spec]) for spec, vkind, dims, vsize
                          in (("thumb-256", "thumbnail", "256\t256", 9_000),
                              ("preview-1024", "preview", "1024\t1024", 90_000))]
                for fid, key, sha, millis, ts in variant_files:
                    stem = key.rsplit(".", 1)[0]
                    for spec, vkind, dims, vsize, spec_hash in shapes:
                        out.row(f"{_uuid7(millis + 1000, rng)}\t{fid}\t{vkind}\t{spec}\t"
                                f"{spec_hash}\t{sha}\t{VARIANT_FORMAT}\timage/webp\t{dims}\t"
                                f"{vsize + bits(10)}\t{stem}.variants/{spec}-{spec_hash}-"
                                f"{sha[:12]}.{VARIANT_FORMAT}\t{ts}")
            variants = len(variant_files) * len(SPECS)
            del variant_files
            timings["copy_variants_s"] = time.perf_counter() - t
            with _Copier(copy_cursor, "storage_quotaledger", LEDGER_COLUMNS) as out:
                updated = _ts(now_ms)
                for uid, ledger in zip(user_ids, ledgers, strict=True):
                    out.row("\t".join((
                        str(uid), "\\N", BUCKET, str(LIMIT_BYTES), str(ledger["bytes"]), "0",
                        str(ledger["files"]), str(ledger["image"]), str(ledger["video"]),
                        str(ledger["gif"]), "0", "0", updated)))
        t = time.perf_counter()
        for _name, ddl in dropped:
            cursor.execute(ddl)
        timings["create_indexes_s"] = time.perf_counter() - t
        if plan.replica_role:
            cursor.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        for table in ("accounts_user", *BIG_TABLES, "storage_quotaledger"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum_analyze_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        loaded = users_of_plan(cursor)
    return {"plan": asdict(plan), "reused": False, "timings": timings,
            "variants": variants, "quarantined": len(quarantined),
            "rebuilt_indexes": [name for name, _ in dropped], "users": loaded}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    result = load(Plan.from_spec(spec))
    result["users"] = result["users"][:2]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
