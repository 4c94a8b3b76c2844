"""The send pipeline: each (enrollment, step) yields at most one message, whatever crashes.

The no-duplicate rule, in order:
1. The database says what is due (`Enrollment.next_step` / `next_due_at`); arq jobs with the id
   `send:{enrollment}:{step}` only say when. Duplicate or stale jobs find the pointer moved and stop.
2. Under the enrollment's row lock (and the contact's, for the frequency budget) the stop and pace
   rules are evaluated again, then the attempt is committed as a `Message` in state `sending` whose
   `idempotency_key` is `enrollment:{id}:step:{n}` -- the database refuses a second copy.
3. Only then is the provider called. A definite refusal is recorded (permanent: never retried,
   marked on the contact; transient: back to `pending` and retried with backoff). An answer we
   never got (timeout, crash, kill -9) leaves the row in `sending`; once it is older than
   FOLLOWUP_SENDING_STALE_SECONDS it becomes `unknown` and the sequence moves on WITHOUT resending:
   we prefer a missed step to a duplicate text. A later Twilio status callback may still resolve it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any

import asyncpg
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout, Contact
from app.config import Settings
from app.core import events
from app.core.logging import ctx
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.messaging.senders import EmailSender, OutboundEmail, OutboundSms, SendError, SmsSender
from app.messaging.throttle import reserve
from app.recovery import facts as fact_store
from app.recovery import links, rules, templates
from app.recovery.discounts import DiscountIssuer, Incentive, as_discount, ensure_discount
from app.recovery.models import DiscountCode, Enrollment, EnrollmentStatus, FlowStep
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)
FINAL_OR_DONE = frozenset(
    {
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.CANCELLED,
    }
)


class Later(Exception):
    """Come back in `seconds` (quiet hours, throttle, backoff, another worker's send in flight)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(seconds, 0.05)
        self.reason = reason


@dataclass
class Deps:
    settings: Settings
    sms: SmsSender
    email: EmailSender
    redis: Any = None
    queue: Any = None
    issuer: DiscountIssuer | None = None
    enrich: bool = True
    clock: Callable[[], datetime] = utcnow
    extra: dict[str, Any] = field(default_factory=dict)


def idempotency_key(enrollment_id: int, step: int) -> str:
    return f"enrollment:{enrollment_id}:step:{step}"


def job_id(enrollment_id: int, step: int) -> str:
    return f"send:{enrollment_id}:{step}"


async def schedule(queue: Any, enrollment_id: int, step: int, due: datetime | None) -> bool:
    """Best effort and deduplicated by job id; past due times run now (arq rejects old deferrals)."""
    defer = due if due and due > utcnow() else None
    return await enqueue(
        queue,
        "send_step",
        enrollment_id,
        step,
        job_id=job_id(enrollment_id, step),
        defer_until=defer,
    )


async def ordered_steps(flow_id: int | None) -> list[FlowStep]:
    if flow_id is None:
        return []
    return await FlowStep.filter(flow_id=flow_id).order_by("position")


async def run_step(deps: Deps, enrollment_id: int, step_index: int) -> str:
    """Send one step if it is still due and allowed; returns what happened (for logs and tests)."""
    now = deps.clock()
    enrollment = await Enrollment.get_or_none(id=enrollment_id)
    if not _current(enrollment, step_index):
        return "stale"
    assert enrollment is not None
    steps = await ordered_steps(enrollment.flow_id)  # type: ignore[attr-defined]
    if step_index >= len(steps):
        await advance(None, enrollment, step_index, steps, now)
        return "completed"
    if enrollment.next_due_at and enrollment.next_due_at > now + timedelta(seconds=1):
        raise Later((enrollment.next_due_at - now).total_seconds(), "not due yet")
    step = steps[step_index]
    store = await Store.get(id=enrollment.store_id)  # type: ignore[attr-defined]
    discount = await _prepare(deps, store, enrollment, step, now)
    await _throttle(deps, store, str(step.channel))
    claim = await _claim(deps, enrollment_id, step_index, steps, discount)
    if claim.outcome != "send":
        return await _after_claim(deps, claim, enrollment, step_index, steps)
    return await _deliver(deps, claim, store, enrollment, step_index, steps)


def _current(enrollment: Enrollment | None, step_index: int) -> bool:
    return (
        enrollment is not None
        and enrollment.status == EnrollmentStatus.ACTIVE
        and enrollment.next_step == step_index
    )


async def _prepare(
    deps: Deps, store: Store, enrollment: Enrollment, step: FlowStep, now: datetime
) -> DiscountCode | None:
    """Slow, external work before any lock: Shopify images and discount codes (both idempotent)."""
    checkout = await Checkout.get(id=enrollment.checkout_id)  # type: ignore[attr-defined]
    if not store.is_active or checkout.status != "abandoned":
        return None
    if deps.enrich and store.platform == Platform.SHOPIFY:
        await _enrich(store, checkout)
    if not step.incentive:
        return None
    spec = Incentive.parse(step.incentive)
    return await ensure_discount(store, enrollment, spec, checkout.total, now, deps.issuer)


async def _enrich(store: Store, checkout: Checkout) -> None:
    try:
        from app.integrations.shopify.enrichment import (  # type: ignore[import-not-found]
            enrich_line_items,
        )
    except ImportError:
        return
    try:
        await enrich_line_items(store, checkout)
    except Exception as exc:  # images are nice to have; never block a send on them
        log.warning("line item enrichment failed", extra=ctx(checkout=checkout.id, error=exc))


async def _throttle(deps: Deps, store: Store, channel: str) -> None:
    recovery = deps.settings.recovery
    if channel == Channel.SMS:
        key, rate = f"sms:{store.sms_number}", recovery.sms_per_second
    else:
        key, rate = f"email:{deps.email.name}", recovery.email_per_second
    wait = await reserve(deps.redis, key, rate, max_wait=5.0)
    if wait < 0:
        raise Later(-wait, "sender rate limit")
    if wait:
        await asyncio.sleep(wait)


@dataclass
class Claim:
    outcome: str  # send | stale | stopped | skipped | deferred | advanced | in_flight
    message: Message | None = None
    contact: Contact | None = None
    reason: str = ""
    until: datetime | None = None


async def _claim(
    deps: Deps,
    enrollment_id: int,
    step_index: int,
    steps: list[FlowStep],
    discount: DiscountCode | None,
) -> Claim:
    try:
        async with in_transaction() as conn:
            enrollment = await Enrollment.select_for_update().using_db(conn).get(id=enrollment_id)
            if not _current(enrollment, step_index):
                return Claim("stale")
            key = idempotency_key(enrollment_id, step_index)
            existing = await Message.filter(idempotency_key=key).using_db(conn).first()
            if existing and existing.status != DeliveryStatus.PENDING:
                return await _resolve_existing(conn, deps, existing, enrollment, step_index, steps)
            return await _decide_and_record(
                conn, deps, enrollment, steps[step_index], step_index, steps, existing, discount
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
        await advance(conn, enrollment, step_index, steps, now)
        return Claim("advanced", message)
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
    await advance(conn, enrollment, step_index, steps, now)
    return Claim("advanced", message, reason="unknown")


async def _decide_and_record(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    step: FlowStep,
    step_index: int,
    steps: list[FlowStep],
    pending: Message | None,
    discount: DiscountCode | None,
) -> Claim:
    now = deps.clock()
    contact = None
    if enrollment.contact_id:  # type: ignore[attr-defined]
        contact = (
            await Contact.select_for_update()
            .using_db(conn)
            .get_or_none(
                id=enrollment.contact_id  # type: ignore[attr-defined]
            )
        )
    checkout = await Checkout.get(id=enrollment.checkout_id).using_db(conn)  # type: ignore[attr-defined]
    store = await Store.get(id=enrollment.store_id).using_db(conn)  # type: ignore[attr-defined]
    facts = await fact_store.gather(
        conn,
        now=now,
        store=store,
        enrollment=enrollment,
        checkout=checkout,
        contact=contact,
        step=step,
    )
    decision = rules.decide(facts)
    if decision.action == "send" and step.channel == Channel.SMS and not store.sms_number:
        decision = rules.Decision("skip", "store has no SMS number")
    if decision.action != "send":
        return await _not_sending(conn, decision, enrollment, step_index, steps, pending, now)
    message = await _record(
        conn, deps, store, checkout, contact, enrollment, step, step_index, facts, pending, discount
    )
    return Claim("send", message, contact)


async def _not_sending(
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
    await advance(conn, enrollment, step_index, steps, now)
    return Claim("skipped", reason=decision.reason)


async def _record(
    conn: Any,
    deps: Deps,
    store: Store,
    checkout: Checkout,
    contact: Contact | None,
    enrollment: Enrollment,
    step: FlowStep,
    step_index: int,
    facts: rules.Facts,
    pending: Message | None,
    discount: DiscountCode | None,
) -> Message:
    """Render and commit the attempt as `sending` before the provider hears of it."""
    variant = rules.pick_variant(step.variants, f"{enrollment.id}:{step_index}")
    context = templates.build_context(
        store=store,
        checkout=checkout,
        contact=contact,
        magic_link=links.magic_link(enrollment.id, step_index),
        unsubscribe_url=links.unsubscribe_url(contact.id if contact else None),
        discount=as_discount(discount, checkout.currency, checkout.locale or store.locale)
        if discount
        else None,
    )
    if step.channel == Channel.SMS:
        rendered = templates.render_sms(str(variant.get("body", "")), context)
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
    if pending:
        await Message.filter(id=pending.id).using_db(conn).update(**values)
        return await Message.get(id=pending.id).using_db(conn)
    return await Message.create(
        using_db=conn,
        store_id=store.id,
        contact_id=contact.id if contact else None,
        checkout_id=checkout.id,
        enrollment_id=enrollment.id,
        step_index=step_index,
        channel=step.channel,
        direction=Direction.OUTBOUND,
        author=Author.AUTOMATION,
        idempotency_key=idempotency_key(enrollment.id, step_index),
        **values,
    )


def email_from(store: Store, settings: Settings) -> str:
    configured = (store.settings or {}).get("email_from")
    _, address = parseaddr(str(configured or settings.email.default_from))
    return formataddr((store.name, address))


async def advance(
    conn: Any, enrollment: Enrollment, step_index: int, steps: list[FlowStep], now: datetime
) -> datetime | None:
    """Move the pointer past `step_index` once (conditional on it still being there)."""
    nxt = step_index + 1
    query = Enrollment.filter(id=enrollment.id, next_step=step_index)
    if conn is not None:
        query = query.using_db(conn)
    if nxt >= len(steps):
        finished = await query.filter(status=EnrollmentStatus.ACTIVE).update(
            next_step=nxt,
            next_due_at=None,
            attempts=0,
            status=EnrollmentStatus.COMPLETED,
            completed_at=now,
        )
        if not finished:
            await query.update(next_step=nxt, next_due_at=None, attempts=0)
        return None
    due = rules.step_due(enrollment.abandoned_at, steps[nxt].delay_seconds)
    await query.update(next_step=nxt, next_due_at=due, attempts=0)
    return due


async def _after_claim(
    deps: Deps, claim: Claim, enrollment: Enrollment, step_index: int, steps: list[FlowStep]
) -> str:
    if claim.outcome in ("deferred", "in_flight") and claim.until:
        raise Later((claim.until - deps.clock()).total_seconds(), claim.reason or claim.outcome)
    if claim.outcome in ("skipped", "advanced"):
        await _schedule_next(deps, enrollment.id)
    if claim.message is not None and claim.reason == "unknown":
        await _notify(claim.message.id)
    if claim.outcome in ("skipped", "stopped"):
        log.info(
            "recovery step %s",
            claim.outcome,
            extra=ctx(enrollment=enrollment.id, step=step_index, reason=claim.reason),
        )
    return claim.outcome


async def _schedule_next(deps: Deps, enrollment_id: int) -> None:
    fresh = await Enrollment.get_or_none(id=enrollment_id)
    if fresh and fresh.status == EnrollmentStatus.ACTIVE and fresh.next_due_at:
        await schedule(deps.queue, fresh.id, fresh.next_step, fresh.next_due_at)


async def _notify(message_id: int) -> None:
    message = await Message.get_or_none(id=message_id)
    if message:
        await events.notify(events.MESSAGE_CHANGED, message=message)


async def _deliver(
    deps: Deps,
    claim: Claim,
    store: Store,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
) -> str:
    message = claim.message
    assert message is not None
    await _notify(message.id)
    timeout = deps.settings.recovery.provider_timeout_seconds
    try:
        result = await asyncio.wait_for(_call_provider(deps, message, store), timeout)
    except SendError as exc:
        return await _failed(deps, message, claim.contact, enrollment, step_index, steps, exc)
    except TimeoutError:
        exc = SendError("timeout", f"no answer within {timeout}s", permanent=False, ambiguous=True)
        return await _failed(deps, message, claim.contact, enrollment, step_index, steps, exc)
    now = deps.clock()

    async def record_success() -> None:
        async with in_transaction() as conn:
            done = {"provider": result.provider, "provider_id": result.provider_id, "sent_at": now}
            done |= {"error_code": None, "error_message": None, "updated_at": now}
            won = (
                await Message.filter(id=message.id, status=DeliveryStatus.SENDING)
                .using_db(conn)
                .update(status=result.status, segments=result.segments or message.segments, **done)
            )
            if not won:  # a status callback got here first and already knows more
                await Message.filter(id=message.id).using_db(conn).update(**done)
            await (
                Checkout.filter(
                    id=message.checkout_id,  # type: ignore[attr-defined]
                    recovery_contacted_at=None,
                )
                .using_db(conn)
                .update(recovery_contacted_at=now)
            )
            await advance(conn, enrollment, step_index, steps, now)

    await durably(record_success)
    await _schedule_next(deps, enrollment.id)
    await _notify(message.id)
    return "sent"


async def _call_provider(deps: Deps, message: Message, store: Store) -> Any:
    if message.channel == Channel.SMS:
        callback = f"{deps.settings.server.public_url}/webhooks/twilio/status?m={message.id}"
        return await deps.sms.send_sms(
            OutboundSms(
                to=message.to_address,
                from_=message.from_address or "",
                body=message.body,
                status_callback=callback,
            )
        )
    unsubscribe = links.unsubscribe_url(message.contact_id)  # type: ignore[attr-defined]
    domain = parseaddr(message.from_address or "")[1].rpartition("@")[2] or "followup.local"
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Message-ID": f"<followup.{message.id}@{domain}>",
    }
    reply_to = (store.settings or {}).get("email_reply_to")
    return await deps.email.send_email(
        OutboundEmail(
            to=message.to_address,
            from_=message.from_address or "",
            subject=message.subject or "",
            text=message.body,
            html=message.html,
            reply_to=str(reply_to) if reply_to else None,
            headers=headers,
        )
    )


async def _failed(
    deps: Deps,
    message: Message,
    contact: Contact | None,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    exc: SendError,
) -> str:
    """Permanent: record on the contact, never retry. Ambiguous: unknown. Transient: back off."""
    now = deps.clock()
    error = {"error_code": exc.code[:32], "error_message": exc.message[:2000]}
    if not (exc.permanent or exc.ambiguous):
        attempts = enrollment.attempts + 1
        if attempts < deps.settings.recovery.send_max_attempts:
            await Message.filter(id=message.id, status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.PENDING, **error
            )
            await Enrollment.filter(id=enrollment.id).update(attempts=attempts)
            log.warning("transient send error, retrying", extra=ctx(message=message.id, error=exc))
            raise Later(min(2**attempts * 5, 600), f"transient provider error {exc.code}")
    status = DeliveryStatus.UNKNOWN if exc.ambiguous else DeliveryStatus.FAILED
    async with in_transaction() as conn:
        await (
            Message.filter(id=message.id, status=DeliveryStatus.SENDING)
            .using_db(conn)
            .update(status=status, **error)
        )
        if exc.permanent and contact is not None:
            await mark_contact(conn, contact.id, str(message.channel), exc.code, now)
        await advance(conn, enrollment, step_index, steps, now)
    log.warning("send %s", status, extra=ctx(message=message.id, error=exc))
    await _schedule_next(deps, enrollment.id)
    await _notify(message.id)
    return str(status)


OPTED_OUT_CODES = frozenset({"21610"})
DB_RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 4.0)


async def durably(write: Callable[[], Awaitable[None]]) -> None:
    """Record a provider's answer even across a database restart: losing it would make the send
    `unknown` although we know exactly what happened."""
    for delay in (*DB_RETRY_DELAYS, None):
        try:
            await write()
            return
        except (
            OSError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError,
        ) as exc:
            if delay is None:
                raise
            log.warning("database unavailable while recording a send, retrying: %r", exc)
            await asyncio.sleep(delay)


async def mark_contact(conn: Any, contact_id: int, channel: str, code: str, now: datetime) -> None:
    """Remember a permanent refusal on the contact so no channel tries it again."""
    if channel == Channel.SMS:
        column = "sms_opted_out_at" if code in OPTED_OUT_CODES else "sms_undeliverable_at"
    else:
        column = "email_undeliverable_at"
    query = Contact.filter(id=contact_id, **{column: None})
    if conn is not None:
        query = query.using_db(conn)
    await query.update(**{column: now})
