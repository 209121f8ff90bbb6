"""The media library's lists in a 200,000-item workspace, against a lean twin and the SQL.

The claim (the issue; ``docs/media_library.md``): in one workspace of 200,000 media
items with 20,000 rows in its recycle bin and 50 categories, the item list with
``search=`` (a case-insensitive substring, served by the trigram indexes), with
``tags=`` (two tags, an AND served by the tags' GIN index), with ``sortBy=usageCount``,
and the recycle-bin listing each cost at most 1.5x (p95) what the leanest Django
endpoint running the same SQL costs, and ``EXPLAIN`` shows an index for each: no
sequential scan over the workspace's items.

*Data*: ``bench/media_library_loader.py`` COPYs the measured workspace
(``BENCH_MEDIA_LIBRARY_ITEMS`` live media items, default 200,000;
``BENCH_MEDIA_LIBRARY_BINNED`` binned rows, default 20,000, 85 % of them media items and
the rest templates, snippets and links; 2,000 live templates, snippets and links each;
50 categories) and ``BENCH_MEDIA_LIBRARY_OTHERS`` other workspaces (default 5) of
``BENCH_MEDIA_LIBRARY_OTHER_ITEMS`` items each (default 8,000), rows of all workspaces
interleaved in time order, into the run's fresh database, then ``VACUUM ANALYZE``.

*Contenders*, each request through Django's ``WSGIHandler`` in-process (request signals,
the whole middleware stack, the URL resolver; no socket) with the same
``Authorization: Bearer <JWT>`` of the same member of the workspace:

- *ours*: the real views (``media_library.views``: DRF dispatch with its authenticators,
  permissions and throttles, ``WorkspaceView``'s membership check, the query checker,
  ``selectors.object_page``/``bin_page`` through the ORM, ``presenters``);
- *lean twin*: a plain Django function view defined here, routed through a urlconf made
  of the platform's own plus its two paths, that authenticates with the same simplejwt
  class and runs *the same SQL*: the statements ours sent to PostgreSQL for that very
  request (membership, page, count; the bin's four pages and its totals), captured once with
  ``CaptureQueriesContext`` before the timing and replayed verbatim, so no ORM compiles
  them; rows rendered as ``values()`` gives them (cursor description -> dict) with
  ``orjson.dumps``: the floor for a Django endpoint doing this work;
- *the SQL alone*: those same statements executed directly on Django's connection
  (``cursor.execute`` + ``fetchall``), without HTTP, authentication or rendering.

Cases (items: ``limit=50``, the default): the first page (``createdAt`` desc, for
reference), ``search=`` with a selective needle (``Aurora``: ~0.5 % of the items, planted
in names and descriptions in any case) and a common one (``Sunset``: ~5 %), ``tags=``
with the two tags whose AND is closest to 1 % of the items, ``sortBy=usageCount``, and
``GET recycle-bin`` (its four sections, 50 rows each). Per case: the answers of ours
and of the twin are checked to hold the same ids in the same order and the same totals,
and ours is checked against a reference written here (``ILIKE``/``@>``/``ORDER BY col
DESC, id DESC``: the same ids, a total equal to COUNT(*)); then a warm-up and
``BENCH_MEDIA_LIBRARY_SAMPLES`` (default 200) samples of each contender, interleaved
(the order of the three alternating).

Rows: per case p50/p95 of ours, of the twin and of the SQL alone, ratio of the p95s,
target ≤ 1.5x; and ``EXPLAIN (ANALYZE, BUFFERS)`` of each statement the case runs
(membership aside), which must show no ``Seq Scan`` on the library object tables, an
index on every one it reads, a page that reads at most 10 % of the rows it pages over
(an index scan that filters its way through the whole workspace is a scan of the
workspace's items too), and, for ``search``/``tags``, the trigram/tags index in the
plan of the count. The reference SQL's plan and time are reported next to it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from bench import PG_TUNING, ROOT, SERVER_MALLOC_ENV, Result, ms, pct, run_child
from bench.twins import Caller, install_urlconf, jwt_user

ITEMS = int(os.environ.get("BENCH_MEDIA_LIBRARY_ITEMS", "200000"))
BINNED = int(os.environ.get("BENCH_MEDIA_LIBRARY_BINNED", "20000"))
OTHERS = int(os.environ.get("BENCH_MEDIA_LIBRARY_OTHERS", "5"))
OTHER_ITEMS = int(os.environ.get("BENCH_MEDIA_LIBRARY_OTHER_ITEMS", "8000"))
SAMPLES = int(os.environ.get("BENCH_MEDIA_LIBRARY_SAMPLES", "200"))
WARMUP = 20
LIMIT = 50  # the list's default page size (media_library.conf.LIST_DEFAULT_LIMIT)
TAGS_SHARE = 0.01  # the 2-tag AND: the pair closest to 1 % of the live items
RATIO_TARGET = 1.5  # p95 of ours / p95 of the twin
PAGE_READ_SHARE = 0.10  # a page may read at most 10 % of the rows it pages over
OBJECT_TABLES = ("media_library_items", "media_library_templates", "media_library_snippets",
                 "media_library_links")
SCAN_NODES = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")
CHILD_TIMEOUT = 3600
OURS_LABEL = "ours (DRF WorkspaceView, ORM selectors + presenters)"
LEAN_LABEL = "lean twin (plain Django view, the same SQL, values() dicts + orjson)"
NOTES: list[str] = [
    "media_library: requests go through Django's WSGIHandler in-process (signals, "
    "middleware, URL resolver, view, response iteration and close; no socket), each "
    "authenticated with the same JWT of the same workspace member (simplejwt's HMAC check "
    "plus one user query, for both contenders); the database is the run's PostgreSQL "
    f"(scripts/test_services.py: {PG_TUNING}) "
    "on the same cores, with the platform's connection settings (CONN_MAX_AGE 60, health "
    "checks). Times are wall times per request; 'the SQL alone' is the wall time of the "
    "same statements (membership, page, count) run on Django's connection in the same "
    "process, interleaved with the two views.",
    "media_library: the lean twin is a floor, not a product: it replays the statements "
    "ours sent for the same request (captured once, untimed, with CaptureQueriesContext; "
    "the ORM's literal SQL), so it pays no ORM query compilation, no model instances, no "
    "query-parameter checking, no DRF dispatch (authenticators in turn, permissions, the "
    "user throttle's Redis round trip) and no camelCase presenters. The ratio is what all "
    "of that costs on top of the same queries.",
]


# -- the parent: load, measure, turn the numbers into rows -----------------------------

def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, **SERVER_MALLOC_ENV, "DJANGO_SETTINGS_MODULE": "config.settings",
           "JWT_ACCESS_MINUTES": "240"}
    return run_child("bench_media_library", mode, spec, env=env, timeout=CHILD_TIMEOUT)


def _case_title(case: dict[str, Any], m: dict[str, Any]) -> str:
    return (f"{case['request']} ({case['label']}) in a workspace of {m['items']:,} items and "
            f"{m['binned']:,} binned rows")


def case_rows(m: dict[str, Any]) -> list[Result]:
    rows: list[Result] = []
    for case in m["cases"]:
        t = case["times"]
        o50, o95 = pct(t["ours"], .5), pct(t["ours"], .95)
        l50, l95 = pct(t["lean"], .5), pct(t["lean"], .95)
        s50, s95 = pct(t["sql"], .5), pct(t["sql"], .95)
        ratio = o95 / l95
        exact = case["reference"]["ok"]
        rows.append(Result(
            benchmark=f"{_case_title(case, m)}: {OURS_LABEL} vs {LEAN_LABEL}",
            figure=(f"p50 {ms(o50)}, p95 {ms(o95)} (p50 {o50 / l50:.2f}x the twin's); "
                    f"{case['shown']}; "
                    + ("ids and totals = the reference SQL" if exact else
                       "NOT the reference's answer: " + case["reference"]["problem"])),
            baseline=(f"lean twin p50 {ms(l50)}, p95 {ms(l95)}; the same SQL alone p50 "
                      f"{ms(s50)}, p95 {ms(s95)}"),
            ratio=round(ratio, 3), target=f"≤ {RATIO_TARGET}x (p95), same answer",
            met=ratio <= RATIO_TARGET and exact,
            details={"samples": len(t["ours"]), "ours_s": t["ours"], "lean_s": t["lean"],
                     "sql_s": t["sql"], "query": case["query"], "totals": case["totals"],
                     "items_in_page": case["items"], "response_bytes": case["bytes"],
                     "statements": [s[:2] for s in case["statements"]],
                     "reference": case["reference"]}))
    return rows


def _plan_text(plan: dict[str, Any]) -> str:
    parts = [", ".join(plan["access"]) or "no library table read"]
    if plan["sorts"]:
        parts.append("; ".join(plan["sorts"]))
    parts.append(f"{plan['rows_read']:,} rows read, {plan['execution_ms']:.1f} ms")
    return ", ".join(parts)


def explain_rows(m: dict[str, Any]) -> list[Result]:
    rows: list[Result] = []
    for case in m["cases"]:
        plans = case["plans"]
        problems: list[str] = []
        texts = []
        worst_share = 0.0
        for plan in plans:
            where = f"{plan['role']}{' ' + plan['section'] if plan['section'] else ''}"
            texts.append(f"{where}: {_plan_text(plan)}")
            if plan["seq_scans"]:
                problems.append(f"{where}: Seq Scan on {', '.join(plan['seq_scans'])}")
            unindexed = [t for t in plan["tables"] if t not in plan["indexed_tables"]]
            if unindexed:
                problems.append(f"{where}: no index on {', '.join(unindexed)}")
            if plan["role"] == "page":
                share = plan["rows_read"] / max(1, plan["scope_rows"])
                worst_share = max(worst_share, share)
                if share > PAGE_READ_SHARE:
                    problems.append(f"{where}: reads {plan['rows_read']:,} rows of "
                                    f"{plan['scope_rows']:,} ({share:.0%})")
            wanted = case.get("index_wanted")
            if plan["role"] == "count" and wanted and not any(
                    wanted in name for name in plan["indexes"]):
                problems.append(f"{where}: no {wanted} index")
        reference = case["reference_plans"]
        ref_text = "; ".join(f"{p['role']}{' ' + p['section'] if p['section'] else ''}: "
                             f"{_plan_text(p)}" for p in reference)
        rows.append(Result(
            benchmark=f"EXPLAIN (ANALYZE, BUFFERS) of the SQL of {case['request']} "
                      f"({case['label']})",
            figure=("; ".join(texts)
                    + (" — FAILS: " + "; ".join(problems) if problems else "")),
            baseline=(f"{case['scope']}; reference SQL ({case['reference_sql']}): "
                      f"{ref_text}"),
            ratio=round(worst_share, 4),
            target=(f"no Seq Scan on the object tables, an index on each, a page reads ≤ "
                    f"{PAGE_READ_SHARE:.0%} of the rows it pages over"
                    + (f", the count uses the {case['index_wanted']} index"
                       if case.get("index_wanted") else "")),
            met=not problems,
            details={"plans": [p["raw"] for p in plans],
                     "reference_plans": [p["raw"] for p in reference],
                     "problems": problems}))
    return rows


def run() -> list[Result]:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    loaded = child("load", {"items": ITEMS, "binned": BINNED, "others": OTHERS,
                            "other_items": OTHER_ITEMS})
    timings = loaded["timings"]
    print(f"media_library: {ITEMS:,} items and {BINNED:,} binned rows "
          f"{'reused' if loaded['reused'] else 'loaded'} in "
          f"{time.perf_counter() - started:.0f}s "
          f"({', '.join(f'{k} {v:.1f}' for k, v in timings.items())})", flush=True)
    measured = child("measure", {"samples": SAMPLES, "warmup": WARMUP})
    if not loaded["reused"]:
        rows = loaded["rows"]
        trgm = {k: v for k, v in loaded["rebuilt_indexes"].items() if k.endswith("_trgm")}
        NOTES.append(
            f"media_library: {sum(rows.values()):,} library rows ("
            + ", ".join(f"{t.removeprefix('media_library_')} {n:,}" for t, n in rows.items())
            + f") over {OTHERS + 1} workspaces written with COPY in "
            f"{timings['generate_and_copy_s']:.0f} s (including the Python that generates "
            f"them), {len(loaded['rebuilt_indexes'])} secondary indexes rebuilt in "
            f"{timings['create_indexes_s']:.0f} s (the {len(trgm)} trigram GINs "
            f"{sum(trgm.values()):.0f} s), VACUUM ANALYZE {timings['vacuum_analyze_s']:.0f} s.")
    NOTES.append(
        f"media_library: the measured workspace holds {measured['items']:,} live items of "
        f"{measured['table_rows']:,} rows in media_library_items; searches: "
        + ", ".join(f"{k!r} {v:,} items" for k, v in measured["search_totals"].items())
        + f"; tags={','.join(measured['tags'])}: {measured['tags_total']:,} items.")
    NOTES.append(f"media_library: load average {load_before:.1f} before the load, "
                 f"{measured['loadavg'][1]:.1f} at the end of the measurement.")
    return case_rows(measured) + explain_rows(measured)


# -- the children ----------------------------------------------------------------------

def load_mode(spec: dict[str, Any]) -> dict[str, Any]:
    import django

    django.setup()
    from bench.media_library_loader import Plan, load

    return load(Plan.from_spec(spec))


# Statements of ours, by (route, workspace id, user id, query string): what the twin runs.
# Each is (role, bin section or "", SQL): role "member", "page" or "count".
_STATEMENTS: dict[tuple[str, str, str, str], list[tuple[str, str, str]]] = {}
BIN_SECTIONS = {"media_library_items": "mediaItems", "media_library_templates": "templates",
                "media_library_snippets": "textSnippets", "media_library_links": "savedLinks"}



def _dicts(cursor: Any) -> list[dict[str, Any]]:
    """Rows as ``values()`` gives them: one dict per row, keyed by column name (the
    joined category's columns that repeat a name prefixed with ``category_``)."""
    names: list[str] = []
    for column in cursor.description:
        name = column.name
        names.append(f"category_{name}" if name in names else name)
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _lean(request: Any, workspace_id: str, route: str) -> Any:
    import orjson
    from django.db import connection
    from django.http import HttpResponse

    user = jwt_user(request)
    if user is None:
        return HttpResponse(status=401)
    statements = _STATEMENTS.get((route, workspace_id, str(user.pk),
                                  request.META.get("QUERY_STRING", "")))
    if statements is None:
        return HttpResponse(status=404)
    sections: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        for role, section, sql in statements:
            cursor.execute(sql)
            if role == "member":
                if cursor.fetchone() is None:
                    return HttpResponse(status=404)
                continue
            if role == "files":
                sections.setdefault("files", {"items": [], "total": 0})["items"] += _dicts(
                    cursor)
                continue
            if role == "counts":
                for table, total in zip(section.split(","), cursor.fetchone(), strict=True):
                    sections.setdefault(table, {"items": [], "total": None})["total"] = total
                continue
            entry = sections.setdefault(section, {"items": [], "total": None})
            if role == "page":
                entry["items"] = _dicts(cursor)
            else:
                entry["total"] = cursor.fetchone()[0]
    offset = int(request.GET.get("offset", 0))
    for entry in sections.values():  # no count run: the page tells the total
        if entry["total"] is None:
            entry["total"] = len(entry["items"]) + offset if entry["items"] else 0
    files = sections.pop("files", None)
    body: dict[str, Any] = (sections if route == "bin" else
                            next(iter(sections.values()), {"items": [], "total": 0}))
    if files:
        body = {**body, "files": files["items"]}
    return HttpResponse(orjson.dumps(body), content_type="application/json")


def lean_items(request: Any, workspace_id: str) -> Any:
    return _lean(request, workspace_id, "items")


def lean_bin(request: Any, workspace_id: str) -> Any:
    return _lean(request, workspace_id, "bin")


def _install_urlconf() -> None:
    from django.urls import path

    install_urlconf("bench_media_library_urls", [
        path("bench/lean/workspaces/<str:workspace_id>/media-library/items", lean_items),
        path("bench/lean/workspaces/<str:workspace_id>/media-library/recycle-bin", lean_bin)])



def _classify(captured: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Ours' statements as the twin replays them: (role, table(s), SQL); the JWT's user
    query is left to the twin's own authentication. Anything unexpected stops the
    benchmark."""
    import re

    statements = []
    for query in captured:
        sql = query["sql"]
        tables = re.findall(r' FROM "(\w+)"', sql)
        first = tables[0] if tables else ""
        if first == "accounts_user":
            continue
        if first == "accounts_membership":
            statements.append(("member", "", sql))
        elif first in OBJECT_TABLES and sql.startswith("SELECT COUNT(*)"):
            statements.append(("count", first, sql))
        elif sql.startswith("SELECT (SELECT count(*)") and set(tables) <= set(OBJECT_TABLES):
            # several sections' totals in one row, one per table in order (the bin's)
            statements.append(("counts", ",".join(tables), sql))
        elif first in OBJECT_TABLES and sql.startswith("SELECT "):
            statements.append(("page", first, sql))
        elif first.startswith("storage_") and sql.startswith("SELECT "):
            statements.append(("files", first, sql))  # uploaded items' files and variants
        else:
            raise RuntimeError(f"unexpected statement of ours: {sql[:300]}")
    return statements


def _capture(call: Caller, url: str, query: dict[str, str]) -> tuple[bytes, list[Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        body = call(url, query)[1]
    return body, _classify(ctx.captured_queries)


def _run_sql(statements: list[tuple[str, str, str]]) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for _role, _section, sql in statements:
            cursor.execute(sql)
            cursor.fetchall()
    return time.perf_counter() - started


def _plan_facts(node: dict[str, Any], facts: dict[str, Any], relation: str | None) -> None:
    kind = node["Node Type"]
    relation = node.get("Relation Name") or relation
    index = node.get("Index Name")
    if index:
        facts["indexes"].append(index)
        if relation in OBJECT_TABLES:
            facts["indexed_tables"].add(relation)
    if relation in OBJECT_TABLES and kind in SCAN_NODES:
        facts["tables"].add(relation)
        loops = node.get("Actual Loops", 1)
        facts["rows_read"] += int((node.get("Actual Rows", 0)
                                   + node.get("Rows Removed by Filter", 0)
                                   + node.get("Rows Removed by Index Recheck", 0)) * loops)
        if kind == "Seq Scan":
            facts["seq_scans"].append(relation)
        if kind == "Bitmap Heap Scan":
            inner: list[str] = []
            _bitmap_indexes(node, inner)
            facts["access"].append(f"Bitmap Heap Scan on {relation} via {' + '.join(inner)}")
        else:
            facts["access"].append(f"{kind}{' using ' + index if index else ''} on {relation}"
                                   f"{' (parallel)' if node.get('Parallel Aware') else ''}")
    if kind in ("Sort", "Incremental Sort"):
        below = node.get("Plans", [{}])[0]
        rows_in = int(below.get("Actual Rows", 0) * below.get("Actual Loops", 1))
        facts["sorts"].append(f"{node.get('Sort Method', kind)} of {rows_in:,} rows")
    for child_node in node.get("Plans", []):
        # a bitmap's index scans (under BitmapAnd/BitmapOr too) read for their heap scan
        _plan_facts(child_node, facts, relation if kind in (
            "Bitmap Heap Scan", "BitmapAnd", "BitmapOr") else None)


def _bitmap_indexes(node: dict[str, Any], names: list[str]) -> None:
    for child_node in node.get("Plans", []):
        if child_node.get("Index Name"):
            names.append(child_node["Index Name"])
        if child_node["Node Type"] in ("BitmapAnd", "BitmapOr"):
            names.append(child_node["Node Type"])
        _bitmap_indexes(child_node, names)


def _explain(sql: str, params: Any = None) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        text = "\n".join(r[0] for r in cursor.fetchall())
    doc = raw if isinstance(raw, list) else json.loads(raw)
    top = doc[0]
    facts: dict[str, Any] = {"indexes": [], "indexed_tables": set(), "tables": set(),
                             "seq_scans": [], "rows_read": 0, "access": [], "sorts": []}
    _plan_facts(top["Plan"], facts, None)
    facts.update(indexed_tables=sorted(facts["indexed_tables"]), tables=sorted(facts["tables"]),
                 execution_ms=float(top["Execution Time"]), raw=text)
    return facts


def _counts(workspace_id: str) -> dict[str, dict[str, int]]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in OBJECT_TABLES:
            cursor.execute(f"""SELECT count(*) FILTER (WHERE NOT is_deleted),
                                      count(*) FILTER (WHERE is_deleted)
                               FROM {table} WHERE workspace_id = %s""",  # noqa: S608
                           [workspace_id])
            live, binned = cursor.fetchone()
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
            counts[table] = {"live": int(live), "binned": int(binned),
                             "table_rows": int(cursor.fetchone()[0])}
    return counts


def _tag_pair(workspace_id: str, live: int) -> tuple[list[str], int]:
    """The two tags whose AND is closest to TAGS_SHARE of the live items (one GROUP BY
    over the pairs, untimed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT a, b, count(*) FROM media_library_items i, unnest(i.tags) a, unnest(i.tags) b
            WHERE i.workspace_id = %s AND NOT i.is_deleted AND a < b
            GROUP BY a, b ORDER BY abs(count(*) - %s), a, b LIMIT 1""",
                       [workspace_id, round(live * TAGS_SHARE)])
        a, b, n = cursor.fetchone()
    return [a, b], int(n)


# The reference: what each case must answer, written here with the operators the indexes
# serve (ILIKE for the trigram GINs, @> for the tags' GIN, ORDER BY col DESC, id DESC as
# the B-trees are sorted), selecting what ours selects (the object and its category).
REF_ITEMS = """
SELECT o.*, c.* FROM media_library_items o
LEFT JOIN media_library_categories c ON c.id = o.category_id
WHERE o.workspace_id = %(ws)s AND NOT o.is_deleted {where}
ORDER BY o.{order} DESC, o.id DESC LIMIT %(limit)s"""
REF_ITEMS_COUNT = """
SELECT count(*) FROM media_library_items o
WHERE o.workspace_id = %(ws)s AND NOT o.is_deleted {where}"""
REF_BIN = """
SELECT o.*, c.* FROM {table} o LEFT JOIN media_library_categories c ON c.id = o.category_id
WHERE o.workspace_id = %(ws)s AND o.is_deleted
ORDER BY o.deleted_at DESC, o.id DESC LIMIT %(limit)s"""
REF_BIN_COUNT = "SELECT count(*) FROM {table} o WHERE o.workspace_id = %(ws)s AND o.is_deleted"
REF_WHERE = {"search": "AND (o.name ILIKE %(pattern)s OR o.description ILIKE %(pattern)s)",
             "tags": "AND o.tags @> %(tags)s::text[]"}


def _reference(case: dict[str, Any], workspace_id: str
               ) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(role, section, SQL, params) of the reference statements of a case."""
    params: dict[str, Any] = {"ws": workspace_id, "limit": LIMIT}
    if case["route"] == "bin":
        statements = []
        for table in OBJECT_TABLES:
            statements += [("page", table, REF_BIN.format(table=table), params),
                           ("count", table, REF_BIN_COUNT.format(table=table), params)]
        return statements
    where = REF_WHERE.get(case["filter"], "")
    query = case["query"]
    if case["filter"] == "search":
        params["pattern"] = f"%{query['search']}%"
    if case["filter"] == "tags":
        params["tags"] = query["tags"].split(",")
    order = {"usageCount": "usage_count"}.get(query.get("sortBy", ""), "created_at")
    return [("page", "", REF_ITEMS.format(where=where, order=order), params),
            ("count", "", REF_ITEMS_COUNT.format(where=where), params)]


def _check(case: dict[str, Any], ours: dict[str, Any], lean: dict[str, Any],
           reference: list[tuple[str, str, str, dict[str, Any]]]) -> dict[str, Any]:
    """Ours = the twin (raises otherwise: the same SQL must give the same answer) and
    ours = the reference (reported)."""
    from django.db import connection

    def sections_of(body: dict[str, Any], *, lean_body: bool) -> dict[str, dict[str, Any]]:
        if case["route"] == "items":
            return {"": body}
        if lean_body:
            return {BIN_SECTIONS[t]: body.get(t, {"items": [], "total": 0})
                    for t in OBJECT_TABLES}
        return body

    ours_s = sections_of(ours, lean_body=False)
    lean_s = sections_of(lean, lean_body=True)
    totals = {}
    for key, section in ours_s.items():
        ours_ids = [i["id"] for i in section["items"]]
        lean_ids = [str(i["id"]) for i in lean_s[key]["items"]]
        if ours_ids != lean_ids or not ours_ids:
            raise RuntimeError(f"{case['label']} {key}: ours and the twin differ or are "
                               f"empty: {ours_ids[:3]} vs {lean_ids[:3]}")
        if section["total"] != lean_s[key]["total"]:
            raise RuntimeError(f"{case['label']} {key}: totals differ")
        totals[key or "items"] = section["total"]
    problems = []
    with connection.cursor() as cursor:
        for role, table, sql, params in reference:
            key = BIN_SECTIONS[table] if table else ""
            cursor.execute(sql, params)
            if role == "page":
                ids = [str(r[0]) for r in cursor.fetchall()]
                if ids != [i["id"] for i in ours_s[key]["items"]]:
                    problems.append(f"{key or 'items'}: other ids or order")
            else:
                count = int(cursor.fetchone()[0])
                if count != ours_s[key]["total"]:
                    problems.append(f"{key or 'items'}: total {ours_s[key]['total']} ≠ "
                                    f"COUNT(*) {count}")
    return {"ok": not problems, "problem": "; ".join(problems), "totals": totals}


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    import gc

    import django

    django.setup()
    import orjson
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from bench.media_library_loader import NEEDLES, workspace_of_plan

    loadavg_start = os.getloadavg()[0]
    _install_urlconf()
    with connection.cursor() as cursor:
        found = workspace_of_plan(cursor)
    if found is None:
        raise RuntimeError("no bench media library in the database: run the load first")
    ws, user_id = found["workspace_id"], found["user_id"]
    counts = _counts(ws)
    live = counts["media_library_items"]["live"]
    tags, tags_total = _tag_pair(ws, live)
    call = Caller(str(AccessToken.for_user(User.objects.get(pk=user_id))))
    base = f"/workspaces/{ws}/media-library"
    lean_base = f"/bench/lean/workspaces/{ws}/media-library"
    rare, common = (NEEDLES[k][0].capitalize() for k in ("rare", "common"))
    limit = {"limit": str(LIMIT)}
    cases: list[dict[str, Any]] = [
        {"name": "first", "label": "first page, createdAt desc", "filter": None,
         "query": {**limit}},
        {"name": "search_rare", "label": f"search={rare}, ~0.5 % of the items",
         "filter": "search", "query": {"search": rare, **limit}},
        {"name": "search_common", "label": f"search={common}, ~5 % of the items",
         "filter": "search", "query": {"search": common, **limit}},
        {"name": "tags", "label": f"tags={','.join(tags)}, 2 tags, ~1 % of the items",
         "filter": "tags", "query": {"tags": ",".join(tags), **limit}},
        {"name": "usage", "label": "sortBy=usageCount", "filter": None,
         "query": {"sortBy": "usageCount", **limit}},
        {"name": "bin", "label": "4 sections, 50 rows each", "filter": None, "query": {},
         "route": "bin"},
    ]
    n, warmup = int(spec["samples"]), int(spec["warmup"])
    search_totals: dict[str, int] = {}
    for case in cases:
        route = case.setdefault("route", "items")
        path = "recycle-bin" if route == "bin" else "items"
        query = case["query"]
        case["request"] = f"GET …/media-library/{path}" + (
            "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        case["index_wanted"] = {"search": "trgm", "tags": "ml_item_tags"}.get(case["filter"])
        ours_url, lean_url = f"{base}/{path}", f"{lean_base}/{path}"
        ours_raw, statements = _capture(call, ours_url, query)
        query_string = RequestFactory().get("/", query).META["QUERY_STRING"]
        _STATEMENTS[(route, ws, user_id, query_string)] = statements
        ours, lean = orjson.loads(ours_raw), orjson.loads(call(lean_url, query)[1])
        reference = _reference(case, ws)
        checked = _check(case, ours, lean, reference)
        case["reference"] = {"ok": checked["ok"], "problem": checked["problem"]}
        case["totals"] = checked["totals"]
        if route == "bin":
            case["shown"] = "totals " + ", ".join(f"{k} {v:,}" for k, v in
                                                  checked["totals"].items())
            case["items"] = sum(len(s["items"]) for s in ours.values())
        else:
            case["shown"] = f"total {ours['total']:,}, {len(ours['items'])} items on the page"
            case["items"] = len(ours["items"])
        if case["filter"] == "search":
            search_totals[query["search"]] = ours["total"]
        contenders = {"ours": lambda u=ours_url, q=query: call(u, q)[0],
                      "lean": lambda u=lean_url, q=query: call(u, q)[0],
                      "sql": lambda s=statements: _run_sql(s)}
        for _ in range(warmup):
            for run_one in contenders.values():
                run_one()
        times: dict[str, list[float]] = {key: [] for key in contenders}
        order = list(contenders)
        gc.collect()
        for i in range(n):
            for key in (order if i % 2 == 0 else order[::-1]):
                times[key].append(contenders[key]())
        case["times"] = times
        case["bytes"] = len(call(ours_url, query)[1])
        case["statements"] = [(role, table, sql[:200]) for role, table, sql in statements]
        plans = []
        for role, table, sql in statements:
            if role not in ("page", "count", "counts"):
                continue
            plan = _explain(sql)
            tables = table.split(",")
            plan.update(role="count" if role == "counts" else role,
                        section=(" + ".join(BIN_SECTIONS[t] for t in tables)
                                 if route == "bin" else ""),
                        scope_rows=sum(counts[t]["binned" if route == "bin" else "live"]
                                       for t in tables))
            plans.append(plan)
        case["plans"] = plans
        ref_plans = []
        for role, table, sql, params in reference:
            plan = _explain(sql, params)
            plan.update(role=role, section=BIN_SECTIONS.get(table, ""))
            ref_plans.append(plan)
        case["reference_plans"] = ref_plans
        sort_column = ("deleted_at" if route == "bin" else
                       "usage_count" if case["name"] == "usage" else "created_at")
        case["reference_sql"] = ({"search": "ILIKE + ", "tags": "@> + "}.get(case["filter"], "")
                                 + f"ORDER BY {sort_column} DESC, id DESC")
        if route == "bin":
            case["scope"] = ("binned rows of the workspace: " + ", ".join(
                f"{BIN_SECTIONS[t]} {c['binned']:,}" for t, c in counts.items()))
        else:
            case["scope"] = (f"{live:,} live items in the workspace, "
                             f"{counts['media_library_items']['table_rows']:,} rows in the table")
        print(f"  {case['label']:45} ours p95 {pct(times['ours'], .95) * 1000:8.2f} ms, "
              f"lean p95 {pct(times['lean'], .95) * 1000:8.2f} ms, sql p95 "
              f"{pct(times['sql'], .95) * 1000:8.2f} ms", file=sys.stderr, flush=True)
    return {"cases": cases, "items": live, "binned": found["binned"],
            "table_rows": counts["media_library_items"]["table_rows"],
            "search_totals": search_totals, "tags": tags, "tags_total": tags_total,
            "loadavg": [loadavg_start, os.getloadavg()[0]]}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    MODES = {"load": load_mode, "measure": measure}
    print(json.dumps(MODES[sys.argv[1]](json.loads(sys.argv[2])), default=str), flush=True)
