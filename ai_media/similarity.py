"""Nearest neighbours by cosine distance over ``media_embeddings``, with optional filters.

Unfiltered, the HNSW index answers (``hnsw.ef_search`` a setting, at least the limit),
with the iterative scan too: the index keeps the entries of deleted or replaced vectors
until VACUUM, and without it a page whose nearest entries are dead comes back short.
With filters, the plan is chosen by how many items can match, which the maintained tag
counts bound cheaply:

- few (at most ``EXACT_SEARCH_MAX`` candidates): an exact search over the filtered set
  (tag GIN index → their vectors → sort), which is both exact and fast;
- many: the HNSW index with pgvector's iterative scan (``hnsw.iterative_scan =
  relaxed_order``), which keeps scanning until ``limit`` rows pass the filter; the rows
  come back nearly ordered and are re-sorted by distance here.

Either way a full page is returned whenever at least ``limit`` items match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from pgvector import Vector

from ai_media.selectors import ITEM_COLUMNS, filter_clauses, tag_count_upper_bound

EXACT_SEARCH_MAX = 20_000  # candidates below which an exact scan beats the index
# The HNSW candidate list: at 100, 4-6 % of the queries of bench_ai_media's clustered
# million got stuck in another neighbourhood (recall@10 0.94); 400 costs ~0.8 ms more.
HNSW_EF_SEARCH = 400


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, "AI_MEDIA", {}).get(name, default))


def embedding_of(media_id: str) -> np.ndarray | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT embedding FROM media_embeddings WHERE media_id = %s", [media_id])
        row = cursor.fetchone()
    if row is None:
        return None
    value = row[0]
    vector = Vector.from_text(value) if isinstance(value, str) else Vector(value)
    return np.asarray(vector.to_numpy(), dtype=np.float32)


def similar_rows(query: np.ndarray, *, limit: int, exclude: str | None = None,
                 media_type: str | None = None, tags: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``ITEM_COLUMNS`` plus ``similarity`` in [0, 1], most similar first."""
    where, params = filter_clauses(media_type, tags)
    where.insert(0, "TRUE")
    params.update(q=Vector(query).to_text(), limit=limit)
    if exclude is not None:
        where.append("e.media_id <> %(exclude)s")
        params["exclude"] = exclude
    filtered = bool(media_type or tags)
    bound = tag_count_upper_bound(tags)
    exact = filtered and bound is not None and bound <= _setting("EXACT_SEARCH_MAX",
                                                                  EXACT_SEARCH_MAX)
    rows = _search(where, params, limit=limit, exact=exact)
    if not exact and len(rows) < limit:
        # the iterative scan stops at hnsw.max_scan_tuples (and the index holds entries of
        # deleted or replaced vectors until VACUUM): a short page may not mean that fewer
        # items match, so the exact search decides
        rows = _search(where, params, limit=limit, exact=True)
    return [(*row[:-1], min(1.0, max(0.0, 1.0 - float(row[-1])))) for row in rows]


def _search(where: list[str], params: dict[str, Any], *, limit: int, exact: bool
            ) -> list[tuple[Any, ...]]:
    # "+ 0" makes the sort key an expression the HNSW index cannot serve: an exact scan
    distance = ("(e.embedding <=> %(q)s::vector) + 0" if exact
                else "e.embedding <=> %(q)s::vector")
    sql = (f"SELECT {ITEM_COLUMNS}, e.embedding <=> %(q)s::vector AS distance "  # noqa: S608
           "FROM media_embeddings e JOIN media m ON m.id = e.media_id "
           f"WHERE {' AND '.join(where)} ORDER BY {distance} LIMIT %(limit)s")
    ef_search = max(_setting("HNSW_EF_SEARCH", HNSW_EF_SEARCH), limit)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef_search)])
        if not exact:  # filters, and dead index entries, are skipped by scanning further
            cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.sort(key=lambda row: row[-1])  # relaxed_order: nearly sorted, made exact here
    return rows
