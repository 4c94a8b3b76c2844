"""Reactions to domain events: score a checkout the moment it is abandoned, before it is enrolled."""

from __future__ import annotations

import logging

from app.core.logging import ctx
from app.core.outbox import OutboxEvent
from app.scoring import services

log = logging.getLogger(__name__)


async def score_abandoned(event: OutboxEvent) -> None:
    """Best effort: a failure leaves the checkout unscored, which reads as the store's prior, and
    must never hold back its enrollment (the next handler of the same event)."""
    try:
        await services.score(event.store_id, [event.subject_id])
    except Exception:
        log.exception("scoring failed, the prior applies", extra=ctx(checkout=event.subject_id))
