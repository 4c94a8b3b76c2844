"""Mark the store-days a change touches as dirty, in the database, and ask a worker to rebuild them.

The mark is the promise (the stats read a dirty day raw until it is rebuilt); the job is best effort
and the sweep finds any dirty day again. A no-op on SQLite, where the stats always read raw.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.analytics import sql
from app.core import events
from app.core.logging import ctx
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow

log = logging.getLogger(__name__)
DEBOUNCE = timedelta(seconds=5)
COUNTERS = "abandoned, reachable_strict, reachable_open, enrolled, holdout, messaged"


# A day already dirty since the latest rebuild began is not written again: the rebuild to come
# reads every change committed before it starts. A send storm on one store would otherwise
# rewrite the same few rows on every send and queue behind their row locks. The plain read in
# `todo` takes no lock; its snapshot is newer than the change being marked, so a rebuild that
# began after it reads that change, and one that began before it finds a mark newer than its start.
_STALE = "{t}.dirty_at IS NULL OR {t}.dirty_at <= {t}.build_started_at"
_MARK = f"""WITH days AS (
      SELECT DISTINCT (m.at AT TIME ZONE COALESCE(s.timezone, 'UTC'))::date AS day
      FROM store s, ({{moments}}) AS m WHERE s.id = $1 AND m.at IS NOT NULL
    ), todo AS (
      SELECT days.day FROM days LEFT JOIN analytics_day a ON a.store_id = $1 AND a.day = days.day
      WHERE a.id IS NULL OR {_STALE.format(t="a")}
    )
    INSERT INTO analytics_day (store_id, day, fingerprint, dirty_at, {COUNTERS})
    SELECT $1, todo.day, '', clock_timestamp(), 0, 0, 0, 0, 0, 0 FROM todo
    ORDER BY todo.day  -- rows locked in one order: two marks cannot deadlock
    ON CONFLICT (store_id, day) DO UPDATE SET dirty_at = clock_timestamp()
    WHERE {_STALE.format(t="analytics_day")}
    RETURNING day"""
_GIVEN = "SELECT unnest($2::timestamptz[]) AS at"
# Their days (funnel, products), the days of their sends (A/B conversions) and of their orders.
_OF_CHECKOUTS = """SELECT c.abandoned_at FROM checkout c WHERE c.id = ANY($3::bigint[])
      UNION ALL SELECT m.created_at FROM message m WHERE m.checkout_id = ANY($3::bigint[])
      UNION ALL SELECT o.placed_at FROM "order" o WHERE o.checkout_id = ANY($3::bigint[])"""


async def _write_gathered(held: list[tuple[int, list[datetime], int | None]]) -> None:
    """Marks put aside in a batch (a batch of sends, each announcing its outcome), one statement
    per store. Every change was committed before this write, so a rebuild that began before any
    of them is redone, as with a mark per change; until then the stats may read those days'
    rollups without them (the batch's length)."""
    moments: dict[int, set[datetime]] = {}
    checkouts: dict[int, set[int]] = {}
    for store_id, given, checkout_id in held:
        moments.setdefault(store_id, set()).update(given)
        if checkout_id is not None:
            checkouts.setdefault(store_id, set()).add(checkout_id)
    for store_id in sorted(moments):
        await _write(store_id, sorted(moments[store_id]), sorted(checkouts.get(store_id, ())))


GATHERED = events.Gathering("rollup marks", _write_gathered)


async def mark(
    store_id: int, moments: Sequence[datetime | None], checkout_id: int | None = None
) -> int:
    """Dirty the local day of every moment (UTC instants, in the store's zone), and with
    `checkout_id` every day that checkout touches, in one statement; returns the days newly marked
    (0 inside `events.batched()`, which writes them when it ends)."""
    given = [m for m in moments if m is not None]
    if (not given and checkout_id is None) or not sql.is_postgres():
        return 0
    if GATHERED.hold((store_id, given, checkout_id)):
        return 0
    return await _write(store_id, given, [] if checkout_id is None else [checkout_id])


async def _write(store_id: int, given: list[datetime], checkout_ids: list[int]) -> int:
    if not checkout_ids:
        found = await sql.rows(_MARK.format(moments=_GIVEN), store_id, given)
    else:
        union = f"{_GIVEN} UNION ALL {_OF_CHECKOUTS}"
        found = await sql.rows(_MARK.format(moments=union), store_id, given, checkout_ids)
    if found:  # nothing new: the mark already there asked for the rebuild (the sweep backs it up)
        await schedule(store_id)
    return len(found)


def span(first: datetime, last: datetime) -> list[datetime]:
    """Every day from first to last: a send can change the claims of orders days after it."""
    days = int((last - first).total_seconds() // 86400) + 2
    return [first + timedelta(days=i) for i in range(days)] + [last]


async def schedule(store_id: int) -> bool:
    from app.core.scheduling import shared_queue

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
    return await mark(store_id, [], checkout_id)


async def contact_changed(store_id: int, contact_id: int) -> int:
    """Consent decides who is reachable, on every day the contact abandoned a checkout."""
    found = await sql.rows(
        "SELECT abandoned_at AS at FROM checkout WHERE store_id = $1 AND contact_id = $2",
        store_id,
        contact_id,
    )
    return await mark(store_id, [r["at"] for r in found])
