from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0013_message_chat_channel'), ('recovery', '0008_ab_promotion')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Flow',
            name='seasons',
            field=fields.JSONField(default=list, description="date-ranged overrides in the store's zone (app/recovery/seasons.py)", encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Flow',
            name='sold_out',
            field=fields.CharField(default='omit', description='a line sold out at send time: omit it, or skip the step (app/recovery/fresh.py)', max_length=8),
        ),
    ]
