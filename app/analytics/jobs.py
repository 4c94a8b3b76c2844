"""Worker jobs that rebuild dirty or missing store-days, and the sweep that finds them again."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from app.analytics import changes, rollups, sql
from app.analytics.period import MAX_DAYS, local_day
from app.core.logging import ctx as log_ctx
from app.core.timeutil import utcnow
from app.stores.models import Store

log = logging.getLogger(__name__)
BATCH = 400


async def days_to_build(store: Store, limit: int = BATCH) -> list[date]:
    """Dirty, never computed, or built for another zone or other windows: newest first."""
    found = await sql.rows(
        """SELECT day FROM analytics_day
        WHERE store_id = $1 AND (dirty_at IS NOT NULL OR computed_at IS NULL OR fingerprint <> $2)
        ORDER BY day DESC LIMIT $3""",
        store.id,
        rollups.fingerprint(store),
        limit,
    )
    return [r["day"] for r in found]


async def build(store: Store, limit: int = BATCH) -> int:
    """Rebuild up to `limit` store-days; returns how many were rebuilt."""
    days = await days_to_build(store, limit)
    for day in days:
        await rollups.recompute_day(store, day)
    return len(days)


async def refresh_rollups(ctx_: dict[str, Any], store_id: int) -> int:
    """Enqueued (debounced, one id per store) by every change; more than a batch waits for the sweep."""
    store = await Store.get_or_none(id=store_id)
    if store is None or not sql.is_postgres():
        return 0
    done = await build(store)
    log.info("rollups rebuilt", extra=log_ctx(store=store_id, days=done))
    return done


async def cover(store: Store) -> int:
    """Give every day of the longest range a row, dirty until built, so no day is forgotten."""
    today = local_day(utcnow(), store.timezone or "UTC")
    first = today - timedelta(days=MAX_DAYS)
    found = await sql.rows(
        f"""INSERT INTO analytics_day (store_id, day, fingerprint, dirty_at, {changes.COUNTERS})
        SELECT $1, d::date, '', clock_timestamp(), 0, 0, 0, 0, 0, 0
        FROM generate_series($2::date, $3::date, interval '1 day') AS d
        ON CONFLICT (store_id, day) DO NOTHING RETURNING day""",
        store.id,
        first,
        today,
    )
    return len(found)


RECONCILE_DAYS = 7
RECONCILE_EVERY = timedelta(hours=1)


async def reconcile(store: Store) -> int:
    """Mark the last week's days dirty again once an hour, whatever the hooks said.

    Hooks mark the days they know a change touches; this bounds the staleness of anything a hook
    does not see (a redaction, an order whose time moved) to an hour for the days merchants read most.
    """
    today = local_day(utcnow(), store.timezone or "UTC")
    found = await sql.rows(
        """UPDATE analytics_day SET dirty_at = clock_timestamp()
        WHERE store_id = $1 AND day >= $2 AND dirty_at IS NULL AND computed_at < $3
        RETURNING day""",
        store.id,
        today - timedelta(days=RECONCILE_DAYS),
        utcnow() - RECONCILE_EVERY,
    )
    return len(found)


async def analytics_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """New days get rows, and stores with work get their job again (a no-op while it is queued)."""
    counts = {"new_days": 0, "reconciled": 0, "stores": 0}
    if not sql.is_postgres():
        return counts
    for store in await Store.filter(status="active"):
        counts["new_days"] += await cover(store)
        counts["reconciled"] += await reconcile(store)
        if await days_to_build(store, 1):
            counts["stores"] += await changes.schedule(store.id)
    if any(counts.values()):
        log.info("analytics sweep: %s", counts)
    return counts
