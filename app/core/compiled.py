"""Querysets built once: for hot reads whose shape never changes, only their parameters.

Tortoise builds the SQL of a queryset every time it runs one. For a small read that is cheap;
for the inbox's locked thread read (fifty columns, a joined contact, two correlated subqueries,
FOR UPDATE OF) building costs about as much CPU as the round trip itself, on every inbound text.
`CompiledSelect` builds the queryset once per SQL dialect with placeholder arguments, keeps the
SQL text and where each argument lands among its parameters, and afterwards only binds the new
values and lets Tortoise's own executor turn the rows into models (joined rows included).

Building refuses a shape where a placeholder does not appear exactly once as a bound parameter
(inlined into the SQL, used twice, or dropped), so a compiled query can never run with a stale
value. tests/unit/test_compiled.py holds each compiled read to the queryset it replaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


@dataclass(frozen=True, slots=True)
class _Built:
    model: type[Model]
    sql: str
    values: tuple[Any, ...]
    positions: tuple[int, ...]
    select_related_idx: Any
    custom_fields: tuple[str, ...]


class CompiledSelect(Generic[M]):
    """`first()` of `build(*args)`, with the SQL built once per dialect.

    `placeholders` stand in for the arguments while building: one per argument, of its type, and
    values no real call would pass (they are looked for among the built query's parameters).
    """

    def __init__(self, build: Callable[..., QuerySet[M]], *placeholders: Any) -> None:
        self._build = build
        self._placeholders = placeholders
        self._by_dialect: dict[str, _Built] = {}

    def _compile(self, conn: Any) -> _Built:
        query = self._build(*self._placeholders).using_db(conn).limit(1)
        query._make_query()
        sql, values = query.query.get_parameterized_sql()
        positions = []
        for placeholder in self._placeholders:
            found = [i for i, v in enumerate(values) if v == placeholder]
            if len(found) != 1 or str(placeholder) in sql:
                raise ValueError(f"placeholder {placeholder!r} is not one bound parameter: {sql}")
            positions.append(found[0])
        return _Built(
            query.model,
            sql,
            tuple(values),
            tuple(positions),
            query._select_related_idx,
            tuple(query._annotations),
        )

    async def first(self, conn: Any, *args: Any) -> M | None:
        """The first row for these arguments, as `await build(*args).using_db(conn).first()`."""
        dialect = conn.capabilities.dialect
        built = self._by_dialect.get(dialect)
        if built is None:
            built = self._by_dialect[dialect] = self._compile(conn)
        values = list(built.values)
        for position, value in zip(built.positions, args, strict=True):
            values[position] = value
        executor = conn.executor_class(
            model=built.model,
            db=conn,
            prefetch_map={},
            prefetch_queries={},
            select_related_idx=built.select_related_idx,
        )
        rows = await executor.execute_select(
            built.sql, values, custom_fields=list(built.custom_fields)
        )
        found: M | None = rows[0] if rows else None
        return found


def insert_values(instance: Model, conn: Any) -> tuple[list[str], list[Any]]:
    """The columns and database values Tortoise's executor would INSERT for `instance`.

    For a caller that writes the row inside a larger statement of its own (several writes in one
    round trip): values go through each field's `to_db_value`, exactly as `Model.save` sends
    them, so defaults, enums, JSON and `auto_now`/`auto_now_add` times (set on the instance too)
    match a plain `create`. Refused for rows the executor would write differently: a custom
    primary key, or database-side defaults it would have to read back.
    """
    executor = conn.executor_class(model=type(instance), db=conn)
    meta = instance._meta
    if instance._custom_generated_pk or executor._has_db_default_values(
        instance, executor.regular_columns
    ):
        raise ValueError(f"{meta.db_table}: this row is not written by a plain INSERT")
    values = [
        meta.fields_map[name].to_db_value(getattr(instance, name), instance)
        for name in executor.regular_columns
    ]
    columns = [meta.fields_db_projection[name] for name in executor.regular_columns]
    return columns, values


async def insert_many(conn: Any, instances: Sequence[Model]) -> None:
    """Write new rows of one model in a single `INSERT … VALUES (…), (…) RETURNING` round trip,
    each row's values exactly as `create` would send them (`insert_values`); every instance gets
    its primary key and counts as saved, as after `create`. A failure writes none of them.

    Ids come from the table's sequence (PostgreSQL) or rowid (SQLite), drawn row by row in the
    order of the VALUES list, so the ids handed back, sorted, are the rows' in that order (the
    order RETURNING lists them in is not promised)."""
    if not instances:
        return
    model = type(instances[0])
    if any(type(instance) is not model for instance in instances):
        raise ValueError("insert_many writes rows of one model")
    meta = model._meta
    postgres = conn.capabilities.dialect == "postgres"
    columns: list[str] = []
    params: list[Any] = []
    rows: list[str] = []
    for instance in instances:
        these, values = insert_values(instance, conn)
        if columns and these != columns:
            raise ValueError(f"{meta.db_table}: rows with different columns")
        columns = these
        start = len(params)
        marks = (f"${start + i + 1}" if postgres else "?" for i in range(len(values)))
        rows.append(f"({', '.join(marks)})")
        params.extend(values)
    quoted = ", ".join(f'"{c}"' for c in columns)
    pk = meta.db_pk_column
    sql = f'INSERT INTO "{meta.db_table}" ({quoted}) VALUES {", ".join(rows)} RETURNING "{pk}"'
    found = await conn.execute_query_dict(sql, params)
    if len(found) != len(instances):
        raise RuntimeError(f"{meta.db_table}: {len(found)} ids back for {len(instances)} rows")
    for instance, key in zip(instances, sorted(row[pk] for row in found), strict=True):
        instance.pk = key
        instance._saved_in_db = True
