"""Bulk loader of ``bench_ai_media``: AI-tagged media with tags and CLIP-like embeddings.

    python -m bench.ai_media_loader '{"items": 1000000}'   (Django env set)

Generates ``items`` media (80 % images, 20 % videos, ``created_at`` spread over a year
and the rows written in time order, 12-character nanoid-style ids, about a third with a
title), each with 8 tags from 8 of the 11 known categories (a value per category drawn
from a Zipf distribution, s = 1.1, over that category's values: a few values are on a
fifth of the items, most on well under 1 %) and a 512-d unit embedding that is
*clustered*, as CLIP's are: a 32-d latent position drawn from a mixture of 1,000
Gaussian clusters, mapped into 512-d by a fixed random linear map, plus a little
isotropic noise, then normalised. Nearest neighbours are thus a real structure
(intrinsic dimension 32, clusters of ~1,000 at 1M items), not the near-ties of uniform
noise, so recall against an exact search means something.

Rows are written with ``COPY ... (FORMAT BINARY)`` from buffers built here (the vector
records with NumPy: fixed-size rows, pgvector's binary ``vector`` format, big-endian
float4) through psycopg 3's ``cursor.copy`` on Django's connection, chunk by chunk, into
``media``, ``media_tags`` and ``media_embeddings``; the maintained
``media_tag_counts`` get the counts of what was generated. As ``library_loader`` does:
``session_replication_role = replica`` for the load's session when the role may set it
(the rows are consistent by construction, so the deferred foreign-key triggers would
only queue millions of checks), and the secondary indexes that back no constraint
dropped before and rebuilt after the COPY, then ``VACUUM ANALYZE``. The HNSW index is
rebuilt separately (``build_hnsw``) with a raised ``maintenance_work_mem`` and parallel
maintenance workers, and timed on its own.

The same generator (``Plan`` + ``chunks``) makes the smaller item sets of the import
measurement, as COPY buffers, as a SQLite database in the spec's layout and as
``POST /api/media`` bodies, so every contender writes the same items.

``Plan.embeddings = False`` leaves ``media_embeddings`` empty (no vectors drawn, none
copied): for ``bench_scaling``, whose feed and search pages never read them, that is
two thirds of the bytes and most of the load's time saved. The ids, dates and tags are
the same either way (the vectors are drawn last in a chunk).

A database that already holds exactly ``items`` media is reused as it is (repeated runs
against one database); any other non-empty ``media`` table is refused.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 512
ID_LENGTH = 12
ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
YEAR_US = 365 * 24 * 3600 * 1_000_000
PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 UTC, the origin of binary timestamps
# The spec's categories (selectors.KNOWN_CATEGORIES, in that order) and their values,
# most frequent first (the Zipf rank); values are distinct across categories.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "hair": ("brunette", "blonde", "black-hair", "long-hair", "wavy", "straight", "curly",
             "short-hair", "ponytail", "bun", "auburn", "red-hair", "bob", "braided", "pixie",
             "grey-hair", "platinum", "highlights", "balayage", "afro", "dreadlocks",
             "pink-hair", "blue-hair", "shaved", "bangs", "updo", "side-part", "mohawk"),
    "ethnicity": ("caucasian", "east-asian", "hispanic", "black", "south-asian",
                  "middle-eastern", "mixed", "southeast-asian", "pacific-islander",
                  "indigenous"),
    "style": ("casual", "elegant", "streetwear", "minimalist", "bohemian", "vintage", "sporty",
              "glamorous", "business", "edgy", "preppy", "romantic", "grunge", "futuristic",
              "gothic", "retro-80s", "retro-90s", "avant-garde", "cottagecore", "y2k", "punk",
              "western", "art-deco", "kawaii"),
    "body": ("slim", "athletic", "average", "curvy", "petite", "tall", "muscular", "plus-size",
             "lean", "broad-shouldered", "hourglass", "pear", "stocky", "lanky"),
    "setting": ("studio", "outdoor", "urban", "beach", "indoor", "nature", "cafe", "office",
                "home", "street", "park", "rooftop", "forest", "desert", "mountain", "pool",
                "gym", "restaurant", "bar", "library", "museum", "garden", "subway", "airport",
                "stadium", "boat", "snow", "field", "lake", "castle", "warehouse", "bridge"),
    "clothing": ("dress", "jeans", "t-shirt", "jacket", "suit", "sweater", "shirt", "skirt",
                 "coat", "hoodie", "blouse", "shorts", "swimsuit", "leggings", "blazer",
                 "trench-coat", "overalls", "jumpsuit", "cardigan", "tank-top", "kimono",
                 "saree", "gown", "uniform", "lingerie", "tracksuit", "poncho", "vest",
                 "cape", "corset", "tuxedo", "parka", "kilt", "romper", "crop-top",
                 "turtleneck", "denim-jacket", "leather-jacket", "polo", "sarong"),
    "pose": ("standing", "sitting", "walking", "portrait", "leaning", "close-up", "profile",
             "over-shoulder", "arms-crossed", "hands-in-pockets", "lying", "running",
             "jumping", "kneeling", "dancing", "crouching", "stretching", "twirling",
             "back-view", "looking-up"),
    "expression": ("smiling", "neutral", "serious", "laughing", "confident", "pensive",
                   "playful", "surprised", "dreamy", "fierce", "shy", "sad", "angry",
                   "seductive", "bored", "winking"),
    "scene": ("daytime", "golden-hour", "night", "sunset", "overcast", "sunrise", "rain",
              "neon", "foggy", "blue-hour", "backlit", "candlelight", "stormy", "snowfall",
              "spotlight", "dusk", "harsh-sun", "moonlight"),
    "content": ("fashion", "lifestyle", "portrait-shot", "editorial", "commercial", "beauty",
                "fitness", "travel", "product", "food", "wedding", "sports", "music",
                "art", "documentary", "street-photo", "automotive", "architecture"),
    "age_style": ("young-adult", "adult", "teen-style", "middle-aged", "mature", "senior",
                  "youthful", "ageless"),
}
TAGS_PER_ITEM = 8
ZIPF_S = 1.1


@dataclass(frozen=True)
class Plan:
    items: int = 1_000_000
    seed: int = 20261121
    clusters: int = 1000
    latent: int = 32
    spread: float = 0.5  # a cluster's standard deviation in the latent space (centres: 1)
    noise: float = 0.03  # isotropic noise per dimension, before normalisation
    video_share: float = 0.2
    chunk: int = 50_000
    drop_indexes: bool = True
    replica_role: bool = True
    embeddings: bool = True  # False: media_embeddings left empty (feed and search only)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Plan:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in spec.items() if k in fields})


@dataclass
class Chunk:
    ids: list[str]
    video: np.ndarray  # bool
    created_us: np.ndarray  # int64, microseconds since the Unix epoch
    titles: list[str | None]
    tags: list[list[tuple[str, str]]]  # (category, value), 8 per item
    embeddings: np.ndarray  # float32 (n, 512), unit length; (n, 0) without embeddings

    def __len__(self) -> int:
        return len(self.ids)


def _zipf_cdf(count: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** ZIPF_S
    return np.cumsum(weights) / weights.sum()


class Generator:
    """Deterministic items of a plan, chunk by chunk (chunk k's values depend only on
    the seed and k, so any chunk can be made alone)."""

    def __init__(self, plan: Plan, *, now_us: int | None = None) -> None:
        self.plan = plan
        base = np.random.default_rng(plan.seed)
        self.centres = base.normal(0.0, 1.0, (plan.clusters, plan.latent))
        self.mapping = base.normal(0.0, 1.0 / np.sqrt(plan.latent), (plan.latent, DIMENSIONS))
        now = now_us if now_us is not None else int(time.time() * 1e6) - 60_000_000
        self.stamps = np.sort(base.integers(now - YEAR_US, now, plan.items))
        self.categories = list(CATEGORIES)
        self.cdfs = [_zipf_cdf(len(CATEGORIES[c])) for c in self.categories]
        values = [v for vs in CATEGORIES.values() for v in vs]
        assert len(values) == len(set(values)), "tag values must be distinct across categories"

    def chunk(self, k: int) -> Chunk:
        plan = self.plan
        start = k * plan.chunk
        n = min(plan.chunk, plan.items - start)
        rng = np.random.default_rng([plan.seed, k])
        letters = np.frombuffer(ALPHABET, dtype=np.uint8)[rng.integers(0, 64, (n, ID_LENGTH))]
        raw = letters.tobytes()
        ids = [raw[i:i + ID_LENGTH].decode() for i in range(0, n * ID_LENGTH, ID_LENGTH)]
        video = rng.random(n) < plan.video_share
        titled = rng.random(n) < 0.35
        numbers = rng.integers(1, 100_000, n)
        titles = [f"Generated look {int(x)}" if t else None
                  for t, x in zip(titled, numbers, strict=True)]
        chosen = np.argsort(rng.random((n, len(self.categories))), axis=1)[:, :TAGS_PER_ITEM]
        ranks = np.stack([np.searchsorted(cdf, rng.random(n)) for cdf in self.cdfs], axis=1)
        pairs: list[list[tuple[str, str]]] = []
        names, vocab = self.categories, [CATEGORIES[c] for c in self.categories]
        for row_cats, row_ranks in zip(chosen.tolist(), ranks.tolist(), strict=True):
            pairs.append([(names[c], vocab[c][row_ranks[c]]) for c in sorted(row_cats)])
        if not plan.embeddings:  # drawn last: the rest of the chunk is the same
            return Chunk(ids=ids, video=video, created_us=self.stamps[start:start + n],
                         titles=titles, tags=pairs,
                         embeddings=np.empty((n, 0), dtype=np.float32))
        cluster = rng.integers(0, plan.clusters, n)
        latent = self.centres[cluster] + rng.normal(0.0, plan.spread, (n, plan.latent))
        vectors = (latent @ self.mapping).astype(np.float32)
        vectors += rng.standard_normal((n, DIMENSIONS), dtype=np.float32) * np.float32(plan.noise)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return Chunk(ids=ids, video=video, created_us=self.stamps[start:start + n],
                     titles=titles, tags=pairs, embeddings=vectors)

    def chunks(self) -> Iterator[Chunk]:
        for k in range((self.plan.items + self.plan.chunk - 1) // self.plan.chunk):
            yield self.chunk(k)


def media_url(media_id: str, video: bool) -> str:
    return f"https://cdn.example.com/media/{media_id}.{'mp4' if video else 'jpg'}"


def thumbnail_url(media_id: str) -> str:
    return f"https://cdn.example.com/thumbs/{media_id}.jpg"


# -- COPY BINARY ---------------------------------------------------------------------

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
TEXT_OID = 25
MEDIA_COLUMNS = ("id", "media_type", "thumbnail_url", "media_url", "title", "created_at",
                 "tag_values", "embedding_error")
TAG_COLUMNS = ("id", "media_id", "tag_category", "tag_value")
EMBEDDING_COLUMNS = ("media_id", "embedding")
COUNT_COLUMNS = ("tag_category", "tag_value", "count")
_EMBEDDING_ROW = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", f"S{ID_LENGTH}"),
                           ("vec_len", ">i4"), ("dim", ">u2"), ("unused", ">u2"),
                           ("vec", ">f4", (DIMENSIONS,))])


def _text(value: str | None) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    data = value.encode()
    return struct.pack(">i", len(data)) + data


_ELEMENT = {v: _text(v) for vs in CATEGORIES.values() for v in vs}
_PAIR = {(c, v): _text(c) + _text(v) for c, vs in CATEGORIES.items() for v in vs}


def _text_array(values: list[str]) -> bytes:
    body = b"".join(_ELEMENT.get(v) or _text(v) for v in values)
    head = struct.pack(">iiiii", 1, 0, TEXT_OID, len(values), 1) if values else struct.pack(
        ">iii", 0, 0, TEXT_OID)
    return struct.pack(">i", len(head) + len(body)) + head + body


def media_rows(chunk: Chunk) -> bytes:
    """``media`` rows (``MEDIA_COLUMNS``) in COPY BINARY row format, without the header."""
    out: list[bytes] = []
    fields = struct.pack(">h", len(MEDIA_COLUMNS))
    image, video = _text("image"), _text("video")
    empty = _text("")
    stamp = struct.Struct(">iq")
    for media_id, is_video, created, title, tags in zip(
            chunk.ids, chunk.video.tolist(), chunk.created_us.tolist(), chunk.titles,
            chunk.tags, strict=True):
        out.append(b"".join((
            fields, _text(media_id), video if is_video else image,
            _text(thumbnail_url(media_id)), _text(media_url(media_id, is_video)), _text(title),
            stamp.pack(8, created - PG_EPOCH_US), _text_array(sorted(v for _, v in tags)),
            empty)))
    return b"".join(out)


def tag_rows(chunk: Chunk, rng: np.random.Generator) -> bytes:
    """``media_tags`` rows (``TAG_COLUMNS``): random version-4 UUIDs, as the model's."""
    total = sum(len(t) for t in chunk.tags)
    uuids = rng.integers(0, 256, (total, 16), dtype=np.uint8)
    uuids[:, 6] = (uuids[:, 6] & 0x0F) | 0x40
    uuids[:, 8] = (uuids[:, 8] & 0x3F) | 0x80
    raw = uuids.tobytes()
    head = struct.pack(">hi", len(TAG_COLUMNS), 16)
    id_len = struct.pack(">i", ID_LENGTH)
    out: list[bytes] = []
    n = 0
    for media_id, tags in zip(chunk.ids, chunk.tags, strict=True):
        ref = id_len + media_id.encode()
        for tag in tags:
            out.append(head + raw[n:n + 16] + ref + _PAIR[tag])
            n += 16
    return b"".join(out)


def embedding_rows(chunk: Chunk) -> bytes:
    """``media_embeddings`` rows: fixed-size records, the vector in pgvector's binary
    format (uint16 dimensions, uint16 unused, float4 values, all big-endian)."""
    rows = np.zeros(len(chunk), dtype=_EMBEDDING_ROW)
    rows["fields"] = len(EMBEDDING_COLUMNS)
    rows["id_len"] = ID_LENGTH
    rows["id"] = np.array([i.encode() for i in chunk.ids], dtype=f"S{ID_LENGTH}")
    rows["vec_len"] = 4 + 4 * DIMENSIONS
    rows["dim"] = DIMENSIONS
    rows["vec"] = chunk.embeddings
    return rows.tobytes()


def count_rows(counts: dict[tuple[str, str], int]) -> bytes:
    fields = struct.pack(">h", len(COUNT_COLUMNS))
    return b"".join(fields + _PAIR[key] + struct.pack(">iq", 8, n)
                    for key, n in sorted(counts.items()))


def copy_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"


def copy_binary(cursor: Any, table: str, columns: tuple[str, ...], body: bytes,
                block: int = 1 << 20) -> None:
    """One COPY of ``body`` (rows without header), written in ``block``-byte pieces."""
    view = memoryview(body)
    with cursor.copy(copy_statement(table, columns)) as copy:
        copy.write(SIGNATURE)
        for offset in range(0, len(view), block):
            copy.write(view[offset:offset + block])
        copy.write(TRAILER)


@dataclass
class Buffers:
    """Pre-built COPY bodies of a set of items (the floor of the import measurement)."""

    media: bytes
    tags: bytes
    embeddings: bytes
    items: int
    tag_rows: int

    def copy_into(self, cursor: Any) -> None:
        copy_binary(cursor, "media", MEDIA_COLUMNS, self.media)
        copy_binary(cursor, "media_tags", TAG_COLUMNS, self.tags)
        copy_binary(cursor, "media_embeddings", EMBEDDING_COLUMNS, self.embeddings)

    @property
    def nbytes(self) -> int:
        return len(self.media) + len(self.tags) + len(self.embeddings)


def buffers(chunks: list[Chunk], seed: int) -> Buffers:
    rng = np.random.default_rng([seed, 7])
    return Buffers(media=b"".join(media_rows(c) for c in chunks),
                   tags=b"".join(tag_rows(c, rng) for c in chunks),
                   embeddings=b"".join(embedding_rows(c) for c in chunks),
                   items=sum(len(c) for c in chunks),
                   tag_rows=sum(len(t) for c in chunks for t in c.tags))


# -- the other shapes of the same items ------------------------------------------------

def iso(micros: int) -> str:
    seconds, us = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{us:06d}Z"


def api_items(chunk: Chunk) -> list[dict[str, Any]]:
    """As ``POST /api/media`` takes them; ``clip_embedding`` a float32 NumPy row, which
    ``orjson.dumps(..., option=OPT_SERIALIZE_NUMPY)`` writes as a client would (the
    shortest decimal of each float32)."""
    out = []
    for i, media_id in enumerate(chunk.ids):
        is_video = bool(chunk.video[i])
        grouped: dict[str, list[str]] = {}
        for category, value in chunk.tags[i]:
            grouped.setdefault(category, []).append(value)
        item: dict[str, Any] = {
            "id": media_id, "media_type": "video" if is_video else "image",
            "thumbnail_url": thumbnail_url(media_id), "media_url": media_url(media_id, is_video),
            "created_at": iso(int(chunk.created_us[i])), "ai_tags": grouped,
            "clip_embedding": chunk.embeddings[i]}
        if chunk.titles[i] is not None:
            item["title"] = chunk.titles[i]
        out.append(item)
    return out


def write_sqlite(path: Path, chunks: list[Chunk]) -> int:
    """The spec's SQLite layout (plus ``title`` and ``created_at``), rows in time order."""
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE media (id TEXT PRIMARY KEY, media_type TEXT, thumbnail_url "
                   "TEXT, image_url TEXT, ai_tags TEXT, clip_embedding BLOB, title TEXT, "
                   "created_at TEXT)")
        rows = 0
        for chunk in chunks:
            batch = []
            for item in api_items(chunk):
                batch.append((item["id"], item["media_type"], item["thumbnail_url"],
                              item["media_url"], json.dumps(item["ai_tags"]),
                              item["clip_embedding"].astype("<f4").tobytes(),
                              item.get("title"), item["created_at"]))
            db.executemany("INSERT INTO media VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
            rows += len(batch)
        db.commit()
    finally:
        db.close()
    return rows


# -- loading ---------------------------------------------------------------------------

def secondary_indexes(cursor: Any, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, definition) of the tables' indexes that back no constraint."""
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1""", [list(tables)])
    return [(str(name), str(ddl)) for name, ddl in cursor.fetchall()]


HNSW_INDEX = "media_embedding_hnsw"
TABLES = ("media", "media_tags", "media_embeddings")


def _exists(cursor: Any, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    return bool(cursor.fetchone()[0])


HNSW_DDL = ("CREATE INDEX media_embedding_hnsw ON public.media_embeddings USING hnsw "
            "(embedding vector_cosine_ops) WITH (m='16', ef_construction='64')")


def load(plan: Plan) -> dict[str, Any]:
    """Load ``plan`` into the default database (the HNSW index left dropped: build it
    with ``build_hnsw``); returns what was loaded and the timings."""
    from django.db import connection

    timings: dict[str, float] = {"generate_s": 0.0, "encode_s": 0.0, "copy_s": 0.0}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM media")
        existing = int(cursor.fetchone()[0])
        if existing:
            if existing != plan.items:
                raise RuntimeError(
                    f"the database already holds {existing} media, not {plan.items}: use a "
                    "fresh database (scripts/test_services.py)")
            return {"plan": asdict(plan), "reused": True, "timings": {},
                    "hnsw_present": _exists(cursor, HNSW_INDEX), "hnsw_ddl": HNSW_DDL}
    generator = Generator(plan)
    raw = connection.cursor().connection  # psycopg 3's connection under Django's
    counts: dict[tuple[str, str], int] = {}
    copied = {"media": 0, "media_tags": 0, "media_embeddings": 0}
    nbytes = 0
    rng = np.random.default_rng([plan.seed, 7])
    with connection.cursor() as cursor:
        replica = plan.replica_role
        if replica:
            try:
                with connection.cursor() as probe:
                    probe.execute("SET session_replication_role = replica")
            except Exception:  # not a superuser: keep the triggers, only slower
                replica = False
        dropped = secondary_indexes(cursor, TABLES) if plan.drop_indexes else []
        for name, _ddl in dropped:
            cursor.execute(f"DROP INDEX {name}")
        with raw.cursor() as copy_cursor:
            for k in range((plan.items + plan.chunk - 1) // plan.chunk):
                t = time.perf_counter()
                chunk = generator.chunk(k)
                timings["generate_s"] += time.perf_counter() - t
                t = time.perf_counter()
                bodies = [("media", MEDIA_COLUMNS, media_rows(chunk)),
                          ("media_tags", TAG_COLUMNS, tag_rows(chunk, rng))]
                if plan.embeddings:
                    bodies.append(("media_embeddings", EMBEDDING_COLUMNS,
                                   embedding_rows(chunk)))
                for tags in chunk.tags:
                    for tag in tags:
                        counts[tag] = counts.get(tag, 0) + 1
                timings["encode_s"] += time.perf_counter() - t
                t = time.perf_counter()
                for table, columns, body in bodies:
                    copy_binary(copy_cursor, table, columns, body)
                    nbytes += len(body)
                copied["media"] += len(chunk)
                copied["media_tags"] += sum(len(t) for t in chunk.tags)
                copied["media_embeddings"] += len(chunk) if plan.embeddings else 0
                timings["copy_s"] += time.perf_counter() - t
                del chunk, bodies
            cursor.execute("DELETE FROM media_tag_counts")
            copy_binary(copy_cursor, "media_tag_counts", COUNT_COLUMNS, count_rows(counts))
        t = time.perf_counter()
        rebuilt = []
        for name, ddl in dropped:
            if name != HNSW_INDEX:
                cursor.execute(ddl)
                rebuilt.append(name)
        timings["create_indexes_s"] = time.perf_counter() - t
        if replica:
            cursor.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        for table in (*TABLES, "media_tag_counts"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum_analyze_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
    return {"plan": asdict(plan), "reused": False, "timings": timings, "rows": copied,
            "copy_bytes": nbytes, "rebuilt_indexes": rebuilt, "replica_role": replica,
            "hnsw_present": False,
            "hnsw_ddl": next((ddl for name, ddl in dropped if name == HNSW_INDEX), HNSW_DDL)}


def build_hnsw(ddl: str, *, maintenance_work_mem_mb: int, workers: int) -> dict[str, Any]:
    """``CREATE INDEX`` of the HNSW index with the given memory and parallel workers;
    the time, the index's size and pgvector's notices (a graph that outgrows the memory
    says so, and is then built on disk, far slower)."""
    from django.db import connection

    notices: list[str] = []
    with connection.cursor() as cursor:
        raw = cursor.connection
        raw.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        cursor.execute(f"SET maintenance_work_mem = '{int(maintenance_work_mem_mb)}MB'")
        cursor.execute(f"SET max_parallel_maintenance_workers = {int(workers)}")
        started = time.perf_counter()
        cursor.execute(ddl)
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT pg_relation_size(%s), pg_relation_size('media_embeddings')",
                       [HNSW_INDEX])
        index_bytes, table_bytes = cursor.fetchone()
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("RESET max_parallel_maintenance_workers")
        cursor.execute("ANALYZE media_embeddings")
    return {"seconds": elapsed, "index_bytes": int(index_bytes),
            "table_bytes": int(table_bytes), "notices": notices, "ddl": ddl,
            "maintenance_work_mem_mb": maintenance_work_mem_mb, "workers": workers}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(load(Plan.from_spec(spec))), flush=True)


if __name__ == "__main__":
    main()
