"""Indexes on the raw tables for the stats queries that stay raw (same syntax on PostgreSQL and SQLite)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = {
    "analytics_checkout_abandoned": 'checkout (store_id, abandoned_at)',
    "analytics_order_placed": '"order" (store_id, placed_at)',
    "analytics_order_checkout": '"order" (checkout_id)',
    "analytics_message_checkout": "message (checkout_id)",
    "analytics_enrollment_abandoned": "recovery_enrollment (store_id, abandoned_at)",
    "analytics_enrollment_checkout": "recovery_enrollment (checkout_id)",
    # Conversations and replies are a small share of all messages: index only those.
    "analytics_message_talk": (
        "message (store_id, created_at)"
        " WHERE conversation_id IS NOT NULL OR author IN ('shopper', 'agent')"
    ),
    # Orders in another presentment currency carry the platform's rates.
    "analytics_order_rates": (
        '"order" (store_id, placed_at) WHERE presentment_currency IS NOT NULL'
    ),
}


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial"), ("core", "0003_auto_20261122_2206"), ("recovery", "0002_auto_20261122_2132")]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {target}" for name, target in INDEXES.items()],
            [f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
        )
    ]
