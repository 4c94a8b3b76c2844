"""Reactions that reach open pages live: message changes for agents' inboxes, figure changes for dashboards."""

from __future__ import annotations

from app.checkouts.models import Contact
from app.core import events
from app.core.outbox import OutboxEvent
from app.messaging.models import Message
from inbox import live, services
from inbox.models import Conversation

STATS_FRAME = "stats"


async def message_changed(
    message: Message, conversation: Conversation | None = None, contact: Contact | None = None
) -> None:
    """Recovery sends, status webhooks, replies and inbound texts all land here, in any process.

    An inbound text comes with the thread and contact its transaction just wrote: the frame is
    built from those rows, with no second read on the path Twilio waits on.
    """
    if conversation is not None and contact is not None:
        frame = services.message_frame(message, conversation, contact)
        await live.publish(message.store_id, frame)
    else:
        await services.announce_message(message, contact)


# Outbox events after which the dashboard's tiles and trend read differently.
STATS_EVENTS = (
    events.CHECKOUT_ABANDONED,
    events.CHECKOUT_COMPLETED,
    events.CHECKOUT_RECOVERED,
    events.ORDER_RECORDED,
)


async def stats_changed(event: OutboxEvent) -> None:
    """Tell the store's open dashboards to re-read their figures: a tiny frame, no figures in it
    (those stay behind the page's own auth and filters), sent after analytics marked the day."""
    await live.publish(event.store_id, {"type": STATS_FRAME, "event": event.name})
