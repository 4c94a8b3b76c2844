"""Claiming a step: under the enrollment row lock, decide, then commit the attempt as `sending`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout, Contact
from app.config import Settings
from app.core.logging import ctx
from app.messaging import throttle
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.recovery import facts as fact_store
from app.recovery import links, rules, templates
from app.recovery.discounts import as_discount
from app.recovery.models import DiscountCode, Enrollment, EnrollmentStatus, FlowStep, StepChannel
from app.recovery.pipeline import (
    FINAL_OR_DONE,
    Claim,
    Deps,
    advance,
    idempotency_key,
    is_current,
)
from app.stores.models import Store

log = logging.getLogger(__name__)


async def claim_step(
    deps: Deps,
    enrollment_id: int,
    step_index: int,
    steps: list[FlowStep],
    discount: DiscountCode | None,
) -> Claim:
    try:
        async with in_transaction() as conn:
            enrollment = await Enrollment.select_for_update().using_db(conn).get(id=enrollment_id)
            if not is_current(enrollment, step_index):
                return Claim("stale")
            key = idempotency_key(enrollment_id, step_index)
            existing = await Message.filter(idempotency_key=key).using_db(conn).first()
            if existing and existing.status != DeliveryStatus.PENDING:
                return await _resolve_existing(conn, deps, existing, enrollment, step_index, steps)
            return await _decide_and_record(
                conn, deps, enrollment, step_index, steps, existing, discount
            )
    except IntegrityError:  # another worker recorded this step first: it owns the send
        return Claim("stale")


async def _resolve_existing(
    conn: Any,
    deps: Deps,
    message: Message,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
) -> Claim:
    """A row exists: either it is done (advance), in flight elsewhere (wait), or orphaned (unknown)."""
    now = deps.clock()
    if message.status in FINAL_OR_DONE:
        pointer = await advance(conn, enrollment, step_index, steps, now)
        return Claim("advanced", message, pointer=pointer)
    stale_after = timedelta(seconds=deps.settings.recovery.sending_stale_seconds)
    if message.updated_at > now - stale_after:
        return Claim("in_flight", message, until=message.updated_at + stale_after)
    won = (
        await Message.filter(id=message.id, status=DeliveryStatus.SENDING)
        .using_db(conn)
        .update(
            status=DeliveryStatus.UNKNOWN,
            error_message="interrupted during the provider call; not resent to avoid a duplicate",
        )
    )
    if won:
        log.warning("send outcome unknown, not resending", extra=ctx(message=message.id))
    pointer = await advance(conn, enrollment, step_index, steps, now)
    return Claim("advanced", message, reason="unknown", pointer=pointer)


async def _decide_and_record(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    pending: Message | None,
    discount: DiscountCode | None,
) -> Claim:
    contact = None
    if enrollment.contact_id:  # type: ignore[attr-defined]
        contact = (
            await Contact.select_for_update()
            .using_db(conn)
            .get_or_none(
                id=enrollment.contact_id  # type: ignore[attr-defined]
            )
        )
    checkout = (
        await Checkout.filter(id=enrollment.checkout_id)  # type: ignore[attr-defined]
        .select_related("store")  # one round trip for both
        .using_db(conn)
        .get()
    )
    rows = Rows(contact, checkout, checkout.store)
    return await settle(conn, deps, enrollment, step_index, steps, rows, pending, discount)


@dataclass
class Rows:
    """What a claim reads besides the enrollment; the contact row is locked (frequency budget)."""

    contact: Contact | None
    checkout: Checkout
    store: Store


async def settle(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    rows: Rows,
    pending: Message | None = None,
    discount: DiscountCode | None = None,
    known: fact_store.Known | None = None,
) -> Claim:
    """Under the caller's locks: decide, reserve the sender's slot, then commit the attempt as
    `sending` or act on the decision instead (stop, defer, skip). One path for single claims and
    batches, so both send under exactly the same rules."""
    step = steps[step_index]
    # A retry keeps the channel of its recorded attempt: an auto step is resolved only once.
    channel = str(pending.channel) if pending else None
    decision, facts = await decide(conn, deps, enrollment, step, rows, known, channel)
    decision, wait = await reserve(deps, rows.store, decision, facts.channel)
    if decision.action != "send":
        now = deps.clock()
        return await not_sending(conn, decision, enrollment, step_index, steps, pending, now)
    message = await _record(
        conn, deps, rows, enrollment, step, step_index, facts, pending, discount
    )
    return Claim("send", message, rows.contact, wait=wait)


async def decide(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    step: FlowStep,
    rows: Rows,
    known: fact_store.Known | None = None,
    channel: str | None = None,
) -> tuple[rules.Decision, rules.Facts]:
    """The stop and pace rules on facts read inside the caller's transaction and locks; the facts
    returned are resolved, so `facts.channel` is what an auto step sends on (sms or email)."""
    facts = await fact_store.gather(
        conn,
        now=deps.clock(),
        store=rows.store,
        enrollment=enrollment,
        checkout=rows.checkout,
        contact=rows.contact,
        step=step,
        known=known,
        channel=channel,
    )
    facts = rules.resolve(facts)
    return rules.decide(facts), facts


async def reserve(
    deps: Deps, store: Store, decision: rules.Decision, channel: str
) -> tuple[rules.Decision, float]:
    """The sender's next slot for the channel the rules chose (an auto step's is known only
    here), and how long to wait for it; when none is free soon (the throttle answers minus the
    wait and reserves nothing), come back when one is."""
    if decision.action != "send":
        return decision, 0.0
    recovery = deps.settings.recovery
    if channel == Channel.SMS:
        key, rate = f"sms:{store.sms_number}", recovery.sms_per_second
    else:
        key, rate = f"email:{deps.email.name}", recovery.email_per_second
    wait = await throttle.reserve(deps.redis, key, rate, max_wait=5.0)
    if wait < 0:
        until = deps.clock() + timedelta(seconds=-wait)
        return rules.Decision("defer", "sender rate limit", until=until), 0.0
    return decision, wait


async def not_sending(
    conn: Any,
    decision: rules.Decision,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    pending: Message | None,
    now: datetime,
) -> Claim:
    if pending and decision.action in ("stop", "skip"):
        await (
            Message.filter(id=pending.id, status=DeliveryStatus.PENDING)
            .using_db(conn)
            .update(status=DeliveryStatus.CANCELLED, error_message=decision.reason)
        )
    if decision.action == "stop":
        await (
            Enrollment.filter(id=enrollment.id)
            .using_db(conn)
            .update(
                status=EnrollmentStatus.STOPPED,
                stop_reason=decision.reason,
                stopped_at=now,
                next_due_at=None,
            )
        )
        return Claim("stopped", reason=decision.reason)
    if decision.action == "defer":
        await Enrollment.filter(id=enrollment.id).using_db(conn).update(next_due_at=decision.until)
        return Claim("deferred", reason=decision.reason, until=decision.until)
    pointer = await advance(conn, enrollment, step_index, steps, now)
    return Claim("skipped", reason=decision.reason, pointer=pointer)


async def _record(
    conn: Any,
    deps: Deps,
    rows: Rows,
    enrollment: Enrollment,
    step: FlowStep,
    step_index: int,
    facts: rules.Facts,
    pending: Message | None,
    discount: DiscountCode | None,
) -> Message:
    """Render and commit the attempt as `sending` before the provider hears of it."""
    store, checkout, contact = rows.store, rows.checkout, rows.contact
    variant = rules.pick_variant(step.variants, f"{enrollment.id}:{step_index}")
    context = templates.build_context(
        store=store,
        checkout=checkout,
        contact=contact,
        magic_link=links.magic_link(enrollment.id, step_index),
        unsubscribe_url=links.unsubscribe_url(contact.id if contact else None),
        discount=as_discount(
            discount,
            checkout.currency,
            checkout.locale or store.locale,
            (store.settings or {}).get("discount_pool"),
        )
        if discount
        else None,
    )
    if facts.channel == Channel.SMS:  # an auto step's text is its own part of the variant
        part = "sms_body" if step.channel == StepChannel.AUTO else "body"
        rendered = templates.render_sms(str(variant.get(part, "")), context)
        sender = store.sms_number
    else:
        rendered = templates.render_email(variant, context)
        sender = email_from(store, deps.settings)
    values: dict[str, Any] = {
        "subject": rendered.subject,
        "body": rendered.text,
        "html": rendered.html,
        "segments": rendered.segments,
        "variant": str(variant.get("key", "a"))[:32],
        "to_address": facts.reach.address,
        "from_address": sender,
        "status": DeliveryStatus.SENDING,
        "updated_at": deps.clock(),  # queryset updates skip auto_now; staleness is measured from here
    }
    if pending:  # the row is ours under the enrollment lock: mirror the write, no read back
        await Message.filter(id=pending.id).using_db(conn).update(**values)
        for name, value in values.items():
            setattr(pending, name, value)
        return pending
    return await Message.create(
        using_db=conn,
        store_id=store.id,
        contact_id=contact.id if contact else None,
        checkout_id=checkout.id,
        enrollment_id=enrollment.id,
        step_index=step_index,
        channel=facts.channel,  # resolved: an auto step records sms or email
        direction=Direction.OUTBOUND,
        author=Author.AUTOMATION,
        idempotency_key=idempotency_key(enrollment.id, step_index),
        **values,
    )


def email_from(store: Store, settings: Settings) -> str:
    configured = (store.settings or {}).get("email_from")
    _, address = parseaddr(str(configured or settings.email.default_from))
    return formataddr((store.name, address))
