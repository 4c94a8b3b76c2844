from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_store_credentials_version')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RawEvent',
            name='locked_until',
            field=fields.DatetimeField(null=True, description='claimed by a draining worker until then', auto_now=False, auto_now_add=False),
        ),
    ]
