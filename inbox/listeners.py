"""Reactions to app notifications: message changes (sent, delivered, received) reach agents' websockets."""

from __future__ import annotations

from app.checkouts.models import Contact
from app.messaging.models import Message
from inbox import live, services
from inbox.models import Conversation


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
