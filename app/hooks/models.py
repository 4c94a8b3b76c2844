"""Outbound webhook subscriptions, their durable deliveries and each attempt's log line."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from app.core.fields import EncryptedTextField


class SubscriptionSource(StrEnum):
    REST = "rest"  # created through POST /api/v1/hooks (Zapier, Pabbly Connect)
    SETTINGS = "settings"  # added by a person on the settings page


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    DELIVERED = "delivered"  # a 2xx came back
    FAILED = "failed"  # out of attempts, refused target, or the subscription was disabled


class HookSubscription(Model):
    """One target URL listening to one or more events of one store, with its own signing secret."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "core.Store", related_name="hook_subscriptions", on_delete=fields.CASCADE
    )
    store_id: int
    target_url = fields.CharField(max_length=2048)
    events: fields.JSONField[list[str]] = fields.JSONField(
        default=list, description="webhook event names it receives"
    )
    secret = EncryptedTextField(description="whsec_... signing secret")
    source = fields.CharEnumField(SubscriptionSource, max_length=16)
    active = fields.BooleanField(default=True)
    consecutive_failures = fields.IntField(default=0)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "hook_subscription"
        indexes = (("store_id", "active"),)


class HookDelivery(Model):
    """One event for one subscription. The row, not Redis, says it is due, and its webhook id
    never changes, so every retry (and a send again) carries the same idempotency key."""

    id = fields.BigIntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[HookSubscription] = fields.ForeignKeyField(
        "hooks.HookSubscription", related_name="deliveries", on_delete=fields.CASCADE
    )
    subscription_id: int
    store_id = fields.BigIntField()
    event_id = fields.BigIntField(description="the outbox event it announces")
    event = fields.CharField(max_length=64)
    webhook_id = fields.CharField(max_length=64, unique=True)
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    state = fields.CharEnumField(DeliveryState, max_length=16, default=DeliveryState.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    locked_until = fields.DatetimeField(null=True)
    claim = fields.CharField(
        max_length=16, null=True, description="token of the attempt holding it"
    )
    last_status = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    last_duration_ms = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "hook_delivery"
        unique_together = (("subscription", "event_id", "event"),)
        # created_at: the sweep deletes finished deliveries past their retention, oldest first.
        indexes = (
            ("state", "next_attempt_at"),
            ("store_id", "event", "created_at"),
            ("created_at",),
        )


class HookAttempt(Model):
    """One HTTP attempt, for the delivery log: when, how long, what came back."""

    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[HookDelivery] = fields.ForeignKeyField(
        "hooks.HookDelivery", related_name="attempt_log", on_delete=fields.CASCADE
    )
    delivery_id: int
    at = fields.DatetimeField()
    status = fields.IntField(null=True)
    duration_ms = fields.IntField()
    error = fields.CharField(max_length=500, null=True)
    response = fields.TextField(null=True, description="the start of the receiver's answer")

    class Meta:
        table = "hook_attempt"
