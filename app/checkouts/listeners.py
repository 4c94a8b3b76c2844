"""Reactions to checkout events inside this domain (the recovery engine adds its own)."""

from __future__ import annotations

import logging

from app.checkouts import history
from app.checkouts.models import ContactHistory
from app.core.logging import ctx
from app.core.outbox import OutboxEvent

log = logging.getLogger(__name__)


async def log_abandoned(event: OutboxEvent) -> None:
    log.info(
        "abandoned checkout ready for recovery",
        extra=ctx(store=event.store_id, checkout=event.subject_id),
    )


async def refresh_history(event: OutboxEvent) -> None:
    """An order was recorded (or changed): its contact's history is summed up again from the rows."""
    await history.refresh_for_order(event.subject_id)


async def refresh_subscription(event: OutboxEvent) -> None:
    """Consent granted or withdrawn: the history's subscription state follows the contact."""
    if await ContactHistory.exists(contact_id=event.subject_id, store_id=event.store_id):
        await history.refresh(event.subject_id)
