from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from app.core.fields import EncryptedTextField
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_store_credentials_version')]

    initial = True

    operations = [
        ops.CreateModel(
            name='DataExport',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='data_exports', on_delete=OnDelete.CASCADE)),
                ('request_id', fields.CharField(null=True, description="the platform's request id", max_length=64)),
                ('subject_keys', fields.JSONField(default=list, description='digests of email, phone and ids', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('document', EncryptedTextField(description='the export as JSON, encrypted at rest', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'privacy_data_export', 'app': 'privacy', 'unique_together': (('store_id', 'request_id'),), 'pk_attr': 'id', 'table_description': 'One answered data request. Found by keyed digests of the subject, never by plaintext.'},
            bases=['Model'],
        ),
    ]
