"""Reactions to checkout events inside this domain (the recovery engine adds its own)."""

from __future__ import annotations

import logging

from app.core.logging import ctx
from app.core.outbox import OutboxEvent

log = logging.getLogger(__name__)


async def log_abandoned(event: OutboxEvent) -> None:
    log.info(
        "abandoned checkout ready for recovery",
        extra=ctx(store=event.store_id, checkout=event.subject_id),
    )
