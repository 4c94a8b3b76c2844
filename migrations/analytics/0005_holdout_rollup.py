from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('analytics', '0004_flow_results'), ('core', '0015_message_season')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RollupHoldout',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rollup_holdouts', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('flow_id', fields.BigIntField(null=True, description="the enrollment's flow (not a key)")),
                ('held', fields.BooleanField(description='in the holdout group')),
                ('members', fields.IntField(default=0)),
                ('wins', fields.IntField(default=0)),
                ('currency', fields.CharField(null=True, max_length=3)),
                ('presentment_currency', fields.CharField(null=True, max_length=3)),
                ('total', fields.DecimalField(default=0, max_digits=16, decimal_places=4)),
                ('presentment_total', fields.DecimalField(null=True, max_digits=16, decimal_places=4)),
            ],
            options={'table': 'analytics_day_holdout', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'Flow entries of checkouts abandoned that day, by flow and group (held out or messaged), and'},
            bases=['Model'],
        ),
    ]
