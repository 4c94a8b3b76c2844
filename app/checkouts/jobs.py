"""Worker jobs for checkout state: abandonment checks, event dispatch, and the repair sweep."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from tortoise.expressions import Q

from app.checkouts import services
from app.checkouts.models import Checkout, CheckoutStatus
from app.config import get_settings
from app.core import events
from app.core.outbox import OutboxEvent
from app.core.scheduling import schedule_dispatch
from app.core.timeutil import utcnow
from app.ingest.models import OrderSeen, RawEvent, RawStatus
from app.ingest.services import nudge

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
GRACE = timedelta(seconds=30)


async def check_abandoned(job_ctx: dict[str, Any], checkout_id: int) -> bool:
    transition = await services.mark_abandoned(checkout_id)
    if transition and transition.event_id:
        await schedule_dispatch(job_ctx["redis"], transition.event_id)
    return transition is not None


async def dispatch_event(job_ctx: dict[str, Any], outbox_id: int) -> bool:
    return await events.dispatch(outbox_id)


async def sweep(job_ctx: dict[str, Any]) -> dict[str, int]:
    """Re-derive everything that is due from the database, so a flushed Redis loses nothing."""
    now = utcnow()
    queue = job_ctx["redis"]
    counts = {"raw": 0, "abandoned": 0, "events": 0, "expired": 0}
    stale_raw = await RawEvent.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        status=RawStatus.PENDING,
        received_at__lte=now - GRACE,
    ).count()
    if stale_raw and await nudge(queue, force=True):
        counts["raw"] = stale_raw
    due = (
        await Checkout.filter(status=CheckoutStatus.OPEN, abandon_due_at__lte=now)
        .limit(SWEEP_BATCH)
        .values_list("id", flat=True)
    )
    for checkout_id in due:
        transition = await services.mark_abandoned(checkout_id, now)
        if transition and transition.event_id:
            counts["abandoned"] += 1
            await schedule_dispatch(queue, transition.event_id)
    pending = (
        await OutboxEvent.filter(dispatched_at=None, created_at__lte=now - GRACE, attempts__lt=20)
        .limit(SWEEP_BATCH)
        .values_list("id", flat=True)
    )
    for outbox_id in pending:
        counts["events"] += await schedule_dispatch(queue, outbox_id)
    horizon = now - timedelta(days=get_settings().capture.expire_after_days)
    counts["expired"] = await Checkout.filter(
        status__in=(CheckoutStatus.OPEN, CheckoutStatus.ABANDONED), last_activity_at__lt=horizon
    ).update(status=CheckoutStatus.EXPIRED, expired_at=now, abandon_due_at=None)
    # An order's capture-time keys matter only until its raw event is processed; keep them as
    # long as an order may match a checkout by contact, then let them go.
    window = timedelta(hours=get_settings().capture.order_match_window_hours)
    counts["orders_seen_pruned"] = await OrderSeen.filter(seen_at__lt=now - window).delete()
    if any(counts.values()):
        log.info("sweep: %s", counts)
    return counts
