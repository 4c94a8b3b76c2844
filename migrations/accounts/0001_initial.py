from tortoise import migrations
from tortoise.migrations import operations as ops
from app.accounts.models import Role
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Agent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='agents', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharField(unique=True, max_length=320)),
                ('name', fields.CharField(max_length=255)),
                ('role', fields.CharEnumField(default=Role.AGENT, description='OWNER: owner\nADMIN: admin\nAGENT: agent', enum_type=Role, max_length=16)),
                ('password_hash', fields.CharField(null=True, max_length=255)),
                ('active', fields.BooleanField(default=True)),
                ('invite_digest', fields.CharField(null=True, unique=True, max_length=64)),
                ('invited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('max_open_conversations', fields.IntField(default=25)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'agent', 'app': 'accounts', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
