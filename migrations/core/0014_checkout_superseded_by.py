from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0013_message_chat_channel')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Checkout',
            name='superseded_by_id',
            field=fields.BigIntField(null=True, db_index=True, description="the same shopper's newer cart (another device) that is followed up instead"),
        ),
    ]
