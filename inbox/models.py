"""Conversations, per-agent read markers and canned replies; messages themselves live in app.messaging."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.accounts.models import Agent
    from app.checkouts.models import Checkout, Contact
    from app.stores.models import Store


class ConversationStatus(StrEnum):
    OPEN = "open"
    SNOOZED = "snoozed"
    CLOSED = "closed"


class Conversation(Model):
    """One thread between a store and a contact. At most one is not closed per contact."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="conversations", on_delete=fields.CASCADE
    )
    store_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="conversations", on_delete=fields.CASCADE
    )
    contact_id: int
    checkout: fields.ForeignKeyNullableRelation[Checkout] = fields.ForeignKeyField(
        "core.Checkout", related_name="conversations", null=True, on_delete=fields.SET_NULL
    )
    checkout_id: int | None
    status = fields.CharEnumField(ConversationStatus, max_length=16, default="open")
    snoozed_until = fields.DatetimeField(null=True)
    assignee: fields.ForeignKeyNullableRelation[Agent] = fields.ForeignKeyField(
        "accounts.Agent", related_name="conversations", null=True, on_delete=fields.SET_NULL
    )
    assignee_id: int | None
    assigned_at = fields.DatetimeField(null=True)
    started_by = fields.CharField(max_length=16, default="shopper", description="shopper or agent")
    inbound_count = fields.IntField(default=0, description="shopper messages, for unread counts")
    waiting_since = fields.DatetimeField(
        null=True, description="FIFO order of the unassigned queue"
    )
    last_message_at = fields.DatetimeField(null=True)
    last_message_preview = fields.CharField(max_length=160, default="")
    last_message_id = fields.BigIntField(default=0)
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    # First-response clock of the current opening (app/messaging/response_time.py defines it).
    response_started_at = fields.DatetimeField(
        null=True, description="first unanswered shopper message of this opening"
    )
    response_channel = fields.CharField(max_length=16, null=True)
    response_due_at = fields.DatetimeField(null=True, description="start + the store's target")
    responded_at = fields.DatetimeField(null=True, description="first agent reply after it")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    read_markers: fields.ReverseRelation[ReadMarker]

    class Meta:
        table = "inbox_conversation"
        indexes = (
            ("store_id", "status", "last_message_at"),
            ("store_id", "contact_id", "status"),
            ("store_id", "assignee_id", "status"),
        )


class ReadMarker(Model):
    """How many shopper messages an agent has seen in a conversation: unread = inbound_count - seen."""

    id = fields.BigIntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "inbox.Conversation", related_name="read_markers", on_delete=fields.CASCADE
    )
    conversation_id: int
    agent: fields.ForeignKeyRelation[Agent] = fields.ForeignKeyField(
        "accounts.Agent", related_name="read_markers", on_delete=fields.CASCADE
    )
    agent_id: int
    seen_inbound = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "inbox_read_marker"
        unique_together = (("conversation", "agent"),)


class CannedReply(Model):
    """A saved answer with merge fields such as {{ first_name }} and {{ cart_link }}."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="canned_replies", on_delete=fields.CASCADE
    )
    store_id: int
    title = fields.CharField(max_length=80)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbox_canned_reply"
        unique_together = (("store", "title"),)


# --- Live chat (issue 16 point 3) -------------------------------------------------------------


class ChatVisitor(Model):
    """One browser's chat on the store's site, known by the key its signed visitor token carries.

    The contact is set by the first message (a new anonymous contact), by the shopper giving an
    email or phone, by the snippet's identified visitor, or by a chat link from an email; the
    visitor's own messages (`from_address`/`to_address` = `key`) are all the widget ever shows."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="chat_visitors", on_delete=fields.CASCADE
    )
    store_id: int
    key = fields.CharField(max_length=32, unique=True, description="random, 128 bits, hex")
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="chat_visitors", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    continue_by = fields.CharField(
        max_length=8, null=True, description="sms or email: how the shopper asked to be answered"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_chat_visitor"
        indexes = (("store_id", "contact_id"),)


class ChatInvitation(Model):
    """An exit-intent invitation to chat shown on a checkout page (issue 16 point 5): at most one
    per browser session (`session_key`), accepted or not, counted against the checkout's outcome."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="chat_invitations", on_delete=fields.CASCADE
    )
    store_id: int
    session_key = fields.CharField(max_length=32, description="random per browser tab session")
    checkout_token = fields.CharField(max_length=128, null=True, description="the snippet's id")
    trigger = fields.CharField(max_length=16, description="pointer_left, tab_hidden or back")
    shown_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_chat_invitation"
        unique_together = (("store", "session_key"),)
        indexes = (("store_id", "shown_at"),)


class FirstResponse(Model):
    """One answered first response (one per opening of a thread), for the dashboard's figures."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="first_responses", on_delete=fields.CASCADE
    )
    store_id: int
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "inbox.Conversation", related_name="first_responses", on_delete=fields.CASCADE
    )
    conversation_id: int
    channel = fields.CharField(max_length=16, description="where the shopper wrote first")
    asked_at = fields.DatetimeField()
    answered_at = fields.DatetimeField()
    seconds = fields.IntField()
    target_seconds = fields.IntField(description="the store's target when the clock started")
    agent_id = fields.BigIntField(null=True)

    class Meta:
        table = "inbox_first_response"
        unique_together = (("conversation", "asked_at"),)
        indexes = (("store_id", "asked_at"),)
