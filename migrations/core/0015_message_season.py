from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0014_checkout_superseded_by')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Message',
            name='season',
            field=fields.CharField(null=True, description="the flow's season override it was sent under", max_length=64),
        ),
    ]
