"""Message: one SMS, email or chat message, automated or human, in either direction, with its delivery state."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.checkouts.models import Checkout, Contact
    from app.recovery.models import Click
    from app.stores.models import Store


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"  # the store's live chat: to/from_address hold the chat visitor's key


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Author(StrEnum):
    AUTOMATION = "automation"
    AGENT = "agent"
    SHOPPER = "shopper"
    SYSTEM = "system"
    NOTE = "note"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # recorded, provider not yet called
    SENDING = (
        "sending"  # provider call in flight; after a crash this is "unknown", never resent blindly
    )
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    RECEIVED = "received"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


class Message(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="messages", on_delete=fields.CASCADE
    )
    store_id: int
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    checkout: fields.ForeignKeyNullableRelation[Checkout] = fields.ForeignKeyField(
        "core.Checkout", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    checkout_id: int | None
    conversation_id = fields.BigIntField(null=True, db_index=True)
    enrollment_id = fields.BigIntField(null=True, db_index=True)
    step_index = fields.IntField(null=True)
    variant = fields.CharField(max_length=32, null=True)
    channel = fields.CharEnumField(Channel, max_length=8)
    direction = fields.CharEnumField(Direction, max_length=8)
    author = fields.CharEnumField(Author, max_length=16)
    agent_id = fields.BigIntField(null=True)
    to_address = fields.CharField(max_length=320)
    from_address = fields.CharField(max_length=320, null=True)
    subject = fields.CharField(max_length=998, null=True)
    body = fields.TextField()
    html = fields.TextField(null=True)
    media_urls: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # Email only: From, Reply-To, Message-ID, In-Reply-To, References as sent or received.
    email_headers: fields.JSONField[dict[str, str]] = fields.JSONField(null=True)
    # Inbound email attachments, metadata only: [{"filename", "content_type", "size"}].
    attachments: fields.JSONField[list[dict[str, object]]] = fields.JSONField(default=list)
    segments = fields.IntField(default=0)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    provider = fields.CharField(max_length=16, null=True)
    provider_id = fields.CharField(max_length=128, null=True, db_index=True)
    error_code = fields.CharField(max_length=32, null=True)
    error_message = fields.TextField(null=True)
    # Unique per logical send ("enrollment:12:step:3"): the database refuses a second copy.
    idempotency_key = fields.CharField(max_length=128, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    clicks: fields.ReverseRelation[Click]

    class Meta:
        table = "message"
        # checkout_id: the carrier rule and the rollup marks read a checkout's sends on every send.
        indexes = (
            ("store_id", "created_at"),
            ("store_id", "contact_id", "created_at"),
            ("checkout_id", "created_at"),
        )
