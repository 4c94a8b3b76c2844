from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from app.recovery.models import DiscountKind, EnrollmentStatus, StepChannel
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    initial = True

    operations = [
        ops.CreateModel(
            name="Flow",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "store",
                    fields.ForeignKeyField(
                        "core.Store",
                        source_field="store_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="flows",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=255)),
                ("enabled", fields.BooleanField(default=True)),
                ("holdout_percent", fields.DecimalField(default=0, max_digits=5, decimal_places=2)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "recovery_flow",
                "app": "recovery",
                "pk_attr": "id",
                "table_description": "A store's recovery playbook: ordered steps, each delayed from the moment of abandonment.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Enrollment",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "store",
                    fields.ForeignKeyField(
                        "core.Store",
                        source_field="store_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="enrollments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "checkout",
                    fields.OneToOneField(
                        "core.Checkout",
                        source_field="checkout_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="enrollment",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "contact",
                    fields.ForeignKeyField(
                        "core.Contact",
                        source_field="contact_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="enrollments",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "flow",
                    fields.ForeignKeyField(
                        "recovery.Flow",
                        source_field="flow_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="enrollments",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=EnrollmentStatus.ACTIVE,
                        description="ACTIVE: active\nPAUSED: paused\nSTOPPED: stopped\nCOMPLETED: completed\nHOLDOUT: holdout",
                        enum_type=EnrollmentStatus,
                        max_length=16,
                    ),
                ),
                ("stop_reason", fields.CharField(null=True, max_length=64)),
                (
                    "next_step",
                    fields.IntField(default=0, description="index into the flow's ordered steps"),
                ),
                (
                    "next_due_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                (
                    "attempts",
                    fields.IntField(
                        default=0, description="provider attempts for the current step"
                    ),
                ),
                ("abandoned_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("enrolled_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("stopped_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("paused_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "completed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "recovery_enrollment",
                "app": "recovery",
                "indexes": [
                    Index(fields=["status", "next_due_at"]),
                    Index(fields=["contact_id", "enrolled_at"]),
                ],
                "pk_attr": "id",
                "table_description": "One abandoned checkout going through a flow. `next_due_at` is what the scheduler trusts.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Click",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "store",
                    fields.ForeignKeyField(
                        "core.Store",
                        source_field="store_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="clicks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "enrollment",
                    fields.ForeignKeyField(
                        "recovery.Enrollment",
                        source_field="enrollment_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="clicks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "message",
                    fields.ForeignKeyField(
                        "core.Message",
                        source_field="message_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="clicks",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "checkout",
                    fields.ForeignKeyField(
                        "core.Checkout",
                        source_field="checkout_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="clicks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("clicked_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("user_agent", fields.CharField(null=True, max_length=512)),
            ],
            options={
                "table": "recovery_click",
                "app": "recovery",
                "indexes": [Index(fields=["store_id", "clicked_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DiscountCode",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "store",
                    fields.ForeignKeyField(
                        "core.Store",
                        source_field="store_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="discount_codes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("code", fields.CharField(max_length=64)),
                (
                    "enrollment",
                    fields.ForeignKeyField(
                        "recovery.Enrollment",
                        source_field="enrollment_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="discount_codes",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "checkout",
                    fields.ForeignKeyField(
                        "core.Checkout",
                        source_field="checkout_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="discount_codes_issued",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="PERCENTAGE: percentage\nFIXED_AMOUNT: fixed_amount\nSTATIC: static\nPOOL: pool",
                        enum_type=DiscountKind,
                        max_length=16,
                    ),
                ),
                ("value", fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ("ends_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("provider_id", fields.CharField(null=True, max_length=128)),
                (
                    "assigned_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "recovery_discount_code",
                "app": "recovery",
                "unique_together": (("store", "code"),),
                "indexes": [Index(fields=["store_id", "kind", "enrollment_id"])],
                "pk_attr": "id",
                "table_description": "A code shown to one shopper: issued by Shopify, drawn from a merchant pool, or a static code.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="FlowStep",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "flow",
                    fields.ForeignKeyField(
                        "recovery.Flow",
                        source_field="flow_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="steps",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField()),
                (
                    "channel",
                    fields.CharEnumField(
                        description="SMS: sms\nEMAIL: email", enum_type=StepChannel, max_length=8
                    ),
                ),
                ("delay_seconds", fields.IntField(description="after abandonment")),
                (
                    "conditions",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "incentive",
                    fields.JSONField(
                        null=True,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "variants",
                    fields.JSONField(
                        default=list,
                        description="list of key, weight, subject, body, html",
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "recovery_flow_step",
                "app": "recovery",
                "unique_together": (("flow", "position"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
