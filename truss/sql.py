"""Written-out SQL: the few statements on hot paths (every API request, every end-user flow, every audit drain)
where compiling the ORM's query anew each time cost more CPU than the database took to run it.

One way to do it: names come from ``names(Model)`` (table and columns quoted by the database's own rules),
statements are built once (a module constant or a cached function), ``run`` / ``first`` execute them on the
connection of the current transaction and read plain rows, and ``Converted`` turns a row's values into what the
ORM would have given (datetimes, JSON) where a caller needs that. Every statement has an equivalence test:
the same rows in, the same result (or the same stored rows) as the ORM's version, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper


@dataclass(frozen=True)
class Names:
    """A model's table and columns, quoted: ``table``, and ``c[field name]`` (``c["tenant"]`` is "tenant_id")."""

    table: str
    c: dict[str, str]


@functools.cache
def names(model: type[models.Model]) -> Names:
    quote, meta = connection.ops.quote_name, model._meta
    columns = {f.name: quote(f.column) for f in meta.concrete_fields if f.column}
    columns |= {f.attname: quote(f.column) for f in meta.concrete_fields if f.column}
    return Names(quote(meta.db_table), columns)


def for_update() -> str:
    """`` FOR UPDATE`` where the database has it (PostgreSQL), nothing where it locks otherwise (SQLite)."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


def marks(n: int) -> str:
    """``%s, %s, …``: n placeholders."""
    return ", ".join(["%s"] * n)


def run(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the current transaction's connection; its rows (none for one that returns none)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def first(statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a statement, or None."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()  # type: ignore[no-any-return]


def moment(value: datetime) -> Any:
    """A datetime parameter, adapted as the ORM adapts a DateTimeField's value."""
    return connection.ops.adapt_datetimefield_value(value)


class Converted:
    """Turns the values of a row read for ``fields`` of ``model`` into what the ORM gives for them (an aware
    datetime on SQLite, a parsed JSON value where the driver hands over text), with the converters the ORM's
    compiler would apply. Built once per statement."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.model = model
        found = [model._meta.get_field(name) for name in fields]
        self._attnames = [field.attname for field in found]  # type: ignore[union-attr]
        self._columns = [field.get_col(model._meta.db_table) for field in found]  # type: ignore[union-attr]
        # As the ORM's compiler converts a column: the backend's converters, then the field's.
        self._steps: list[list[Callable[..., Any]]] = [
            connection.ops.get_db_converters(c) + c.get_db_converters(connection) for c in self._columns
        ]

    def __call__(self, row: Sequence[Any], db: BaseDatabaseWrapper | None = None) -> list[Any]:
        db = db or connection
        values = []
        for value, column, steps in zip(row, self._columns, self._steps, strict=True):
            for step in steps:
                value = step(value, column, db)
            values.append(value)
        return values

    def instance(self, row: Sequence[Any]) -> Any:
        """The model instance the ORM would load from this row (the other fields deferred)."""
        return self.model.from_db(connection.alias, self._attnames, self(row))
