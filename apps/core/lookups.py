"""``<field>__ilike_contains``: a case-insensitive substring match as ``ILIKE '%…%'``.

Django's ``icontains`` on PostgreSQL compiles to ``UPPER(col) LIKE UPPER(…)``, which a
trigram GIN index on the column itself (``gin_trgm_ops``) cannot serve: a search then
reads the whole table. ``ILIKE`` on the bare column is what the trigram index answers.
The needle's ``%``, ``_`` and ``\\`` are escaped, so they match literally.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Lookup


class ILikeContains(Lookup):
    lookup_name = "ilike_contains"

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:
        text = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return "%s", [f"%{text}%"]

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", (*lhs_params, *rhs_params)


def register() -> None:
    models.CharField.register_lookup(ILikeContains)
    models.TextField.register_lookup(ILikeContains)
