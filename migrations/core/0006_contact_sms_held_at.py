from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("core", "0005_order_seen")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Contact",
            name="sms_held_at",
            field=fields.DatetimeField(
                null=True,
                description="automated texts held: a reply may be an opt-out, an agent decides",
            ),
        ),
    ]
