from tortoise import migrations
from tortoise.migrations import operations as ops
from app.recovery.models import DiscountKind
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_store_credentials_version'), ('core', '0003_auto_20261122_2206'), ('core', '0004_send_path_indexes'), ('recovery', '0003_step_channel_auto')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='DiscountCode',
            name='kind',
            field=fields.CharEnumField(description='PERCENTAGE: percentage\nFIXED_AMOUNT: fixed_amount\nFREE_SHIPPING: free_shipping\nSTATIC: static\nPOOL: pool', enum_type=DiscountKind, max_length=16),
        ),
    ]
