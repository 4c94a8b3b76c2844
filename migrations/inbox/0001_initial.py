from tortoise import migrations
from tortoise.migrations import operations as ops
from inbox.models import ConversationStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('accounts', '0001_initial'), ('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CannedReply',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='canned_replies', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=80)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'inbox_canned_reply', 'app': 'inbox', 'unique_together': (('store', 'title'),), 'pk_attr': 'id', 'table_description': 'A saved answer with merge fields such as {{ first_name }} and {{ cart_link }}.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('core.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.CASCADE)),
                ('checkout', fields.ForeignKeyField('core.Checkout', source_field='checkout_id', null=True, db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default='open', description='OPEN: open\nSNOOZED: snoozed\nCLOSED: closed', enum_type=ConversationStatus, max_length=16)),
                ('snoozed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('assignee', fields.ForeignKeyField('accounts.Agent', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='conversations', on_delete=OnDelete.SET_NULL)),
                ('assigned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('started_by', fields.CharField(default='shopper', description='shopper or agent', max_length=16)),
                ('inbound_count', fields.IntField(default=0, description='shopper messages, for unread counts')),
                ('waiting_since', fields.DatetimeField(null=True, description='FIFO order of the unassigned queue', auto_now=False, auto_now_add=False)),
                ('last_message_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_message_preview', fields.CharField(default='', max_length=160)),
                ('last_message_id', fields.BigIntField(default=0)),
                ('opened_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'inbox_conversation', 'app': 'inbox', 'indexes': [Index(fields=['store_id', 'status', 'last_message_at']), Index(fields=['store_id', 'contact_id', 'status']), Index(fields=['store_id', 'assignee_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One thread between a store and a contact. At most one is not closed per contact.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReadMarker',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('inbox.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='read_markers', on_delete=OnDelete.CASCADE)),
                ('agent', fields.ForeignKeyField('accounts.Agent', source_field='agent_id', db_constraint=True, to_field='id', related_name='read_markers', on_delete=OnDelete.CASCADE)),
                ('seen_inbound', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'inbox_read_marker', 'app': 'inbox', 'unique_together': (('conversation', 'agent'),), 'pk_attr': 'id', 'table_description': 'How many shopper messages an agent has seen in a conversation: unread = inbound_count - seen.'},
            bases=['Model'],
        ),
    ]
