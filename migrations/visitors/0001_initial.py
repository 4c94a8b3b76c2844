from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_store_credentials_version'), ('core', '0003_auto_20261122_2206'), ('core', '0004_send_path_indexes')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Visitor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='visitors', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=136)),
                ('contact', fields.ForeignKeyField('core.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='visitors', on_delete=OnDelete.SET_NULL)),
                ('user_key', fields.CharField(null=True, description='the u:<userId> this id signed in as', max_length=136)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'visitor', 'app': 'visitors', 'unique_together': (('store', 'key'),), 'indexes': [Index(fields=['store_id', 'user_key'])], 'pk_attr': 'id', 'table_description': 'One id a source uses for a shopper: `a:<anonymousId>` (a browser) or `u:<userId>` (an'},
            bases=['Model'],
        ),
    ]
