from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("core", "0009_checkout_exit_and_score")]

    initial = True

    operations = [
        ops.CreateModel(
            name="ScoreModel",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "store",
                    fields.OneToOneField(
                        "core.Store",
                        source_field="store_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="score_model",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=8, description="model | prior")),
                (
                    "prior",
                    fields.DecimalField(
                        max_digits=5, decimal_places=4, description="smoothed recovery rate"
                    ),
                ),
                ("blob", fields.BinaryField(null=True)),
                ("signature", fields.CharField(max_length=64, null=True)),
                ("features_version", fields.IntField(default=1)),
                (
                    "examples",
                    fields.IntField(default=0, description="labelled abandonments it learned from"),
                ),
                ("positives", fields.IntField(default=0)),
                (
                    "auc",
                    fields.DecimalField(
                        max_digits=5,
                        decimal_places=4,
                        null=True,
                        description="on the held-out fifth",
                    ),
                ),
                ("train_seconds", fields.FloatField(default=0)),
                ("trained_at", fields.DatetimeField()),
            ],
            options={
                "table": "scoring_model",
                "app": "scoring",
                "pk_attr": "id",
                "table_description": "The store's current model (or only its prior, when its history is too short to learn from).",
            },
            bases=["Model"],
        ),
    ]
