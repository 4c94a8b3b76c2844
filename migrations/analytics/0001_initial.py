from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0003_auto_20261122_2206')]

    initial = True

    operations = [
        ops.CreateModel(
            name='OrderClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='order_claims', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('order_id', fields.BigIntField(unique=True)),
                ('placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('counts', fields.BooleanField()),
                ('total', fields.DecimalField(max_digits=16, decimal_places=4)),
                ('currency', fields.CharField(max_length=3)),
                ('presentment_total', fields.DecimalField(null=True, max_digits=16, decimal_places=4)),
                ('presentment_currency', fields.CharField(null=True, max_length=3)),
                ('recovered', fields.BooleanField(default=False)),
                ('abandoned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('click_sms', fields.BooleanField(default=False)),
                ('click_email', fields.BooleanField(default=False)),
                ('click_other', fields.BooleanField(default=False, description='a click on no known message')),
                ('message_sms', fields.BooleanField(default=False)),
                ('message_email', fields.BooleanField(default=False)),
                ('discount', fields.BooleanField(default=False)),
                ('step_all', fields.IntField(null=True, description='last automated step before a recovery')),
                ('step_sms', fields.IntField(null=True)),
                ('step_email', fields.IntField(null=True)),
            ],
            options={'table': 'analytics_order', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'What every attribution model says about one order, independent of the clock and the rates.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollupDay',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rollup_days', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField(description='calendar day in the zone recorded in the fingerprint')),
                ('fingerprint', fields.CharField(default='', max_length=128)),
                ('computed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dirty_at', fields.DatetimeField(null=True, description='a change since the last computation', auto_now=False, auto_now_add=False)),
                ('abandoned', fields.IntField(default=0)),
                ('reachable_strict', fields.IntField(default=0, description='when email needs consent')),
                ('reachable_open', fields.IntField(default=0, description='when email needs no consent')),
                ('enrolled', fields.IntField(default=0)),
                ('holdout', fields.IntField(default=0)),
                ('messaged', fields.IntField(default=0)),
            ],
            options={'table': 'analytics_day', 'app': 'analytics', 'unique_together': (('store', 'day'),), 'pk_attr': 'id', 'table_description': "One store-day: usable when computed, clean and built with the store's current fingerprint."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollupProduct',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rollup_products', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('title', fields.TextField(null=True, unique=False)),
                ('currency', fields.CharField(max_length=3)),
                ('abandoned', fields.IntField(default=0)),
                ('quantity', fields.BigIntField(default=0)),
                ('value', fields.DecimalField(default=0, max_digits=38, decimal_places=10)),
            ],
            options={'table': 'analytics_day_product', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'Line items of the checkouts abandoned that day, by title and currency.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollupSend',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rollup_sends', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('channel', fields.CharField(max_length=8)),
                ('step_index', fields.IntField(null=True)),
                ('variant', fields.CharField(null=True, max_length=32)),
                ('status', fields.CharField(max_length=16)),
                ('n', fields.IntField(default=0)),
                ('segments', fields.IntField(default=0)),
                ('tested', fields.IntField(default=0, description='sent to a known checkout, for the A/B table')),
                ('conversions', fields.IntField(default=0, description='of those, recovered after the send')),
            ],
            options={'table': 'analytics_day_send', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'Automated sends created that day, by channel, step, variant and delivery status.'},
            bases=['Model'],
        ),
    ]
