"""Recovery tables: flows and their steps, enrollments (one per entry: a checkout, an order, a
contact's period), clicks and discount codes."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.checkouts.models import Checkout, Contact, Order
    from app.messaging.models import Message
    from app.stores.models import Store


class StepChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    AUTO = "auto"  # resolved to sms or email right before sending (rules.resolve)


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    HOLDOUT = "holdout"


class DiscountKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED_AMOUNT = "fixed_amount"
    FREE_SHIPPING = "free_shipping"
    STATIC = "static"
    POOL = "pool"


class Flow(Model):
    """A store's recovery playbook: ordered steps, each delayed from the moment of abandonment."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="flows", on_delete=fields.CASCADE
    )
    store_id: int
    name = fields.CharField(max_length=255)
    enabled = fields.BooleanField(default=True)
    trigger = fields.CharField(
        max_length=48,
        default="checkout.abandoned",
        description="a name from app/recovery/triggers.py",
    )
    trigger_params: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    transactional = fields.BooleanField(
        default=False, description="outside the per-contact frequency budget (payment reminders)"
    )
    holdout_percent = fields.DecimalField(max_digits=5, decimal_places=2, default=0)
    due_through = fields.DatetimeField(
        null=True,
        description="timed triggers: the worker's pass has enrolled what fell due up to here",
    )
    auto_promote = fields.BooleanField(
        default=False, description="the worker promotes A/B winners (app/analytics/promotion.py)"
    )
    sold_out = fields.CharField(
        max_length=8,
        default="omit",
        description="a line sold out at send time: omit it, or skip the step (app/recovery/fresh.py)",
    )
    seasons: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(
        default=list,
        description="date-ranged overrides in the store's zone (app/recovery/seasons.py)",
    )
    segment: fields.ForeignKeyNullableRelation[Segment] = fields.ForeignKeyField(
        "recovery.Segment",
        related_name="flows",
        null=True,
        on_delete=fields.NO_ACTION,
        description="entry condition: checked at the first step, under the send claim",
    )
    segment_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    steps: fields.ReverseRelation[FlowStep]
    enrollments: fields.ReverseRelation[Enrollment]

    class Meta:
        table = "recovery_flow"


class Segment(Model):
    """A saved, named set of conditions on a store's contacts (app/recovery/segments/rules.py)."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="segments", on_delete=fields.CASCADE
    )
    store_id: int
    name = fields.CharField(max_length=120)
    conditions: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    flows: fields.ReverseRelation[Flow]
    steps: fields.ReverseRelation[FlowStep]

    class Meta:
        table = "recovery_segment"
        unique_together = (("store", "name"),)


class RfmCutoffs(Model):
    """A store's RFM thresholds from its own buyers, recomputed daily by the worker."""

    id = fields.BigIntField(primary_key=True)
    store: fields.OneToOneRelation[Store] = fields.OneToOneField(
        "core.Store", related_name="rfm_cutoffs", on_delete=fields.CASCADE
    )
    store_id: int
    recency_days: fields.JSONField[list[int]] = fields.JSONField(
        description="most whole days since the last order that still score 5, 4, 3, 2"
    )
    monetary: fields.JSONField[list[str]] = fields.JSONField(
        description="least spend (decimal strings) that scores 2, 3, 4, 5"
    )
    currency = fields.CharField(max_length=3, null=True, description="null: the defaults")
    buyers = fields.IntField(default=0)
    computed_at = fields.DatetimeField()

    class Meta:
        table = "recovery_rfm_cutoffs"


class FlowStep(Model):
    # Not a column: the season a step copy was adjusted for (`app.recovery.seasons.adjust`).
    season_name: str | None = None

    id = fields.BigIntField(primary_key=True)
    flow: fields.ForeignKeyRelation[Flow] = fields.ForeignKeyField(
        "recovery.Flow", related_name="steps", on_delete=fields.CASCADE
    )
    flow_id: int
    position = fields.IntField()
    channel = fields.CharEnumField(StepChannel, max_length=8)
    delay_seconds = fields.IntField(description="after abandonment")
    conditions: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    incentive: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    segment: fields.ForeignKeyNullableRelation[Segment] = fields.ForeignKeyField(
        "recovery.Segment",
        related_name="steps",
        null=True,
        on_delete=fields.NO_ACTION,
        description="the step is skipped for contacts outside this segment",
    )
    segment_id: int | None
    variants: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(
        default=list, description="list of key, weight, subject, body, html"
    )
    promoted_variant = fields.CharField(
        max_length=32, null=True, description="the A/B winner promoted (the others weigh 0)"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "recovery_flow_step"
        unique_together = (("flow", "position"),)


class Enrollment(Model):
    """One entry into a flow: an abandoned checkout, or a contact for one period of a trigger
    (`entry_key`, from app/recovery/triggers.py). `next_due_at` is what the scheduler trusts.

    (store, flow, contact, entry_key) is unique: once per contact per flow and period, however
    often an event is replayed or a worker pass repeated. `abandoned_at` is the moment the step
    delays count from (the abandonment, the order, the consent, the due birthday...).
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="enrollments", on_delete=fields.CASCADE
    )
    store_id: int
    checkout: fields.OneToOneNullableRelation[Checkout] = fields.OneToOneField(
        "core.Checkout", related_name="enrollment", null=True, on_delete=fields.CASCADE
    )
    checkout_id: int | None
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "core.Order", related_name="enrollments", null=True, on_delete=fields.SET_NULL
    )
    order_id: int | None
    trigger = fields.CharField(max_length=48, default="checkout.abandoned")
    entry_key = fields.CharField(max_length=128, null=True, description="the period entered")
    transactional = fields.BooleanField(
        default=False, description="the flow's flag at entry: outside the frequency budget"
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "core.Contact", related_name="enrollments", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    flow: fields.ForeignKeyNullableRelation[Flow] = fields.ForeignKeyField(
        "recovery.Flow", related_name="enrollments", null=True, on_delete=fields.SET_NULL
    )
    flow_id: int | None
    status = fields.CharEnumField(EnrollmentStatus, max_length=16, default=EnrollmentStatus.ACTIVE)
    stop_reason = fields.CharField(max_length=64, null=True)
    pause_reason = fields.CharField(max_length=64, null=True)
    next_step = fields.IntField(default=0, description="index into the flow's ordered steps")
    next_due_at = fields.DatetimeField(null=True, db_index=True)
    attempts = fields.IntField(default=0, description="provider attempts for the current step")
    abandoned_at = fields.DatetimeField()
    enrolled_at = fields.DatetimeField(auto_now_add=True)
    stopped_at = fields.DatetimeField(null=True)
    paused_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    clicks: fields.ReverseRelation[Click]
    discount_codes: fields.ReverseRelation[DiscountCode]

    class Meta:
        table = "recovery_enrollment"
        # store_id, abandoned_at: the stats' holdout and per-flow entries read a store's range.
        indexes = (
            ("status", "next_due_at"),
            ("contact_id", "enrolled_at"),
            ("store_id", "abandoned_at"),
            ("order_id",),
        )
        unique_together = (("store", "flow", "contact", "entry_key"),)


class Click(Model):
    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="clicks", on_delete=fields.CASCADE
    )
    store_id: int
    enrollment: fields.ForeignKeyRelation[Enrollment] = fields.ForeignKeyField(
        "recovery.Enrollment", related_name="clicks", on_delete=fields.CASCADE
    )
    enrollment_id: int
    message: fields.ForeignKeyNullableRelation[Message] = fields.ForeignKeyField(
        "core.Message", related_name="clicks", null=True, on_delete=fields.SET_NULL
    )
    message_id: int | None
    checkout: fields.ForeignKeyNullableRelation[Checkout] = fields.ForeignKeyField(
        "core.Checkout", related_name="clicks", null=True, on_delete=fields.CASCADE
    )
    checkout_id: int | None
    clicked_at = fields.DatetimeField()
    user_agent = fields.CharField(max_length=512, null=True)

    class Meta:
        table = "recovery_click"
        indexes = (("store_id", "clicked_at"),)


class DiscountCode(Model):
    """A code shown to one shopper: issued by Shopify, drawn from a merchant pool, or a static code."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="discount_codes", on_delete=fields.CASCADE
    )
    store_id: int
    code = fields.CharField(max_length=64)
    enrollment: fields.ForeignKeyNullableRelation[Enrollment] = fields.ForeignKeyField(
        "recovery.Enrollment", related_name="discount_codes", null=True, on_delete=fields.SET_NULL
    )
    enrollment_id: int | None
    checkout: fields.ForeignKeyNullableRelation[Checkout] = fields.ForeignKeyField(
        "core.Checkout", related_name="discount_codes_issued", null=True, on_delete=fields.SET_NULL
    )
    checkout_id: int | None
    kind = fields.CharEnumField(DiscountKind, max_length=16)
    value = fields.DecimalField(max_digits=12, decimal_places=2, null=True)
    ends_at = fields.DatetimeField(null=True)
    provider_id = fields.CharField(max_length=128, null=True)
    assigned_at = fields.DatetimeField(null=True)
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "recovery_discount_code"
        unique_together = (("store", "code"),)
        indexes = (("store_id", "kind", "enrollment_id"),)


class Promotion(Model):
    """An A/B winner applied to a step: who or what did it, when, and the figures it rested on."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="promotions", on_delete=fields.CASCADE
    )
    store_id: int
    flow: fields.ForeignKeyRelation[Flow] = fields.ForeignKeyField(
        "recovery.Flow", related_name="promotions", on_delete=fields.CASCADE
    )
    flow_id: int
    step_position = fields.IntField()
    channel = fields.CharField(max_length=8)
    winner = fields.CharField(max_length=32)
    retired: fields.JSONField[list[str]] = fields.JSONField(default=list)
    automatic = fields.BooleanField(default=False)
    actor = fields.CharField(
        max_length=320, description="an agent's email, 'API token' or 'worker'"
    )
    rule = fields.CharField(max_length=32, description="z-test or klaviyo")
    figures: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "recovery_promotion"
        indexes = (("flow_id", "created_at"),)
