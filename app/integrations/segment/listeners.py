"""Reactions to domain events: forward the tracked ones to the store's Segment workspace."""

from __future__ import annotations

from app.core import events
from app.core.outbox import OutboxEvent
from app.integrations.segment.forward import TRACKED, forward


async def forward_to_segment(event: OutboxEvent) -> None:
    await forward(event)


for _name in TRACKED:
    events.subscribe(_name)(forward_to_segment)
