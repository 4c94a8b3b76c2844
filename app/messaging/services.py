"""Delivery reports: a message's state only ever moves forward, whatever order reports arrive in."""

from __future__ import annotations

import logging
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout, Contact
from app.core import events
from app.core.logging import ctx
from app.core.timeutil import utcnow
from app.messaging.models import Channel, DeliveryStatus, Message
from app.messaging.outbound import flag_column
from app.messaging.senders import DeliveryReport

log = logging.getLogger(__name__)
RANK = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENDING: 1,
    DeliveryStatus.UNKNOWN: 1,
    DeliveryStatus.QUEUED: 2,
    DeliveryStatus.SENT: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
}
WENT_OUT = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED)
# Final reports announced as domain events (outbound webhooks).
REPORTED = {
    DeliveryStatus.DELIVERED: events.MESSAGE_DELIVERED,
    DeliveryStatus.UNDELIVERED: events.MESSAGE_FAILED,
    DeliveryStatus.FAILED: events.MESSAGE_FAILED,
}


def earlier_than(status: DeliveryStatus) -> list[DeliveryStatus]:
    return [s for s, rank in RANK.items() if rank < RANK[status]]


async def apply_report(report: DeliveryReport) -> Message | None:
    """Find the message by provider id (or our own marker), move it forward, flag the contact."""
    message = await Message.get_or_none(provider_id=report.sid)
    if message is None and report.message_id:
        message = await Message.get_or_none(id=report.message_id, provider_id__isnull=True)
    if message is None:
        log.info("status for an unknown message", extra=ctx(sid=report.sid))
        return None
    now = utcnow()
    async with in_transaction() as conn:
        values: dict[str, object] = {"provider_id": report.sid, "updated_at": now}
        if report.error_code:
            values["error_code"] = report.error_code[:32]
        moved = 0
        if report.status is not None:
            moved = (
                await Message.filter(id=message.id, status__in=earlier_than(report.status))
                .using_db(conn)
                .update(
                    status=report.status,
                    delivered_at=now if report.status == DeliveryStatus.DELIVERED else None,
                    **values,
                )
            )
        if not moved:  # no status, or not a step forward: only the id and error stand
            await Message.filter(id=message.id).using_db(conn).update(**values)
        if moved and report.status in REPORTED:
            await events.record(
                REPORTED[report.status],
                message.store_id,
                message.id,
                {"error_code": report.error_code},
                using=conn,
            )
        await _consequences(conn, message, report, now)
    fresh = await Message.get(id=message.id)
    await events.notify(events.MESSAGE_CHANGED, message=fresh)
    return fresh


async def _consequences(
    conn: BaseDBAsyncClient, message: Message, report: DeliveryReport, now: datetime
) -> None:
    if report.contact_flag and message.contact_id:
        column = flag_column(Channel.SMS, report.contact_flag)  # only texts report back
        await (
            Contact.filter(id=message.contact_id, **{column: None})
            .using_db(conn)
            .update(**{column: now})
        )
    checkout_id: int | None = message.checkout_id
    if report.status in WENT_OUT and checkout_id and message.enrollment_id:
        await (
            Checkout.filter(id=checkout_id, recovery_contacted_at=None)
            .using_db(conn)
            .update(recovery_contacted_at=message.sent_at or now)
        )
