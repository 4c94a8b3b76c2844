from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('accounts', '0001_initial'), ('core', '0013_message_chat_channel'), ('inbox', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChatInvitation',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='chat_invitations', on_delete=OnDelete.CASCADE)),
                ('session_key', fields.CharField(description='random per browser tab session', max_length=32)),
                ('checkout_token', fields.CharField(null=True, description="the snippet's id", max_length=128)),
                ('trigger', fields.CharField(description='pointer_left, tab_hidden or back', max_length=16)),
                ('shown_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_chat_invitation', 'app': 'inbox', 'unique_together': (('store', 'session_key'),), 'indexes': [Index(fields=['store_id', 'shown_at'])], 'pk_attr': 'id', 'table_description': 'An exit-intent invitation to chat shown on a checkout page (issue 16 point 5): at most one'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatVisitor',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='chat_visitors', on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(unique=True, description='random, 128 bits, hex', max_length=32)),
                ('contact', fields.ForeignKeyField('core.Contact', source_field='contact_id', null=True, db_constraint=True, to_field='id', related_name='chat_visitors', on_delete=OnDelete.SET_NULL)),
                ('continue_by', fields.CharField(null=True, description='sms or email: how the shopper asked to be answered', max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'inbox_chat_visitor', 'app': 'inbox', 'indexes': [Index(fields=['store_id', 'contact_id'])], 'pk_attr': 'id', 'table_description': "One browser's chat on the store's site, known by the key its signed visitor token carries."},
            bases=['Model'],
        ),
    ]
