"""Claim groups per day and channel filter (`RollupClaim`, `RollupCredit`). Days built before hold
none yet: every built day is marked dirty, so it is read raw until the worker rebuilds it."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.operations import RunSQL
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('analytics', '0006_season_index'), ('core', '0015_message_season')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RollupClaim',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rollup_claims', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('under', fields.CharField(description='all, sms or email', max_length=8)),
                ('counts', fields.BooleanField()),
                ('recovered', fields.BooleanField()),
                ('click', fields.BooleanField()),
                ('message', fields.BooleanField()),
                ('discount', fields.BooleanField()),
                ('step_index', fields.IntField(null=True, description='last automated step before a recovery')),
                ('currency', fields.CharField(max_length=3)),
                ('presentment_currency', fields.CharField(null=True, max_length=3)),
                ('n', fields.IntField(default=0)),
                ('total', fields.DecimalField(default=0, max_digits=38, decimal_places=10)),
                ('presentment_total', fields.DecimalField(null=True, max_digits=38, decimal_places=10)),
                ('last_placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('seconds', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'analytics_day_claim', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'under', 'day'])], 'pk_attr': 'id', 'table_description': 'The orders placed that day, summed by what attribution says of them under one channel'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RollupCredit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rollup_credits', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('under', fields.CharField(description='all, sms or email', max_length=8)),
                ('model', fields.CharField(max_length=12)),
                ('flow_id', fields.BigIntField(null=True)),
                ('step_index', fields.IntField(null=True)),
                ('channel', fields.CharField(null=True, max_length=8)),
                ('currency', fields.CharField(max_length=3)),
                ('presentment_currency', fields.CharField(null=True, max_length=3)),
                ('n', fields.IntField(default=0)),
                ('total', fields.DecimalField(default=0, max_digits=38, decimal_places=10)),
                ('presentment_total', fields.DecimalField(null=True, max_digits=38, decimal_places=10)),
                ('last_placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_day_credit', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'under', 'day'])], 'pk_attr': 'id', 'table_description': 'The counted orders placed that day, summed by the flow step one model credits them to'},
            bases=['Model'],
        ),
        ops.RunSQL(
            ["UPDATE analytics_day SET dirty_at = CURRENT_TIMESTAMP WHERE computed_at IS NOT NULL"],
            RunSQL.noop,
        ),
    ]
