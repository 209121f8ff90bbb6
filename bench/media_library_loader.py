"""Bulk loader of ``bench_media_library``: a big workspace library written with COPY.

    python -m bench.media_library_loader '{"items": 200000, "binned": 20000}'  (Django env set)

Writes one measured workspace (``bench-media-library-main``) whose member
(``bench-media-library-member``, role ``member``) the benchmark acts as, holding

- ``items`` live media items (default 200,000): 60 % images, 20 % videos, 8 % GIFs,
  12 % documents, with Cloudinary-style URLs and the metadata of their type;
- ``binned`` rows in its recycle bin (default 20,000): ``binned_item_share`` (85 %) of
  them media items, the rest templates, text snippets and saved links in equal parts,
  each deleted within the last 29 days (the purge keeps 30);
- ``objects`` live templates, text snippets and saved links each (default 2,000);
- ``categories`` categories (default 50) over the seven category types; 70 % of the
  objects are filed under one of their type;

and ``others`` other workspaces (default 5) of ``other_items`` live media items each
(default 8,000; plus a tenth of that binned and a twentieth live of each other kind),
so that a scan of the whole table reads rows the measured workspace does not own. All
rows of a table are inserted in ``created_at`` order across the workspaces (spread
uniformly over a year), so a workspace's rows are scattered over the heap, as a year of
use leaves them.

The text the benchmark searches: names (``"Golden studio portrait shot 0423"``) and, for
60 % of items, descriptions of 6-18 words drawn (Zipf) from a vocabulary of ~200 media
words. Two needles are planted, in any case (``aurora``, ``Aurora``, ``AURORA``), in
the name (40 %) or the description of a share of every workspace's items: ``aurora``
(``NEEDLES``: 0.5 %, a selective search) and ``sunset`` (5 %, a common one); no word of
the vocabulary contains either. Tags: a vocabulary of ``tags`` (200) ``topic-qualifier``
tags, 2-6 distinct ones per object drawn with Zipf weights (s = 1), so the commonest
tag is on about half the items and some pairs on about 1 %. ``usage_count`` is 0 for
45 % of the objects and Pareto-distributed (alpha 1.1, at most 10,000) for the others,
with ``last_used_at`` after ``created_at``; 5 % are starred.

Speed: as ``bench/library_loader.py``: COPY text through psycopg 3's ``cursor.copy`` on
Django's connection, ``session_replication_role = replica`` when the role may set it
(no foreign-key trigger per row; the rows are consistent by construction), the four
object tables' secondary indexes (B-trees, the tag GIN and the trigram GINs) dropped
before and rebuilt after the COPY (with ``maintenance_work_mem`` raised for the
session), then ``VACUUM ANALYZE``. The users, workspaces, memberships and categories
(a few dozen rows) are written with the ORM.

A database that already holds this loader's workspace is reused as it is when it holds
the same numbers of live and binned rows (repeated runs against one database), and
refused otherwise.
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

PREFIX = "bench-media-library-"
MAIN_WORKSPACE = f"{PREFIX}main"
MEMBER_USERNAME = f"{PREFIX}member"
OWNER_USERNAME = f"{PREFIX}owner"
YEAR_MS = 365 * 24 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
BIN_DAYS = 29  # binned within the last 29 days: none is due for the 30-day purge
CHUNK_ROWS = 20_000
MAINTENANCE_WORK_MEM = "512MB"
# the searched substrings and the share of every workspace's items carrying each
NEEDLES = {"rare": ("aurora", 0.005), "common": ("sunset", 0.05)}
NEEDLE_IN_NAME = 0.4
DESCRIBED = 0.6
CATEGORIZED = 0.7
STARRED = 0.05
UNUSED = 0.45
OBJECT_TABLES = ("media_library_items", "media_library_templates", "media_library_snippets",
                 "media_library_links")
# (category type, share of the categories)
CATEGORY_TYPES = (("image", 0.28), ("video", 0.16), ("gif", 0.08), ("document", 0.12),
                  ("template", 0.14), ("text_snippet", 0.12), ("link", 0.10))
# (item type, mime type, extension, Cloudinary resource type, share)
ITEM_TYPES = (("image", "image/jpeg", ".jpg", "image", 0.35),
              ("image", "image/png", ".png", "image", 0.15),
              ("image", "image/webp", ".webp", "image", 0.10),
              ("video", "video/mp4", ".mp4", "video", 0.20),
              ("gif", "image/gif", ".gif", "image", 0.08),
              ("document", "application/pdf", ".pdf", "raw", 0.12))
TOPICS = ("summer", "winter", "spring", "autumn", "launch", "brand", "social", "holiday",
          "product", "team")
QUALIFIERS = ("hero", "banner", "story", "reel", "draft", "final", "approved", "print", "web",
              "email", "q1", "q2", "q3", "q4", "eu", "us", "apac", "kids", "men", "women")
ADJECTIVES = ("golden", "soft", "bright", "moody", "minimal", "bold", "vintage", "clean",
              "vivid", "muted", "warm", "cool", "rustic", "urban", "coastal", "neon", "pastel",
              "classic", "modern", "playful")
SUBJECTS = ("studio", "portrait", "sneaker", "linen dress", "coffee cup", "skyline", "forest",
            "beach", "kitchen", "office", "runway", "storefront", "team photo", "product",
            "flat lay", "mountain", "garden", "city street", "workshop", "market")
SHOTS = {"image": ("shot", "photo", "still", "close-up", "crop"),
         "video": ("clip", "cut", "teaser", "b-roll", "timelapse"),
         "gif": ("loop", "animation", "cinemagraph"),
         "document": ("brief.pdf", "deck.pdf", "guidelines.pdf", "one-pager.pdf")}
WORDS = (
    "a", "the", "of", "with", "and", "for", "on", "in", "at", "by", "from", "new", "our",
    "studio", "portrait", "sneaker", "linen", "dress", "golden", "hour", "soft", "light",
    "marble", "product", "shot", "white", "background", "cinematic", "slow", "motion",
    "runway", "model", "walking", "close-up", "leather", "bag", "shadows", "minimal",
    "pastel", "backdrop", "85mm", "bokeh", "campaign", "launch", "brand", "social", "post",
    "story", "reel", "carousel", "banner", "hero", "image", "photo", "video", "teaser",
    "customer", "review", "testimonial", "behind", "scenes", "team", "office", "event",
    "conference", "keynote", "speaker", "stage", "crowd", "booth", "logo", "palette",
    "typography", "layout", "grid", "mockup", "packaging", "unboxing", "detail", "texture",
    "fabric", "cotton", "wool", "denim", "silk", "ceramic", "glass", "wood", "steel",
    "copper", "brass", "green", "blue", "red", "yellow", "orange", "purple", "black", "grey",
    "beige", "ivory", "navy", "teal", "coral", "mint", "lavender", "morning", "evening",
    "night", "noon", "dusk", "dawn", "winter", "summer", "spring", "autumn", "holiday",
    "season", "sale", "offer", "discount", "limited", "edition", "collection", "catalogue",
    "lookbook", "editorial", "magazine", "print", "web", "email", "newsletter", "landing",
    "page", "header", "footer", "icon", "badge", "sticker", "poster", "flyer", "brochure",
    "coffee", "tea", "bakery", "bread", "pastry", "fruit", "salad", "kitchen", "table",
    "chair", "sofa", "lamp", "plant", "garden", "flower", "beach", "sea", "wave", "sand",
    "mountain", "forest", "lake", "river", "city", "street", "skyline", "bridge", "tower",
    "rooftop", "window", "door", "wall", "floor", "stairs", "hands", "smile", "family",
    "friends", "kids", "dog", "cat", "bike", "car", "train", "travel", "map", "ticket",
    "draft", "final", "approved", "version", "variant", "crop", "square", "vertical",
    "wide", "format", "ratio", "export", "source", "raw", "edit", "retouch", "color",
)
TEMPLATE_TYPES = ("post", "story", "reel", "carousel")
SNIPPET_TYPES = ("caption", "hashtag", "cta")
PLATFORMS = ("instagram", "facebook", "tiktok", "linkedin", "x", "pinterest")
SITES = ("example.com", "blog.example.org", "news.example.net", "shop.example.com",
         "docs.example.io", "video.example.tv")
COMMON_COLUMNS = ("id", "workspace_id", "category_id", "name", "tags", "is_starred",
                  "usage_count", "last_used_at", "is_deleted", "deleted_at", "created_at",
                  "updated_at")
COLUMNS = {
    "media_library_items": (*COMMON_COLUMNS, "uploaded_by_id", "type", "description",
                            "file_url", "thumbnail_url", "mime_type", "file_size", "width",
                            "height", "duration", "cloudinary_public_id",
                            "cloudinary_asset_id", "stored_file_id"),
    "media_library_templates": (*COMMON_COLUMNS, "created_by_id", "description",
                                "template_type", "platforms", "content", "thumbnail_url"),
    "media_library_snippets": (*COMMON_COLUMNS, "created_by_id", "snippet_type", "content"),
    "media_library_links": (*COMMON_COLUMNS, "created_by_id", "url", "description", "preview"),
}
BIN_SECTIONS = {"media_library_items": "mediaItems", "media_library_templates": "templates",
                "media_library_snippets": "textSnippets", "media_library_links": "savedLinks"}

for _word in (*WORDS, *ADJECTIVES, *SUBJECTS, *itertools.chain(*SHOTS.values())):
    if any(needle in _word.lower() for needle, _share in NEEDLES.values()):
        raise AssertionError(f"the vocabulary word {_word!r} contains a needle")


@dataclass(frozen=True)
class Plan:
    items: int = 200_000  # live media items of the measured workspace
    binned: int = 20_000  # rows in its recycle bin, over the four kinds
    objects: int = 2_000  # its live templates, snippets and links (each)
    others: int = 5  # other workspaces
    other_items: int = 8_000  # live media items of each other workspace
    categories: int = 50  # of the measured workspace (others get a fifth of that)
    tags: int = 200
    binned_item_share: float = 0.85
    seed: int = 20240612
    drop_indexes: bool = True
    replica_role: bool = True

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Plan:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in spec.items() if k in fields})

    def rows(self) -> list[dict[str, tuple[int, int]]]:
        """Per workspace (the measured one first): table -> (live rows, binned rows)."""
        binned_items = round(self.binned * self.binned_item_share)
        rest, extra = divmod(self.binned - binned_items, 3)
        main = {"media_library_items": (self.items, binned_items)}
        for i, table in enumerate(OBJECT_TABLES[1:]):
            main[table] = (self.objects, rest + (1 if i < extra else 0))
        other = {"media_library_items": (self.other_items, self.other_items // 10),
                 **{t: (self.other_items // 20, self.other_items // 100)
                    for t in OBJECT_TABLES[1:]}}
        return [main] + [dict(other) for _ in range(self.others)]


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


def _iso(millis: int) -> str:
    """A timestamp as the worker writes it into JSON (ISO 8601, UTC, milliseconds)."""
    return (dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"))


def _text(value: str) -> str:
    """A value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class _Copier:
    """COPY ... FROM STDIN in text format, fed with joined chunks of lines."""

    def __init__(self, cursor: Any, table: str, columns: tuple[str, ...]) -> None:
        self._cm = cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN")
        self._lines: list[str] = []
        self.rows = 0

    def __enter__(self) -> _Copier:
        self._copy = self._cm.__enter__()
        return self

    def row(self, fields: list[str]) -> None:
        self._lines.append("\t".join(fields))
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


class _Draw:
    """The random parts of a row, from one seeded generator."""

    def __init__(self, plan: Plan, rng: random.Random, now_ms: int) -> None:
        self.rng = rng
        self.now_ms = now_ms
        tags = [f"{t}-{q}" for t in TOPICS for q in QUALIFIERS][:plan.tags]
        rng.shuffle(tags)
        self.tags = tags
        self.tag_weights = list(itertools.accumulate(1 / (r + 1) for r in range(len(tags))))
        self.word_weights = list(itertools.accumulate(1 / (r + 1) ** 0.8
                                                      for r in range(len(WORDS))))
        self.words = list(WORDS)
        rng.shuffle(self.words)
        self.type_weights = list(itertools.accumulate(t[4] for t in ITEM_TYPES))

    def tag_list(self) -> str:
        rng, weights, tags = self.rng, self.tag_weights, self.tags
        want = rng.randint(2, 6)
        chosen: list[str] = []
        while len(chosen) < want:
            tag = tags[bisect.bisect(weights, rng.random() * weights[-1])]
            if tag not in chosen:
                chosen.append(tag)
        return "{" + ",".join(chosen) + "}"

    def sentence(self, low: int, high: int) -> str:
        rng, weights, words = self.rng, self.word_weights, self.words
        return " ".join(words[bisect.bisect(weights, rng.random() * weights[-1])]
                        for _ in range(rng.randint(low, high)))

    def name(self, kind: str) -> str:
        rng = self.rng
        shot = rng.choice(SHOTS.get(kind, ("draft", "final", "v2")))
        return (f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(SUBJECTS)} {shot} "
                f"{rng.randrange(10000):04d}")

    def needles(self, name: str, description: str | None) -> tuple[str, str | None]:
        """Plant each needle with its share, in the name or the description."""
        rng = self.rng
        for needle, share in NEEDLES.values():
            if rng.random() >= share:
                continue
            word = rng.choice((needle, needle.capitalize(), needle.upper()))
            if description is None or rng.random() < NEEDLE_IN_NAME:
                name = f"{name} {word}" if rng.random() < 0.5 else f"{word} {name}"
            else:
                words = description.split(" ")
                words.insert(rng.randrange(len(words) + 1), word)
                description = " ".join(words)
        return name, description

    def usage(self, created_ms: int, end_ms: int) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < UNUSED:
            return "0", "\\N"
        count = min(10_000, int(rng.paretovariate(1.1)))
        return str(count), _ts(rng.randrange(created_ms, max(created_ms + 1, end_ms)))


def _slots(plan: Plan, table: str, rng: random.Random, now_ms: int
           ) -> list[tuple[int, int, bool]]:
    """(created_at ms, workspace index, binned) of every row of ``table``, in time order."""
    slots: list[tuple[int, int, bool]] = []
    for w, counts in enumerate(plan.rows()):
        live, binned = counts[table]
        slots += [(rng.randrange(now_ms - YEAR_MS, now_ms - DAY_MS), w, False)
                  for _ in range(live)]
        slots += [(rng.randrange(now_ms - YEAR_MS, now_ms - DAY_MS), w, True)
                  for _ in range(binned)]
    slots.sort()
    return slots


def _common(draw: _Draw, row_id: str, workspace: str, category: str, name: str,
            created: int, binned: bool) -> tuple[list[str], str]:
    """The LibraryObject columns (COMMON_COLUMNS) and the row's updated_at."""
    rng = draw.rng
    deleted = "\\N"
    end = draw.now_ms
    if binned:
        low = max(created + 1000, draw.now_ms - BIN_DAYS * DAY_MS)
        deleted_ms = rng.randrange(low, draw.now_ms)
        deleted, end = _ts(deleted_ms), deleted_ms
    usage_count, last_used = draw.usage(created, end)
    updated = deleted if binned else last_used if last_used != "\\N" else _ts(created)
    return [row_id, workspace, category, _text(name), draw.tag_list(),
            "t" if rng.random() < STARRED else "f", usage_count, last_used,
            "t" if binned else "f", deleted, _ts(created), updated], updated


def _item_rows(draw: _Draw, slot: tuple[int, int, bool], workspace: str,
               categories: dict[str, list[str]], uploader: str) -> list[str]:
    rng = draw.rng
    created, _w, binned = slot
    kind, mime, ext, resource, _share = ITEM_TYPES[
        bisect.bisect(draw.type_weights, rng.random() * draw.type_weights[-1])]
    pool = categories.get(kind, [])
    category = rng.choice(pool) if pool and rng.random() < CATEGORIZED else "\\N"
    name, description = draw.needles(
        draw.name(kind), draw.sentence(6, 18) if rng.random() < DESCRIBED else None)
    row, _updated = _common(draw, _uuid7(created, rng), workspace, category, name, created,
                            binned)
    public_id = f"ml/{rng.getrandbits(64):016x}"
    url = f"https://res.cloudinary.com/bench-media/{resource}/upload/v{created // 1000}"
    thumb = "\\N" if kind == "document" else f"{url}/c_thumb,w_256/{public_id}.jpg"
    if kind == "document":
        size, dims, duration = 50_000 + rng.getrandbits(21), "\\N\t\\N", "\\N"
    elif kind == "video":
        size = 2_000_000 + rng.getrandbits(26)
        dims, duration = rng.choice(("1920\t1080", "1080\t1920", "1280\t720")), str(
            rng.randint(5, 120))
    else:
        size = 80_000 + rng.getrandbits(21)
        dims, duration = rng.choice(("1080\t1080", "1080\t1350", "1920\t1080",
                                     "1080\t1920")), "\\N"
    row += [uploader, kind, "\\N" if description is None else _text(description),
            f"{url}/{public_id}{ext}", thumb, mime, str(size), *dims.split("\t"), duration,
            public_id, f"{rng.getrandbits(128):032x}", "\\N"]
    return row


def _template_rows(draw: _Draw, slot: tuple[int, int, bool], workspace: str,
                   categories: dict[str, list[str]], creator: str) -> list[str]:
    rng = draw.rng
    created, _w, binned = slot
    pool = categories.get("template", [])
    category = rng.choice(pool) if pool and rng.random() < CATEGORIZED else "\\N"
    template_type = rng.choice(TEMPLATE_TYPES)
    name = f"{draw.name(template_type)} template"
    row, _updated = _common(draw, _uuid7(created, rng), workspace, category, name, created,
                            binned)
    platforms = rng.sample(PLATFORMS, rng.randint(1, 3))
    content = {"caption": draw.sentence(8, 24), "hashtags": [f"#{w}" for w in rng.sample(
        WORDS[13:], 3)], "layout": rng.choice(("grid", "split", "full-bleed")),
        "slides": rng.randint(1, 8)}
    row += [creator, _text(draw.sentence(6, 14)), template_type,
            "{" + ",".join(platforms) + "}", _text(json.dumps(content)),
            f"https://res.cloudinary.com/bench-media/image/upload/t/{rng.getrandbits(64):016x}"
            ".jpg"]
    return row


def _snippet_rows(draw: _Draw, slot: tuple[int, int, bool], workspace: str,
                  categories: dict[str, list[str]], creator: str) -> list[str]:
    rng = draw.rng
    created, _w, binned = slot
    pool = categories.get("text_snippet", [])
    category = rng.choice(pool) if pool and rng.random() < CATEGORIZED else "\\N"
    snippet_type = rng.choice(SNIPPET_TYPES)
    name = f"{rng.choice(ADJECTIVES).capitalize()} {snippet_type} {rng.randrange(10000):04d}"
    row, _updated = _common(draw, _uuid7(created, rng), workspace, category, name, created,
                            binned)
    content = (" ".join(f"#{w}" for w in rng.sample(WORDS[13:], 6))
               if snippet_type == "hashtag" else draw.sentence(10, 40))
    row += [creator, snippet_type, _text(content)]
    return row


def _link_rows(draw: _Draw, slot: tuple[int, int, bool], workspace: str,
               categories: dict[str, list[str]], creator: str) -> list[str]:
    rng = draw.rng
    created, _w, binned = slot
    pool = categories.get("link", [])
    category = rng.choice(pool) if pool and rng.random() < CATEGORIZED else "\\N"
    site = rng.choice(SITES)
    slug = "-".join(draw.sentence(3, 6).split(" "))
    name = f"{draw.sentence(3, 7).capitalize()}"
    row, _updated = _common(draw, _uuid7(created, rng), workspace, category, name, created,
                            binned)
    fetched = _iso(created + 5000)
    roll = rng.random()
    if roll < 0.7:
        preview: dict[str, Any] | None = {
            "status": "ok", "title": name, "description": draw.sentence(10, 25),
            "image": f"https://{site}/og/{rng.getrandbits(48):012x}.jpg",
            "site_name": site, "fetched_at": fetched}
    elif roll < 0.8:
        preview = {"status": "error", "code": "http_error",
                   "message": "The page answered 404", "fetched_at": fetched}
    else:
        preview = None
    row += [creator, f"https://{site}/{slug}", _text(draw.sentence(5, 15)),
            "\\N" if preview is None else _text(json.dumps(preview))]
    return row


ROW_MAKERS = {"media_library_items": _item_rows, "media_library_templates": _template_rows,
              "media_library_snippets": _snippet_rows, "media_library_links": _link_rows}


def _secondary_indexes(cursor: Any) -> list[tuple[str, str]]:
    """(name, definition) of the object tables' indexes that back no constraint."""
    cursor.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1""", [list(OBJECT_TABLES)])
    return [(str(name), str(ddl)) for name, ddl in cursor.fetchall()]


def workspace_of_plan(cursor: Any) -> dict[str, Any] | None:
    """The measured workspace, its member and its row counts (None: not loaded)."""
    cursor.execute("""SELECT w.id, u.id FROM accounts_workspace w
                      JOIN accounts_membership m ON m.workspace_id = w.id
                      JOIN accounts_user u ON u.id = m.user_id
                      WHERE w.name = %s AND u.username = %s""",
                   [MAIN_WORKSPACE, MEMBER_USERNAME])
    found = cursor.fetchone()
    if found is None:
        return None
    workspace_id, user_id = found
    counts: dict[str, dict[str, int]] = {}
    for table in OBJECT_TABLES:
        cursor.execute(f"""SELECT count(*) FILTER (WHERE NOT is_deleted),
                                  count(*) FILTER (WHERE is_deleted),
                                  (SELECT count(*) FROM {table})
                           FROM {table} WHERE workspace_id = %s""",  # noqa: S608
                       [workspace_id])
        live, binned, rows = cursor.fetchone()
        counts[table] = {"live": int(live), "binned": int(binned), "table_rows": int(rows)}
    cursor.execute("SELECT count(*) FROM media_library_categories WHERE workspace_id = %s",
                   [workspace_id])
    categories = int(cursor.fetchone()[0])
    return {"workspace_id": str(workspace_id), "user_id": str(user_id), "counts": counts,
            "categories": categories,
            "items": counts["media_library_items"]["live"],
            "binned": sum(c["binned"] for c in counts.values())}


def _accounts(plan: Plan, rng: random.Random, now_ms: int
              ) -> tuple[list[str], dict[int, dict[str, list[str]]], str]:
    """Users, workspaces, memberships and categories, with the ORM: (workspace ids, their
    categories by type, the member's id)."""
    from apps.accounts.models import Membership, Role, User, Workspace
    from media_library.models import Category

    created = dt.datetime.fromtimestamp((now_ms - YEAR_MS - DAY_MS) / 1000, dt.UTC)
    owner = User.objects.create(username=OWNER_USERNAME, email=f"{OWNER_USERNAME}@bench.test",
                                date_joined=created)
    member = User.objects.create(username=MEMBER_USERNAME,
                                 email=f"{MEMBER_USERNAME}@bench.test", date_joined=created)
    for user in (owner, member):
        user.set_unusable_password()
        user.save(update_fields=["password"])
    workspaces = []
    categories: dict[int, dict[str, list[str]]] = {}
    for w in range(plan.others + 1):
        name = MAIN_WORKSPACE if w == 0 else f"{PREFIX}other-{w}"
        workspace = Workspace.objects.create(name=name, created_by=owner, created_at=created)
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        if w == 0:
            Membership.objects.create(workspace=workspace, user=member, role=Role.MEMBER)
        workspaces.append(str(workspace.id))
        total = plan.categories if w == 0 else max(len(CATEGORY_TYPES), plan.categories // 5)
        per_type = [max(1, round(total * share)) for _t, share in CATEGORY_TYPES]
        per_type[0] += total - sum(per_type)
        rows = []
        for (type_value, _share), n in zip(CATEGORY_TYPES, per_type, strict=True):
            for order in range(n):
                rows.append(Category(
                    workspace=workspace, type=type_value, display_order=order,
                    name=f"{rng.choice(ADJECTIVES).capitalize()} {type_value} {order + 1}",
                    description=f"{type_value} assets, group {order + 1}",
                    color=f"#{rng.getrandbits(24):06X}", icon="folder", created_at=created))
        Category.objects.bulk_create(rows)
        by_type: dict[str, list[str]] = {}
        for row in rows:
            by_type.setdefault(row.type, []).append(str(row.id))
        categories[w] = by_type
    return workspaces, categories, str(member.id)


def load(plan: Plan) -> dict[str, Any]:
    """Load ``plan`` into the default database; returns what was loaded and the timings."""
    from django.db import connection

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        existing = workspace_of_plan(cursor)
    if existing is not None:
        if existing["items"] != plan.items or existing["binned"] != plan.binned:
            raise RuntimeError(
                f"the database already holds a bench media library of {existing['items']} "
                f"items and {existing['binned']} binned rows, not {plan.items} and "
                f"{plan.binned}: use a fresh database (scripts/test_services.py)")
        return {"plan": asdict(plan), "reused": True, "timings": {}, "workspace": existing}
    rng = random.Random(plan.seed)
    now_ms = int(time.time() * 1000) - 60_000
    workspaces, categories, member_id = _accounts(plan, rng, now_ms)
    draw = _Draw(plan, rng, now_ms)
    timings["accounts_s"] = time.perf_counter() - started
    raw = connection.cursor().connection  # psycopg 3's connection under Django's
    rows: dict[str, int] = {}
    index_seconds: dict[str, float] = {}
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
            for table in OBJECT_TABLES:
                make = ROW_MAKERS[table]
                slots = _slots(plan, table, rng, now_ms)
                with _Copier(copy_cursor, table, COLUMNS[table]) as out:
                    for slot in slots:
                        w = slot[1]
                        out.row(make(draw, slot, workspaces[w], categories[w],
                                     member_id if w == 0 else "\\N"))
                rows[table] = out.rows
        timings["generate_and_copy_s"] = time.perf_counter() - t
        t = time.perf_counter()
        cursor.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        for name, ddl in dropped:
            t_index = time.perf_counter()
            cursor.execute(ddl)
            index_seconds[name] = round(time.perf_counter() - t_index, 2)
        cursor.execute("RESET maintenance_work_mem")
        timings["create_indexes_s"] = time.perf_counter() - t
        if plan.replica_role:
            cursor.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        for table in ("accounts_user", "accounts_workspace", "accounts_membership",
                      "media_library_categories", *OBJECT_TABLES):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum_analyze_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        loaded = workspace_of_plan(cursor)
    return {"plan": asdict(plan), "reused": False, "timings": timings, "rows": rows,
            "rebuilt_indexes": index_seconds, "workspace": loaded}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    spec = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(load(Plan.from_spec(spec))), flush=True)


if __name__ == "__main__":
    main()
