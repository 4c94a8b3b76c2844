"""The Store: every other row belongs to exactly one."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from app.core.fields import EncryptedTextField

if TYPE_CHECKING:
    from app.accounts.models import Agent
    from app.analytics.models import (
        OrderClaim,
        RollupDay,
        RollupHoldout,
        RollupProduct,
        RollupSend,
    )
    from app.checkouts.models import Checkout, ConsentEvent, Contact, Order
    from app.ingest.models import OrderSeen, RawEvent
    from app.messaging.models import Message
    from app.privacy.models import DataExport
    from app.recovery.models import Click, DiscountCode, Enrollment, Flow
    from app.visitors.models import Visitor
    from inbox.models import CannedReply, Conversation


class Platform(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"
    CUSTOM = "custom"
    MAGENTO = "magento"


class StoreStatus(StrEnum):
    ACTIVE = "active"
    UNINSTALLED = "uninstalled"


class Store(Model):
    id = fields.BigIntField(primary_key=True)
    platform = fields.CharEnumField(Platform, max_length=16)
    domain = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255)
    timezone = fields.CharField(max_length=64, default="UTC")
    currency = fields.CharField(max_length=3, default="USD")
    locale = fields.CharField(max_length=16, default="en_US")
    status = fields.CharEnumField(StoreStatus, max_length=16, default=StoreStatus.ACTIVE)
    abandon_after_seconds = fields.IntField(default=900)
    sms_number = fields.CharField(max_length=16, null=True, db_index=True)
    # Free-form settings that later domains own (quiet hours, caps, prices); validated where used.
    settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    allowed_origins: fields.JSONField[list[str]] = fields.JSONField(default=list)
    api_token_digest = fields.CharField(max_length=64, unique=True)
    publishable_key = fields.CharField(max_length=64, unique=True)
    webhook_secret = EncryptedTextField(null=True)
    # Platform credentials (Shopify access/refresh tokens, ...), encrypted as one JSON document.
    credentials = EncryptedTextField(null=True)
    # Bumped on every credentials write: a conditional update on it makes token rotation atomic.
    credentials_version = fields.IntField(default=0)
    installed_at = fields.DatetimeField(auto_now_add=True)
    uninstalled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    # Reverse sides of the foreign keys that point here (declared for the type checker only).
    contacts: fields.ReverseRelation[Contact]
    checkouts: fields.ReverseRelation[Checkout]
    orders: fields.ReverseRelation[Order]
    consent_events: fields.ReverseRelation[ConsentEvent]
    raw_events: fields.ReverseRelation[RawEvent]
    orders_seen: fields.ReverseRelation[OrderSeen]
    messages: fields.ReverseRelation[Message]
    agents: fields.ReverseRelation[Agent]
    flows: fields.ReverseRelation[Flow]
    enrollments: fields.ReverseRelation[Enrollment]
    clicks: fields.ReverseRelation[Click]
    discount_codes: fields.ReverseRelation[DiscountCode]
    rollup_days: fields.ReverseRelation[RollupDay]
    rollup_sends: fields.ReverseRelation[RollupSend]
    rollup_products: fields.ReverseRelation[RollupProduct]
    rollup_holdouts: fields.ReverseRelation[RollupHoldout]
    order_claims: fields.ReverseRelation[OrderClaim]
    conversations: fields.ReverseRelation[Conversation]
    canned_replies: fields.ReverseRelation[CannedReply]
    visitors: fields.ReverseRelation[Visitor]
    data_exports: fields.ReverseRelation[DataExport]

    class Meta:
        table = "store"
        unique_together = (("platform", "domain"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.platform}:{self.domain})"

    @property
    def is_active(self) -> bool:
        return self.status == StoreStatus.ACTIVE

    def origins(self) -> set[str]:
        """Browser origins allowed to post capture events for this store."""
        base = {f"https://{self.domain}", f"http://{self.domain}"}
        return base | {o.rstrip("/") for o in self.allowed_origins or []}
