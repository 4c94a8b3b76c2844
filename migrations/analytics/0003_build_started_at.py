from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_raw_indexes"), ("core", "0004_send_path_indexes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="RollupDay",
            name="build_started_at",
            field=fields.DatetimeField(
                null=True,
                description="when the latest rebuild began reading (marks compare with it)",
                auto_now=False,
                auto_now_add=False,
            ),
        ),
    ]
