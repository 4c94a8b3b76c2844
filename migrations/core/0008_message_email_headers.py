from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("core", "0007_raw_event_fingerprint")]

    initial = False

    operations = [
        ops.AddField(model_name="Message", name="email_headers", field=fields.JSONField(null=True)),
        ops.AddField(model_name="Message", name="attachments", field=fields.JSONField(default=list)),
    ]
