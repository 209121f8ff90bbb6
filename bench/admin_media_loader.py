"""Bulk loader of ``bench_admin_media``: millions of console media written with COPY.

    python -m bench.admin_media_loader '{"rows": 2000000}'  (Django env set)

Writes ``rows`` rows (default 2,000,000) into ``admin_media`` and the staff user the
benchmark acts as (``bench-admin-media-staff``), and builds ``admin_media_category_entries``
and ``admin_media_tallies`` from them exactly as the triggers (the trigger function of
migration 0003, over those of 0002) would.

*The data*, generated from one seed, in ``created_at`` order (as two years of appends
leave the heap):

- 90 % of the rows come from *events* of the app (a generation, or an upload of several
  files): 1-4 media each (45 % one, 20 % two, 10 % three, 25 % four), sharing the event's
  user, ``recordId`` (one record per event), ``taskId`` (generations only), media type,
  MIME type and aspect ratio, created within milliseconds of each other; 80 % of the
  events are ``ai_generation``, 20 % ``user_upload``;
- 10 % come from ``imports`` (10) *batch imports*, each one ``recordId`` over a 21-day
  window; a batch's share is Zipf-weighted (s = 1), so the largest holds ~3.4 % of all
  rows (~68,000 at 2M): its ``recordId`` has a page 5,000 at pageSize 10;
- ``supabaseId``: ``users`` (50,000) users, Zipf-weighted (s = ``user_zipf`` = 0.9) over
  events and imported rows, so the top user owns ~4.5 % of the rows (~90,000 at 2M) and
  the median user about ten;
- ``mediaType`` 70 % image / 30 % video; MIME types ``MIMES`` (5 image, 3 video) with
  their shares within the media type; ``aspectRatio`` one of 6 values (``ASPECTS``, the
  shares depend on the media type; 2 % none); ``meta`` ``{width, height, size}``
  consistent with the ratio and the type;
- ``category``: 1-4 distinct words per row (35/35/20/10 %) drawn from ``CATEGORIES``: 54
  regular words Zipf-weighted (1/(rank + 4)) so the commonest (``portrait``) is on ~15 %
  of the rows, and 6 rare ones on 0.6 % down to 0.05 % of the rows;
- 3 % of the rows are soft-deleted (``is_delete``), their ``updated_at`` the deletion;
- ids: uuid7 text of the row's ``created_at`` (as ``admin_media.models.new_media_id``),
  records, tasks and users uuid-shaped text.

*Speed*: the draws are vectorised with numpy, the rows formatted in Python and written
with COPY (text format) through psycopg 3's ``cursor.copy`` on Django's connection, with
``ALTER TABLE admin_media DISABLE TRIGGER USER`` (no transition tables for the 2M rows)
and ``session_replication_role = replica`` where the role may set it (no foreign-key
check per row; ``stored_file_id`` is NULL everywhere); ``admin_media``'s secondary
indexes (the partial B-trees, the category GIN, Django's own) and the category entries'
primary key are dropped before and rebuilt after, with ``maintenance_work_mem`` raised for
the session. The category entries and the tallies are then built set-based (``INSERT …
SELECT``, keyed as the trigger function ``admin_media_apply`` keys them), the triggers
enabled again, the checks below run, and then everything is ``VACUUM (ANALYZE,
INDEX_CLEANUP ON)``d: the page's inner id walk is meant to be an index-only scan, which
needs the visibility map set (the parity check's rolled-back rows would otherwise leave
the pages of the newest rows not all-visible).

*Checks* (a failure raises): the tallies of category '' sum to COUNT(*) of the live
rows; each category's tallies sum to its entries; the entries are the live rows'
(row, category) pairs, one each (the rebuilt primary key refuses a duplicate); and a
*trigger parity* check: inside a transaction rolled back afterwards, copies of 2,000 rows
(live and deleted) are INSERTed with the triggers on, and the change of the tallies and
of the entries must equal what this loader's set-based SQL computes for those rows.

A database that already holds this loader's staff user and ``rows`` rows is reused as
it is (repeated runs against one database); one holding other console rows is refused.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

STAFF_USERNAME = "bench-admin-media-staff"
DAY_MS = 24 * 3600 * 1000
CHUNK_ROWS = 20_000
MAINTENANCE_WORK_MEM = "1GB"
TABLE = "admin_media"
ENTRIES = "admin_media_category_entries"
TALLIES = "admin_media_tallies"
# (media type, MIME type, extension, share within the media type)
MIMES = (("image", "image/jpeg", "jpg", 0.50), ("image", "image/png", "png", 0.25),
         ("image", "image/webp", "webp", 0.15), ("image", "image/gif", "gif", 0.06),
         ("image", "image/avif", "avif", 0.04),
         ("video", "video/mp4", "mp4", 0.70), ("video", "video/webm", "webm", 0.18),
         ("video", "video/quicktime", "mov", 0.12))
MEDIA_TYPES = (("image", 0.70), ("video", 0.30))
# (aspect ratio or None, share among images, share among videos, (width, height) choices)
ASPECTS = (("1/1", 0.28, 0.06, ((1024, 1024), (2048, 2048), (512, 512))),
           ("16/9", 0.16, 0.55, ((1920, 1080), (1280, 720), (3840, 2160))),
           ("9/16", 0.16, 0.33, ((1080, 1920), (720, 1280))),
           ("4/3", 0.14, 0.02, ((1600, 1200), (1024, 768))),
           ("3/4", 0.14, 0.02, ((1200, 1600), (768, 1024))),
           ("3/2", 0.10, 0.00, ((1536, 1024), (3000, 2000))),
           (None, 0.02, 0.02, ((1000, 1000), (1234, 987), (800, 1100))))
EVENT_SIZES = ((1, 0.45), (2, 0.20), (3, 0.10), (4, 0.25))
CATEGORY_COUNTS = ((1, 0.35), (2, 0.35), (3, 0.20), (4, 0.10))
REGULAR = (
    "portrait", "landscape", "nature", "professional", "high-quality", "product", "people",
    "urban", "food", "travel", "fashion", "architecture", "animals", "abstract", "sunset",
    "studio", "lifestyle", "business", "technology", "interior", "sports", "vintage",
    "minimal", "night", "beach", "mountain", "street", "wedding", "family", "kids",
    "fitness", "music", "art", "flowers", "cars", "ocean", "winter", "summer", "autumn",
    "spring", "city", "forest", "desert", "aerial", "macro", "black-and-white", "cinematic",
    "illustration", "anime", "3d-render", "logo", "texture", "pattern", "background",
)
REGULAR_OFFSET = 4  # weight of rank r: 1 / (r + 4)
# rare words: the share of the rows each is on
RARE = (("astrophotography", 0.006), ("underwater", 0.004), ("infrared", 0.0025),
        ("tilt-shift", 0.0015), ("long-exposure", 0.001), ("double-exposure", 0.0005))
CATEGORIES = (*REGULAR, *(word for word, _share in RARE))
SOURCES = ("ai_generation", "user_upload", "import")
# the columns written (stored_file_id stays NULL)
COLUMNS = ("id", "supabase_id", "record_id", "task_id", "url", "type", "media_type",
           "aspect_ratio", "upload_source", "category", "meta", "is_delete", "created_at",
           "updated_at")
PARITY_ROWS = 2_000

assert len(CATEGORIES) == 60 and len(set(CATEGORIES)) == 60


@dataclass(frozen=True)
class Plan:
    rows: int = 2_000_000
    users: int = 50_000
    user_zipf: float = 0.9
    import_share: float = 0.10
    imports: int = 10
    import_window_days: int = 21
    deleted_share: float = 0.03
    days: int = 730  # created_at spread over the two years before now
    seed: int = 20250301
    drop_indexes: bool = True
    replica_role: bool = True

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Plan:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in spec.items() if k in fields})


def _uuid_text(value: int) -> str:
    h = f"{value & ((1 << 128) - 1):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid7(millis: int, rand: int) -> str:
    """A version-7 UUID of ``millis`` (as apps.core.ids.uuid7 makes them), as text;
    ``rand``: 74 random bits."""
    value = ((millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
             | (rand & ((1 << 62) - 1)))
    return _uuid_text(value)


MIX = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd: i -> i * MIX mod 2**128 is a bijection


def _scrambled(index: int, salt: int) -> str:
    """A uuid-shaped text, distinct for each ``index`` under one salt."""
    return _uuid_text(((index + 1) * MIX + salt) * MIX)


def category_weights() -> list[float]:
    """Per-draw weights of CATEGORIES: the regular words' Zipf weights, and the rare
    words' shares of rows turned into per-draw weights of the same scale."""
    regular = [1 / (rank + REGULAR_OFFSET) for rank in range(1, len(REGULAR) + 1)]
    mean_draws = sum(n * share for n, share in CATEGORY_COUNTS)
    rare_mass = sum(share for _w, share in RARE) / mean_draws  # of one draw
    scale = sum(regular) * rare_mass / (1 - rare_mass)
    total_rare = sum(share for _w, share in RARE)
    return regular + [scale * share / total_rare for _w, share in RARE]


class _Rows:
    """Every row's drawn attributes, in created_at order (numpy arrays)."""

    def __init__(self, plan: Plan, now_ms: int) -> None:
        import numpy as np

        rng = np.random.default_rng(plan.seed)
        start_ms = now_ms - plan.days * DAY_MS
        n_import = round(plan.rows * plan.import_share)
        n_events_rows = plan.rows - n_import
        sizes, size_p = zip(*EVENT_SIZES, strict=True)
        mean_size = sum(s * p for s, p in EVENT_SIZES)
        draws = rng.choice(sizes, size=int(n_events_rows / mean_size * 1.1) + 16, p=size_p)
        cum = np.cumsum(draws)
        n_events = int(np.searchsorted(cum, n_events_rows)) + 1
        draws = draws[:n_events].copy()
        draws[-1] -= int(cum[n_events - 1]) - n_events_rows
        users_p = 1 / np.arange(1, plan.users + 1) ** plan.user_zipf
        users_p /= users_p.sum()
        # events: time, user, media type, upload source
        ev_time = rng.integers(start_ms, now_ms - 3_600_000, size=n_events)
        ev_user = rng.choice(plan.users, size=n_events, p=users_p)
        ev_media = rng.choice(2, size=n_events, p=[p for _t, p in MEDIA_TYPES])
        ev_source = rng.choice(2, size=n_events, p=[0.8, 0.2])
        event_of_row = np.repeat(np.arange(n_events), draws)
        within = np.arange(n_events_rows) - np.repeat(cum[:n_events] - draws, draws)
        # imports: batch (Zipf), each over a window of the two years
        batch_p = 1 / np.arange(1, plan.imports + 1)
        batch_p /= batch_p.sum()
        window_ms = plan.import_window_days * DAY_MS
        batch_start = rng.integers(start_ms, now_ms - window_ms - 3_600_000,
                                   size=plan.imports)
        im_batch = rng.choice(plan.imports, size=n_import, p=batch_p)
        im_time = batch_start[im_batch] + rng.integers(0, window_ms, size=n_import)
        im_user = rng.choice(plan.users, size=n_import, p=users_p)
        im_media = rng.choice(2, size=n_import, p=[p for _t, p in MEDIA_TYPES])
        # per event / per imported row: MIME type and aspect ratio within the media type
        media = np.concatenate([ev_media, im_media])
        mime = np.empty(len(media), dtype=np.int64)
        aspect = np.empty(len(media), dtype=np.int64)
        for m, (kind, _p) in enumerate(MEDIA_TYPES):
            where = np.flatnonzero(media == m)
            mimes = [i for i, row in enumerate(MIMES) if row[0] == kind]
            p = np.array([MIMES[i][3] for i in mimes])
            mime[where] = np.array(mimes)[rng.choice(len(mimes), size=len(where), p=p / p.sum())]
            ap = np.array([row[1 + m] for row in ASPECTS])
            aspect[where] = rng.choice(len(ASPECTS), size=len(where), p=ap / ap.sum())
        # the rows: events' rows, then imported rows; then sorted by time
        self.time = np.concatenate([ev_time[event_of_row] + within * 7, im_time])
        self.user = np.concatenate([ev_user[event_of_row], im_user])
        self.record = np.concatenate([event_of_row, n_events + im_batch])  # record index
        self.task = np.concatenate([np.where(ev_source[event_of_row] == 0, event_of_row, -1),
                                    np.full(n_import, -1)])
        self.media = np.concatenate([ev_media[event_of_row], im_media])
        self.mime = np.concatenate([mime[:n_events][event_of_row], mime[n_events:]])
        self.aspect = np.concatenate([aspect[:n_events][event_of_row], aspect[n_events:]])
        self.source = np.concatenate([ev_source[event_of_row], np.full(n_import, 2)])
        self.deleted = rng.random(plan.rows) < plan.deleted_share
        self.order = np.argsort(self.time, kind="stable")
        self.events = n_events
        self.start_ms, self.now_ms = start_ms, now_ms


def _iso_ms(values: Any) -> list[str]:
    """Epoch milliseconds -> COPY timestamptz text (UTC), vectorised."""
    import numpy as np

    text = np.datetime_as_string(values.astype("datetime64[ms]"), unit="ms")
    return [f"{t}+00" for t in text.tolist()]


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


def _write_rows(plan: Plan, rows: _Rows, copy_cursor: Any) -> int:
    """Format every row (in time order) and COPY it into admin_media."""
    import numpy as np

    rng = random.Random(plan.seed)
    order = rows.order
    created_ms = rows.time[order]
    deleted = rows.deleted  # by output position
    # updated_at: the deletion for deleted rows (within 60 days, before now), a later
    # edit for 10 % of the live ones, else created_at
    gen = np.random.default_rng(plan.seed + 1)
    offsets = gen.integers(60_000, 60 * DAY_MS, size=len(order))
    edited = gen.random(len(order)) < 0.10
    later = np.where(deleted | edited, np.minimum(created_ms + offsets, rows.now_ms - 1000),
                     created_ms)
    created_text = _iso_ms(created_ms)
    updated_text = _iso_ms(later)
    user_ids = [_uuid_text(rng.getrandbits(128)) for _ in range(plan.users)]
    record_salt, task_salt = rng.getrandbits(128), rng.getrandbits(128)
    weights = list(itertools.accumulate(category_weights()))
    top = weights[-1]
    count_weights = list(itertools.accumulate(share for _n, share in CATEGORY_COUNTS))
    media_names = [kind for kind, _p in MEDIA_TYPES]
    aspect_text = [a if a is not None else "\\N" for a, *_rest in ASPECTS]
    aspect_dims = [dims for *_rest, dims in ASPECTS]
    user_of = rows.user[order].tolist()
    record_of = rows.record[order].tolist()
    task_of = rows.task[order].tolist()
    media_of = rows.media[order].tolist()
    mime_of = rows.mime[order].tolist()
    aspect_of = rows.aspect[order].tolist()
    source_of = rows.source[order].tolist()
    millis = created_ms.tolist()
    deleted_of = deleted.tolist()
    random_ = rng.random
    getrandbits = rng.getrandbits
    choice = rng.choice
    bis = bisect.bisect
    n_categories = len(CATEGORIES)
    with _Copier(copy_cursor, TABLE, COLUMNS) as out:
        for i in range(len(millis)):
            ms = millis[i]
            row_id = _uuid7(ms, getrandbits(74))
            user = user_ids[user_of[i]]
            task = task_of[i]
            media = media_names[media_of[i]]
            _kind, mime, ext, _share = MIMES[mime_of[i]]
            k = 1 + bis(count_weights, random_() * count_weights[-1])
            chosen: list[str] = []
            while len(chosen) < k:
                word = CATEGORIES[min(bis(weights, random_() * top), n_categories - 1)]
                if word not in chosen:
                    chosen.append(word)
            width, height = choice(aspect_dims[aspect_of[i]])
            size = (getrandbits(22) + 60_000 if media == "image"
                    else getrandbits(27) + 1_000_000)
            out.row("\t".join((
                row_id, user, _scrambled(record_of[i], record_salt),
                "\\N" if task < 0 else _scrambled(task, task_salt),
                f"https://cdn.example.com/media/{user}/{row_id}.{ext}", mime, media,
                aspect_text[aspect_of[i]], SOURCES[source_of[i]],
                "{" + ",".join(chosen) + "}",
                f'{{"width": {width}, "height": {height}, "size": {size}}}',
                "t" if deleted_of[i] else "f", created_text[i], updated_text[i])))
        copied = out.rows
    return copied


def _secondary_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(name, definition) of ``table``'s indexes that back no constraint."""
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1""", [table])
    return [(str(name), str(ddl)) for name, ddl in cursor.fetchall()]


def _primary_key(cursor: Any, table: str) -> tuple[str, str]:
    cursor.execute("""SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE conrelid = %s::regclass AND contype = 'p'""", [table])
    name, ddl = cursor.fetchone()
    return str(name), str(ddl)


# the category entries' columns, as admin_media_apply fills them: ENTRIES_SQL's order
ENTRY_COLUMNS = ("category", "created_at", "media_id", "media_type", "mime_type",
                 "supabase_id")


def _check_entry_columns(cursor: Any) -> None:
    """The loader writes every column of the category entries (a column a later
    migration adds would otherwise be left NULL here while the trigger fills it)."""
    cursor.execute("SELECT column_name FROM information_schema.columns "
                   "WHERE table_name = %s", [ENTRIES])
    found = {str(name) for (name,) in cursor.fetchall()}
    if found != set(ENTRY_COLUMNS):
        raise RuntimeError(f"{ENTRIES} has columns {sorted(found)}, the loader writes "
                           f"{list(ENTRY_COLUMNS)}: teach ENTRIES_SQL how "
                           f"admin_media_apply fills them")


# The set-based builds, keyed as admin_media_apply keys them (migrations 0002, 0003): an
# entry per (live row, category), with its media type, MIME type and user; a tally per
# (category or '', media type, MIME type, aspect ratio or ''). {rows} is the relation
# the rows come from.
ENTRIES_SQL = """
SELECT c.category, m.created_at, m.id, m.media_type, m.type, m.supabase_id
FROM {rows} m, unnest(m.category) AS c(category)
WHERE NOT m.is_delete"""
TALLIES_SQL = """
SELECT ''::text AS category, m.media_type, m.type AS mime_type,
       coalesce(m.aspect_ratio, '') AS aspect_ratio, count(*) AS count
FROM {rows} m WHERE NOT m.is_delete GROUP BY 2, 3, 4
UNION ALL
SELECT c.category, m.media_type, m.type, coalesce(m.aspect_ratio, ''), count(*)
FROM {rows} m, unnest(m.category) AS c(category)
WHERE NOT m.is_delete GROUP BY 1, 2, 3, 4"""


def loaded_state(cursor: Any) -> dict[str, Any] | None:
    """The staff user and the table's row counts (None: no staff user of this loader)."""
    cursor.execute("SELECT id FROM accounts_user WHERE username = %s", [STAFF_USERNAME])
    found = cursor.fetchone()
    cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608
    rows = int(cursor.fetchone()[0])
    if found is None:
        return None if rows == 0 else {"staff_id": None, "rows": rows}
    cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE NOT is_delete")  # noqa: S608
    return {"staff_id": str(found[0]), "rows": rows, "live": int(cursor.fetchone()[0])}


def _staff() -> str:
    from apps.accounts.models import User

    user = User.objects.create(username=STAFF_USERNAME, email=f"{STAFF_USERNAME}@bench.test",
                               is_staff=True)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return str(user.pk)


def verify(cursor: Any) -> dict[str, Any]:
    """The checks of the module docstring; raises on the first that fails."""
    cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE NOT is_delete")  # noqa: S608
    live = int(cursor.fetchone()[0])
    cursor.execute(f"SELECT coalesce(sum(count), 0) FROM {TALLIES} WHERE category = ''")  # noqa: S608
    tallied = int(cursor.fetchone()[0])
    if tallied != live:
        raise RuntimeError(f"tallies for '' sum to {tallied}, COUNT(*) of live rows {live}")
    cursor.execute(f"""
        SELECT count(*) FROM (SELECT category, sum(count) AS n FROM {TALLIES}
                              WHERE category <> '' GROUP BY category) t
        FULL JOIN (SELECT category, count(*) AS n FROM {ENTRIES} GROUP BY category) e
          USING (category)
        WHERE t.n IS DISTINCT FROM e.n""")  # noqa: S608
    mismatched = int(cursor.fetchone()[0])
    if mismatched:
        raise RuntimeError(f"{mismatched} categories' tallies differ from their entries")
    cursor.execute(f"SELECT count(*) FROM {ENTRIES}")  # noqa: S608
    entries = int(cursor.fetchone()[0])
    cursor.execute(f"SELECT count(*) FROM ({ENTRIES_SQL.format(rows=TABLE)}) q")  # noqa: S608
    pairs = int(cursor.fetchone()[0])
    if entries != pairs:
        raise RuntimeError(f"{entries} category entries for {pairs} (live row, category)")
    return {"live": live, "entries": entries, **_trigger_parity(cursor)}


def _trigger_parity(cursor: Any) -> dict[str, Any]:
    """Copies of PARITY_ROWS rows inserted with the triggers on change the tallies and
    the entries as this loader's SQL says (in a transaction rolled back)."""
    from django.db import transaction

    with transaction.atomic():
        cursor.execute(f"""
            CREATE TEMP TABLE bench_parity_rows ON COMMIT DROP AS
            SELECT * FROM {TABLE} WHERE id >= (SELECT id FROM {TABLE} ORDER BY id
                                               OFFSET (SELECT count(*) / 2 FROM {TABLE})
                                               LIMIT 1)
            ORDER BY id LIMIT %s""", [PARITY_ROWS])  # noqa: S608
        cursor.execute("UPDATE bench_parity_rows SET id = 'bench-parity-' || id")
        cursor.execute(f"""CREATE TEMP TABLE bench_parity_before ON COMMIT DROP AS
                           SELECT * FROM {TALLIES}""")  # noqa: S608
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM bench_parity_rows")  # noqa: S608
        cursor.execute(f"""
            SELECT count(*) FROM (
                SELECT category, media_type, mime_type, aspect_ratio,
                       a.count - coalesce(b.count, 0) AS n
                FROM {TALLIES} a LEFT JOIN bench_parity_before b
                  USING (category, media_type, mime_type, aspect_ratio)
                WHERE a.count - coalesce(b.count, 0) <> 0) d
            FULL JOIN ({TALLIES_SQL.format(rows="bench_parity_rows")}) x
              USING (category, media_type, mime_type, aspect_ratio)
            WHERE d.n IS DISTINCT FROM x.count""")  # noqa: S608
        tally_diff = int(cursor.fetchone()[0])
        cursor.execute(f"""
            SELECT count(*) FROM (SELECT * FROM {ENTRIES}
                                  WHERE media_id LIKE 'bench-parity-%') e
            FULL JOIN ({ENTRIES_SQL.format(rows="bench_parity_rows")}) x
              ON x.category = e.category AND x.id = e.media_id
                 AND x.created_at = e.created_at AND x.media_type = e.media_type
                 AND x.type = e.mime_type AND x.supabase_id IS NOT DISTINCT FROM e.supabase_id
            WHERE x.id IS NULL OR e.media_id IS NULL""")  # noqa: S608
        entry_diff = int(cursor.fetchone()[0])
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE is_delete) "
                       "FROM bench_parity_rows")
        sampled, sampled_deleted = cursor.fetchone()
        transaction.set_rollback(True)
    if tally_diff or entry_diff:
        raise RuntimeError(f"trigger parity: {tally_diff} tallies and {entry_diff} entries "
                           f"differ between the triggers and the loader's SQL")
    return {"parity_rows": int(sampled), "parity_deleted": int(sampled_deleted)}


def load(plan: Plan) -> dict[str, Any]:
    """Load ``plan`` into the default database; returns what was loaded and the timings."""
    from django.db import connection

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        existing = loaded_state(cursor)
    if existing is not None:
        if existing["staff_id"] is None or existing["rows"] != plan.rows:
            raise RuntimeError(
                f"{TABLE} already holds {existing['rows']} rows, not this loader's "
                f"{plan.rows}: use a fresh database (scripts/test_services.py)")
        return {"plan": asdict(plan), "reused": True, "timings": {}, "state": existing}
    now_ms = int(time.time() * 1000) - 60_000
    staff_id = _staff()
    raw = connection.cursor().connection  # psycopg 3's connection under Django's
    index_seconds: dict[str, float] = {}
    with connection.cursor() as cursor:
        if plan.replica_role:
            try:
                cursor.execute("SET session_replication_role = replica")
            except Exception:  # not a superuser: the FK check per row stays, only slower
                plan = Plan(**{**asdict(plan), "replica_role": False})
        _check_entry_columns(cursor)
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        dropped = _secondary_indexes(cursor, TABLE) if plan.drop_indexes else []
        for name, _ddl in dropped:
            cursor.execute(f"DROP INDEX {name}")
        entries_pk = _primary_key(cursor, ENTRIES)
        cursor.execute(f"ALTER TABLE {ENTRIES} DROP CONSTRAINT {entries_pk[0]}")
        entry_indexes = _secondary_indexes(cursor, ENTRIES)
        for name, _ddl in entry_indexes:
            cursor.execute(f"DROP INDEX {name}")
        t = time.perf_counter()
        rows = _Rows(plan, now_ms)
        timings["draw_s"] = time.perf_counter() - t
        t = time.perf_counter()
        with raw.cursor() as copy_cursor:
            copied = _write_rows(plan, rows, copy_cursor)
        timings["format_and_copy_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cursor.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for name, ddl in dropped:
            t_index = time.perf_counter()
            cursor.execute(ddl)
            index_seconds[name] = round(time.perf_counter() - t_index, 2)
        timings["create_indexes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cursor.execute(f"""INSERT INTO {ENTRIES} ({', '.join(ENTRY_COLUMNS)})
                           {ENTRIES_SQL.format(rows=TABLE)}""")
        t_index = time.perf_counter()
        cursor.execute(f"ALTER TABLE {ENTRIES} ADD CONSTRAINT {entries_pk[0]} {entries_pk[1]}")
        index_seconds[entries_pk[0]] = round(time.perf_counter() - t_index, 2)
        for name, ddl in entry_indexes:
            t_index = time.perf_counter()
            cursor.execute(ddl)
            index_seconds[name] = round(time.perf_counter() - t_index, 2)
        cursor.execute(f"""INSERT INTO {TALLIES} (category, media_type, mime_type,
                                                  aspect_ratio, count)
                           {TALLIES_SQL.format(rows=TABLE)}""")
        timings["entries_and_tallies_s"] = time.perf_counter() - t
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
        if plan.replica_role:
            cursor.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        checks = verify(cursor)
        timings["verify_s"] = time.perf_counter() - t
        # after the checks, and with INDEX_CLEANUP ON: the parity rows' dead tuples are
        # few enough for VACUUM to skip the indexes by default, which would leave their
        # heap pages (the newest rows' ones) not all-visible
        t = time.perf_counter()
        for table in ("accounts_user", TABLE, ENTRIES, TALLIES):
            cursor.execute(f"VACUUM (ANALYZE, INDEX_CLEANUP ON) {table}")
        timings["vacuum_analyze_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        state = loaded_state(cursor)
    return {"plan": asdict(plan), "reused": False, "timings": timings, "rows": copied,
            "events": rows.events, "staff_id": staff_id, "rebuilt_indexes": index_seconds,
            "entry_indexes": [entries_pk[0], *(name for name, _ddl in entry_indexes)],
            "checks": checks, "state": state}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(load(Plan.from_spec(spec))), flush=True)


if __name__ == "__main__":
    main()
