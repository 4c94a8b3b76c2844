"""Agent: one login, belonging to one store, with a role that decides what pages it may open."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.stores.models import Store
    from inbox.models import Conversation, ReadMarker


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    AGENT = "agent"


MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


class Agent(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="agents", on_delete=fields.CASCADE
    )
    store_id: int
    email = fields.CharField(max_length=320, unique=True)
    name = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.AGENT)
    password_hash = fields.CharField(max_length=255, null=True)
    active = fields.BooleanField(default=True)
    invite_digest = fields.CharField(max_length=64, null=True, unique=True)
    invited_at = fields.DatetimeField(null=True)
    max_open_conversations = fields.IntField(default=25)
    last_login_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    conversations: fields.ReverseRelation[Conversation]
    read_markers: fields.ReverseRelation[ReadMarker]

    class Meta:
        table = "agent"

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGERS
