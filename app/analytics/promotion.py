"""A/B winners applied: one click by the merchant, or the worker for flows that opted in.

The winner keeps its weight, the other variants drop to weight 0 (retired: kept on the step, so
its history and its sends stay readable, but never picked again). A promotion is a conditional
update of the step (`promoted_variant IS NULL`): two workers, or a worker and a merchant, at
the same moment promote it once, and only the winner of that update writes the log row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.transactions import in_transaction

from app.analytics import inputs, measures
from app.analytics.period import local_day, parse_range
from app.core.errors import ApiError
from app.core.logging import ctx as log_ctx
from app.core.timeutil import utcnow
from app.recovery.flows import forget_steps
from app.recovery.models import Flow, FlowStep, Promotion
from app.stores.models import Store

log = logging.getLogger(__name__)
LOOKBACK_DAYS = 90  # the sends a verdict rests on: the last 90 days, in the store's zone
Z_TEST, KLAVIYO = "z-test", "klaviyo"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A step's A/B figures per channel and the variant they name, if any."""

    winner: str | None
    figures: list[dict[str, Any]]
    reason: str


def min_sample_of(store: Store) -> int:
    return int(((store.settings or {}).get("attribution") or {}).get("min_ab_sample") or 100)


async def arms_by_step(store: Store) -> dict[tuple[int | None, int, str], list[measures.Arm]]:
    """Sends and recoveries per variant for every (flow, step index, channel) of the store,
    over the lookback, read like the dashboard's A/B table (rollups where clean)."""
    today = local_day(utcnow(), store.timezone or "UTC")
    first = today - timedelta(days=LOOKBACK_DAYS - 1)
    rng = parse_range(store, utcnow(), str(first), str(today), None)
    rows = await inputs.variants(store, await inputs.plan(store, rng), None)
    found: dict[tuple[int | None, int, str], list[measures.Arm]] = {}
    for r in sorted(rows, key=lambda r: str(r["variant"] or "a")):
        arm = measures.Arm(str(r["variant"] or "a"), int(r["sent"]), int(r["conversions"]))
        found.setdefault((r["flow_id"], r["step_index"], r["channel"]), []).append(arm)
    return found


def _figures(channel: str, arms: list[measures.Arm]) -> list[dict[str, Any]]:
    return [
        {"channel": channel, "variant": a.key, "sent": a.sent, "conversions": a.conversions}
        for a in arms
    ]


def judge(per_channel: dict[str, list[measures.Arm]], rule: str, min_sample: int) -> Verdict:
    """The winner every channel's test agrees on (an auto step is tested per channel)."""
    figures: list[dict[str, Any]] = []
    winners: set[str] = set()
    for channel, arms in sorted(per_channel.items()):
        figures += _figures(channel, arms)
        if rule == Z_TEST:
            test = measures.experiment(arms, min_sample=min_sample)
            if test.winner is not None:
                winners.add(test.winner)
            for c in test.comparisons[1:]:
                figures.append({"channel": channel, "variant": c.arm.key, "p_value": c.p_value})
        else:
            auto = measures.auto_winner(arms)
            if auto is not None:
                winners.add(auto[0])
                figures.append({"channel": channel, "variant": auto[0], "probability": auto[1]})
    if len(winners) == 1:
        return Verdict(winners.pop(), figures, "")
    if winners:
        return Verdict(None, figures, "the channels name different winners")
    needed = (
        f"every variant at {min_sample} sends or more and a significant difference (5 %)"
        if rule == Z_TEST
        else f"every variant at {measures.AUTO_MIN_SAMPLE} recipients and a 90 % probability"
    )
    return Verdict(None, figures, f"no winner yet: needs {needed}")


async def _step(flow: Flow, position: int) -> FlowStep:
    step = await FlowStep.get_or_none(flow_id=flow.id, position=position)
    if step is None:
        raise ApiError(404, "not_found", f"step: flow {flow.id} has no step {position + 1}")
    return step


def _live(step: FlowStep) -> list[str]:
    return [str(v.get("key", "a")) for v in step.variants if float(v.get("weight", 1)) > 0]


async def apply(
    store: Store,
    flow: Flow,
    step: FlowStep,
    winner: str,
    actor: str,
    rule: str,
    figures: list[dict[str, Any]],
) -> Promotion | None:
    """The conditional update: None when someone else promoted this step first."""
    retired = [k for k in _live(step) if k != winner]
    variants = [
        v if str(v.get("key", "a")) == winner else {**v, "weight": "0"} for v in step.variants
    ]
    async with in_transaction() as conn:
        won = (
            await FlowStep.filter(id=step.id, promoted_variant__isnull=True)
            .using_db(conn)
            .update(promoted_variant=winner, variants=variants)
        )
        if not won:
            return None
        promotion = await Promotion.create(
            using_db=conn,
            store_id=store.id,
            flow_id=flow.id,
            step_position=step.position,
            channel=str(step.channel),
            winner=winner,
            retired=retired,
            automatic=rule == KLAVIYO,
            actor=actor[:320],
            rule=rule,
            figures=figures,
        )
    forget_steps(flow.id)
    log.info(
        "variant promoted",
        extra=log_ctx(store=store.id, flow=flow.id, step=step.position, winner=winner),
    )
    return promotion


async def promote(
    store: Store, flow_id: int, step_number: int, variant: str, actor: str
) -> Promotion:
    """The merchant's click: allowed only for the variant the z-test names (store's minimum sample)."""
    flow = await Flow.get_or_none(id=flow_id, store_id=store.id)
    if flow is None:
        raise ApiError(404, "not_found", f"no flow {flow_id} in this store")
    step = await _step(flow, step_number - 1)
    if step.promoted_variant is not None:
        raise ApiError(
            409,
            "already_promoted",
            f"step {step_number}: variant {step.promoted_variant} was promoted already",
        )
    if variant not in _live(step):
        raise ApiError(
            422, "invalid_variant", f"variant: step {step_number} has no live variant {variant!r}"
        )
    arms = await arms_by_step(store)
    per_channel = {ch: a for (f, s, ch), a in arms.items() if f == flow.id and s == step.position}
    verdict = judge(per_channel, Z_TEST, min_sample_of(store))
    if verdict.winner != variant:
        reason = verdict.reason or f"the test names variant {verdict.winner}, not {variant}"
        raise ApiError(409, "not_significant", f"variant: {reason}")
    promotion = await apply(store, flow, step, variant, actor, Z_TEST, verdict.figures)
    if promotion is None:
        raise ApiError(409, "already_promoted", f"step {step_number}: promoted a moment ago")
    return promotion


async def promote_store(store: Store) -> int:
    """Every opted-in flow's steps whose test meets Klaviyo's rule; returns promotions made."""
    flows = await Flow.filter(store_id=store.id, auto_promote=True)
    if not flows:
        return 0
    arms = await arms_by_step(store)
    done = 0
    for flow in flows:
        for step in await FlowStep.filter(flow_id=flow.id, promoted_variant__isnull=True):
            if len(_live(step)) < 2:
                continue
            per_channel = {
                ch: a for (f, s, ch), a in arms.items() if f == flow.id and s == step.position
            }
            verdict = judge(per_channel, KLAVIYO, measures.AUTO_MIN_SAMPLE)
            if verdict.winner and verdict.winner in _live(step):
                made = await apply(
                    store, flow, step, verdict.winner, "worker", KLAVIYO, verdict.figures
                )
                done += made is not None
    return done


async def promote_winners(ctx: dict[str, Any]) -> int:
    """Worker cron: automatic promotion for every active store with an opted-in flow."""
    ids = await Flow.filter(auto_promote=True).distinct().values_list("store_id", flat=True)
    done = 0
    for store in await Store.filter(id__in=list(ids), status="active"):
        done += await promote_store(store)
    return done


async def set_auto(store: Store, flow_id: int, enabled: bool) -> Flow:
    flow = await Flow.get_or_none(id=flow_id, store_id=store.id)
    if flow is None:
        raise ApiError(404, "not_found", f"no flow {flow_id} in this store")
    await Flow.filter(id=flow.id).update(auto_promote=enabled)
    flow.auto_promote = enabled
    return flow


async def history(store: Store, flow_id: int) -> list[Promotion]:
    return await Promotion.filter(store_id=store.id, flow_id=flow_id).order_by("-created_at", "-id")


async def promoted_steps(flow_id: int) -> dict[int, str]:
    """Step index -> the variant promoted, for the pages to say so instead of offering a click."""
    found = await FlowStep.filter(flow_id=flow_id, promoted_variant__isnull=False).values_list(
        "position", "promoted_variant"
    )
    return {int(p): str(v) for p, v in found}
