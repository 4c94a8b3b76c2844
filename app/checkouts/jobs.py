"""Worker jobs for checkout state: abandonment checks and the checkouts' part of the repair sweep."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis

from app.checkouts import history, services
from app.checkouts.models import Checkout, CheckoutStatus
from app.config import get_settings
from app.core.scheduling import schedule_dispatch

log = logging.getLogger(__name__)
SWEEP_BATCH = 500


async def check_abandoned(job_ctx: dict[str, Any], checkout_id: int) -> bool:
    transition = await services.mark_abandoned(checkout_id)
    if transition and transition.event_id:
        await schedule_dispatch(job_ctx["redis"], transition.event_id)
    return transition is not None


async def sweep_checkouts(queue: ArqRedis | None, now: datetime) -> dict[str, int]:
    """Abandon what is due and expire what is too old, from the database, so a flushed Redis
    loses nothing."""
    counts = {"abandoned": 0, "expired": 0}
    due = (
        await Checkout.filter(status=CheckoutStatus.OPEN, abandon_due_at__lte=now)
        .limit(SWEEP_BATCH)
        .values("id")
    )
    for row in due:
        transition = await services.mark_abandoned(int(row["id"]), now)
        if transition and transition.event_id:
            counts["abandoned"] += 1
            await schedule_dispatch(queue, transition.event_id)
    horizon = now - timedelta(days=get_settings().capture.expire_after_days)
    counts["expired"] = await Checkout.filter(
        status__in=(CheckoutStatus.OPEN, CheckoutStatus.ABANDONED), last_activity_at__lt=horizon
    ).update(status=CheckoutStatus.EXPIRED, expired_at=now, abandon_due_at=None)
    return counts


async def advance_birthdays(ctx: dict[str, Any]) -> int:
    """Hourly: passed birthdays become next year's due times (app/checkouts/history.py)."""
    return await history.advance_birthdays()
