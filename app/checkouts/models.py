"""Canonical Contact, Checkout and Order rows; nothing here knows which platform a row came from."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from app.core.fields import MONEY

if TYPE_CHECKING:
    from app.messaging.models import Message
    from app.recovery.models import Click, DiscountCode, Enrollment
    from app.stores.models import Store
    from app.visitors.models import Visitor
    from inbox.models import Conversation


class CheckoutStatus(StrEnum):
    OPEN = "open"
    ABANDONED = "abandoned"
    RECOVERED = "recovered"
    COMPLETED = "completed"
    EXPIRED = "expired"


TERMINAL = frozenset({CheckoutStatus.RECOVERED, CheckoutStatus.COMPLETED, CheckoutStatus.EXPIRED})


class Contact(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="contacts", on_delete=fields.CASCADE
    )
    store_id: int
    email = fields.CharField(max_length=320, null=True)
    phone = fields.CharField(max_length=16, null=True, description="E.164")
    phone_invalid_reason = fields.CharField(max_length=255, null=True)
    first_name = fields.CharField(max_length=255, null=True)
    last_name = fields.CharField(max_length=255, null=True)
    locale = fields.CharField(max_length=16, null=True)
    timezone = fields.CharField(max_length=64, null=True)
    country = fields.CharField(max_length=2, null=True)
    region = fields.CharField(max_length=16, null=True, description="state or province code")
    external_id = fields.CharField(max_length=64, null=True)
    email_consent = fields.BooleanField(default=False)
    email_consent_source = fields.CharField(max_length=64, null=True)
    email_consent_at = fields.DatetimeField(null=True)
    sms_consent = fields.BooleanField(default=False)
    sms_consent_source = fields.CharField(max_length=64, null=True)
    sms_consent_at = fields.DatetimeField(null=True)
    email_opted_out_at = fields.DatetimeField(null=True)
    sms_opted_out_at = fields.DatetimeField(null=True)
    sms_held_at = fields.DatetimeField(
        null=True, description="automated texts held: a reply may be an opt-out, an agent decides"
    )
    email_undeliverable_at = fields.DatetimeField(null=True)
    sms_undeliverable_at = fields.DatetimeField(null=True)
    tags: fields.JSONField[list[str]] = fields.JSONField(
        default=list,
        description="normalised (app/recovery/segments/rules.py), mirrored in contact_tag",
    )
    birthday = fields.DateField(
        null=True, description="year 1904 when only day and month are known"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    history: fields.BackwardOneToOneRelation[ContactHistory]
    checkouts: fields.ReverseRelation[Checkout]
    orders: fields.ReverseRelation[Order]
    consent_events: fields.ReverseRelation[ConsentEvent]
    messages: fields.ReverseRelation[Message]
    enrollments: fields.ReverseRelation[Enrollment]
    conversations: fields.ReverseRelation[Conversation]
    visitors: fields.ReverseRelation[Visitor]
    tag_rows: fields.ReverseRelation[ContactTag]

    class Meta:
        table = "contact"
        unique_together = (("store", "email"), ("store", "phone"))

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class Checkout(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="checkouts", on_delete=fields.CASCADE
    )
    store_id: int
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="checkouts", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    platform = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128, null=True)
    token = fields.CharField(max_length=128)
    cart_token = fields.CharField(max_length=128, null=True, db_index=True)
    visitor_id = fields.CharField(max_length=128, null=True, db_index=True)
    email = fields.CharField(max_length=320, null=True)
    phone = fields.CharField(max_length=16, null=True)
    phone_invalid_reason = fields.CharField(max_length=255, null=True)
    line_items: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    currency = fields.CharField(max_length=3, default="USD")
    subtotal = fields.DecimalField(**MONEY, default=0)
    total_discounts = fields.DecimalField(**MONEY, default=0)
    total_shipping = fields.DecimalField(**MONEY, default=0)
    total_tax = fields.DecimalField(**MONEY, default=0)
    total = fields.DecimalField(**MONEY, default=0)
    discount_codes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    recovery_url = fields.CharField(max_length=2048, null=True)
    device = fields.CharField(max_length=16, default="unknown")
    locale = fields.CharField(max_length=16, null=True)
    address: fields.JSONField[dict[str, Any] | None] = fields.JSONField(
        null=True, description="shipping or billing address, for time zone and country"
    )
    status = fields.CharEnumField(CheckoutStatus, max_length=16, default=CheckoutStatus.OPEN)
    source_created_at = fields.DatetimeField(null=True)
    source_updated_at = fields.DatetimeField(null=True)
    last_activity_at = fields.DatetimeField()
    superseded_by_id = fields.BigIntField(
        null=True,
        db_index=True,
        description="the same shopper's newer cart (another device) that is followed up instead",
    )
    abandon_due_at = fields.DatetimeField(null=True, db_index=True)
    abandoned_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    expired_at = fields.DatetimeField(null=True)
    recovery_contacted_at = fields.DatetimeField(
        null=True, description="first recovery message sent, which decides recovered vs completed"
    )
    order_external_id = fields.CharField(max_length=128, null=True)
    exited_at = fields.DatetimeField(
        null=True, description="the shopper last left the checkout page (pagehide, pixel)"
    )
    recovery_score = fields.DecimalField(
        max_digits=5, decimal_places=4, null=True, description="likelihood of recovery, 0 to 1"
    )
    expected_value = fields.DecimalField(
        **MONEY, null=True, description="recovery_score times the total, in the checkout's currency"
    )
    score_source = fields.CharField(max_length=8, null=True, description="model | prior")
    scored_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    orders: fields.ReverseRelation[Order]
    messages: fields.ReverseRelation[Message]
    enrollment: fields.BackwardOneToOneRelation[Enrollment]
    clicks: fields.ReverseRelation[Click]
    discount_codes_issued: fields.ReverseRelation[DiscountCode]
    conversations: fields.ReverseRelation[Conversation]

    class Meta:
        table = "checkout"
        unique_together = (("store", "token"),)
        # contact_id: abandonment counts and order matching by contact.
        indexes = (("store_id", "status", "last_activity_at"), ("contact_id", "abandoned_at"))

    @property
    def reachable(self) -> bool:
        return bool(self.email or self.phone)


class Order(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="orders", on_delete=fields.CASCADE
    )
    store_id: int
    checkout: fields.ForeignKeyNullableRelation[Checkout] = fields.ForeignKeyField(
        "core.Checkout", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    checkout_id: int | None
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="orders", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    external_id = fields.CharField(max_length=128)
    checkout_token = fields.CharField(max_length=128, null=True, db_index=True)
    cart_token = fields.CharField(max_length=128, null=True)
    email = fields.CharField(max_length=320, null=True)
    phone = fields.CharField(max_length=16, null=True)
    currency = fields.CharField(max_length=3)
    total = fields.DecimalField(**MONEY)
    presentment_currency = fields.CharField(max_length=3, null=True)
    presentment_total = fields.DecimalField(**MONEY, null=True)
    discount_codes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    financial_status = fields.CharField(max_length=32, null=True)
    placed = fields.BooleanField(default=True, description="false for unpaid, failed or cancelled")
    placed_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "order"
        unique_together = (("store", "external_id"),)
        # Every send asks "did this contact order since the abandonment?"; stats read by day.
        indexes = (("contact_id", "placed_at"), ("checkout_id",), ("store_id", "placed_at"))


class ContactHistory(Model):
    """What a contact has bought so far, derived from their orders (`app/checkouts/history.py`).

    Rebuilt from the order rows on every order event, never incremented, so a replayed event
    changes nothing. The `*_at` columns are indexed per store: the time-based triggers ask for
    "who is due today" with a range over them instead of reading every contact.
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="contact_histories", on_delete=fields.CASCADE
    )
    store_id: int
    contact: fields.OneToOneRelation[Contact] = fields.OneToOneField(
        "core.Contact", related_name="history", on_delete=fields.CASCADE
    )
    contact_id: int
    orders_count = fields.IntField(default=0, description="confirmed orders")
    total_spent = fields.DecimalField(**MONEY, default=0)
    currency = fields.CharField(max_length=3, description="the store's currency")
    first_order_at = fields.DatetimeField(null=True)
    last_order_at = fields.DatetimeField(null=True)
    birthday = fields.DateField(
        null=True, description="year 1904 when only day and month are known"
    )
    birthday_due_at = fields.DatetimeField(
        null=True, description="the next birthday's 09:00 in the shopper's zone, in UTC"
    )
    subscribed = fields.BooleanField(default=False, description="email or SMS marketing consent")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contact_history"
        indexes = (
            ("store_id", "last_order_at"),
            ("store_id", "first_order_at"),
            ("store_id", "birthday_due_at"),
            ("store_id", "total_spent"),  # RFM monetary quintiles, segment spend ranges
            ("store_id", "orders_count"),
        )


class ContactTag(Model):
    """One normalised tag of a contact, a row each, so segment counts use the (store, tag) index.

    `Contact.tags` holds the same list (the send path reads it with the locked contact)."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="contact_tags", on_delete=fields.CASCADE
    )
    store_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="tag_rows", on_delete=fields.CASCADE
    )
    contact_id: int
    tag = fields.CharField(max_length=64)

    class Meta:
        table = "contact_tag"
        unique_together = (("contact", "tag"),)
        indexes = (("store_id", "tag"),)


class ConsentEvent(Model):
    """An auditable consent change: who, when, through what, and the words that caused it."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="consent_events", on_delete=fields.CASCADE
    )
    store_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="consent_events", on_delete=fields.CASCADE
    )
    contact_id: int
    channel = fields.CharField(max_length=8)
    action = fields.CharField(max_length=16, description="opt_in | opt_out | help")
    source = fields.CharField(max_length=64)
    actor = fields.CharField(max_length=128, null=True)
    message = fields.TextField(null=True)
    occurred_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consent_event"
