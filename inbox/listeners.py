"""Reactions that reach open pages live: message changes for agents' inboxes, figure changes for dashboards."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from app.checkouts.models import Contact
from app.core import events
from app.core.logging import ctx
from app.core.outbox import OutboxEvent
from app.messaging.models import Message
from inbox import live, services
from inbox.models import Conversation

log = logging.getLogger(__name__)
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
    elif (held := _held.get()) is not None and contact is None:
        held.append(message)
    else:
        await services.announce_message(message, contact)


_held: ContextVar[list[Message] | None] = ContextVar("inbox_frames", default=None)


@asynccontextmanager
async def gathered_frames() -> AsyncIterator[None]:
    """Inside `events.batched()` (a batch of recovery sends), the messages' frames are published
    when the batch ends, their threads and contacts read once for all of them."""
    if _held.get() is not None:  # already gathering: the outer scope publishes them
        yield
        return
    held: list[Message] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        if held:
            try:
                await services.announce_messages(held)
            except Exception:  # like a listener's: logged; the pages still show the rows
                log.exception("live frames of a batch not published", extra=ctx(messages=len(held)))


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
