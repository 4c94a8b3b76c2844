"""Every outbound message goes out here: recovery steps, agent replies (SMS, email, chat), and more.

The caller has committed the message as `sending` (its idempotency key refuses a second copy);
`send` then calls the provider under one timeout and records the answer the same way for all:
- accepted: the row moves to the provider's status (unless a status callback already moved it);
- refused for good: `failed`, and the contact flagged for the channel (opted out, undeliverable),
  so no later send, automated or human, tries the address again;
- no answer (timeout, connection lost after the request): `unknown`, never resent -- a missed
  message is better than a duplicate; a status callback can still settle it by `?m={id}`;
- refused for now: back to `pending` when the caller retries (recovery's backoff), else `failed`.
Every outcome is announced as `MESSAGE_CHANGED`, so the inbox and the rollups see each send live
(`sending` too when a person waits on it, an agent's reply; an automated send is announced once,
with its outcome: a frame and a rollup mark fewer per send, the send seen some milliseconds later), and
`message.sent` / `message.failed` go to the event outbox, in the transaction that records the answer,
for outbound webhooks and Segment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.config import Settings
from app.core import events
from app.core.logging import ctx
from app.core.outbox import OutboxEvent
from app.core.scheduling import dispatch_soon
from app.core.timeutil import utcnow
from app.messaging import addresses
from app.messaging.chat import ChatSocketSender
from app.messaging.models import Channel, DeliveryStatus, Message
from app.messaging.senders import (
    ChatSender,
    ContactFlag,
    EmailSender,
    OutboundChat,
    OutboundEmail,
    OutboundSms,
    SendError,
    SendResult,
    SmsSender,
)

log = logging.getLogger(__name__)

SENT = "sent"
RETRY = "retry"


@dataclass
class Providers:
    """The sender of each channel (real, the dev outbox, or a stand-in that says what is missing)."""

    sms: SmsSender
    email: EmailSender
    chat: ChatSender = field(default_factory=ChatSocketSender)

    async def close(self) -> None:
        senders = (self.sms, self.email, self.chat)
        for sender in {id(s): s for s in senders}.values():
            if (close := getattr(sender, "close", None)) is not None:
                await close()


@dataclass(frozen=True)
class Email:
    """What only an email carries besides the row: extra headers and a Reply-To."""

    headers: Mapping[str, str] = field(default_factory=dict)
    reply_to: str | None = None


# Writes the provider's acceptance and, in the same transaction, `record_sent_event`; answers
# whether the row was still `sending` (False: a status callback got there first and its state
# stands) and anything the caller wants back in `Delivery.also`. Recovery records its step pointer
# in the same write.
RecordSent = Callable[[SendResult, datetime], Awaitable[tuple[bool, Any]]]
# More writes in the transaction that records a refusal (recovery moves its step pointer).
AlsoOnFailure = Callable[[Any, datetime], Awaitable[Any]]


@dataclass
class Delivery:
    """What happened: `sent`, `failed`, `unknown` or `retry` (the row is `pending` again)."""

    outcome: str
    result: SendResult | None = None
    error: SendError | None = None
    at: datetime | None = None
    also: Any = None  # what `record_sent` or `also_on_failure` returned


async def send(
    message: Message,
    providers: Providers,
    settings: Settings,
    *,
    email: Email | None = None,
    retry: bool = False,
    record_sent: RecordSent | None = None,
    also_on_failure: AlsoOnFailure | None = None,
    clock: Callable[[], datetime] = utcnow,
    announce_sending: bool = True,
) -> Delivery:
    """Send a message committed as `sending` and record the answer (see the module docstring).

    `retry`: a transient refusal puts the row back to `pending` for the caller to try again.
    `announce_sending=False`: only the outcome is announced (automated sends)."""
    if announce_sending:
        await _announce(message)  # the row as just committed: no need to read it back
    timeout = settings.recovery.provider_timeout_seconds
    headers = None
    if message.channel == Channel.EMAIL:
        headers = email_headers(message, settings, email or Email())
    try:
        call = _call(message, providers, settings, headers)
        result = await asyncio.wait_for(call, timeout)
    except SendError as exc:
        return await _refused(message, exc, retry, also_on_failure, clock())
    except TimeoutError:
        lost = SendError("timeout", f"no answer within {timeout}s", permanent=False, ambiguous=True)
        return await _refused(message, lost, retry, also_on_failure, clock())
    now = clock()
    segments = result.segments or message.segments
    won, also = await (record_sent or _record_sent(message))(result, now)
    if won:
        _mirror(message, result, segments, now)
        await _announce(message)
    else:
        await announce_changed(message.id)
    return Delivery(SENT, result, at=now, also=also)


def message_id_of(message: Message) -> str:
    """Our Message-ID for an email row: stable, so a retry or a late reply finds the same one."""
    domain = parseaddr(message.from_address or "")[1].rpartition("@")[2] or "followup.local"
    return f"<followup.{message.id}@{domain}>"


KEPT_HEADERS = ("From", "Reply-To", "Message-ID", "In-Reply-To", "References")


def email_headers(message: Message, settings: Settings, email: Email) -> dict[str, str]:
    """The headers an email goes out with. The Reply-To is the shopper's thread address when
    inbound mail is on, else what the caller asked for. Those that matter to a reader and to
    threading are put on the row in hand (`message.email_headers`), and every write that records
    the answer keeps them (no extra round trip): the dev outbox shows them and an agent's reply
    threads on them."""
    headers = {"From": message.from_address or "", **email.headers}
    reply_to = email.reply_to
    if addresses.enabled(settings) and message.contact_id is not None:
        reply_to = addresses.reply_address(settings, message.store_id, message.contact_id)
    if reply_to:
        headers["Reply-To"] = reply_to
    headers["Message-ID"] = message_id_of(message)
    message.email_headers = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
    return headers


def kept_headers(message: Message) -> dict[str, Any]:
    """`email_headers=...` for the write that records a send's answer (nothing for a text)."""
    return {"email_headers": message.email_headers} if message.email_headers else {}


async def _call(
    message: Message, providers: Providers, settings: Settings, headers: dict[str, str] | None
) -> SendResult:
    if message.channel == Channel.SMS:
        return await providers.sms.send_sms(
            OutboundSms(
                to=message.to_address,
                from_=message.from_address or "",
                body=message.body,
                status_callback=status_callback(settings, message.id),
            )
        )
    if message.channel == Channel.CHAT:
        return await providers.chat.send_chat(
            OutboundChat(
                store_id=message.store_id,
                to=message.to_address,
                message_id=message.id,
                body=message.body,
                sent_at=(message.created_at or utcnow()).isoformat(),
            )
        )
    extra = {k: v for k, v in (headers or {}).items() if k not in ("From", "Reply-To")}
    reply_to = (headers or {}).get("Reply-To")
    return await providers.email.send_email(
        OutboundEmail(
            to=message.to_address,
            from_=message.from_address or "",
            subject=message.subject or "",
            text=message.body,
            html=message.html,
            reply_to=reply_to,
            headers=extra,
            # Bounces go where replies go, so a DSN finds its thread (and flags the address).
            envelope_from=reply_to
            if reply_to and addresses.thread_of(settings, reply_to)
            else None,
        )
    )


def status_callback(settings: Settings, message_id: int) -> str:
    """Where Twilio reports delivery; our marker finds the row even if the send's answer was lost."""
    return f"{settings.server.public_url}/webhooks/twilio/status?m={message_id}"


def _record_sent(message: Message) -> RecordSent:
    async def record(result: SendResult, at: datetime) -> tuple[bool, Any]:
        done = _done(result, at) | kept_headers(message)
        async with in_transaction() as conn:
            won = (
                await Message.filter(id=message.id, status=DeliveryStatus.SENDING)
                .using_db(conn)
                .update(status=result.status, segments=result.segments or message.segments, **done)
            )
            if not won:
                await Message.filter(id=message.id).using_db(conn).update(**done)
            event_id = await record_sent_event(message, conn)
        if event_id is not None:
            await dispatch_soon(event_id)
        return bool(won), None

    return record


def sent_event_payload(message: Message) -> dict[str, Any]:
    return {"by": str(message.author)}


async def record_sent_event(message: Message, conn: Any) -> int | None:
    """`message.sent` in the transaction that records the provider's acceptance (every
    `RecordSent` writes it, so webhooks and Segment hear of each send exactly when it happened).

    Recording the same answer again (a retried write, a late duplicate) announces nothing: the
    outbox id when this call wrote it, None when the send was announced already."""
    key = events.dedupe_key(events.MESSAGE_SENT, message.store_id, message.id)
    if await OutboxEvent.filter(dedupe_key=key).using_db(conn).exists():
        return None
    return await events.record(
        events.MESSAGE_SENT, message.store_id, message.id, sent_event_payload(message), using=conn
    )


def _done(result: SendResult, at: datetime) -> dict[str, Any]:
    """Fields written whoever wins the status race (a callback may already know more)."""
    return {
        "provider": result.provider,
        "provider_id": result.provider_id,
        "sent_at": at,
        "error_code": None,
        "error_message": None,
        "updated_at": at,
    }


def _mirror(message: Message, result: SendResult, segments: int, at: datetime) -> None:
    """What was written, onto the row in hand, for listeners (no read back)."""
    for name, value in _done(result, at).items():
        setattr(message, name, value)
    message.status = result.status
    message.segments = segments


async def _refused(
    message: Message,
    exc: SendError,
    retry: bool,
    also_on_failure: AlsoOnFailure | None,
    now: datetime,
) -> Delivery:
    """Permanent: failed, the contact flagged. Ambiguous: unknown. Transient: pending or failed."""
    error = {"error_code": exc.code[:32], "error_message": exc.message[:2000]}
    error |= kept_headers(message)
    if retry and not (exc.permanent or exc.ambiguous):
        await Message.filter(id=message.id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, **error
        )
        log.warning("transient send error, retrying", extra=ctx(message=message.id, error=exc))
        return Delivery(RETRY, error=exc, at=now)
    status = DeliveryStatus.UNKNOWN if exc.ambiguous else DeliveryStatus.FAILED
    async with in_transaction() as conn:
        await (
            Message.filter(id=message.id, status=DeliveryStatus.SENDING)
            .using_db(conn)
            .update(status=status, **error)
        )
        contact_id: int | None = message.contact_id
        if exc.permanent and exc.contact_flag and contact_id is not None:
            await flag_contact(conn, contact_id, str(message.channel), exc.contact_flag, now)
        failed_event: int | None = None
        if status == DeliveryStatus.FAILED:
            failed_event = await events.record(
                events.MESSAGE_FAILED,
                message.store_id,
                message.id,
                {"by": str(message.author), "error_code": exc.code[:32]},
                using=conn,
            )
        also = await also_on_failure(conn, now) if also_on_failure else None
    log.warning("send %s", status, extra=ctx(message=message.id, error=exc))
    if failed_event is not None:
        await dispatch_soon(failed_event)
    await announce_changed(message.id)
    return Delivery(str(status), error=exc, at=now, also=also)


def flag_column(channel: str, flag: ContactFlag) -> str:
    """The contact's column for a flag on a channel: `sms_opted_out_at`, `email_undeliverable_at`..."""
    return f"{Channel(channel).value}_{flag.value}_at"


async def flag_contact(
    conn: Any, contact_id: int, channel: str, flag: ContactFlag, now: datetime
) -> None:
    """Remember what a refusal said about the address, once (the first time stands)."""
    column = flag_column(channel, flag)
    query = Contact.filter(id=contact_id, **{column: None})
    if conn is not None:
        query = query.using_db(conn)
    await query.update(**{column: now})


async def _announce(message: Message) -> None:
    if events.listening(events.MESSAGE_CHANGED):
        await events.notify(events.MESSAGE_CHANGED, message=message)


async def announce_changed(message_id: int) -> None:
    """Announce a row someone else may have written since: read it back first."""
    if not events.listening(events.MESSAGE_CHANGED):
        return
    message = await Message.get_or_none(id=message_id)
    if message:
        await events.notify(events.MESSAGE_CHANGED, message=message)
