"""The benches seed with COPY and plain INSERTs, which apply no ORM default: every required column
must be filled."""

from __future__ import annotations

import pytest
from tortoise import connections

from bench import stats

SEEDED = {
    "checkout": stats.CHECKOUT_COLUMNS,
    "order": stats.ORDER_COLUMNS,
    "message": stats.MESSAGE_COLUMNS,
    "recovery_enrollment": stats.ENROLLMENT_COLUMNS,
    "recovery_flow": stats.FLOW_COLUMNS,
}


async def _required_columns(table: str) -> set[str]:
    """Columns of the migrated table that are NOT NULL and have no default in the database."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        rows = await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
        return {r["name"] for r in rows if r["notnull"] and r["dflt_value"] is None and not r["pk"]}
    rows = await conn.execute_query_dict(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = $1 AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    return {r["column_name"] for r in rows}


@pytest.mark.parametrize("table", sorted(SEEDED))
async def test_the_stats_bench_fills_every_required_column(settings, table: str) -> None:
    missing = await _required_columns(table) - set(SEEDED[table])
    assert not missing, f"bench/stats.py seeds {table} without {sorted(missing)}"
