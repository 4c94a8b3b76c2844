from tortoise import migrations
from tortoise.migrations import operations as ops
from app.messaging.models import Channel
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0012_contact_tags')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Message',
            name='channel',
            field=fields.CharEnumField(description='SMS: sms\nEMAIL: email\nCHAT: chat', enum_type=Channel, max_length=8),
        ),
    ]
