from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('core', '0006_contact_sms_held_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RawEvent',
            name='fingerprint',
            field=fields.CharField(null=True, description='sha256 of the signed content: a resend under a new delivery id is a replay', max_length=64),
        ),
        ops.AddConstraint(
            model_name='RawEvent',
            constraint=UniqueConstraint(fields=('store', 'source', 'fingerprint'), name=None),
        ),
        ops.AddConstraint(
            model_name='RawEvent',
            constraint=UniqueConstraint(fields=('store', 'source', 'topic', 'event_id'), name=None),
        ),
    ]
