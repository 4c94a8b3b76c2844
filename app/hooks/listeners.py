"""Reactions to domain events: every catalogued event fans out into webhook deliveries."""

from __future__ import annotations

from typing import Any

from app.core.outbox import OutboxEvent
from app.hooks import services

_queue: Any = None


async def shared_queue() -> Any:
    """A per-process queue for the fan-out (handlers run without a job context); None is fine:
    the hooks sweep enqueues from the database."""
    global _queue
    if _queue is None:
        from app.core.redis import connect_queue

        try:
            _queue = await connect_queue()
        except Exception:
            return None
    return _queue


async def fan_out(event: OutboxEvent) -> None:
    await services.fan_out(event, await shared_queue())
