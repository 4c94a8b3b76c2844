from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0010_contact_history'), ('recovery', '0007_segments')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Enrollment',
            index=Index(fields=['store_id', 'abandoned_at']),
        ),
        ops.CreateModel(
            name='Promotion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.CASCADE)),
                ('flow', fields.ForeignKeyField('recovery.Flow', source_field='flow_id', db_constraint=True, to_field='id', related_name='promotions', on_delete=OnDelete.CASCADE)),
                ('step_position', fields.IntField()),
                ('channel', fields.CharField(max_length=8)),
                ('winner', fields.CharField(max_length=32)),
                ('retired', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('automatic', fields.BooleanField(default=False)),
                ('actor', fields.CharField(description="an agent's email, 'API token' or 'worker'", max_length=320)),
                ('rule', fields.CharField(description='z-test or klaviyo', max_length=32)),
                ('figures', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'recovery_promotion', 'app': 'recovery', 'indexes': [Index(fields=['flow_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'An A/B winner applied to a step: who or what did it, when, and the figures it rested on.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Flow',
            name='auto_promote',
            field=fields.BooleanField(default=False, description='the worker promotes A/B winners (app/analytics/promotion.py)'),
        ),
        ops.AddField(
            model_name='FlowStep',
            name='promoted_variant',
            field=fields.CharField(null=True, description='the A/B winner promoted (the others weigh 0)', max_length=32),
        ),
    ]
