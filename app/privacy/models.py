"""DataExport: a customer's data, gathered for a privacy request and kept encrypted for the merchant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from app.core.fields import EncryptedTextField

if TYPE_CHECKING:
    from app.stores.models import Store


class DataExport(Model):
    """One answered data request. Found by keyed digests of the subject, never by plaintext."""

    id = fields.BigIntField(primary_key=True)
    store: fields.ForeignKeyRelation[Store] = fields.ForeignKeyField(
        "core.Store", related_name="data_exports", on_delete=fields.CASCADE
    )
    store_id: int
    request_id = fields.CharField(max_length=64, null=True, description="the platform's request id")
    subject_keys: fields.JSONField[list[str]] = fields.JSONField(
        default=list, description="digests of email, phone and ids"
    )
    document = EncryptedTextField(description="the export as JSON, encrypted at rest")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "privacy_data_export"
        unique_together = (("store_id", "request_id"),)
