"""Rollup tables: per store and local day, the counters and per-order claims the dashboard reads.

The raw tables stay the source of truth; every row here can be rebuilt from them for one store-day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.core.fields import MONEY

if TYPE_CHECKING:
    from app.stores.models import Store


class RollupDay(Model):
    """One store-day: usable when computed, clean and built with the store's current fingerprint."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="rollup_days", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField(description="calendar day in the zone recorded in the fingerprint")
    fingerprint = fields.CharField(max_length=128, default="")
    computed_at = fields.DatetimeField(null=True)
    dirty_at = fields.DatetimeField(null=True, description="a change since the last computation")
    build_started_at = fields.DatetimeField(
        null=True, description="when the latest rebuild began reading (marks compare with it)"
    )
    abandoned = fields.IntField(default=0)
    reachable_strict = fields.IntField(default=0, description="when email needs consent")
    reachable_open = fields.IntField(default=0, description="when email needs no consent")
    enrolled = fields.IntField(default=0)
    holdout = fields.IntField(default=0)
    messaged = fields.IntField(default=0)

    class Meta:
        table = "analytics_day"
        unique_together = (("store", "day"),)


class RollupSend(Model):
    """Automated sends created that day, by channel, step, variant and delivery status."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="rollup_sends", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    channel = fields.CharField(max_length=8)
    flow_id = fields.BigIntField(
        null=True, description="the enrollment's flow (not a key: flows go)"
    )
    step_index = fields.IntField(null=True)
    variant = fields.CharField(max_length=32, null=True)
    status = fields.CharField(max_length=16)
    n = fields.IntField(default=0)
    replied = fields.IntField(
        default=0, description="the recipient wrote back before the next send"
    )
    segments = fields.IntField(default=0)
    tested = fields.IntField(default=0, description="sent to a known checkout, for the A/B table")
    conversions = fields.IntField(default=0, description="of those, recovered after the send")

    class Meta:
        table = "analytics_day_send"
        indexes = (("store_id", "day"),)


class RollupProduct(Model):
    """Line items of the checkouts abandoned that day, by title and currency."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="rollup_products", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    title = fields.TextField(null=True)
    currency = fields.CharField(max_length=3)
    abandoned = fields.IntField(default=0)
    quantity = fields.BigIntField(default=0)
    value = fields.DecimalField(max_digits=38, decimal_places=10, default=0)

    class Meta:
        table = "analytics_day_product"
        indexes = (("store_id", "day"),)


class RollupHoldout(Model):
    """Flow entries of checkouts abandoned that day, by flow and group (held out or messaged), and
    what their counted orders within the conversion window came to, by currency.

    Two kinds of row: a count row (`currency` null) holds `members` and `wins` (entries with such
    an order); a worth row holds the orders' sums per currency pair, kept as the platform reported
    them and converted when read (a conversion is linear, so a sum converts like its parts).
    Entries without a cart (birthday, win-back, ...) are always read raw: no checkout event marks
    their day.
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="rollup_holdouts", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    flow_id = fields.BigIntField(null=True, description="the enrollment's flow (not a key)")
    held = fields.BooleanField(description="in the holdout group")
    members = fields.IntField(default=0)
    wins = fields.IntField(default=0)
    currency = fields.CharField(max_length=3, null=True)
    presentment_currency = fields.CharField(max_length=3, null=True)
    total = fields.DecimalField(**MONEY, default=0)
    presentment_total = fields.DecimalField(**MONEY, null=True)

    class Meta:
        table = "analytics_day_holdout"
        indexes = (("store_id", "day"),)


class OrderClaim(Model):
    """What every attribution model says about one order, independent of the clock and the rates.

    Amounts are kept as the platform reported them and converted when read, with the rates of
    that moment, exactly as the raw computation does.
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="order_claims", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    order_id = fields.BigIntField(unique=True)
    placed_at = fields.DatetimeField()
    counts = fields.BooleanField()
    total = fields.DecimalField(**MONEY)
    currency = fields.CharField(max_length=3)
    presentment_total = fields.DecimalField(**MONEY, null=True)
    presentment_currency = fields.CharField(max_length=3, null=True)
    recovered = fields.BooleanField(default=False)
    abandoned_at = fields.DatetimeField(null=True)
    click_sms = fields.BooleanField(default=False)
    click_email = fields.BooleanField(default=False)
    click_other = fields.BooleanField(default=False, description="a click on no known message")
    message_sms = fields.BooleanField(default=False)
    message_email = fields.BooleanField(default=False)
    discount = fields.BooleanField(default=False)
    step_all = fields.IntField(null=True, description="last automated step before a recovery")
    step_sms = fields.IntField(null=True)
    step_email = fields.IntField(null=True)

    class Meta:
        table = "analytics_order"
        indexes = (("store_id", "day"),)


class OrderCredit(Model):
    """The flow step one model credits an order to, under one channel filter: per-flow results.

    `model` is recovered (the last automated send before a recovered order), message (the last
    delivered automated message within its window) or click (the last click on one); `under`
    is all, sms or email: the dashboard's channel filter the credit was decided under.
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="order_credits", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    order_id = fields.BigIntField(db_index=True)
    model = fields.CharField(max_length=12)
    under = fields.CharField(max_length=8, description="all, sms or email")
    flow_id = fields.BigIntField(null=True)
    step_index = fields.IntField(null=True)
    channel = fields.CharField(max_length=8, null=True)

    class Meta:
        table = "analytics_order_credit"
        indexes = (("store_id", "day"),)


class RollupClaim(Model):
    """The orders placed that day, summed by what attribution says of them under one channel
    filter (`under`: all, sms or email), so a clean range sums a few rows per day instead of
    reading every order's claims (`OrderClaim`).

    One row per group of orders alike under that filter: counted or not, recovered, claimed by a
    click and by a message of the filter's channel, by a discount, the step credited, and the
    currency pair; `total` and `presentment_total` are the orders' sums as the platform reported
    them (a group in the store's currency sums exactly; a day with another currency is read order by
    order, converted as the raw path does). `last_placed_at` tells whether every order of the group
    is before a reading's `now` (a clock-skewed order waits there, as in the raw path), and
    `seconds` holds abandonment to order for each counted recovered order (time to recovery).
    """

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="rollup_claims", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    under = fields.CharField(max_length=8, description="all, sms or email")
    counts = fields.BooleanField()
    recovered = fields.BooleanField()
    click = fields.BooleanField()
    message = fields.BooleanField()
    discount = fields.BooleanField()
    step_index = fields.IntField(null=True, description="last automated step before a recovery")
    currency = fields.CharField(max_length=3)
    presentment_currency = fields.CharField(max_length=3, null=True)
    n = fields.IntField(default=0)
    total = fields.DecimalField(max_digits=38, decimal_places=10, default=0)
    presentment_total = fields.DecimalField(max_digits=38, decimal_places=10, null=True)
    last_placed_at = fields.DatetimeField()
    seconds: fields.JSONField[list[float]] = fields.JSONField(default=list)

    class Meta:
        table = "analytics_day_claim"
        indexes = (("store_id", "under", "day"),)


class RollupCredit(Model):
    """The counted orders placed that day, summed by the flow step one model credits them to
    under one channel filter (`OrderCredit` grouped), with their amounts per currency pair."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="rollup_credits", on_delete=fields.CASCADE
    )
    store_id: int
    day = fields.DateField()
    under = fields.CharField(max_length=8, description="all, sms or email")
    model = fields.CharField(max_length=12)
    flow_id = fields.BigIntField(null=True)
    step_index = fields.IntField(null=True)
    channel = fields.CharField(max_length=8, null=True)
    currency = fields.CharField(max_length=3)
    presentment_currency = fields.CharField(max_length=3, null=True)
    n = fields.IntField(default=0)
    total = fields.DecimalField(max_digits=38, decimal_places=10, default=0)
    presentment_total = fields.DecimalField(max_digits=38, decimal_places=10, null=True)
    last_placed_at = fields.DatetimeField()

    class Meta:
        table = "analytics_day_credit"
        indexes = (("store_id", "under", "day"),)
