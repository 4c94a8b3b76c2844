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
from app.recovery import seasons, triggers
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
_calendars: TTLCache[tuple[list[seasons.Season], str, str]] = TTLCache(
    ttl=STEPS_TTL, max_entries=1000
)


async def ordered_steps(flow_id: int | None, at: datetime | None = None) -> list[FlowStep]:
    """A flow's steps in order, cached briefly: every send of every checkout needs them. Given
    `at` (the cart's abandonment), as the flow's season in force then changes them."""
    if flow_id is None:
        return []
    steps = await _steps.get(flow_id, lambda: FlowStep.filter(flow_id=flow_id).order_by("position"))
    if at is None or not steps:
        return steps or []
    found, zone, _ = await _calendar(flow_id)
    return seasons.adjust(steps, seasons.active(found, zone, at))


async def sold_out_choice(flow_id: int | None) -> str:
    """What a flow does with a line sold out at send time: "omit" it, or "skip" the step."""
    return (await _calendar(flow_id))[2] if flow_id is not None else "omit"


async def _calendar(flow_id: int) -> tuple[list[seasons.Season], str, str]:
    """A flow's seasons, its store's zone and its sold-out choice, cached like its steps."""

    async def load() -> tuple[list[seasons.Season], str, str]:
        flow = await Flow.get_or_none(id=flow_id).select_related("store")
        if flow is None:
            return [], "UTC", "omit"
        return seasons.loaded(flow.seasons), flow.store.timezone, flow.sold_out

    return await _calendars.get(flow_id, load) or ([], "UTC", "omit")


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
        _calendars.clear()
        _entry.clear()
    else:
        _steps.forget(flow_id)
        _calendars.forget(flow_id)
        _entry.forget(flow_id)


def _active_now(flow: Flow, zone: str | None) -> str | None:
    season = seasons.active(seasons.loaded(flow.seasons), zone, utcnow())
    return season.name if season else None


def _out(flow: Flow, steps: list[FlowStep], zone: str | None = None) -> FlowOut:
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
        sold_out=flow.sold_out,
        seasons=list(flow.seasons or []),
        active_season=_active_now(flow, zone),
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


async def describe(flow: Flow, zone: str | None = None) -> FlowOut:
    return _out(flow, await FlowStep.filter(flow=flow).order_by("position"), zone)


async def list_flows(store: Store) -> list[FlowOut]:
    await ensure_default_flow(store)
    found = await Flow.filter(store=store).order_by("id")
    return [await describe(f, store.timezone) for f in found]


async def get_flow(store: Store, flow_id: int) -> FlowOut:
    return await describe(await load(store, flow_id), store.timezone)


def _check(steps: list[StepIn] | None, holdout: Decimal | None) -> None:
    try:
        validate_flow(steps, holdout)
    except FlowProblem as exc:
        raise ApiError(422, "invalid_flow", str(exc)) from None


def _check_seasons(raw: list[dict[str, Any]], steps: list[StepIn]) -> list[dict[str, Any]]:
    """Each season valid, none overlapping, and the flow as each season changes it valid too
    (one SMS per abandonment, delays in order, incentives); stored in a normal form."""
    try:
        found = seasons.parse_all(raw, len(steps))
    except seasons.SeasonProblem as exc:
        raise ApiError(422, "invalid_flow", str(exc)) from None
    for index, season in enumerate(found):
        where = f"seasons[{index}]"
        try:
            validate_flow(_overridden(steps, season, where), None)
        except FlowProblem as exc:
            raise ApiError(422, "invalid_flow", f"{where}.{exc}") from None
    return [
        {
            "name": s.name,
            "starts_at": s.starts_at.isoformat(timespec="minutes"),
            "ends_at": s.ends_at.isoformat(timespec="minutes"),
            "steps": list(s.steps),
        }
        for s in found
    ]


def _overridden(steps: list[StepIn], season: seasons.Season, where: str) -> list[StepIn]:
    out = []
    for index, step in enumerate(steps):
        override = season.steps[index] if index < len(season.steps) else None
        data = {**msgspec.to_builtins(step), **(override or {})}
        if override and "channel" in override:
            data["variants"] = seasons.adapt(data["variants"], step.channel, str(data["channel"]))
        try:
            out.append(msgspec.convert(data, StepIn))
        except msgspec.ValidationError as exc:
            field = str(exc).rsplit("$.", 1)[-1].rstrip("`") if "$." in str(exc) else ""
            raise ApiError(
                422, "invalid_flow", f"{where}.steps[{index}].{field}: {exc}".replace("..", ".")
            ) from None
    return out


def _as_input(step: FlowStep) -> StepIn:
    return msgspec.convert(
        {
            "channel": str(step.channel),
            "delay_seconds": step.delay_seconds,
            "conditions": step.conditions or {},
            "incentive": step.incentive,
            "variants": step.variants,
        },
        StepIn,
        strict=False,
    )


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
        sold_out=data.sold_out,
        seasons=data.seasons,
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
    changes["seasons"] = _check_seasons(data.seasons or [], data.steps)
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
        ("sold_out", data.sold_out),
    )
    return {k: v for k, v in values if v is not None}


async def patch_flow(store: Store, flow_id: int, data: FlowPatch) -> FlowOut:
    """Nothing is written unless every step validates: a rejected edit leaves the flow as it was."""
    flow = await load(store, flow_id)
    changes = _changes(data.name, data, current_trigger=flow.trigger)
    _check(data.steps, data.holdout_percent)
    if data.seasons is not None or (data.steps is not None and flow.seasons):
        steps = data.steps
        if steps is None:
            steps = [_as_input(s) for s in await FlowStep.filter(flow=flow).order_by("position")]
        raw = data.seasons if data.seasons is not None else list(flow.seasons or [])
        changes["seasons"] = _check_seasons(raw, steps)
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
