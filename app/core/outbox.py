"""Transactional outbox: domain events written in the same transaction as the state change they announce."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class OutboxEvent(Model):
    """A domain event awaiting (or done with) dispatch. The row, not Redis, guarantees delivery."""

    id = fields.BigIntField(primary_key=True)
    store_id = fields.BigIntField(db_index=True)
    name = fields.CharField(max_length=64)
    subject_id = fields.BigIntField()
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    dispatched_at = fields.DatetimeField(null=True, db_index=True)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    dedupe_key = fields.CharField(
        max_length=160, unique=True, description="name:subject[:qualifier]"
    )

    class Meta:
        table = "outbox_event"
