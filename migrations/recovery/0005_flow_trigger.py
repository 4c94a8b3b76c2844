from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_store_credentials_version'), ('core', '0003_auto_20261122_2206'), ('core', '0004_send_path_indexes'), ('core', '0005_order_seen'), ('core', '0006_contact_sms_held_at'), ('core', '0007_raw_event_fingerprint'), ('recovery', '0004_discount_free_shipping')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Flow',
            name='transactional',
            field=fields.BooleanField(default=False, description='outside the per-contact frequency budget (payment reminders)'),
        ),
        ops.AddField(
            model_name='Flow',
            name='trigger',
            field=fields.CharField(default='checkout.abandoned', description='a name from app/recovery/triggers.py', max_length=48),
        ),
        ops.AddField(
            model_name='Flow',
            name='trigger_params',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
