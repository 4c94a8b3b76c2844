"""`followup shopify import`: page through a shop's abandoned checkouts into the canonical model, once."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis

from app.checkouts.models import CheckoutStatus
from app.checkouts.services import record_checkout
from app.config import get_settings
from app.core.logging import ctx
from app.core.scheduling import schedule_abandon_check
from app.core.timeutil import parse_datetime, utcnow
from app.integrations.shopify import normalize_graphql
from app.integrations.shopify.client import AdminClient
from app.stores.models import Store

log = logging.getLogger(__name__)
PAGE_SIZE = 50
QUERY = (
    """
query FollowUpAbandoned($first: Int!, $after: String, $query: String) {
  abandonedCheckouts(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    nodes {"""
    + normalize_graphql.NODE_FIELDS
    + """}
    pageInfo { hasNextPage endCursor }
  }
}"""
)
COUNT = "query FollowUpAbandonedCount($query: String) { abandonedCheckoutsCount(query: $query) { count } }"
_SPAN = re.compile(r"^(\d+)\s*([mhd])$")


def parse_since(value: str, now: datetime) -> datetime:
    """`7d`, `48h`, `90m`, or an ISO time."""
    found = _SPAN.match(value.strip().lower())
    if found:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[found.group(2)]
        return now - timedelta(**{unit: int(found.group(1))})
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"--since {value!r}: use 7d, 48h, 90m or an ISO time")
    return moment


def max_age(store: Store) -> timedelta:
    """How old a checkout may be and still be enrolled: the store's setting, else the app's."""
    hours = (store.settings or {}).get("recovery_max_age_hours")
    return timedelta(hours=int(hours or get_settings().shopify.import_max_age_hours))


def enrollable(last_activity: datetime | None, now: datetime, horizon: timedelta) -> bool:
    """Pure rule: a checkout idle longer than the horizon is history, never a recovery target."""
    return last_activity is not None and now - last_activity <= horizon


@dataclass(slots=True)
class ImportResult:
    seen: int = 0
    new: int = 0
    enrollable: int = 0
    expired: int = 0
    completed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


async def import_abandoned(
    store: Store,
    since: datetime,
    *,
    now: datetime | None = None,
    queue: ArqRedis | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportResult:
    """Idempotent: every node goes through the same upsert as webhooks; old ones arrive expired."""
    now = now or utcnow()
    search = f"updated_at:>='{since.isoformat()}'"
    result, after = ImportResult(), None
    horizon = max_age(store)
    async with AdminClient(store) as admin:
        total = await _count(admin, search)
        while True:
            page = (
                await admin.execute(QUERY, {"first": PAGE_SIZE, "after": after, "query": search})
            )["abandonedCheckouts"]
            for node in page["nodes"]:
                await _one(store, node, now, horizon, queue, result)
                if progress:
                    progress(result.seen, total)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    log.info("shopify import done", extra=ctx(store=store.id, **result.as_dict()))
    return result


async def _count(admin: AdminClient, search: str) -> int | None:
    data = await admin.execute(COUNT, {"query": search})
    return (data.get("abandonedCheckoutsCount") or {}).get("count")


async def _one(
    store: Store,
    node: dict[str, Any],
    now: datetime,
    horizon: timedelta,
    queue: ArqRedis | None,
    result: ImportResult,
) -> None:
    data = normalize_graphql.checkout(node)
    if not enrollable(data.updated_at or data.created_at, now, horizon):
        data.deleted = True  # stored as expired on arrival: it never gets an abandon time
    result.seen += 1
    checkout, created = await record_checkout(store, data, now)
    result.new += created
    if checkout.status == CheckoutStatus.EXPIRED:
        result.expired += 1
    elif checkout.status in (CheckoutStatus.COMPLETED, CheckoutStatus.RECOVERED):
        result.completed += 1
    elif checkout.abandon_due_at is not None:
        result.enrollable += 1
        await schedule_abandon_check(queue, checkout.id, checkout.abandon_due_at)
