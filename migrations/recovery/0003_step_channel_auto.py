from tortoise import migrations
from tortoise.migrations import operations as ops
from app.recovery.models import StepChannel
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_store_credentials_version'), ('core', '0003_auto_20261122_2206'), ('recovery', '0001_initial'), ('recovery', '0002_auto_20261122_2132')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='FlowStep',
            name='channel',
            field=fields.CharEnumField(description='SMS: sms\nEMAIL: email\nAUTO: auto', enum_type=StepChannel, max_length=8),
        ),
    ]
