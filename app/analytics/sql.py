"""Run analytics SQL written once with `$n` placeholders on PostgreSQL or SQLite; dialect fragments.

Rows come back alike from both. asyncpg gives `timestamptz` as aware datetimes and `numeric` as
Decimal; SQLite keeps the first as ISO text and money as text (a sum of it as a float). So on SQLite
every column named `*_at` is read back as an aware UTC datetime, and every money column (`total`,
`*_total`, `value`, `revenue`) as a Decimal.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tortoise import connections

from app.core import db

_PLACEHOLDER = re.compile(r"\$(\d+)")


def is_postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def rows(sql: str, *params: Any) -> list[dict[str, Any]]:
    """asyncpg takes `$n` as is; SQLite gets one `?` per occurrence, in order of appearance."""
    conn = connections.get("default")
    if is_postgres():
        return list(await conn.execute_query_dict(sql, list(params)))
    order = [int(n) - 1 for n in _PLACEHOLDER.findall(sql)]
    values = [_sqlite_value(params[i]) for i in order]
    found = await conn.execute_query_dict(_PLACEHOLDER.sub("?", sql), values)
    return [_sqlite_row(row) for row in found]


def _sqlite_value(value: Any) -> Any:
    # SQLite compares timestamps as text, written in UTC (app.core.db); compare like with like.
    if isinstance(value, datetime):
        return db.sqlite_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


MONEY = frozenset({"total", "value", "revenue"})


def _sqlite_row(row: Any) -> dict[str, Any]:
    return {key: _typed(key, value) for key, value in dict(row).items()}


def _typed(key: str, value: Any) -> Any:
    if key.endswith("_at"):
        return _timestamp(value)
    if value is not None and (key in MONEY or key.endswith("_total")):
        return Decimal(str(value))
    return value


def _timestamp(value: Any) -> Any:
    """ISO text as stored (aware, or naive meaning UTC) to an aware UTC datetime."""
    if not isinstance(value, str):
        return value
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def channel_filter(channel: str | None, param: str, column: str = "m.channel") -> str:
    """` AND <column> = <param>` when a channel is chosen; the caller binds the channel as `param`."""
    return f" AND {column} = {param}" if channel else ""


def computed_once() -> str:
    """Ends a subquery in FROM whose columns the outer query uses more than once (PostgreSQL's
    `OFFSET 0`): the planner keeps it as is instead of pulling it up, which would copy each use
    of a column computed by a correlated subquery, running that lookup again per use."""
    return " OFFSET 0" if is_postgres() else ""


def lookup_join(table: str, alias: str, columns: str, condition: str) -> str:
    """`LEFT JOIN table alias ON condition`, written on PostgreSQL as a LATERAL subquery fenced
    with `OFFSET 0`: each outer row looks its matches up by the condition's index, where a plain
    join let the planner hash the whole table (every order of the store) for a day's rows.
    `columns` are the ones the outer query reads, as `alias.name`."""
    if is_postgres():
        return (
            f"LEFT JOIN LATERAL (SELECT {columns} FROM {table} {alias} WHERE {condition}"
            f" OFFSET 0) AS {alias} ON true"
        )
    return f"LEFT JOIN {table} {alias} ON {condition}"


def local_day(column: str, zone_param: str) -> str:
    """The calendar day of a timestamp in the store's zone (PostgreSQL); SQLite buckets in Python."""
    if is_postgres():
        return f"(({column}) AT TIME ZONE {zone_param})::date"
    return f"({column})"


def money_sum(expr: str) -> str:
    """sum() of money, exact on both: SQLite sums floats (0.1 + 0.2 is 0.30000000000000004), so
    there it adds whole millionths as integers and writes the total back as decimal text."""
    if is_postgres():
        return f"sum({expr})"
    micros = f"sum(CAST(round(({expr}) * 1000000) AS INTEGER))"
    return (
        f"(CASE WHEN {micros} < 0 THEN '-' ELSE '' END || (abs({micros}) / 1000000) || '.' "
        f"|| substr('000000' || (abs({micros}) % 1000000), -6))"
    )


def line_items(alias: str) -> tuple[str, str, str, str]:
    """FROM-clause fragment and the title, quantity and line total expressions of each item."""
    if is_postgres():
        return (
            f"jsonb_array_elements({alias}.line_items) AS li",
            "li->>'title'",
            "COALESCE((li->>'quantity')::int, 1)",
            "COALESCE((li->>'line_total')::numeric, 0)",
        )
    return (
        f"json_each({alias}.line_items) AS li",
        "json_extract(li.value, '$.title')",
        "COALESCE(CAST(json_extract(li.value, '$.quantity') AS INTEGER), 1)",
        "COALESCE(CAST(json_extract(li.value, '$.line_total') AS REAL), 0)",
    )
