"""Pick the provider for each channel from settings: real credentials win, dev falls back to the outbox."""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable

from app.config import ConfigError, Settings
from app.messaging.models import DeliveryStatus
from app.messaging.outbound import Providers
from app.messaging.segments import count_segments
from app.messaging.senders import (
    EmailSender,
    OutboundEmail,
    OutboundSms,
    SendError,
    SendResult,
    SmsSender,
)

log = logging.getLogger(__name__)


class DevOutboxSender:
    """`followup dev` without credentials: nothing leaves the machine, messages show at /dev/outbox."""

    name = "outbox"

    async def send_sms(self, message: OutboundSms) -> SendResult:
        return SendResult(
            self.name,
            f"dev-{uuid.uuid4().hex}",
            DeliveryStatus.DELIVERED,
            count_segments(message.body).segments,
        )

    async def send_email(self, message: OutboundEmail) -> SendResult:
        return SendResult(self.name, f"dev-{uuid.uuid4().hex}", DeliveryStatus.DELIVERED)


SmsFactory = Callable[[Settings], SmsSender | None]
EmailFactory = Callable[[Settings], EmailSender | None]
# Vendors offer themselves here (app.wiring registers them, in order of preference); messaging
# never imports a vendor. A factory answers None when its credentials are not set.
_sms_factories: list[SmsFactory] = []
_email_factories: list[EmailFactory] = []


def offer_sms(factory: SmsFactory) -> None:
    if factory not in _sms_factories:
        _sms_factories.append(factory)


def offer_email(factory: EmailFactory) -> None:
    if factory not in _email_factories:
        _email_factories.append(factory)


def sms_sender(settings: Settings) -> SmsSender:
    """Twilio when its credentials are set, else (dev only) the local outbox."""
    for factory in _sms_factories:
        if (sender := factory(settings)) is not None:
            return sender
    if settings.dev_mode:
        return DevOutboxSender()
    raise ConfigError(
        "no SMS provider: set FOLLOWUP_TWILIO_ACCOUNT_SID and FOLLOWUP_TWILIO_AUTH_TOKEN"
    )


def email_sender(settings: Settings) -> EmailSender:
    """SendGrid when its key is set, else SMTP, else (dev only) the local outbox."""
    for factory in _email_factories:
        if (sender := factory(settings)) is not None:
            return sender
    if settings.dev_mode:
        return DevOutboxSender()
    raise ConfigError("no email provider: set FOLLOWUP_SMTP_URL or FOLLOWUP_SENDGRID_API_KEY")


class Unconfigured:
    """Stands in for a channel without a provider: every send fails loudly (and is retried later
    where the caller retries), instead of the process refusing to start."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem

    async def send_sms(self, message: OutboundSms) -> SendResult:
        raise SendError("not_configured", self.problem, permanent=False)

    async def send_email(self, message: OutboundEmail) -> SendResult:
        raise SendError("not_configured", self.problem, permanent=False)


def for_settings(settings: Settings) -> Providers:
    """Every channel's sender; a channel without credentials gets a stand-in that says so."""
    sms: SmsSender
    email: EmailSender
    try:
        sms = sms_sender(settings)
    except ConfigError as exc:
        log.error("%s", exc)
        sms = Unconfigured("sms", str(exc))
    try:
        email = email_sender(settings)
    except ConfigError as exc:
        log.error("%s", exc)
        email = Unconfigured("email", str(exc))
    return Providers(sms=sms, email=email)


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[object, Providers]] = (
    weakref.WeakKeyDictionary()
)


async def shared(settings: Settings) -> Providers:
    """One set of senders, so one Twilio client and connection pool, per event loop, shared by
    every send made outside a worker (agent replies). A change of provider settings (tests point
    them at a fake) replaces it and closes the old one."""
    loop = asyncio.get_running_loop()
    wanted = (settings.twilio, settings.email, settings.dev_mode, settings.recovery)
    found = _shared.get(loop)
    if found is not None and found[0] == wanted:
        return found[1]
    providers = for_settings(settings)
    _shared[loop] = (wanted, providers)
    if found is not None:
        await found[1].close()
    return providers
