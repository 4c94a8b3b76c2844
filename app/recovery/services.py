"""Enrollment verbs for the engine, the inbox and the dashboard: enroll, pause, resume, stop, progress."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.core import events
from app.core.logging import ctx
from app.core.scheduling import dispatch_soon, shared_queue
from app.core.timeutil import utcnow
from app.messaging.models import DeliveryStatus, Message
from app.recovery import devices, flows, links, rules, triggers
from app.recovery.discounts import Incentive, issue_discount_code
from app.recovery.flows import ordered_steps
from app.recovery.models import DiscountCode, Enrollment, EnrollmentStatus, Flow, FlowStep
from app.recovery.playbook import ensure_default_flow
from app.recovery.sending import schedule
from app.recovery.zones import location, shopper_zone
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)
LIVE = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


async def enroll(checkout_id: int, queue: Any = None) -> Enrollment | None:
    """Put an abandoned checkout into its store's flow once (or into the holdout group); a newer
    cart of the same shopper on another device takes the running sequence over (`devices`)."""
    checkout = await Checkout.get_or_none(id=checkout_id)
    if checkout is None or checkout.status != CheckoutStatus.ABANDONED:
        return await Enrollment.get_or_none(checkout_id=checkout_id)
    store = await Store.get(id=checkout.store_id)
    flow = (
        await Flow.filter(store=store, enabled=True, trigger=triggers.CHECKOUT_ABANDONED)
        .order_by("id")
        .first()
    )
    if flow is None and not await Flow.exists(store=store):
        flow = await ensure_default_flow(store)
    if flow is None:
        return None
    for attempt in range(3):
        try:
            async with in_transaction() as conn:
                enrollment, stopped = await _enroll(store, flow, checkout, conn)
            break
        except IntegrityError:  # the event was delivered twice: the first enrollment stands
            return await Enrollment.get_or_none(checkout_id=checkout_id)
        except OperationalError as exc:
            # Contact then enrollment here, enrollment then contact in a step's claim: PostgreSQL
            # may cancel one of the two as a deadlock; nothing was kept, so this one tries again.
            if "deadlock" not in str(exc).lower() or attempt == 2:
                raise
    if stopped is not None:
        await dispatch_soon(stopped)
    if enrollment.next_due_at and enrollment.status == EnrollmentStatus.ACTIVE:
        await schedule(queue, enrollment.id, enrollment.next_step, enrollment.next_due_at)
    log.info(
        "enrolled",
        extra=ctx(store=store.id, checkout=checkout_id, status=str(enrollment.status)),
    )
    return enrollment


async def _enroll(
    store: Store, flow: Flow, checkout: Checkout, conn: Any
) -> tuple[Enrollment, int | None]:
    """In one transaction under the contact's row lock: alone, taking over, or replaced."""
    if checkout.contact_id is not None:  # two devices at once: one after the other
        await Contact.select_for_update().using_db(conn).get(id=checkout.contact_id)
    existing = await Enrollment.filter(checkout_id=checkout.id).using_db(conn).first()
    if existing is not None:
        return existing, None
    other = await devices.live_in_group(checkout, store.settings, conn)  # cart enrollments only
    if other is not None and other.checkout and devices.newer(other.checkout, checkout):
        return await _replaced_on_arrival(store, checkout, other, conn)
    if other is not None:
        return await _take_over(store, checkout, other, conn)
    abandoned_at = checkout.abandoned_at or utcnow()
    steps = await ordered_steps(flow.id, abandoned_at)
    held = rules.in_holdout(store.id, checkout.token, flow.holdout_percent)
    due = rules.step_due(abandoned_at, steps[0].delay_seconds) if steps and not held else None
    status = EnrollmentStatus.HOLDOUT if held else EnrollmentStatus.ACTIVE
    fields = {"flow_id": flow.id, "abandoned_at": abandoned_at, "next_due_at": due}
    return await _create(store, checkout, conn, status=status, **fields), None


async def _replaced_on_arrival(
    store: Store, checkout: Checkout, newer: Enrollment, conn: Any
) -> tuple[Enrollment, int | None]:
    """This cart is the earlier one (its event came late): the newer cart's sequence stands,
    and this one is enrolled as stopped, so the inbox and the stats say why it never sent."""
    await Checkout.filter(id=checkout.id).using_db(conn).update(superseded_by_id=newer.checkout_id)
    now = utcnow()
    replaced = await _create(
        store,
        checkout,
        conn,
        flow_id=newer.flow_id,
        status=EnrollmentStatus.STOPPED,
        abandoned_at=checkout.abandoned_at or now,
        stop_reason=devices.REPLACED,
        stopped_at=now,
    )
    payload = {"reason": devices.REPLACED, "checkout_id": checkout.id}
    event_id = await events.record(
        events.ENROLLMENT_STOPPED, store.id, replaced.id, payload, using=conn
    )
    return replaced, event_id


async def _take_over(
    store: Store, checkout: Checkout, older: Enrollment, conn: Any
) -> tuple[Enrollment, int | None]:
    """The newer cart continues the older cart's sequence at its step; the older one stops.

    Stopping first waits for a send of the older one being claimed (it holds the row); a step
    whose message then exists (in flight or sent) is not sent again for the newer cart."""
    stopped = None
    if older.status != EnrollmentStatus.HOLDOUT:
        stopped = await _stop_in(conn, older.id, devices.REPLACED)
    step = (await Enrollment.filter(id=older.id).using_db(conn).get()).next_step
    went_out = (
        await Message.filter(enrollment_id=older.id, step_index=step)
        .exclude(status__in=(DeliveryStatus.FAILED, DeliveryStatus.CANCELLED))
        .using_db(conn)
        .exists()
    )
    steps = await ordered_steps(older.flow_id, older.abandoned_at)
    fields = devices.takeover(older, steps, utcnow(), step + 1 if went_out else step)
    linked = Checkout.filter(id=older.checkout_id).using_db(conn)
    await linked.update(superseded_by_id=checkout.id)
    if contacted := older.checkout and older.checkout.recovery_contacted_at:
        # The shopper was contacted about this abandonment: an order still recovers it.
        mine = Checkout.filter(id=checkout.id, recovery_contacted_at=None).using_db(conn)
        await mine.update(recovery_contacted_at=contacted)
    return await _create(store, checkout, conn, **fields), stopped


async def _create(store: Store, checkout: Checkout, conn: Any, **fields: Any) -> Enrollment:
    return await Enrollment.create(
        store=store,
        checkout=checkout,
        contact_id=checkout.contact_id,
        entry_key=f"checkout:{checkout.id}",  # the catalogue's key: once per checkout
        using_db=conn,
        **fields,
    )


async def delete_flow(store: Store, flow_id: int) -> None:
    """Stop the flow's live sequences (nothing more is sent from it), then remove it and its steps.

    Enrollments stay, without a flow, so results and attribution keep what was sent.
    """
    flow = await flows.load(store, flow_id)
    for live in await Enrollment.filter(flow_id=flow.id, status__in=LIVE):
        await stop(live.id, "flow_deleted")
    await Flow.filter(id=flow.id, store=store).delete()
    flows.forget_steps(flow.id)


async def pause(enrollment_id: int, reason: str) -> bool:
    """Automation steps aside (a shopper replied); an agent may resume it from the inbox."""
    won = await Enrollment.filter(id=enrollment_id, status=EnrollmentStatus.ACTIVE).update(
        status=EnrollmentStatus.PAUSED, paused_at=utcnow(), pause_reason=reason[:64]
    )
    return bool(won)


async def resume(enrollment_id: int, queue: Any = None) -> bool:
    """Continue with the next step; a step whose time passed during the pause goes out now."""
    enrollment = await Enrollment.get_or_none(id=enrollment_id, status=EnrollmentStatus.PAUSED)
    if enrollment is None:
        return False
    steps = await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
    now = utcnow()
    if enrollment.next_step >= len(steps):
        won = await Enrollment.filter(id=enrollment_id, status=EnrollmentStatus.PAUSED).update(
            status=EnrollmentStatus.COMPLETED, completed_at=now, paused_at=None, next_due_at=None
        )
        return bool(won)
    due = max(
        now, rules.step_due(enrollment.abandoned_at, steps[enrollment.next_step].delay_seconds)
    )
    won = await Enrollment.filter(id=enrollment_id, status=EnrollmentStatus.PAUSED).update(
        status=EnrollmentStatus.ACTIVE, paused_at=None, pause_reason=None, next_due_at=due
    )
    if won:
        await schedule(queue or await shared_queue(), enrollment_id, enrollment.next_step, due)
    return bool(won)


async def stop(enrollment_id: int, reason: str) -> bool:
    """Final: no further step is sent, and unsent attempts are cancelled."""
    async with in_transaction() as conn:
        event_id = await _stop_in(conn, enrollment_id, reason)
    if event_id is not None:
        await dispatch_soon(event_id)
        log.info("enrollment stopped", extra=ctx(enrollment=enrollment_id, reason=reason))
    return event_id is not None


async def _stop_in(conn: Any, enrollment_id: int, reason: str) -> int | None:
    """Stop a live enrollment inside the caller's transaction; the outbox event's id if it won."""
    won = (
        await Enrollment.filter(id=enrollment_id, status__in=LIVE)
        .using_db(conn)
        .update(
            status=EnrollmentStatus.STOPPED,
            stop_reason=reason[:64],
            stopped_at=utcnow(),
            next_due_at=None,
        )
    )
    if not won:
        return None
    await (
        Message.filter(enrollment_id=enrollment_id, status=DeliveryStatus.PENDING)
        .using_db(conn)
        .update(status=DeliveryStatus.CANCELLED, error_message=f"sequence stopped: {reason}")
    )
    stopped = await Enrollment.get(id=enrollment_id, using_db=conn)
    return await events.record(
        events.ENROLLMENT_STOPPED,
        stopped.store_id,
        enrollment_id,
        {"reason": reason, "checkout_id": stopped.checkout_id},
        using=conn,
    )


async def stop_for_checkout(checkout_id: int, reason: str) -> bool:
    enrollment = await Enrollment.get_or_none(checkout_id=checkout_id)
    return bool(enrollment and await stop(enrollment.id, reason))


def state_of(enrollment: Enrollment) -> dict[str, Any]:
    """Where an enrollment of a flow without a cart stands (its trigger and period)."""
    return {
        "enrolled": True,
        "enrollment_id": enrollment.id,
        "trigger": enrollment.trigger,
        "entry_key": enrollment.entry_key,
        "status": str(enrollment.status),
        "stop_reason": enrollment.stop_reason,
        "pause_reason": enrollment.pause_reason,
        "next_due_at": _when(enrollment.next_due_at),
    }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def progress(checkout: Checkout) -> dict[str, Any]:
    """What the inbox shows beside a cart: where the sequence is, what comes next and when."""
    enrollment = await Enrollment.get_or_none(checkout_id=checkout.id)
    if enrollment is None:
        return {"enrolled": False, "steps_total": 0, "steps_done": 0, "next_step": None}
    steps = await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
    messages = {
        m.step_index: m
        for m in await Message.filter(enrollment_id=enrollment.id, step_index__isnull=False)
    }
    live = enrollment.status in LIVE
    nxt = steps[enrollment.next_step] if live and enrollment.next_step < len(steps) else None
    return {
        "enrolled": True,
        "enrollment_id": enrollment.id,
        "status": str(enrollment.status),
        "stop_reason": enrollment.stop_reason,
        "pause_reason": enrollment.pause_reason,
        "steps_total": len(steps),
        "steps_done": min(enrollment.next_step, len(steps)),
        "next_step": await next_send(checkout, enrollment, nxt) if nxt else None,
        "next_due_at": _when(enrollment.next_due_at) if live else None,
        "steps": [
            {
                "index": i,
                # What an attempt went out on: an auto step's resolved sms or email.
                "channel": str(messages[i].channel if i in messages else s.channel),
                "delay_seconds": s.delay_seconds,
                "status": str(messages[i].status) if i in messages else None,
                "sent_at": _when(messages[i].sent_at) if i in messages else None,
            }
            for i, s in enumerate(steps)
        ],
    }


async def next_steps(checkouts: list[Checkout]) -> dict[int, dict[str, Any]]:
    """`next_send` for each checkout whose sequence is running, by checkout id (one query for
    the enrollments; a paused sequence waits for an agent, not for a time, so it has none)."""
    by_id = {c.id: c for c in checkouts}
    running = await Enrollment.filter(checkout_id__in=list(by_id), status=EnrollmentStatus.ACTIVE)
    out: dict[int, dict[str, Any]] = {}
    for enrollment in running:
        steps = await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
        if enrollment.next_step < len(steps):
            checkout = by_id[enrollment.checkout_id]
            out[checkout.id] = await next_send(checkout, enrollment, steps[enrollment.next_step])
    return out


async def next_send(checkout: Checkout, enrollment: Enrollment, step: FlowStep) -> dict[str, Any]:
    """The next step as a person wants it: channel, when in the shopper's own time, and why
    later than planned (quiet hours), read the way the engine reads it right before sending."""
    store = await Store.get(id=checkout.store_id)
    contact = await Contact.get_or_none(id=checkout.contact_id)
    policy = rules.policy_from_settings((store.settings or {}).get("recovery"))
    country, region = location(contact, checkout)
    phone = (contact.phone if contact else None) or checkout.phone
    browser = contact.timezone if contact else None
    zone = shopper_zone(phone, country, region, browser, store.timezone)
    step_out = {
        "index": enrollment.next_step,
        "channel": str(step.channel),
        "delay_seconds": step.delay_seconds,
        "due_at": _when(enrollment.next_due_at),
    }
    if enrollment.status == EnrollmentStatus.PAUSED:  # no time: it waits for an agent
        return {**step_out, "at": None, "local_time": None, "zone": None, "reason": "paused"}
    nominal = rules.step_due(enrollment.abandoned_at, step.delay_seconds)
    now = utcnow()
    window = rules.window_for(policy, country, region)
    plan = rules.forecast(
        nominal, enrollment.next_due_at, now, str(step.channel), zone, window, policy
    )
    return {
        **step_out,
        "at": _when(plan.at),
        "local_time": _local(plan.at, now, zone),
        "zone": zone,
        "reason": plan.reason,
    }


def _local(moment: datetime, now: datetime, zone: str) -> str:
    """A clock time in the shopper's zone: "08:00" today, "Wed 08:00" on another day."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    same_day = local.date() == now.astimezone(tz).date()
    return local.strftime("%H:%M" if same_day else "%a %H:%M")


INBOX_DISCOUNT = {"kind": "percentage", "value": "10", "expires_hours": 48}


class NoDiscount(ValueError):
    """Why an agent could not get a code for this cart, in words fit for the inbox."""


async def issue_discount(checkout: Checkout) -> DiscountCode:
    """A code an agent drops into a reply: the store's inbox incentive, else 10 % for 48 hours.

    It goes through the same issuers as the automated steps (Shopify, WooCommerce, pool or static), and an
    enrollment never holds more than one code, so an agent and a later step share it.
    """
    enrollment = await Enrollment.get_or_none(checkout_id=checkout.id)
    if enrollment is None:
        raise NoDiscount("this cart has no recovery sequence to attach a code to")
    store = await Store.get(id=checkout.store_id)
    spec = Incentive.parse((store.settings or {}).get("inbox_discount") or INBOX_DISCOUNT)
    row, reason = await issue_discount_code(
        store, enrollment, replace(spec, min_total=Decimal(0)), checkout.total, utcnow()
    )
    if row is None:
        raise NoDiscount(_no_code_reason(store, reason))
    return row


async def issued_code(checkout: Checkout) -> DiscountCode | None:
    """The code this checkout's enrollment holds, if a step or an agent issued one."""
    enrollment = await Enrollment.get_or_none(checkout_id=checkout.id)
    if enrollment is None:
        return None
    return await DiscountCode.filter(enrollment_id=enrollment.id).order_by("-id").first()


def _no_code_reason(store: Store, reason: str | None) -> str:
    if reason and reason.startswith("WooCommerce coupon not created"):
        return f"No code could be issued: {reason}."
    if store.platform == Platform.SHOPIFY:
        return "Shopify did not create a code just now: try again in a minute."
    return (
        "No code could be issued: this store has no discount codes left. "
        "An owner can upload codes on the Flows page."
    )


async def share_link(checkout: Checkout, store: Store | None = None) -> str | None:
    """The signed link an agent pastes: tracked like the automated ones, landing on the same cart.
    `store`: the checkout's, when the caller has it already (a list of many carts)."""
    enrollment = await Enrollment.get_or_none(checkout_id=checkout.id)
    if enrollment:
        return links.magic_link(enrollment.id, links.INBOX_STEP)
    store = store or await Store.get(id=checkout.store_id)
    return links.store_landing(store, links.own_site_url(store, checkout.recovery_url, checkout.id))
