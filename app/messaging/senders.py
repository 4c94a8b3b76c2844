"""One interface for every provider: what recovery and the inbox hand over, and what comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from app.messaging.models import DeliveryStatus


@dataclass(frozen=True, slots=True)
class OutboundSms:
    to: str
    from_: str
    body: str
    status_callback: str | None = None
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboundEmail:
    to: str
    from_: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    envelope_from: str | None = None
    """The SMTP envelope sender (Return-Path), where bounces go; None: the From address."""


@dataclass(frozen=True, slots=True)
class OutboundChat:
    """A chat message for one visitor's open widget(s) on the store's site."""

    store_id: int
    to: str
    """The chat visitor's key (never a client-chosen value: the row's `to_address`)."""
    message_id: int
    body: str
    sent_at: str


@dataclass(frozen=True, slots=True)
class SendResult:
    provider: str
    provider_id: str | None
    status: DeliveryStatus
    segments: int = 0


class ContactFlag(StrEnum):
    """What a refusal says about the address itself, remembered on the contact for its channel
    (`sms_opted_out_at`, `email_undeliverable_at`...), so nothing tries it again."""

    OPTED_OUT = "opted_out"
    UNDELIVERABLE = "undeliverable"


class SendError(Exception):
    """A provider refused or failed a send. `permanent` errors must never be retried.

    `ambiguous` means the request may have reached the provider (a timeout after sending it):
    callers must not retry those either, because a retry could deliver a second copy.
    `contact_flag` is what a permanent refusal says about the address (the provider knows its
    codes; callers never do): undeliverable unless the provider says otherwise.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        permanent: bool,
        ambiguous: bool = False,
        contact_flag: ContactFlag | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent
        self.ambiguous = ambiguous and not permanent
        self.contact_flag = contact_flag or (ContactFlag.UNDELIVERABLE if permanent else None)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's later word on a message we sent (a status callback), in our own terms."""

    sid: str
    status: DeliveryStatus | None
    error_code: str | None
    message_id: int | None  # our marker on the callback URL, for a send whose answer was lost
    contact_flag: ContactFlag | None = None


class SmsSender(Protocol):
    name: str

    async def send_sms(self, message: OutboundSms) -> SendResult: ...


class EmailSender(Protocol):
    name: str

    async def send_email(self, message: OutboundEmail) -> SendResult: ...


class ChatSender(Protocol):
    name: str

    async def send_chat(self, message: OutboundChat) -> SendResult: ...
