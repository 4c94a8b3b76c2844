"""Visitor identity: which contact an anonymous visitor id or a signed-in user id stands for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.checkouts.models import Contact
    from app.stores.models import Store

KEY_LENGTH = 136  # "a:" or "u:" and an id of at most 128 characters


class Visitor(Model):
    """One id a source uses for a shopper: `a:<anonymousId>` (a browser) or `u:<userId>` (an
    account). An anonymous id that signed in points at its user id, so every device of that
    user resolves to the user's contact."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="visitors", on_delete=fields.CASCADE
    )
    store_id: int
    key = fields.CharField(max_length=KEY_LENGTH)
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="visitors", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    user_key = fields.CharField(
        max_length=KEY_LENGTH, null=True, description="the u:<userId> this id signed in as"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "visitor"
        unique_together = (("store", "key"),)
        indexes = (("store_id", "user_key"),)
