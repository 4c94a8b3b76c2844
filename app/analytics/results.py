"""Results per flow and step: entered, sent, delivered, clicked, replied, ordered, revenue, holdout.

Built from the rows `figures.compute` has already read (rollups where clean, raw elsewhere), so a
flow picker costs no query beyond the store's flow names. Keys are the enrollment's flow and the
message's step, never the checkout, so every trigger is counted alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.analytics import rules
from app.analytics.attribution import Claims
from app.analytics.schemas import (
    FlowModels,
    FlowResult,
    FlowStepResult,
    HoldoutOut,
    Model,
    VariantRow,
)
from app.core.money import quantize

ZERO = Decimal(0)
FAILED = frozenset({"failed", "undelivered"})
COUNTERS = ("entered", "failed", "delivered", "clicked", "replied")
StepKey = tuple[int, str]


@dataclass(slots=True)
class Cohort:
    """A flow's entries of the period in one group (held out or messaged), for the entry counts
    and the holdout lift: how many, how many had a counted order within the conversion window
    of entry, and what those orders were worth in the store currency."""

    flow_id: int | None
    held: bool
    size: int = 0
    wins: int = 0
    worth: Decimal = ZERO


def _tally(
    sends: list[dict[str, Any]], click_rows: list[dict[str, Any]]
) -> dict[int | None, dict[StepKey, dict[str, int]]]:
    """Counters per flow, then per (step index, channel)."""
    table: dict[int | None, dict[StepKey, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    )
    for r in sends:
        if r["step_index"] is None:
            continue
        row = table[r["flow_id"]][(r["step_index"], r["channel"])]
        n = int(r["n"])
        row["entered"] += n
        row["failed"] += n if r["status"] == "failed" else 0
        row["delivered"] += n if rules.is_delivered(r["channel"], r["status"]) else 0
        row["replied"] += int(r.get("replied") or 0)
    for r in click_rows:
        if r["step_index"] is not None and r["channel"] is not None:
            table[r["flow_id"]][(r["step_index"], r["channel"])]["clicked"] += int(r["messages"])
    return table


def _models(claims: Claims, flow_id: int | None, key: StepKey | None, cur: str) -> FlowModels:
    def model(name: str) -> Model:
        n, revenue = 0, ZERO
        for (m, f, step, channel), (k, v) in claims.flows.items():
            if m == name and f == flow_id and (key is None or key == (step, channel)):
                n, revenue = n + k, revenue + v
        return Model(orders=n, revenue=quantize(revenue, cur))

    return FlowModels(recovered=model("recovered"), click=model("click"), message=model("message"))


def _step(key: StepKey, row: dict[str, int], models: FlowModels) -> FlowStepResult:
    return FlowStepResult(
        step=key[0] + 1,
        channel=key[1],
        entered=row["entered"],
        sent=row["entered"] - row["failed"],
        delivered=row["delivered"],
        failed=row["failed"],
        clicked=row["clicked"],
        replied=row["replied"],
        ordered=models.message.orders,
        revenue=models.message.revenue,
        attribution=models,
    )


def build(
    flows: list[tuple[int | None, str, str]],
    sends: list[dict[str, Any]],
    click_rows: list[dict[str, Any]],
    enrolled: list[Cohort],
    claims: Claims,
    variants: list[VariantRow],
    holdout: Callable[[Iterable[Cohort]], HoldoutOut],
    currency: str,
) -> list[FlowResult]:
    """One result per flow in `flows` (id, name, trigger); `holdout` computes a lift from
    cohorts (`figures._holdout`, the store-wide rule applied to one flow's cohorts).
    A flow id no longer among the store's flows (a rollup built before the flow was deleted)
    counts as a deleted flow (None), as the raw tables say once its enrollments lose it."""
    known = {f[0] for f in flows if f[0] is not None}
    sends, click_rows = _known(sends, known), _known(click_rows, known)
    claims = _known_claims(claims, known)
    table = _tally(sends, click_rows)
    by_flow: dict[int | None, list[Cohort]] = defaultdict(list)
    for cohort in enrolled:
        by_flow[cohort.flow_id if cohort.flow_id in known else None].append(cohort)
    out = []
    for flow_id, name, trigger in flows:
        steps = [
            _step(key, row, _models(claims, flow_id, key, currency))
            for key, row in sorted(table.get(flow_id, {}).items())
        ]
        cohorts = by_flow.get(flow_id, [])
        models = _models(claims, flow_id, None, currency)
        out.append(
            FlowResult(
                flow_id=flow_id,
                name=name,
                trigger=trigger,
                currency=currency,
                entered=sum(c.size for c in cohorts),
                holdout=sum(c.size for c in cohorts if c.held),
                sent=sum(s.sent for s in steps),
                delivered=sum(s.delivered for s in steps),
                failed=sum(s.failed for s in steps),
                clicked=sum(s.clicked for s in steps),
                replied=sum(s.replied for s in steps),
                ordered=models.message.orders,
                revenue=models.message.revenue,
                attribution=models,
                holdout_lift=holdout(cohorts),
                steps=steps,
                variants=[v for v in variants if v.flow_id == flow_id],
            )
        )
    return out


def _known(rows: list[dict[str, Any]], known: set[int]) -> list[dict[str, Any]]:
    return [r if r["flow_id"] in known else {**r, "flow_id": None} for r in rows]


def _known_claims(claims: Claims, known: set[int]) -> Claims:
    """A copy whose flow credits name only known flows (the rest under None, merged)."""
    out = Claims()
    for (model, flow, step, channel), (n, revenue) in claims.flows.items():
        credit = out.flows[(model, flow if flow in known else None, step, channel)]
        credit[0] += n
        credit[1] += revenue
    return out


def deleted_flow_seen(rows: list[dict[str, Any]], known: set[int]) -> bool:
    """Sends or enrollments of flows since deleted (their flow id was cleared) in the period."""
    return any(r["flow_id"] is None or r["flow_id"] not in known for r in rows)
