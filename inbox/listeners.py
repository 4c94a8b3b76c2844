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
    elif contact is not None or not _FRAMES.hold(message):
        await services.announce_message(message, contact)


# Inside `events.batched()` (a batch of recovery sends), the frames are published when it ends,
# their threads and contacts read once for all of them.
_FRAMES = events.Gathering("live frames", services.announce_messages)
gathered_frames = _FRAMES.scope


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
