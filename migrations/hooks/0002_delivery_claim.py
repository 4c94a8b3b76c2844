from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("hooks", "0001_initial")]

    initial = False

    operations = [
        ops.AddField(
            model_name="HookDelivery",
            name="claim",
            field=fields.CharField(
                max_length=16, null=True, description="token of the attempt holding it"
            ),
        ),
    ]
