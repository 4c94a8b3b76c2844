from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('accounts', '0001_initial'), ('core', '0010_contact_history'), ('inbox', '0002_chat')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FirstResponse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='first_responses', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('inbox.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='first_responses', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharField(description='where the shopper wrote first', max_length=16)),
                ('asked_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('seconds', fields.IntField()),
                ('target_seconds', fields.IntField(description="the store's target when the clock started")),
                ('agent_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'inbox_first_response', 'app': 'inbox', 'unique_together': (('conversation', 'asked_at'),), 'indexes': [Index(fields=['store_id', 'asked_at'])], 'pk_attr': 'id', 'table_description': "One answered first response (one per opening of a thread), for the dashboard's figures."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Conversation',
            name='responded_at',
            field=fields.DatetimeField(null=True, description='first agent reply after it', auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Conversation',
            name='response_channel',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='Conversation',
            name='response_due_at',
            field=fields.DatetimeField(null=True, description="start + the store's target", auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Conversation',
            name='response_started_at',
            field=fields.DatetimeField(null=True, description='first unanswered shopper message of this opening', auto_now=False, auto_now_add=False),
        ),
    ]
