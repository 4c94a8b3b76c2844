"""Inbox jobs: wake snoozed conversations when their time comes."""

from __future__ import annotations

from typing import Any

from app.core.timeutil import utcnow
from inbox import services


async def wake_snoozed(ctx: dict[str, Any]) -> int:
    """Runs every minute: a snooze that nobody ends by hand still ends on time."""
    return await services.wake_snoozed(utcnow())
