"""Latency vs dataset size: the main list endpoints at 10,000, 100,000 and 1,000,000 items.

The claim (the issue): a list page is an index walk, so what it costs grows at most
with the logarithm of the table's size (a B-tree's depth), not with the table. From
10,000 to 1,000,000 items that allows log(1M) / log(10k) = 1.5x, where a cost linear
in the rows would be 100x. Each endpoint's row: p50 at each size, ratio = p50 at the
largest / p50 at the smallest, target ≤ log(largest) / log(smallest).

*Data*: each app's own bench loader (the datasets of ``bench_user_library``,
``bench_ai_media``, ``bench_media_library`` and ``bench_admin_media``, at the size
given), written into the run's database after a ``TRUNCATE`` of every bench table
(``TRUNCATED``, cascading), so that each measurement sees its app's data at one size and
nothing else; sizes smallest first, the largest last, one app after the other. The user
library goes last and keeps ``bench_user_library``'s default plan, so that module (after
this one in ``make bench``) finds its million items loaded and reuses them.

- user_library: ``items`` library items over 1,000 users, the measured user holding a
  tenth (1,000 / 10,000 / 100,000 items: a library grows with the platform);
- ai_media: ``items`` media with 8 tags each, *without* embeddings or the HNSW index
  (``Plan.embeddings = False``: the feed and search never read them);
- media_library: one workspace of ``items`` live items, a tenth of that binned, and 5
  other workspaces of a 25th of it each (the module's own proportions);
- admin_media: ``rows`` console rows (3 % soft-deleted, 50,000 users, categories).

*Requests*, through Django's ``WSGIHandler`` in-process with the callers the app
benchmarks use (``bench.twins.Caller`` with a JWT; ``bench_ai_media._Caller``,
anonymous from 2,000 client addresses), ``BENCH_SCALING_SAMPLES`` (default 200) each
after a warm-up, in ``BENCH_SCALING_ROUNDS`` rounds (default 4), the endpoints of one
app interleaved (the order alternating):

- ``GET /api/library`` (first page, limit 20) of the measured user;
- ``GET /api/feed`` page 1 and page 100 (reached by following ``nextCursor``);
- ``GET /api/search?tags=<tag>`` with the tag nearest 1 % of the items (chosen at the
  smallest size, kept for the others): its ``totalMatches`` is an exact COUNT of the
  matching items, which is 1 % of every size;
- ``GET …/media-library/items?search=Aurora&limit=50``: a substring on 0.5 % of the
  items (trigram indexes), its ``total`` an exact count of them too;
- ``GET /api/admin/media?page=1&pageSize=10`` and ``?category=portrait&…`` (the
  commonest category): totals from the maintained tallies.

The sizes cannot be interleaved (each is a reload), so other work on the machine
would land on one size and not the others: before each measurement the bench waits
(at most ``QUIET_WAIT_S``, ``QUIET_BUDGET_S`` in all) until other processes keep less
than half a core busy, and
a size's figure is its best round (the lowest round p50, and that round's p95), as the
thumbnail and blob benchmarks take their best round; every sample is in the details.

``BENCH_SCALING_SIZES`` (comma-separated, default ``10000,100000,1000000``) and
``BENCH_SCALING_APPS`` (default all four) narrow a run, e.g. while developing.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from typing import Any

from bench import (
    PG_TUNING,
    ROOT,
    SERVER_MALLOC_ENV,
    Result,
    ms,
    pct,
    run_child,
    wait_for_quiet,
)
from bench.bench_ai_media import CHILD_ENV as AI_MEDIA_ENV

SIZES = tuple(sorted(int(s) for s in os.environ.get(
    "BENCH_SCALING_SIZES", "10000,100000,1000000").split(",") if s.strip()))
# user_library last: bench_user_library, after this module, reuses its 1M-item load
APPS = tuple(a for a in ("admin_media", "media_library", "ai_media", "user_library")
             if a in os.environ.get("BENCH_SCALING_APPS",
                                    "admin_media,media_library,ai_media,user_library"))
SAMPLES = int(os.environ.get("BENCH_SCALING_SAMPLES", "200"))
ROUNDS = max(1, int(os.environ.get("BENCH_SCALING_ROUNDS", "4")))
QUIET_WAIT_S = 90.0  # per measurement...
QUIET_BUDGET_S = 300.0  # ...and for the whole module: it must end in about 12 minutes
WARMUP = 20
FEED_PAGE = 100  # the cursor page: follows nextCursor 99 times (10,000 items: 500 pages)
SEARCH_SHARE = 0.01  # the ai_media search tag: the value nearest 1 % of the items
ADMIN_CATEGORY = "portrait"  # admin_media_loader's commonest category (~15 % of rows)
CHILD_TIMEOUT = 1800
# Every table a bench loader writes, or that references one (CASCADE): emptied before
# each load, so that a loader sees a fresh database and a measurement only its data.
TRUNCATED = ("accounts_user", "accounts_workspace", "storage_storedfile", "media",
             "media_tags", "media_embeddings", "media_tag_counts", "admin_media",
             "admin_media_category_entries", "admin_media_tallies")
NOTES: list[str] = [
    "scaling: requests go through Django's WSGIHandler in-process (no socket), with the "
    "app benchmarks' callers and authentication (JWT; ai_media anonymous from 2,000 "
    "client addresses); the database is the run's PostgreSQL (scripts/test_services.py: "
    f"{PG_TUNING}) on the same cores, reloaded (TRUNCATE + the app's bench loader, "
    "VACUUM ANALYZE) for each size, smallest first. THROTTLE_USER_RATE is raised (the "
    "Redis round trip stays). Times are wall times per request; a size's p50 and p95 "
    "are those of its best round (the lowest p50 of BENCH_SCALING_ROUNDS rounds).",
    "scaling: the growth target is the ratio of the logarithms of the largest and "
    "smallest sizes (log 1M / log 10k = 1.5): what a B-tree's depth allows; a cost "
    "linear in the rows would grow by the ratio of the sizes (100x).",
]


def _label(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k" if n >= 1000 else str(n)


# -- the parent: load each size, measure, turn the numbers into rows -------------------

def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, **SERVER_MALLOC_ENV, **AI_MEDIA_ENV,
           "DJANGO_SETTINGS_MODULE": "config.settings", "JWT_ACCESS_MINUTES": "240",
           "THROTTLE_USER_RATE": "10000000/min"}
    return run_child("bench_scaling", mode, spec, env=env, timeout=CHILD_TIMEOUT)


def growth_target() -> float:
    """log(largest) / log(smallest): what logarithmic growth allows (1.5 for 10k → 1M)."""
    return math.log(SIZES[-1]) / math.log(SIZES[0]) if len(SIZES) > 1 else 1.0


def best_round(rounds: list[list[float]]) -> list[float]:
    """The round with the lowest median: the one least disturbed by other work."""
    return min(rounds, key=statistics.median)


def endpoint_rows(points: dict[str, dict[str, Any]]) -> list[Result]:
    """One row per endpoint: p50 at each size, against the smallest size's p50."""
    rows: list[Result] = []
    target = growth_target()
    sizes = " / ".join(_label(n) for n in SIZES)
    for point in points.values():
        best = [best_round(point["times"][str(n)]) for n in SIZES]
        p50 = [pct(r, .5) for r in best]
        p95 = [pct(r, .95) for r in best]
        ratio = p50[-1] / p50[0]
        totals = point.get("totals") or {}
        shown = (f"; {point['total_label']} "
                 + " / ".join(f"{totals[str(n)]:,}" for n in SIZES) if totals else "")
        rows.append(Result(
            benchmark=f"{point['request']} ({point['label']}) over {sizes} {point['unit']}: "
                      "p50 latency vs dataset size",
            figure=(f"p50 {' / '.join(f'{v * 1000:.2f}' for v in p50)} ms, p95 "
                    f"{' / '.join(f'{v * 1000:.2f}' for v in p95)} ms{shown}"),
            baseline=f"p50 at {_label(SIZES[0])}: {ms(p50[0])}",
            ratio=round(ratio, 3),
            target=(f"≤ {target:.2g}x (log growth: log {_label(SIZES[-1])} / log "
                    f"{_label(SIZES[0])} = {target:.2g}; linear would be "
                    f"{SIZES[-1] / SIZES[0]:g}x)"),
            met=ratio <= target,
            details={"sizes": list(SIZES), "p50_s": p50, "p95_s": p95, "totals": totals,
                     "counted": bool(point.get("counted")),
                     "samples": {str(n): sum(map(len, point["times"][str(n)]))
                                 for n in SIZES},
                     "times_s": point["times"],
                     "plot": {"kind": "latency_vs_size", "label": point["short"],
                              "sizes": list(SIZES), "p50_ms": [v * 1000 for v in p50],
                              "p95_ms": [v * 1000 for v in p95]}}))
    return rows


def _load_note(app: str, loads: dict[int, dict[str, Any]]) -> str:
    parts = []
    for n, loaded in loads.items():
        total = loaded.get("timings", {}).get("total_s")
        parts.append(f"{_label(n)} {total:.0f} s" if total is not None else f"{_label(n)} ?")
    return f"{app} loaded in " + ", ".join(parts)


def run() -> list[Result]:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    points: dict[str, dict[str, Any]] = {}
    carried: dict[str, Any] = {}  # what the smallest size chose (the search tag)
    loads: dict[str, dict[int, dict[str, Any]]] = {}
    loadavg: list[str] = []
    waits: list[str] = []
    waited_total = 0.0
    for app in APPS:
        loads[app] = {}
        for n in SIZES:
            t = time.perf_counter()
            loads[app][n] = child("load", {"app": app, "size": n})
            load_s = time.perf_counter() - t
            waited, busy = wait_for_quiet(
                timeout=max(0.0, min(QUIET_WAIT_S, QUIET_BUDGET_S - waited_total)))
            waited_total += waited
            waits.append(f"{app} {_label(n)} {busy:.1f}" + (f" (after {waited:.0f} s)"
                                                            if waited >= 5 else ""))
            measured = child("measure", {"app": app, "size": n, "samples": SAMPLES,
                                         "rounds": ROUNDS, "warmup": WARMUP, **carried})
            carried.update(measured.get("carry", {}))
            for key, got in measured["endpoints"].items():
                point = points.setdefault(key, {**got["about"], "times": {}, "totals": {}})
                point["times"][str(n)] = got["times"]
                if got.get("total") is not None:
                    point["totals"][str(n)] = got["total"]
            loadavg.append(f"{app} {_label(n)} {measured['loadavg'][1]:.1f}")
            print(f"scaling: {app} {n:>9,}: loaded in {load_s:.0f}s; " + ", ".join(
                f"{k} p50 {statistics.median(best_round(v['times'])) * 1000:.2f} ms"
                for k, v in measured["endpoints"].items()), flush=True)
    NOTES.append("scaling: " + "; ".join(_load_note(a, loads[a]) for a in APPS)
                 + f" (the whole module {time.perf_counter() - started:.0f} s).")
    NOTES.append(f"scaling: load average {load_before:.1f} before the run; cores kept busy "
                 "by other work when each measurement started (waiting for < 0.5, at most "
                 f"{QUIET_WAIT_S:.0f} s each and {QUIET_BUDGET_S:.0f} s in all): "
                 + ", ".join(waits) + "; load average at the end of each: "
                 + ", ".join(loadavg) + ".")
    rows = endpoint_rows(points)
    NOTES.extend(over_target_notes(rows))
    return rows


def over_target_notes(rows: list[Result]) -> list[str]:
    """Why an endpoint grew more than a B-tree allows, where its answer says so: a total
    that is an exact count grows with the matches it counts (a fixed share of the data at
    every size), and so does a page sorted out of all of them."""
    notes = []
    for row in rows:
        totals = row["details"]["totals"]
        if row["met"] is not False or not row["details"].get("counted"):
            continue
        counted = " → ".join(f"{totals[str(n)]:,}" for n in SIZES)
        notes.append(
            f"scaling: {row['benchmark'].split(' (')[0]} grew {row['ratio']:.2f}x from "
            f"{_label(SIZES[0])} to {_label(SIZES[-1])} items while the matches it counts "
            f"grew {counted}: its total is an exact COUNT of the matching rows (and, for "
            "the media library's search, its page a top-N sort of all of them out of the "
            "trigram indexes' bitmap), so it grows with the matches, not with the depth of "
            "an index.")
    return notes


# -- the children ----------------------------------------------------------------------

def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TRUNCATED)} RESTART IDENTITY CASCADE")


def load_mode(spec: dict[str, Any]) -> dict[str, Any]:
    """Empty every bench table, then load ``app`` at ``size`` with its own loader."""
    import django

    django.setup()
    app, n = spec["app"], int(spec["size"])
    _truncate()
    if app == "user_library":
        from bench import library_loader

        result = library_loader.load(library_loader.Plan(items=n))
        result["users"] = result["users"][:1]
    elif app == "ai_media":
        from bench import ai_media_loader

        result = ai_media_loader.load(ai_media_loader.Plan(items=n, embeddings=False))
    elif app == "media_library":
        from bench import media_library_loader

        result = media_library_loader.load(media_library_loader.Plan(
            items=n, binned=n // 10, other_items=n // 25))
    elif app == "admin_media":
        from bench import admin_media_loader

        result = admin_media_loader.load(admin_media_loader.Plan(rows=n))
    else:
        raise ValueError(f"unknown app {app!r}")
    if result.get("reused"):
        raise RuntimeError(f"{app}: the loader reused a dataset after the TRUNCATE")
    return {"timings": result.get("timings", {})}


Endpoint = tuple[str, dict[str, Any], Any]  # key, about, call() -> (seconds, body)


def _user_library() -> tuple[list[Endpoint], dict[str, Any]]:
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from bench.library_loader import users_of_plan
    from bench.twins import Caller

    with connection.cursor() as cursor:
        big = users_of_plan(cursor)[0]
    call = Caller(str(AccessToken.for_user(User.objects.get(pk=big["id"]))))
    about = {"request": "GET /api/library", "label": "first page, limit 20, of the user "
             "holding a tenth of the items", "unit": "library items",
             "short": "user_library GET /api/library (page 1)",
             "total_label": "total (the quota ledger's counters)"}
    return [("library_first", about, lambda: call("/api/library", {}))], {}


def _ai_media(spec: dict[str, Any]) -> tuple[list[Endpoint], dict[str, Any]]:
    import orjson
    from django.db import connection

    from bench.bench_ai_media import _Caller as AnonymousCaller

    call = AnonymousCaller()
    tag = spec.get("tag")
    if tag is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM media")
            total = int(cursor.fetchone()[0])
            cursor.execute("SELECT tag_value FROM media_tag_counts WHERE count > 0 "
                           "ORDER BY abs(count - %s), tag_value LIMIT 1",
                           [total * SEARCH_SHARE])
            tag = cursor.fetchone()[0]
    cursor_token: str | None = None
    for _ in range(FEED_PAGE - 1):
        query: dict[str, str] = {"cursor": cursor_token} if cursor_token else {}
        cursor_token = orjson.loads(call("GET", "/api/feed", query)[1])["nextCursor"]
        if cursor_token is None:
            raise RuntimeError(f"the feed ends before page {FEED_PAGE}")
    unit = "ai_media items"
    endpoints: list[Endpoint] = [
        ("feed_first", {"request": "GET /api/feed", "label": "page 1, limit 20", "unit": unit,
                        "short": "ai_media GET /api/feed (page 1)"},
         lambda: call("GET", "/api/feed", {})),
        ("feed_cursor", {"request": "GET /api/feed", "label": f"page {FEED_PAGE} via "
                         "nextCursor, limit 20", "unit": unit,
                         "short": f"ai_media GET /api/feed (page {FEED_PAGE}, cursor)"},
         lambda: call("GET", "/api/feed", {"cursor": str(cursor_token)})),
        ("search_tag", {"request": f"GET /api/search?tags={tag}",
                        "label": f"one tag on ~{SEARCH_SHARE:.0%} of the items, page 1",
                        "unit": unit, "short": f"ai_media GET /api/search?tags={tag}",
                        "total_label": "totalMatches (an exact COUNT)", "counted": True},
         lambda: call("GET", "/api/search", {"tags": tag})),
    ]
    return endpoints, {"tag": tag}


def _media_library() -> tuple[list[Endpoint], dict[str, Any]]:
    from django.db import connection
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from bench.media_library_loader import NEEDLES, workspace_of_plan
    from bench.twins import Caller

    with connection.cursor() as cursor:
        found = workspace_of_plan(cursor)
    if found is None:
        raise RuntimeError("no bench media library in the database")
    call = Caller(str(AccessToken.for_user(User.objects.get(pk=found["user_id"]))))
    needle = NEEDLES["rare"][0].capitalize()
    url = f"/workspaces/{found['workspace_id']}/media-library/items"
    query = {"search": needle, "limit": "50"}
    about = {"request": f"GET …/media-library/items?search={needle}&limit=50",
             "label": f"a substring on ~{NEEDLES['rare'][1]:.1%} of the workspace's items",
             "unit": "workspace items", "short": f"media_library items?search={needle}",
             "total_label": "total (an exact COUNT)", "counted": True}
    return [("media_library_search", about, lambda: call(url, query))], {}


def _admin_media() -> tuple[list[Endpoint], dict[str, Any]]:
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from bench.admin_media_loader import STAFF_USERNAME
    from bench.twins import Caller

    call = Caller(str(AccessToken.for_user(User.objects.get(username=STAFF_USERNAME))))
    page = {"page": "1", "pageSize": "10"}
    unit = "console rows"
    endpoints: list[Endpoint] = [
        ("admin_first", {"request": "GET /api/admin/media?page=1&pageSize=10",
                         "label": "no filter", "unit": unit,
                         "short": "admin_media GET /api/admin/media (page 1)",
                         "total_label": "total (the tallies)"},
         lambda: call("/api/admin/media", page)),
        ("admin_category", {"request": f"GET /api/admin/media?category={ADMIN_CATEGORY}"
                            "&page=1&pageSize=10", "label": "the commonest category",
                            "unit": unit, "total_label": "total (the tallies)",
                            "short": f"admin_media GET /api/admin/media?category="
                                     f"{ADMIN_CATEGORY}"},
         lambda: call("/api/admin/media", {"category": ADMIN_CATEGORY, **page})),
    ]
    return endpoints, {}


def _total(app: str, body: bytes) -> int | None:
    """The count an endpoint's answer states (None where it states none)."""
    import orjson

    data = orjson.loads(body)
    if app == "admin_media":
        return int(data["data"]["total"])
    if app == "ai_media":
        return data.get("totalMatches")
    return int(data["total"])


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    import gc

    import django

    django.setup()
    loadavg_start = os.getloadavg()[0]
    app = spec["app"]
    if app == "ai_media":
        endpoints, carry = _ai_media(spec)
    else:
        endpoints, carry = {"user_library": _user_library, "media_library": _media_library,
                            "admin_media": _admin_media}[app]()
    results: dict[str, dict[str, Any]] = {}
    for key, about, call in endpoints:
        body = call()[1]
        results[key] = {"about": about, "times": [], "total": _total(app, body)}
        for _ in range(int(spec["warmup"])):
            call()
    rounds = int(spec["rounds"])
    per_round = max(1, int(spec["samples"]) // rounds)
    for _ in range(rounds):
        gc.collect()
        times: dict[str, list[float]] = {key: [] for key, _about, _call in endpoints}
        for i in range(per_round):
            for key, _about, call in (endpoints if i % 2 == 0 else endpoints[::-1]):
                times[key].append(call()[0])
        for key, samples in times.items():
            results[key]["times"].append(samples)
    return {"endpoints": results, "carry": carry,
            "loadavg": [loadavg_start, os.getloadavg()[0]]}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    MODES = {"load": load_mode, "measure": measure}
    print(json.dumps(MODES[sys.argv[1]](json.loads(sys.argv[2])), default=str), flush=True)
