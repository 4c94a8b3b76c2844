from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from app.core.fields import EncryptedTextField
from app.hooks.models import DeliveryState, SubscriptionSource
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0007_raw_event_fingerprint')]

    initial = True

    operations = [
        ops.CreateModel(
            name='HookSubscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='hook_subscriptions', on_delete=OnDelete.CASCADE)),
                ('target_url', fields.CharField(max_length=2048)),
                ('events', fields.JSONField(default=list, description='webhook event names it receives', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('secret', EncryptedTextField(description='whsec_... signing secret', unique=False)),
                ('source', fields.CharEnumField(description='REST: rest\nSETTINGS: settings', enum_type=SubscriptionSource, max_length=16)),
                ('active', fields.BooleanField(default=True)),
                ('consecutive_failures', fields.IntField(default=0)),
                ('disabled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('disabled_reason', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'hook_subscription', 'app': 'hooks', 'indexes': [Index(fields=['store_id', 'active'])], 'pk_attr': 'id', 'table_description': 'One target URL listening to one or more events of one store, with its own signing secret.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subscription', fields.ForeignKeyField('hooks.HookSubscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('store_id', fields.BigIntField()),
                ('event_id', fields.BigIntField(description='the outbox event it announces')),
                ('event', fields.CharField(max_length=64)),
                ('webhook_id', fields.CharField(unique=True, max_length=64)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=DeliveryState.PENDING, description='PENDING: pending\nDELIVERED: delivered\nFAILED: failed', enum_type=DeliveryState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_status', fields.IntField(null=True)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('last_duration_ms', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'hook_delivery', 'app': 'hooks', 'unique_together': (('subscription', 'event_id', 'event'),), 'indexes': [Index(fields=['state', 'next_attempt_at']), Index(fields=['store_id', 'event', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One event for one subscription. The row, not Redis, says it is due, and its webhook id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HookAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('hooks.HookDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='attempt_log', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.IntField(null=True)),
                ('duration_ms', fields.IntField()),
                ('error', fields.CharField(null=True, max_length=500)),
                ('response', fields.TextField(null=True, description="the start of the receiver's answer", unique=False)),
            ],
            options={'table': 'hook_attempt', 'app': 'hooks', 'pk_attr': 'id', 'table_description': 'One HTTP attempt, for the delivery log: when, how long, what came back.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SegmentDestination',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.OneToOneField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='segment_destination', on_delete=OnDelete.CASCADE)),
                ('write_key', EncryptedTextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'segment_destination', 'app': 'hooks', 'pk_attr': 'id', 'table_description': 'At most one per store. The write key is a secret, encrypted at rest like every other.'},
            bases=['Model'],
        ),
    ]
