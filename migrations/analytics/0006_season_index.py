"""The season figures read only sends made under a peak-season override: index just those, so the
dashboard does not walk every message of the range to find the few (same syntax on both databases)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = {"analytics_message_season": "message (store_id, created_at) WHERE season IS NOT NULL"}


class Migration(migrations.Migration):
    dependencies = [("analytics", "0005_holdout_rollup"), ("core", "0015_message_season")]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {target}" for name, target in INDEXES.items()],
            [f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
        )
    ]
