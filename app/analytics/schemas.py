"""Shapes of the stats API (and of what the dashboard renders): one struct per table on the page."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import msgspec


class Period(msgspec.Struct):
    start: date
    end: date
    """Inclusive, in the store's time zone."""
    timezone: str
    channel: str | None


class Funnel(msgspec.Struct):
    abandoned: int
    reachable: int
    """Has an email or phone we may message: consent given and not opted out."""
    enrolled: int
    holdout: int
    messaged: int
    """Checkouts that received at least one recovery message."""
    clicked: int
    recovered: int
    recovery_rate: float | None
    """Recovered orders per abandoned checkout messaged."""


class Model(msgspec.Struct):
    orders: int
    revenue: Decimal


class AttributionOut(msgspec.Struct):
    currency: str
    total: Model
    recovered: Model
    click: Model
    message: Model
    discount: Model
    excluded_orders: int
    unconverted_orders: int
    windows_hours: dict[str, int]


class Money(msgspec.Struct):
    currency: str
    revenue: Decimal
    cost: Decimal
    sms_cost: Decimal
    email_cost: Decimal
    roi: Decimal | None


class StepRow(msgspec.Struct):
    step: int
    channel: str
    sent: int
    delivered: int
    failed: int
    segments: int
    clicks: int
    conversions: int
    revenue: Decimal


class ChannelRow(msgspec.Struct):
    channel: str
    sent: int
    delivered: int
    failed: int
    segments: int
    clicks: int
    replies: int


class VariantRow(msgspec.Struct):
    flow_id: int | None
    """Variants are compared within one step of one flow (None: a deleted flow's)."""
    step: int
    channel: str
    variant: str
    sent: int
    conversions: int
    rate: float
    z: float | None
    p_value: float | None
    enough: bool
    winner: bool


class HoldoutOut(msgspec.Struct):
    messaged_size: int
    messaged_conversions: int
    messaged_rate: float | None
    holdout_size: int
    holdout_conversions: int
    holdout_rate: float | None
    difference: float | None
    low: float | None
    high: float | None
    confidence: float
    incremental_orders: Decimal | None
    incremental_revenue: Decimal | None
    significant: bool


class TrendRow(msgspec.Struct):
    day: date
    abandoned: int
    messages: int
    recovered: int
    revenue: Decimal


class ProductRow(msgspec.Struct):
    title: str
    abandoned: int
    """Abandoned checkouts containing the product."""
    quantity: int
    value: Decimal
    """In the store's currency, converted with platform rates; unconvertible carts left out."""


class TimeToRecovery(msgspec.Struct):
    count: int
    median_hours: float | None
    p90_hours: float | None


class Conversations(msgspec.Struct):
    conversations: int
    shopper_replies: int
    agent_replies: int
    answered: int
    """Conversations with at least one agent reply."""
    converted: int
    """Conversations whose shopper's checkout was then ordered."""


class FlowModels(msgspec.Struct):
    """Orders each model credits to this flow (or step): the latest of its touches before the order."""

    recovered: Model
    click: Model
    message: Model


class FlowStepResult(msgspec.Struct):
    step: int
    channel: str
    entered: int
    """Sequences that reached the step: a send was attempted (failed ones included)."""
    sent: int
    """Handed to the provider (entered minus failed)."""
    delivered: int
    failed: int
    clicked: int
    """Messages of the step with at least one link click."""
    replied: int
    """Recipients who wrote back before their next automated message."""
    ordered: int
    """Orders credited by the message model (delivered, then ordered within its window)."""
    revenue: Decimal
    attribution: FlowModels


class FlowResult(msgspec.Struct):
    flow_id: int | None
    """None: sends of flows since deleted."""
    name: str
    trigger: str
    currency: str
    entered: int
    """Enrollments that entered the flow in the period, the holdout group included."""
    holdout: int
    sent: int
    delivered: int
    failed: int
    clicked: int
    replied: int
    ordered: int
    revenue: Decimal
    attribution: FlowModels
    holdout_lift: HoldoutOut
    steps: list[FlowStepResult]
    variants: list[VariantRow]


class StatsOut(msgspec.Struct):
    period: Period
    funnel: Funnel
    attribution: AttributionOut
    money: Money
    channels: list[ChannelRow]
    steps: list[StepRow]
    variants: list[VariantRow]
    holdout: HoldoutOut
    daily: list[TrendRow]
    weekly: list[TrendRow]
    top_products: list[ProductRow]
    time_to_recovery: TimeToRecovery
    conversations: Conversations
    flows: list[FlowResult] = msgspec.field(default_factory=list)
    """Per flow and step; with `flow=ID`, that flow only."""


class RecipientRow(msgspec.Struct):
    message_id: int
    step: int | None
    channel: str
    variant: str | None
    name: str | None
    to: str
    """The address the message went to (email or phone)."""
    status: str
    sent_at: datetime | None
    delivered_at: datetime | None
    clicked: bool
    ordered: int
    """Counted orders of this shopper after the send, within its channel's message window."""
    revenue: Decimal
    currency: str


class RecipientsPage(msgspec.Struct):
    flow_id: int
    period: Period
    step: int | None
    recipients: list[RecipientRow]
    next_cursor: str | None
    """Pass as `cursor` for the next page; null on the last page."""
