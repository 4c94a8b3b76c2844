"""One trained score model per store, kept in the database so every worker scores with the same one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from app.stores.models import Store


class ScoreModel(Model):
    """The store's current model (or only its prior, when its history is too short to learn from).

    `blob` is the fitted scikit-learn estimator, pickled; `signature` is a keyed HMAC of it, checked
    before unpickling, so only bytes this installation wrote are ever loaded."""

    id = fields.BigIntField(primary_key=True)
    store: fields.OneToOneRelation[Store] = fields.OneToOneField(
        "core.Store", related_name="score_model", on_delete=fields.CASCADE
    )
    store_id: int
    kind = fields.CharField(max_length=8, description="model | prior")
    prior = fields.DecimalField(
        max_digits=5, decimal_places=4, description="smoothed recovery rate"
    )
    blob = fields.BinaryField(null=True)
    signature = fields.CharField(max_length=64, null=True)
    features_version = fields.IntField(default=1)
    examples = fields.IntField(default=0, description="labelled abandonments it learned from")
    positives = fields.IntField(default=0)
    auc = fields.DecimalField(
        max_digits=5, decimal_places=4, null=True, description="on the held-out fifth"
    )
    train_seconds = fields.FloatField(default=0)
    trained_at = fields.DatetimeField()

    class Meta:
        table = "scoring_model"
