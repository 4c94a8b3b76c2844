"""Merchant API for privacy exports: what a customer asked for, ready to hand over."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, get
from litestar.di import Provide

from app.core.errors import ApiError
from app.privacy.models import DataExport
from app.privacy.schemas import DataExportOut
from app.stores.auth import api_store
from app.stores.models import Store


def to_out(export: DataExport) -> DataExportOut:
    return DataExportOut(
        id=export.id,
        request_id=export.request_id,
        created_at=export.created_at,
        size_bytes=len(export.document.encode()),
    )


async def list_exports(store: Store) -> list[DataExportOut]:
    return [to_out(e) for e in await DataExport.filter(store=store).order_by("-id")]


async def export_document(store: Store, export_id: int) -> dict[str, Any]:
    export = await DataExport.get_or_none(id=export_id, store=store)
    if export is None:
        raise ApiError(404, "not_found", f"no data export {export_id} for this store")
    return json.loads(export.document)


class PrivacyApi(Controller):
    path = "/api/v1/privacy/exports"
    tags = ["privacy"]
    dependencies = {"store": Provide(api_store)}

    @get("/", summary="Customer data exports answered for privacy requests")
    async def index(self, store: Store) -> list[DataExportOut]:
        return await list_exports(store)

    @get("/{export_id:int}", summary="One export: everything held on the customer, as JSON")
    async def show(self, store: Store, export_id: int) -> dict[str, Any]:
        return await export_document(store, export_id)
