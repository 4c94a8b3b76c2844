"""Reactions to domain events: enroll on abandonment, orders and consent; stop, pause or trim on
orders, replies, opt-outs."""

from __future__ import annotations

from app.checkouts.models import Contact
from app.core.outbox import OutboxEvent
from app.core.scheduling import shared_queue
from app.messaging.models import Channel, DeliveryStatus, Message
from app.recovery import entries, services
from app.recovery.flows import ordered_steps
from app.recovery.models import Enrollment, EnrollmentStatus, StepChannel


async def enroll_abandoned(event: OutboxEvent) -> None:
    await services.enroll(event.subject_id, await shared_queue())


async def enter_on_order(event: OutboxEvent) -> None:
    """Payment pending and the order milestones; stops what a payment or a purchase ends."""
    await entries.on_order(event.subject_id, event.created_at, await shared_queue())


async def enter_on_opt_in(event: OutboxEvent) -> None:
    await entries.on_opt_in(
        event.subject_id, event.store_id, event.created_at, await shared_queue()
    )


async def stop_on_order(event: OutboxEvent) -> None:
    await services.stop_for_checkout(event.subject_id, "order_placed")


async def stop_on_uninstall(event: OutboxEvent) -> None:
    for (enrollment_id,) in await Enrollment.filter(
        store_id=event.store_id, status__in=services.LIVE
    ).values_list("id"):
        await services.stop(enrollment_id, "store_uninstalled")


async def pause_on_reply(event: OutboxEvent) -> None:
    """The conversation belongs to a person now; an agent can resume the sequence from the inbox."""
    checkout_id = event.payload.get("checkout_id")
    contact_id = event.payload.get("contact_id")
    query = Enrollment.filter(store_id=event.store_id, status=EnrollmentStatus.ACTIVE)
    if checkout_id:
        query = query.filter(checkout_id=checkout_id)
    elif contact_id:
        query = query.filter(contact_id=contact_id)
    else:
        return
    for (enrollment_id,) in await query.values_list("id"):
        await services.pause(enrollment_id, "shopper_replied")


async def trim_on_opt_out(event: OutboxEvent) -> None:
    """Cancel unsent steps on the channel; stop sequences left with nothing they may send."""
    channel = str(event.payload.get("channel") or "sms")
    contact = await Contact.get_or_none(id=event.subject_id, store_id=event.store_id)
    if contact is None:
        return
    enrollments = await Enrollment.filter(contact_id=contact.id, status__in=services.LIVE)
    closed = _closed_channels(contact) | {channel}
    for enrollment in enrollments:
        await Message.filter(
            enrollment_id=enrollment.id, channel=Channel(channel), status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.CANCELLED, error_message=f"{channel} opt-out")
        steps = await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
        remaining = {c for s in steps[enrollment.next_step :] for c in _step_channels(s.channel)}
        if remaining <= closed:
            await services.stop(enrollment.id, "opted_out")


def _closed_channels(contact: Contact) -> set[str]:
    """Channels no later step could use: opted out, undeliverable, no address, or no SMS consent."""
    closed = set()
    if not contact.phone or not contact.sms_consent:
        closed.add("sms")
    if contact.sms_opted_out_at or contact.sms_undeliverable_at:
        closed.add("sms")
    if not contact.email or contact.email_opted_out_at or contact.email_undeliverable_at:
        closed.add("email")
    return closed


def _step_channels(channel: str) -> set[str]:
    """An auto step is left with nothing to send only once both SMS and email are closed."""
    return {"sms", "email"} if channel == StepChannel.AUTO else {str(channel)}
