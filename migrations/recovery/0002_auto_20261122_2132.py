from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('recovery', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Enrollment',
            name='pause_reason',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
