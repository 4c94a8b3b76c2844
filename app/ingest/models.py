"""RawEvent: the durable record of each accepted delivery, replayable with `followup reprocess`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.stores.models import Store


class Source(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    PLUGIN = "plugin"
    COLLECT = "collect"
    MAGENTO = "magento"


class RawStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class RawEvent(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="raw_events", on_delete=fields.CASCADE
    )
    store_id: int
    source = fields.CharEnumField(Source, max_length=16)
    topic = fields.CharField(max_length=64)
    delivery_id = fields.CharField(max_length=128)
    event_id = fields.CharField(max_length=128, null=True)
    fingerprint = fields.CharField(
        max_length=64,
        null=True,
        description="sha256 of the signed content: a resend under a new delivery id is a replay",
    )
    triggered_at = fields.DatetimeField(null=True)
    headers: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    body = fields.TextField()
    status = fields.CharEnumField(RawStatus, max_length=16, default=RawStatus.PENDING)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    received_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    locked_until = fields.DatetimeField(
        null=True, description="claimed by a draining worker until then"
    )
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "raw_event"
        # A delivery is one row by its delivery id, by the content its sender signed, and by the
        # platform's own event id (Shopify delivers one event once per subscription).
        unique_together = (
            ("store", "source", "delivery_id"),
            ("store", "source", "fingerprint"),
            ("store", "source", "topic", "event_id"),
        )
        indexes = (("status", "received_at"),)


class OrderSeen(Model):
    """An order or payment acknowledged at capture, before the worker has processed it.

    Written in the same statement as its raw event, so a send's last check can stop for an order
    that is still waiting in the queue. Once processed, the Order row says the same thing."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="orders_seen", on_delete=fields.CASCADE
    )
    store_id: int
    raw_event_id = fields.BigIntField(null=True)
    checkout_token = fields.CharField(max_length=128, null=True)
    cart_token = fields.CharField(max_length=128, null=True)
    email_digest = fields.CharField(max_length=64, null=True, description="SHA-256, no PII kept")
    phone_digest = fields.CharField(max_length=64, null=True, description="SHA-256 of the E.164")
    seen_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "order_seen"
        indexes = (
            ("store_id", "checkout_token"),
            ("store_id", "cart_token"),
            ("store_id", "email_digest"),
            ("store_id", "phone_digest"),
        )
