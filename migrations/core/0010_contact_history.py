from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0009_checkout_exit_and_score')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ContactHistory',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='contact_histories', on_delete=OnDelete.CASCADE)),
                ('contact', fields.OneToOneField('core.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='history', on_delete=OnDelete.CASCADE)),
                ('orders_count', fields.IntField(default=0, description='confirmed orders')),
                ('total_spent', fields.DecimalField(default=0, max_digits=16, decimal_places=4)),
                ('currency', fields.CharField(description="the store's currency", max_length=3)),
                ('first_order_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_order_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('birthday', fields.DateField(null=True, description='year 1904 when only day and month are known')),
                ('birthday_due_at', fields.DatetimeField(null=True, description="the next birthday's 09:00 in the shopper's zone, in UTC", auto_now=False, auto_now_add=False)),
                ('subscribed', fields.BooleanField(default=False, description='email or SMS marketing consent')),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'contact_history', 'app': 'core', 'indexes': [Index(fields=['store_id', 'last_order_at']), Index(fields=['store_id', 'first_order_at']), Index(fields=['store_id', 'birthday_due_at'])], 'pk_attr': 'id', 'table_description': 'What a contact has bought so far, derived from their orders (`app/checkouts/history.py`).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Contact',
            name='birthday',
            field=fields.DateField(null=True, description='year 1904 when only day and month are known'),
        ),
    ]
