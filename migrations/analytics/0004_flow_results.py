from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('analytics', '0003_build_started_at'), ('core', '0010_contact_history')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OrderCredit',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='order_credits', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('order_id', fields.BigIntField(db_index=True)),
                ('model', fields.CharField(max_length=12)),
                ('under', fields.CharField(description='all, sms or email', max_length=8)),
                ('flow_id', fields.BigIntField(null=True)),
                ('step_index', fields.IntField(null=True)),
                ('channel', fields.CharField(null=True, max_length=8)),
            ],
            options={'table': 'analytics_order_credit', 'app': 'analytics', 'indexes': [Index(fields=['store_id', 'day'])], 'pk_attr': 'id', 'table_description': 'The flow step one model credits an order to, under one channel filter: per-flow results.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='RollupSend',
            name='flow_id',
            field=fields.BigIntField(null=True, description="the enrollment's flow (not a key: flows go)"),
        ),
        ops.AddField(
            model_name='RollupSend',
            name='replied',
            field=fields.IntField(default=0, description='the recipient wrote back before the next send'),
        ),
    ]
