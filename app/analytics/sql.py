"""Raw SQL for the stats, written once with `$n` placeholders and run on PostgreSQL or SQLite."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from tortoise import connections

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
    return list(await conn.execute_query_dict(_PLACEHOLDER.sub("?", sql), values))


def _sqlite_value(value: Any) -> Any:
    # Tortoise stores SQLite datetimes as ISO text with the offset; compare like with like.
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def channel_filter(channel: str | None, param: str, column: str = "m.channel") -> str:
    """` AND <column> = <param>` when a channel is chosen; the caller binds the channel as `param`."""
    return f" AND {column} = {param}" if channel else ""


def local_day(column: str, zone_param: str) -> str:
    """The calendar day of a timestamp in the store's zone (PostgreSQL); SQLite buckets in Python."""
    if is_postgres():
        return f"(({column}) AT TIME ZONE {zone_param})::date"
    return f"({column})"


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
