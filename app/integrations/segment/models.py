"""A store's Segment destination: the write key FollowUp forwards its events with."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from app.core.fields import EncryptedTextField


class SegmentDestination(Model):
    """At most one per store. The write key is a secret, encrypted at rest like every other."""

    id = fields.BigIntField(primary_key=True)
    store: fields.OneToOneRelation[Model] = fields.OneToOneField(
        "core.Store", related_name="segment_destination", on_delete=fields.CASCADE
    )
    store_id: int
    write_key = EncryptedTextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "segment_destination"
