from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0010_contact_history'), ('recovery', '0005_flow_trigger')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RfmCutoffs',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.OneToOneField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='rfm_cutoffs', on_delete=OnDelete.CASCADE)),
                ('recency_days', fields.JSONField(description='most whole days since the last order that still score 5, 4, 3, 2', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('monetary', fields.JSONField(description='least spend (decimal strings) that scores 2, 3, 4, 5', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('currency', fields.CharField(null=True, description='null: the defaults', max_length=3)),
                ('buyers', fields.IntField(default=0)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'recovery_rfm_cutoffs', 'app': 'recovery', 'pk_attr': 'id', 'table_description': "A store's RFM thresholds from its own buyers, recomputed daily by the worker."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Segment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='segments', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=120)),
                ('conditions', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'recovery_segment', 'app': 'recovery', 'unique_together': (('store', 'name'),), 'pk_attr': 'id', 'table_description': "A saved, named set of conditions on a store's contacts (app/recovery/segments/rules.py)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Flow',
            name='segment',
            field=fields.ForeignKeyField('recovery.Segment', source_field='segment_id', null=True, description='entry condition: checked at the first step, under the send claim', db_constraint=True, to_field='id', related_name='flows', on_delete=OnDelete.NO_ACTION),
        ),
        ops.AddField(
            model_name='FlowStep',
            name='segment',
            field=fields.ForeignKeyField('recovery.Segment', source_field='segment_id', null=True, description='the step is skipped for contacts outside this segment', db_constraint=True, to_field='id', related_name='steps', on_delete=OnDelete.NO_ACTION),
        ),
    ]
