from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint



async def _checkout_stays_unique(apps, schema_editor):
    """SQLite rebuilds the table to make `checkout_id` nullable and drops its UNIQUE on the way;
    PostgreSQL keeps its constraint. One enrollment per checkout holds on both."""
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        await client.execute_script(
            'CREATE UNIQUE INDEX IF NOT EXISTS "uid_recovery_en_checkout_one" '
            'ON "recovery_enrollment" ("checkout_id")'
        )


class Migration(migrations.Migration):
    dependencies = [('core', '0010_contact_history'), ('recovery', '0010_flow_sold_out_and_seasons')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Click',
            name='checkout',
            field=fields.ForeignKeyField('core.Checkout', source_field='checkout_id', null=True, db_constraint=True, to_field='id', related_name='clicks', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Enrollment',
            name='checkout',
            field=fields.OneToOneField('core.Checkout', source_field='checkout_id', null=True, db_constraint=True, to_field='id', related_name='enrollment', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Enrollment',
            name='entry_key',
            field=fields.CharField(null=True, description='the period entered', max_length=128),
        ),
        ops.AddField(
            model_name='Enrollment',
            name='order',
            field=fields.ForeignKeyField('core.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name='enrollments', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Enrollment',
            name='transactional',
            field=fields.BooleanField(default=False, description="the flow's flag at entry: outside the frequency budget"),
        ),
        ops.AddField(
            model_name='Enrollment',
            name='trigger',
            field=fields.CharField(default='checkout.abandoned', max_length=48),
        ),
        ops.AddIndex(
            model_name='Enrollment',
            index=Index(fields=['order_id']),
        ),
        ops.AddConstraint(
            model_name='Enrollment',
            constraint=UniqueConstraint(fields=('store', 'flow', 'contact', 'entry_key'), name=None),
        ),
        ops.AddField(
            model_name='Flow',
            name='due_through',
            field=fields.DatetimeField(null=True, description="timed triggers: the worker's pass has enrolled what fell due up to here", auto_now=False, auto_now_add=False),
        ),
        ops.AlterModelOptions(
            name='Enrollment',
            options={'table': 'recovery_enrollment', 'app': 'recovery', 'unique_together': (('store', 'flow', 'contact', 'entry_key'),), 'indexes': [Index(fields=['status', 'next_due_at']), Index(fields=['contact_id', 'enrolled_at']), Index(fields=['store_id', 'abandoned_at']), Index(fields=['order_id'])], 'pk_attr': 'id', 'table_description': 'One entry into a flow: an abandoned checkout, or a contact for one period of a trigger'},
        ),
        ops.RunPython(_checkout_stays_unique),
    ]
