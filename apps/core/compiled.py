"""Querysets compiled once per shape, then run with each request's values.

Building and compiling a queryset costs the ORM about a millisecond per statement, more
than PostgreSQL takes to answer an indexed page, and a busy list runs several. A hot read
whose shape is fixed (the same filters, order and slice; only values such as a workspace
id change) is built once with stand-in values, compiled, and its SQL kept: where each
stand-in landed among the parameters says where each call's values go. The ORM still
writes every statement; only the writing is not repeated.

Stand-ins can be made for UUIDs, strings, integers and aware datetimes (values a lookup
passes through unchanged, so they are found again among the parameters); anything else
that shapes the statement (flags, ``None``, a slice) belongs in the key. A stand-in a
lookup rewrote (``__icontains`` wraps it in ``%``) or inlined into the SQL text is
refused when the statement is compiled, so a wrong use fails loudly and at once, never
with wrong rows.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from django.db import connections
from django.db.models import QuerySet

CACHE_SIZE = 512  # shapes per process; the least recently used goes first


@dataclass(frozen=True)
class _Shape:
    sql: str
    params: tuple[Any, ...]  # the compiled parameters, stand-ins included
    # (parameter position, value name, its index in a list parameter or None): an array
    # lookup (``tags__contains=[value]``) passes the value inside a list
    slots: tuple[tuple[int, str, int | None], ...]
    names: tuple[str, ...]  # the rows' keys, as values() names them
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


@dataclass(frozen=True)
class Statement:
    """One compiled statement with this call's values in place."""

    sql: str
    params: list[Any]
    shape: _Shape
    using: str

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as ``values()`` gives them: one dict each, the fields' converters
        applied (JSON decoded and the like)."""
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            rows = cursor.fetchall()
        names, converters = self.shape.names, self.shape.converters
        if not converters:
            return [dict(zip(names, row, strict=True)) for row in rows]
        out = []
        for row in rows:
            values = list(row)
            for position, functions, expression in converters:
                value = values[position]
                for function in functions:
                    value = function(value, expression, connection)
                values[position] = value
            out.append(dict(zip(names, values, strict=True)))
        return out

    def count(self) -> int:
        """How many rows the statement returns, counted by PostgreSQL."""
        with connections[self.using].cursor() as cursor:
            # the ORM's own SQL with its parameters kept apart: nothing inlined
            cursor.execute(f"SELECT count(*) FROM ({self.sql}) AS q", self.params)  # noqa: S608
            return int(cursor.fetchone()[0])

    def records(self) -> list[SimpleNamespace]:
        """The rows with attribute access (``row.name``), for code written against model
        instances that only reads their fields."""
        return [SimpleNamespace(**row) for row in self.dicts()]


_shapes: OrderedDict[Hashable, _Shape] = OrderedDict()
_lock = threading.Lock()


def compiled(key: Hashable, build: Callable[..., QuerySet[Any]], *, using: str = "default",
             **values: Any) -> Statement:
    """``build(**values)``'s statement, compiled on the first call for ``key``.

    ``key`` names everything that shapes the statement besides ``values`` (which build
    function, which filters, which slice); ``build`` must be a ``values()`` queryset's
    factory whose statement depends on ``values`` only through its parameters.
    """
    cache_key = (key, using, tuple(sorted(values)))
    with _lock:
        shape = _shapes.get(cache_key)
        if shape is not None:
            _shapes.move_to_end(cache_key)
    if shape is None:
        shape = _compile(build, using, values)
        with _lock:
            _shapes[cache_key] = shape
            while len(_shapes) > CACHE_SIZE:
                _shapes.popitem(last=False)
    params = list(shape.params)
    for position, name, index in shape.slots:
        if index is None:
            params[position] = values[name]
        else:
            params[position] = [*params[position]]
            params[position][index] = values[name]
    return Statement(shape.sql, params, shape, using)


def _stand_in(name: str, value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, str):
        return f"compiled-stand-in-{uuid.uuid4().hex}"
    if isinstance(value, int) and not isinstance(value, bool):
        return random.randrange(2**61, 2**62)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=random.randrange(2**50))
    raise TypeError(f"compiled(): no stand-in for {name}={value!r}; put it in the key")


def _compile(build: Callable[..., QuerySet[Any]], using: str, values: dict[str, Any]
             ) -> _Shape:
    stand_ins = {name: _stand_in(name, value) for name, value in values.items()}
    queryset = build(**stand_ins)
    query = queryset.query
    compiler = query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    by_stand_in = {stand_in: name for name, stand_in in stand_ins.items()}
    slots: list[tuple[int, str, int | None]] = []
    for position, param in enumerate(params):
        for index, value in (enumerate(param) if isinstance(param, list) else [(None, param)]):
            hashable = isinstance(value, uuid.UUID | str | int | datetime)
            name = by_stand_in.get(value) if hashable else None
            if name is not None:
                slots.append((position, name, index))
    found = sorted(name for _, name, _ in slots)
    if found != sorted(stand_ins):
        raise ValueError(f"compiled(): each value must reach the SQL as one parameter, "
                         f"unchanged; found {found} of {sorted(stand_ins)}")
    if any(str(stand_in) in sql for stand_in in stand_ins.values()):
        raise ValueError("compiled(): a value was inlined into the SQL text")
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    if len(names) != compiler.col_count:
        raise ValueError("compiled(): build must return a values() queryset")
    expressions = [selected[0] for selected in compiler.select[:compiler.col_count]]
    converters = tuple((position, tuple(functions), expression) for position, (
        functions, expression) in compiler.get_converters(expressions).items())
    return _Shape(sql, tuple(params), tuple(slots), names, converters)
