"""Flows: a flow's steps as every send reads them (cached briefly), and editing them -- validated
first, then saved in one transaction, always within one store."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.checkouts import history
from app.core.cache import TTLCache
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.recovery import triggers
from app.recovery.models import Flow, FlowStep
from app.recovery.playbook import ensure_default_flow
from app.recovery.schemas import (
    FlowIn,
    FlowOut,
    FlowPatch,
    StepIn,
    StepOut,
    VariantIn,
    VariantOut,
)
from app.recovery.segments import services as segments
from app.recovery.validation import FlowProblem, validate_flow
from app.stores.models import Store

STEPS_TTL = 2.0  # seconds a worker reuses a flow's steps; edits reach every worker within this
_steps: TTLCache[list[FlowStep]] = TTLCache(ttl=STEPS_TTL, max_entries=1000)


async def ordered_steps(flow_id: int | None) -> list[FlowStep]:
    """A flow's steps in order, cached briefly: every send of every checkout needs them."""
    if flow_id is None:
        return []
    steps = await _steps.get(flow_id, lambda: FlowStep.filter(flow_id=flow_id).order_by("position"))
    return steps or []


_entry: TTLCache[int] = TTLCache(ttl=STEPS_TTL, max_entries=1000)


async def entry_segment(flow_id: int | None) -> int | None:
    """The flow's entry segment id (None: everyone enters), cached like its steps."""
    if flow_id is None:
        return None

    async def read() -> int | None:
        rows: list[Any] = await Flow.filter(id=flow_id).values_list("segment_id", flat=True)
        return int(rows[0]) if rows and rows[0] is not None else None

    return await _entry.get(flow_id, read)


def forget_steps(flow_id: int | None = None) -> None:
    """One flow's cached steps and entry segment (after an edit), or every flow's."""
    if flow_id is None:
        _steps.clear()
        _entry.clear()
    else:
        _steps.forget(flow_id)
        _entry.forget(flow_id)


def _out(flow: Flow, steps: list[FlowStep]) -> FlowOut:
    return FlowOut(
        id=flow.id,
        name=flow.name,
        enabled=flow.enabled,
        holdout_percent=Decimal(flow.holdout_percent),
        created_at=flow.created_at,
        updated_at=flow.updated_at,
        trigger=flow.trigger,
        trigger_params=dict(flow.trigger_params or {}),
        transactional=flow.transactional,
        segment_id=flow.segment_id,
        steps=[
            StepOut(
                position=s.position,
                channel=str(s.channel),
                delay_seconds=s.delay_seconds,
                conditions=s.conditions or {},
                incentive=s.incentive,
                segment_id=s.segment_id,
                variants=[
                    VariantOut(
                        key=str(v.get("key", "a")),
                        weight=Decimal(str(v.get("weight", 1))),
                        body=str(v.get("body", "")),
                        subject=v.get("subject"),
                        html=v.get("html"),
                        sms_body=v.get("sms_body"),
                    )
                    for v in s.variants
                ],
            )
            for s in steps
        ],
    )


async def load(store: Store, flow_id: int) -> Flow:
    flow = await Flow.get_or_none(id=flow_id, store=store)
    if flow is None:
        raise ApiError(404, "not_found", f"no flow {flow_id} in this store")
    return flow


async def describe(flow: Flow) -> FlowOut:
    return _out(flow, await FlowStep.filter(flow=flow).order_by("position"))


async def list_flows(store: Store) -> list[FlowOut]:
    await ensure_default_flow(store)
    return [await describe(f) for f in await Flow.filter(store=store).order_by("id")]


async def get_flow(store: Store, flow_id: int) -> FlowOut:
    return await describe(await load(store, flow_id))


def _check(steps: list[StepIn] | None, holdout: Decimal | None) -> None:
    try:
        validate_flow(steps, holdout)
    except FlowProblem as exc:
        raise ApiError(422, "invalid_flow", str(exc)) from None


async def replace_flow(store: Store, flow_id: int, data: FlowIn) -> FlowOut:
    return await patch_flow(store, flow_id, _whole(data))


def _whole(data: FlowIn) -> FlowPatch:
    """A whole flow as a patch that names every field, so PUT and POST leave nothing behind."""
    return FlowPatch(
        name=data.name,
        enabled=data.enabled,
        holdout_percent=data.holdout_percent,
        steps=data.steps,
        trigger=data.trigger,
        trigger_params=data.trigger_params,
        transactional=data.transactional,
        segment_id=data.segment_id,
    )


async def _segments(store: Store, data: FlowPatch) -> dict[str, object]:
    """The entry segment and the steps' segments, each checked to be this store's (422 naming
    the field); the entry one as a column to write when the patch names it."""
    for index, step in enumerate(data.steps or []):
        await segments.owned(store, step.segment_id, f"steps[{index}].segment_id")
    if isinstance(data.segment_id, msgspec.UnsetType):
        return {}
    return {"segment_id": await segments.owned(store, data.segment_id, "segment_id")}


async def create_flow(store: Store, data: FlowIn) -> FlowOut:
    """A new flow, validated exactly like an edit; nothing is stored when any field is refused."""
    changes = _changes(data.name, _whole(data), current_trigger=None)
    _check(data.steps, data.holdout_percent)
    changes |= await _segments(store, _whole(data))
    async with in_transaction() as conn:
        flow = await Flow.create(using_db=conn, store=store, **changes)
        await _write_steps(conn, flow.id, data.steps)
    return await get_flow(store, flow.id)


def _changes(name: str | None, data: FlowPatch, current_trigger: str | None) -> dict[str, object]:
    """The flow's own columns from a patch, each checked; a refusal names the field exactly."""
    if name is not None and not 1 <= len(name.strip()) <= 255:
        raise ApiError(422, "invalid_flow", "name: must be 1 to 255 characters")
    trigger_name = data.trigger or current_trigger or triggers.DEFAULT
    try:
        found = triggers.get(trigger_name)
        params = (
            triggers.validate_params(trigger_name, data.trigger_params)
            if data.trigger_params is not None or data.trigger is not None
            else None
        )
    except triggers.TriggerProblem as exc:
        raise ApiError(422, "invalid_flow", str(exc)) from None
    transactional = data.transactional
    if transactional is None and data.trigger is not None:
        transactional = found.transactional
    values = (
        ("name", name.strip() if name else None),
        ("enabled", data.enabled),
        ("holdout_percent", data.holdout_percent),
        ("trigger", data.trigger),
        ("trigger_params", params),
        ("transactional", transactional),
    )
    return {k: v for k, v in values if v is not None}


async def patch_flow(store: Store, flow_id: int, data: FlowPatch) -> FlowOut:
    """Nothing is written unless every step validates: a rejected edit leaves the flow as it was."""
    flow = await load(store, flow_id)
    changes = _changes(data.name, data, current_trigger=flow.trigger)
    _check(data.steps, data.holdout_percent)
    changes |= await _segments(store, data)
    async with in_transaction() as conn:
        if changes:
            await Flow.filter(id=flow.id).using_db(conn).update(**changes)
        if data.steps is not None:
            await FlowStep.filter(flow_id=flow.id).using_db(conn).delete()
            await _write_steps(conn, flow.id, data.steps)
        await Flow.filter(id=flow.id).using_db(conn).update(updated_at=utcnow())
    forget_steps(flow.id)
    return await get_flow(store, flow_id)


async def _write_steps(conn: BaseDBAsyncClient, flow_id: int, steps: list[StepIn]) -> None:
    for position, step in enumerate(steps):
        await FlowStep.create(
            using_db=conn,
            flow_id=flow_id,
            position=position,
            channel=step.channel,
            delay_seconds=step.delay_seconds,
            conditions=step.conditions,
            incentive=step.incentive,
            segment_id=step.segment_id,
            variants=[_variant(v) for v in step.variants],
        )


def _variant(v: VariantIn) -> dict[str, object]:
    data = {
        "key": v.key,
        "weight": str(v.weight),
        "subject": v.subject,
        "body": v.body,
        "html": v.html,
        "sms_body": v.sms_body,
    }
    return {k: val for k, val in data.items() if val is not None}


async def due_for_flow(flow: Flow, since: datetime, now: datetime) -> list[int]:
    """The contacts a timed flow's trigger made due between two passes (`since`, `now`]."""
    column, after, upto = triggers.due_range(flow.trigger, flow.trigger_params or {}, since, now)
    return await history.due_contacts(flow.store_id, column, after, upto)
