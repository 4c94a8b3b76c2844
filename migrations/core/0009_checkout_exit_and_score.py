from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("core", "0008_message_email_headers")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Checkout",
            name="exited_at",
            field=fields.DatetimeField(
                null=True, description="the shopper last left the checkout page (pagehide, pixel)"
            ),
        ),
        ops.AddField(
            model_name="Checkout",
            name="recovery_score",
            field=fields.DecimalField(
                max_digits=5,
                decimal_places=4,
                null=True,
                description="likelihood of recovery, 0 to 1",
            ),
        ),
        ops.AddField(
            model_name="Checkout",
            name="expected_value",
            field=fields.DecimalField(
                max_digits=16,
                decimal_places=4,
                null=True,
                description="recovery_score times the total, in the checkout's currency",
            ),
        ),
        ops.AddField(
            model_name="Checkout",
            name="score_source",
            field=fields.CharField(max_length=8, null=True, description="model | prior"),
        ),
        ops.AddField(
            model_name="Checkout",
            name="scored_at",
            field=fields.DatetimeField(null=True),
        ),
    ]
