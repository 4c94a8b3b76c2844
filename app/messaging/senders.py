"""One interface for every provider: what recovery and the inbox hand over, and what comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class SendResult:
    provider: str
    provider_id: str | None
    status: DeliveryStatus
    segments: int = 0


class SendError(Exception):
    """A provider refused or failed a send. `permanent` errors must never be retried.

    `ambiguous` means the request may have reached the provider (a timeout after sending it):
    callers must not retry those either, because a retry could deliver a second copy.
    """

    def __init__(
        self, code: str, message: str, *, permanent: bool, ambiguous: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent
        self.ambiguous = ambiguous and not permanent


class SmsSender(Protocol):
    name: str

    async def send_sms(self, message: OutboundSms) -> SendResult: ...


class EmailSender(Protocol):
    name: str

    async def send_email(self, message: OutboundEmail) -> SendResult: ...
