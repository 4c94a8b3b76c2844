"""Entering flows whose trigger is not an abandoned checkout: from order and consent events, and
from the worker's pass over the indexed due times. Each entry is one enrollment per (store, flow,
contact, entry key), a unique key in the database, so a replayed event, a repeated pass or two
workers passing at once never enrol anyone twice. Abandoned checkouts enter through
`services.enroll`, as before."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app.checkouts import history
from app.checkouts import rules as checkout_rules
from app.checkouts.models import Contact, ContactHistory, Order
from app.core.logging import ctx
from app.core.timeutil import utcnow
from app.recovery import flows, rules, services, triggers
from app.recovery.flows import ordered_steps
from app.recovery.models import Enrollment, EnrollmentStatus, Flow
from app.recovery.sending import schedule

log = logging.getLogger(__name__)

MAX_EVENT_AGE = timedelta(days=2)
"""An order or consent older than this enters no flow: an import or a replay of old deliveries
must not send payment reminders for last year's orders."""
CATCH_UP = timedelta(days=2)
"""How far back a pass looks at most: a worker down for an hour catches up; a new flow also takes
in whoever fell due in the two days before it was created (today's birthdays); a flow switched
back on after a month starts two days back instead of sending a month of birthdays at once.
(`advance_birthdays` leaves a passed birthday in place this long, so a pass still sees it.)"""
ORDER_TRIGGERS = (
    triggers.ORDER_PAYMENT_PENDING,
    triggers.ORDERS_COUNT_REACHED,
    triggers.TOTAL_SPENT_REACHED,
)
TIMED = tuple(name for name, t in triggers.CATALOGUE.items() if t.timed)
PURCHASE_STOPS = tuple(name for name, t in triggers.CATALOGUE.items() if t.purchase_stops)


def history_of(row: ContactHistory | None) -> triggers.History:
    if row is None:
        return triggers.History()
    return triggers.History(
        orders_count=row.orders_count,
        total_spent=row.total_spent,
        currency=row.currency,
        first_order_at=row.first_order_at,
        last_order_at=row.last_order_at,
        birthday=row.birthday,
        birthday_due_at=row.birthday_due_at,
        subscribed=row.subscribed,
    )


async def enter(
    flow: Flow,
    contact_id: int,
    key: str,
    anchor: datetime,
    queue: Any,
    order_id: int | None = None,
) -> Enrollment | None:
    """The contact enters the flow for period `key` (or its holdout group); None when they were
    in it for this period already. Step delays count from `anchor`."""
    steps = await ordered_steps(flow.id)
    seed = f"{flow.id}:{contact_id}:{key}"
    held = rules.in_holdout(flow.store_id, seed, flow.holdout_percent)
    due = rules.step_due(anchor, steps[0].delay_seconds) if steps and not held else None
    try:
        enrollment = await Enrollment.create(
            store_id=flow.store_id,
            flow_id=flow.id,
            contact_id=contact_id,
            order_id=order_id,
            trigger=flow.trigger,
            entry_key=key,
            transactional=flow.transactional,
            status=EnrollmentStatus.HOLDOUT if held else EnrollmentStatus.ACTIVE,
            abandoned_at=anchor,
            next_due_at=due,
        )
    except IntegrityError:  # entered for this period already: the first entry stands
        return None
    if due:
        await schedule(queue, enrollment.id, 0, due)
    log.info(
        "entered flow",
        extra=ctx(store=flow.store_id, flow=flow.id, contact=contact_id, key=key, holdout=held),
    )
    return enrollment


async def _flows(store_id: int, names: Iterable[str]) -> list[Flow]:
    return await Flow.filter(store_id=store_id, enabled=True, trigger__in=list(names)).order_by(
        "id"
    )


async def on_order(order_id: int, at: datetime, queue: Any) -> int:
    """An order was recorded (placed, paid, cancelled): stop what it ends, enter what it fires."""
    order = await Order.get_or_none(id=order_id)
    if order is None or order.contact_id is None:
        return 0
    state = checkout_rules.payment_state(order.placed, order.financial_status)
    await _stop_for_order(order, state)
    pending = state == "pending"
    anchor = order.placed_at if pending else at
    found = await _flows(order.store_id, ORDER_TRIGGERS)
    if not found or utcnow() - anchor > MAX_EVENT_AGE:
        return 0
    # The history listener ran just before in this dispatch; reading it again costs one query.
    row = await ContactHistory.get_or_none(contact_id=order.contact_id)
    occasion = triggers.Occasion("order.recorded", at, order.id, payment_pending=pending)
    entered = 0
    for flow in found:
        params = flow.trigger_params or {}
        key = triggers.entry_key(flow.trigger, history_of(row), occasion, params)
        if key is None:
            continue
        order_ref = order.id if flow.trigger == triggers.ORDER_PAYMENT_PENDING else None
        entered += bool(await enter(flow, order.contact_id, key, anchor, queue, order_ref))
    return entered


async def _stop_for_order(order: Order, state: str) -> None:
    """Payment pending ends when the order is paid or cancelled; a confirmed order ends the
    flows a purchase stops (win-back, welcome) that the contact entered before it."""
    live = services.LIVE
    if state != "pending":
        for (enrollment_id,) in await Enrollment.filter(
            order_id=order.id, trigger=triggers.ORDER_PAYMENT_PENDING, status__in=live
        ).values_list("id"):
            await services.stop(enrollment_id, f"order_{state}")
    if state == "paid":
        for (enrollment_id,) in await Enrollment.filter(
            contact_id=order.contact_id,
            trigger__in=PURCHASE_STOPS,
            status__in=live,
            abandoned_at__lte=order.placed_at,
        ).values_list("id"):
            await services.stop(enrollment_id, "order_placed")


async def on_opt_in(contact_id: int, store_id: int, at: datetime, queue: Any) -> int:
    """Marketing consent granted: the contact enters the store's welcome flows (once ever)."""
    found = await _flows(store_id, (triggers.CONTACT_SUBSCRIBED,))
    contact = await Contact.get_or_none(id=contact_id, store_id=store_id) if found else None
    if contact is None or utcnow() - at > MAX_EVENT_AGE:
        return 0
    row = await history.refresh(contact.id)  # a new contact may have no history row yet
    occasion = triggers.Occasion("contact.opted_in", at, contact.id)
    entered = 0
    for flow in found:
        key = triggers.entry_key(flow.trigger, history_of(row), occasion, flow.trigger_params or {})
        if key:
            entered += bool(await enter(flow, contact.id, key, at, queue))
    return entered


async def enroll_due(now: datetime, queue: Any) -> dict[str, int]:
    """The worker's pass: each enabled timed flow enrols what fell due since its cursor."""
    counts = {"flows": 0, "entered": 0}
    for flow in await Flow.filter(enabled=True, trigger__in=list(TIMED)).order_by("id"):
        counts["flows"] += 1
        counts["entered"] += await pass_flow(flow, now, queue)
    if counts["entered"]:
        log.info("timed triggers: %s", counts)
    return counts


async def pass_flow(flow: Flow, now: datetime, queue: Any) -> int:
    """One flow's pass over (cursor, now], an indexed range query; the cursor is the database's
    (`Flow.due_through`), so a Redis that lost everything loses nothing here."""
    since = max(flow.due_through or flow.created_at - CATCH_UP, now - CATCH_UP)
    if since >= now:
        return 0
    ids = await flows.due_for_flow(flow, since, now)
    rows = {r.contact_id: r for r in await ContactHistory.filter(contact_id__in=ids)} if ids else {}
    entered = 0
    for contact_id in ids:
        row = rows.get(contact_id)
        occasion = triggers.Occasion(triggers.CLOCK, now, contact_id)
        params = triggers.validate_params(flow.trigger, flow.trigger_params)
        key = triggers.entry_key(flow.trigger, history_of(row), occasion, params)
        anchor = _due_instant(flow.trigger, params, row)
        if key and anchor:
            entered += bool(await enter(flow, contact_id, key, anchor, queue))
    await Flow.filter(Q(due_through__isnull=True) | Q(due_through__lt=now), id=flow.id).update(
        due_through=now
    )
    return entered


def _due_instant(name: str, params: dict[str, Any], row: ContactHistory | None) -> datetime | None:
    """When the contact fell due: the step delays count from here, not from the pass."""
    if row is None:
        return None
    if name == triggers.CONTACT_BIRTHDAY:
        return row.birthday_due_at
    base = row.first_order_at if name == triggers.ORDER_FIRST_PLACED else row.last_order_at
    return base + timedelta(days=int(params["days"])) if base else None
