"""Reactions to domain events: every catalogued event fans out into webhook deliveries."""

from __future__ import annotations

from app.core.outbox import OutboxEvent
from app.core.scheduling import shared_queue
from app.hooks import services


async def fan_out(event: OutboxEvent) -> None:
    await services.fan_out(event, await shared_queue())
