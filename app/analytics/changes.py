"""Mark the store-days a change touches as dirty, in the database, and ask a worker to rebuild them.

The mark is the promise (the stats read a dirty day raw until it is rebuilt); the job is best effort
and the sweep finds any dirty day again. A no-op on SQLite, where the stats always read raw.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.analytics import sql
from app.core.logging import ctx
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow

log = logging.getLogger(__name__)
DEBOUNCE = timedelta(seconds=5)
COUNTERS = "abandoned, reachable_strict, reachable_open, enrolled, holdout, messaged"


async def mark(store_id: int, moments: list[datetime | None]) -> int:
    """Dirty the local day of every moment (UTC instants, in the store's zone)."""
    moments = [m for m in moments if m is not None]
    if not moments or not sql.is_postgres():
        return 0
    found = await sql.rows(
        f"""INSERT INTO analytics_day (store_id, day, fingerprint, dirty_at, {COUNTERS})
        SELECT DISTINCT s.id, (m AT TIME ZONE COALESCE(s.timezone, 'UTC'))::date, '',
          clock_timestamp(), 0, 0, 0, 0, 0, 0
        FROM store s, unnest($2::timestamptz[]) AS m WHERE s.id = $1
        ON CONFLICT (store_id, day) DO UPDATE SET dirty_at = clock_timestamp()
        RETURNING day""",
        store_id,
        moments,
    )
    await schedule(store_id)
    return len(found)


async def mark_span(store_id: int, first: datetime, last: datetime) -> int:
    """Every day from first to last: a send can change the claims of orders days after it."""
    days = int((last - first).total_seconds() // 86400) + 2
    return await mark(store_id, [first + timedelta(days=i) for i in range(days)] + [last])


async def schedule(store_id: int) -> bool:
    from app.recovery.services import shared_queue

    try:
        queue = await shared_queue()
    except Exception as exc:  # the sweep rebuilds dirty days anyway
        log.warning("rollup not scheduled: %s", exc, extra=ctx(store=store_id))
        return False
    return await enqueue(
        queue,
        "refresh_rollups",
        store_id,
        job_id=f"rollup:{store_id}",
        defer_until=utcnow() + DEBOUNCE,
    )


async def checkout_changed(store_id: int, checkout_id: int) -> int:
    """Its day (funnel, products), the days of its sends (A/B conversions) and of its orders."""
    found = await sql.rows(
        """SELECT c.abandoned_at AS at FROM checkout c WHERE c.id = $1
        UNION ALL SELECT m.created_at FROM message m WHERE m.checkout_id = $1
        UNION ALL SELECT o.placed_at FROM "order" o WHERE o.checkout_id = $1""",
        checkout_id,
    )
    return await mark(store_id, [r["at"] for r in found])


async def contact_changed(store_id: int, contact_id: int) -> int:
    """Consent decides who is reachable, on every day the contact abandoned a checkout."""
    found = await sql.rows(
        "SELECT abandoned_at AS at FROM checkout WHERE store_id = $1 AND contact_id = $2",
        store_id,
        contact_id,
    )
    return await mark(store_id, [r["at"] for r in found])
