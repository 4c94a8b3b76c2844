"""Reactions to domain events: forward the tracked ones to the store's Segment workspace."""

from __future__ import annotations

from app.core.outbox import OutboxEvent
from app.integrations.segment.forward import forward


async def forward_to_segment(event: OutboxEvent) -> None:
    await forward(event)
