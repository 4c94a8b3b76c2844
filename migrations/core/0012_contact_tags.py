from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0010_contact_history')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ContactTag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name='contact_tags', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('core.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='tag_rows', on_delete=OnDelete.CASCADE)),
                ('tag', fields.CharField(max_length=64)),
            ],
            options={'table': 'contact_tag', 'app': 'core', 'unique_together': (('contact', 'tag'),), 'indexes': [Index(fields=['store_id', 'tag'])], 'pk_attr': 'id', 'table_description': "One normalised tag of a contact, a row each, so segment counts use the (store, tag) index."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Contact',
            name='tags',
            field=fields.JSONField(default=list, description='normalised (app/recovery/segments/rules.py), mirrored in contact_tag', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddIndex(
            model_name='ContactHistory',
            index=Index(fields=['store_id', 'total_spent']),
        ),
        ops.AddIndex(
            model_name='ContactHistory',
            index=Index(fields=['store_id', 'orders_count']),
        ),
    ]
