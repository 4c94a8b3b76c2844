"""Under the claim's locks: decide by the stop and pace rules, reserve the sender's slot, then
commit the attempt as `sending` (rendered) -- or act on the decision instead: stop, defer, skip."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.checkouts.models import Checkout, Contact, Order
from app.core.logging import ctx
from app.messaging import addresses, throttle
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.recovery import fresh, links, rules, templates
from app.recovery.discounts import as_discount
from app.recovery.failures import TEMPLATE_ERROR
from app.recovery.flows import sold_out_choice
from app.recovery.models import DiscountCode, Enrollment, EnrollmentStatus, FlowStep, StepChannel
from app.recovery.sending._deps import Deps
from app.recovery.sending._facts import Known, gather
from app.recovery.sending._pointer import Pointer, advance, idempotency_key
from app.stores.models import Store

log = logging.getLogger(__name__)


@dataclass
class Claim:
    """What claiming one step decided, and for a send, the attempt committed as `sending`."""

    outcome: str  # send | failed | stale | stopped | skipped | deferred | advanced | in_flight
    message: Message | None = None
    contact: Contact | None = None
    reason: str = ""
    until: datetime | None = None
    wait: float = 0.0  # seconds until the sender's reserved slot, slept after the commit
    pointer: Pointer | None = None  # skipped, failed, advanced: where the pointer went
    checkout: Checkout | None = None  # send: read under the lock, for the last order check
    # send, in a batch: that check, made for all the batch's carts at once just before they start
    # (a send that first waits for its sender's slot checks again after the wait)
    ordered: bool | None = None
    # Filled in by the claim: the locked row, its flow's steps and its store (for the send).
    enrollment: Enrollment | None = None
    steps: list[FlowStep] = field(default_factory=list)
    store: Store | None = None


@dataclass
class Rows:
    """What a claim reads besides the enrollment; the contact row is locked (frequency budget)."""

    contact: Contact | None
    checkout: Checkout | None  # None for flows whose trigger is not an abandoned checkout
    store: Store
    prices: fresh.Prices | None = None  # the stores' current lines, read before the lock
    order: Order | None = None  # payment pending: the order waiting for its money
    lines: Checkout | None = None  # payment pending: the checkout the order came from, if seen


async def settle(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    rows: Rows,
    known: Known,
    pending: Message | None = None,
    discount: DiscountCode | None = None,
    unwritten: list[Message] | None = None,
) -> Claim:
    """Under the caller's locks: decide, reserve the sender's slot, then commit the attempt as
    `sending` or act on the decision instead (stop, defer, skip). One path for single claims and
    batches, so both send under exactly the same rules. With `unwritten`, a new attempt is put
    there instead of inserted: the batch writes all its attempts in one statement, in the same
    transaction."""
    step = steps[step_index]
    # A retry keeps the channel of its recorded attempt: an auto step is resolved only once.
    channel = str(pending.channel) if pending else None
    decision, facts = await decide(conn, deps, enrollment, step, rows, known, channel)
    # A flow without a cart (a birthday, a payment reminder...) has no lines to price.
    cart = fresh.cart(rows.prices, rows.store, rows.checkout) if rows.checkout else None
    if decision.action == "send" and cart is not None:
        decision = await _stock_rule(enrollment, cart, decision)
    decision, wait = await reserve(deps, rows.store, decision, facts.channel)
    if decision.action != "send":
        now = deps.clock()
        if decision.reason.startswith(SOLD_OUT):
            await _record_skip(conn, deps, rows, enrollment, step_index, facts, decision.reason)
        return await not_sending(conn, decision, enrollment, step_index, steps, pending, now)
    try:
        message = await _record(
            conn,
            deps,
            rows,
            enrollment,
            step,
            step_index,
            facts,
            pending,
            discount,
            cart,
            write=unwritten is None,
        )
        if unwritten is not None and not message._saved_in_db:
            unwritten.append(message)
    except templates.RenderProblem as exc:  # this step fails alone; the batch goes on
        return await unrenderable(conn, deps, rows, enrollment, step_index, steps, facts, exc)
    return Claim("send", message, rows.contact, wait=wait, checkout=rows.checkout)


SOLD_OUT = "sold out"


async def _stock_rule(
    enrollment: Enrollment, cart: fresh.Cart, decision: rules.Decision
) -> rules.Decision:
    """Sold-out lines: the flow leaves them out, or skips the step; nothing left means a skip."""
    if not cart.sold_out:
        return decision
    titles = ", ".join(str(i.get("title") or "an item") for i in cart.sold_out)
    if not cart.items:
        return rules.Decision("skip", f"{SOLD_OUT}: every item ({titles})"[:64])
    if await sold_out_choice(enrollment.flow_id) == "skip":
        return rules.Decision("skip", f"{SOLD_OUT}: {titles}"[:64])
    return decision


async def _record_skip(
    conn: Any,
    deps: Deps,
    rows: Rows,
    enrollment: Enrollment,
    step_index: int,
    facts: rules.Facts,
    reason: str,
) -> None:
    """A step skipped for stock leaves a cancelled row saying why (the timeline and the stats
    see it; the pointer moves past it like any skip)."""
    values: dict[str, Any] = {
        "status": DeliveryStatus.CANCELLED,
        "error_message": f"Skipped: {reason}"[:2000],
        "updated_at": deps.clock(),
    }
    await _unsent_row(conn, rows, enrollment, step_index, facts, values)


async def _unsent_row(
    conn: Any,
    rows: Rows,
    enrollment: Enrollment,
    step_index: int,
    facts: rules.Facts,
    values: dict[str, Any],
) -> None:
    """The step's one message row (its idempotency key) says why nothing went out: the attempt's
    row if one was recorded, else a new row with the step's channel and address."""
    key = idempotency_key(enrollment.id, step_index)
    if await Message.filter(idempotency_key=key).using_db(conn).update(**values):
        return
    await Message.create(
        using_db=conn,
        store_id=rows.store.id,
        contact_id=rows.contact.id if rows.contact else None,
        checkout_id=rows.checkout.id if rows.checkout else None,
        enrollment_id=enrollment.id,
        step_index=step_index,
        channel=facts.channel,
        direction=Direction.OUTBOUND,
        author=Author.AUTOMATION,
        idempotency_key=key,
        to_address=(facts.reach.address or "")[:320],
        body="",
        **values,
    )


async def unrenderable(
    conn: Any,
    deps: Deps,
    rows: Rows,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    facts: rules.Facts,
    problem: templates.RenderProblem,
) -> Claim:
    """A template that cannot render (saved before the checks, or this cart's data breaks it):
    the step is recorded as failed with the reason the merchant sees, and the sequence goes on."""
    now = deps.clock()
    variant = rules.pick_variant(steps[step_index].variants, f"{enrollment.id}:{step_index}")
    key = str(variant.get("key", "a"))[:32]
    values: dict[str, Any] = {
        "status": DeliveryStatus.FAILED,
        "error_code": TEMPLATE_ERROR,
        "error_message": f"Variant {key!r}: {problem}"[:2000],
        "variant": key,
        "updated_at": now,
    }
    await _unsent_row(conn, rows, enrollment, step_index, facts, values)
    log.warning(
        "recovery step not sent: template cannot render",
        extra=ctx(enrollment=enrollment.id, step=step_index, error=str(problem)),
    )
    pointer = await advance(conn, enrollment, step_index, steps, now)
    return Claim("failed", reason=str(problem), pointer=pointer)


async def decide(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    step: FlowStep,
    rows: Rows,
    known: Known,
    channel: str | None = None,
) -> tuple[rules.Decision, rules.Facts]:
    """The stop and pace rules on facts read inside the caller's transaction and locks; the facts
    returned are resolved, so `facts.channel` is what an auto step sends on (sms or email)."""
    facts = await gather(
        conn,
        now=deps.clock(),
        store=rows.store,
        enrollment=enrollment,
        checkout=rows.checkout,
        contact=rows.contact,
        step=step,
        known=known,
        channel=channel,
        order=rows.order,
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
    cart: fresh.Cart | None = None,
    write: bool = True,
) -> Message:
    """Render and commit the attempt as `sending` before the provider hears of it (`write=False`:
    a new row is left for the caller to insert, in the same transaction)."""
    store, checkout, contact = rows.store, rows.checkout, rows.contact
    variant = rules.pick_variant(step.variants, f"{enrollment.id}:{step_index}")
    shown = checkout or rows.lines  # the cart, or the lines of a pending order's checkout
    context = templates.build_context(
        store=store,
        checkout=shown,
        contact=contact,
        magic_link=links.magic_link(enrollment.id, step_index),
        unsubscribe_url=links.unsubscribe_url(contact.id if contact else None),
        order=rows.order,
        discount=as_discount(
            discount,
            shown.currency if shown else store.currency,
            (shown.locale if shown else None) or store.locale,
            step.incentive,
            (store.settings or {}).get("discount_pool"),
        )
        if discount
        else None,
        cart=cart,
    )
    if facts.channel == Channel.SMS:  # an auto step's text is its own part of the variant
        part = "sms_body" if step.channel == StepChannel.AUTO else "body"
        rendered = templates.render_sms(str(variant.get(part, "")), context)
        sender = store.sms_number
    else:
        rendered = templates.render_email(variant, context)
        sender = addresses.email_from(store, deps.settings)
    values: dict[str, Any] = {
        "subject": rendered.subject,
        "body": rendered.text,
        "html": rendered.html,
        "segments": rendered.segments,
        "variant": str(variant.get("key", "a"))[:32],
        "season": step.season_name,
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
    message = Message(
        store_id=store.id,
        contact_id=contact.id if contact else None,
        checkout_id=checkout.id if checkout else None,
        enrollment_id=enrollment.id,
        step_index=step_index,
        channel=facts.channel,  # resolved: an auto step records sms or email
        direction=Direction.OUTBOUND,
        author=Author.AUTOMATION,
        idempotency_key=idempotency_key(enrollment.id, step_index),
        **values,
    )
    if write:
        await message.save(using_db=conn, force_create=True)
    return message
