from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("core", "0002_store_credentials_version"),
        ("core", "0003_auto_20261122_2206"),
    ]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Checkout",
            index=Index(fields=["contact_id", "abandoned_at"]),
        ),
        ops.AddIndex(
            model_name="Message",
            index=Index(fields=["checkout_id", "created_at"]),
        ),
        ops.AddIndex(
            model_name="Order",
            index=Index(fields=["contact_id", "placed_at"]),
        ),
        ops.AddIndex(
            model_name="Order",
            index=Index(fields=["checkout_id"]),
        ),
        ops.AddIndex(
            model_name="Order",
            index=Index(fields=["store_id", "placed_at"]),
        ),
    ]
