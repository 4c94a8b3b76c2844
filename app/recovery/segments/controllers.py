"""`/api/v1/segments`: the store's segments for scripts (bearer token) and the flows page."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.di import Provide

from app.accounts.guards import store_api
from app.recovery.models import Segment
from app.recovery.segments import services
from app.recovery.segments.schemas import CountIn, CountOut, SegmentIn, SegmentOut, SegmentPatch
from app.stores.models import Store


async def _out(store: Store, segment: Segment, counted: bool = False) -> SegmentOut:
    matching = await services.count(store, segment.conditions or {}) if counted else None
    return SegmentOut(
        id=segment.id,
        name=segment.name,
        conditions=dict(segment.conditions or {}),
        used_by=await services.users(segment),
        created_at=segment.created_at,
        updated_at=segment.updated_at,
        matching=matching,
    )


class SegmentsApi(Controller):
    path = "/api/v1/segments"
    tags = ["recovery"]
    dependencies = {"store": Provide(store_api)}

    @get("/", summary="The store's segments, by name")
    async def list_segments(self, store: Store) -> list[SegmentOut]:
        return [await _out(store, s) for s in await services.list_segments(store)]

    @post("/", summary="Create a segment (422 names the exact field)")
    async def create_segment(self, store: Store, data: SegmentIn) -> SegmentOut:
        return await _out(store, await services.create(store, data.name, data.conditions), True)

    @post("/count", status_code=200, summary="How many contacts match these conditions now")
    async def count(self, store: Store, data: CountIn) -> CountOut:
        conditions = services.checked(store, None, data.conditions)["conditions"]
        return CountOut(matching=await services.count(store, conditions))

    @get("/{segment_id:int}", summary="One segment, with how many contacts match it now")
    async def get_segment(self, store: Store, segment_id: int) -> SegmentOut:
        return await _out(store, await services.load(store, segment_id), True)

    @put("/{segment_id:int}", summary="Replace a segment's name and conditions")
    async def replace_segment(self, store: Store, segment_id: int, data: SegmentIn) -> SegmentOut:
        found = await services.change(store, segment_id, data.name, data.conditions)
        return await _out(store, found, True)

    @patch("/{segment_id:int}", summary="Change a segment's name or its conditions")
    async def patch_segment(self, store: Store, segment_id: int, data: SegmentPatch) -> SegmentOut:
        found = await services.change(store, segment_id, data.name, data.conditions)
        return await _out(store, found, True)

    @delete("/{segment_id:int}", summary="Delete a segment no flow uses (409 names the flows)")
    async def delete_segment(self, store: Store, segment_id: int) -> None:
        await services.delete(store, segment_id)
