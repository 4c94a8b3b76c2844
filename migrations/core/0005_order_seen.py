from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_store_credentials_version'), ('core', '0003_auto_20261122_2206'), ('core', '0004_send_path_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OrderSeen',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='orders_seen', on_delete=OnDelete.CASCADE)),
                ('raw_event_id', fields.BigIntField(null=True)),
                ('checkout_token', fields.CharField(null=True, max_length=128)),
                ('cart_token', fields.CharField(null=True, max_length=128)),
                ('email_digest', fields.CharField(null=True, description='SHA-256, no PII kept', max_length=64)),
                ('phone_digest', fields.CharField(null=True, description='SHA-256 of the E.164', max_length=64)),
                ('seen_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'order_seen', 'app': 'core', 'indexes': [Index(fields=['store_id', 'checkout_token']), Index(fields=['store_id', 'cart_token']), Index(fields=['store_id', 'email_digest']), Index(fields=['store_id', 'phone_digest'])], 'pk_attr': 'id', 'table_description': 'An order or payment acknowledged at capture, before the worker has processed it.'},
            bases=['Model'],
        ),
    ]
