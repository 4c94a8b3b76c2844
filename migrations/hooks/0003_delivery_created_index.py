from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hooks', '0002_delivery_claim')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='HookDelivery',
            index=Index(fields=['created_at']),
        ),
    ]
