"""Reactions to app notifications: delivery-state changes fan out to the agents' websockets."""

from __future__ import annotations

from app.core import events
from app.messaging.models import Message
from inbox import services


@events.listen(events.MESSAGE_CHANGED)
async def message_changed(message: Message) -> None:
    """Recovery's status webhook and our own sends both land here, whichever process they run in."""
    await services.announce_message(message)
