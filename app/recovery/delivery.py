"""Calling the provider and recording its answer: sent, failed for good, retry later, or unknown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.utils import parseaddr
from typing import Any, TypeVar

import asyncpg
from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.core import events
from app.core.logging import ctx
from app.integrations.twilio.status import contact_flag
from app.messaging.models import Channel, DeliveryStatus, Message
from app.messaging.senders import OutboundEmail, OutboundSms, SendError
from app.recovery import links
from app.recovery.facts import order_seen
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.recovery.outcomes import Outcome, record_success
from app.recovery.pipeline import (
    Claim,
    Deps,
    Later,
    advance,
    notify_changed,
    notify_message,
    schedule_after,
)
from app.stores.models import Store

log = logging.getLogger(__name__)


async def deliver(
    deps: Deps,
    claim: Claim,
    store: Store,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
) -> str:
    message = claim.message
    assert message is not None
    # The send starts here: an order acknowledged before this check stops it.
    log.debug("last order check", extra=ctx(message=message.id))
    if claim.checkout is not None and await order_seen(store.id, claim.checkout, claim.contact):
        return await _ordered_meanwhile(deps, message, enrollment)
    await notify_message(message)  # the row we just committed: no need to read it back
    timeout = deps.settings.recovery.provider_timeout_seconds
    try:
        result = await asyncio.wait_for(_call_provider(deps, message, store), timeout)
    except SendError as exc:
        return await _failed(deps, message, claim.contact, enrollment, step_index, steps, exc)
    except TimeoutError:
        exc = SendError("timeout", f"no answer within {timeout}s", permanent=False, ambiguous=True)
        return await _failed(deps, message, claim.contact, enrollment, step_index, steps, exc)
    now = deps.clock()
    outcome = Outcome(result.segments or message.segments, result, now)
    recorded = await durably(
        lambda: record_success(message, enrollment, step_index, steps, outcome)
    )
    await events.record(events.MESSAGE_SENT, store.id, message.id, {"by": "automation"}, using=None)
    await schedule_after(deps, enrollment.id, recorded.pointer)
    if recorded.won:
        outcome.apply(message)
        await notify_message(message)
    else:  # a status callback got there first: what it recorded is what the inbox must show
        await notify_changed(message.id)
    return "sent"


ORDERED = "order_placed"


async def _ordered_meanwhile(deps: Deps, message: Message, enrollment: Enrollment) -> str:
    """An order was acknowledged after the claim (it may still wait in the raw-event queue): the
    attempt is cancelled before any provider hears of it, and the sequence stops."""
    now = deps.clock()
    async with in_transaction() as conn:
        await (
            Message.filter(id=message.id, status=DeliveryStatus.SENDING)
            .using_db(conn)
            .update(
                status=DeliveryStatus.CANCELLED,
                error_message="the shopper placed an order before it was sent",
                updated_at=now,
            )
        )
        await (
            Enrollment.filter(id=enrollment.id, status=EnrollmentStatus.ACTIVE)
            .using_db(conn)
            .update(
                status=EnrollmentStatus.STOPPED,
                stop_reason=ORDERED,
                stopped_at=now,
                next_due_at=None,
            )
        )
    log.info("send stopped by an order seen at capture", extra=ctx(message=message.id))
    return "stopped"


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
        if status == DeliveryStatus.FAILED:
            await events.record(events.MESSAGE_FAILED, enrollment.store_id, message.id, {}, conn)  # type: ignore[attr-defined]
        pointer = await advance(conn, enrollment, step_index, steps, now)
    log.warning("send %s", status, extra=ctx(message=message.id, error=exc))
    await schedule_after(deps, enrollment.id, pointer)
    await notify_changed(message.id)
    return str(status)


DB_RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 4.0)
T = TypeVar("T")


async def durably(write: Callable[[], Awaitable[T]]) -> T:
    """Record a provider's answer even across a database restart: losing it would make the send
    `unknown` although we know exactly what happened."""
    for delay in DB_RETRY_DELAYS:
        try:
            return await write()
        except (
            OSError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError,
        ) as exc:
            log.warning("database unavailable while recording a send, retrying: %r", exc)
            await asyncio.sleep(delay)
    return await write()


async def mark_contact(conn: Any, contact_id: int, channel: str, code: str, now: datetime) -> None:
    """Remember a permanent refusal on the contact so no channel tries it again: an SMS opt-out
    or unreachable number as the status webhook records it, any other refusal as undeliverable."""
    column = "email_undeliverable_at"
    if channel == Channel.SMS:
        column = contact_flag(code) or "sms_undeliverable_at"
    query = Contact.filter(id=contact_id, **{column: None})
    if conn is not None:
        query = query.using_db(conn)
    await query.update(**{column: now})
