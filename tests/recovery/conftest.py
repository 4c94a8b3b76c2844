"""Recovery fixtures: a store with an SMS number, abandoned checkouts, real SMTP and fake Twilio."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.checkouts import services as checkout_services
from app.checkouts.models import Checkout
from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem
from app.config import Settings, TwilioSettings
from app.integrations.smtp.sender import SmtpEmailSender
from app.integrations.twilio.sms import TwilioSmsSender
from app.recovery import services
from app.recovery.models import Enrollment
from app.recovery.sending import Deps
from app.stores.models import Store
from tests.factories import free_port, make_store
from tests.fakes.twilio import FakeTwilio

# 10:00 in Los Angeles on a Wednesday: inside every quiet-hours window.
NOON_LA = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)


@dataclass
class Inbox:
    """What the loopback SMTP server received."""

    messages: list[Any] = field(default_factory=list)
    port: int = 0
    senders: list[str] = field(default_factory=list)  # envelope MAIL FROM, where bounces go

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email

        self.senders.append(envelope.mail_from)
        self.messages.append(
            email.message_from_bytes(envelope.original_content or envelope.content)
        )
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[Inbox]:
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio().start()
    yield fake
    await fake.stop()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON_LA)


@pytest.fixture
async def deps(
    settings: Settings, fake_twilio: FakeTwilio, smtp: Inbox, redis: Any, queue: Any, clock: Clock
) -> AsyncIterator[Deps]:
    sms = TwilioSmsSender(
        TwilioSettings(fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.url)
    )
    built = Deps(
        settings=settings,
        sms=sms,
        email=SmtpEmailSender(f"smtp://127.0.0.1:{smtp.port}"),
        redis=redis,
        queue=queue,
        clock=clock,
    )
    yield built
    await sms.close()


@pytest.fixture
async def store(settings: Settings) -> Store:
    issued = await make_store("woocommerce", sms_number="+14155550100", name="Tidewater Teas")
    return issued.store


async def abandoned(
    store: Store,
    at: datetime,
    *,
    email: str | None = "jane@example.com",
    phone: str | None = "+14155550173",
    sms_consent: bool = True,
    consent_at: datetime | None = None,
    total: Decimal = Decimal("64.00"),
    first_name: str = "Jane",
    device: str = "mobile",
    enroll: bool = True,
) -> tuple[Checkout, Enrollment | None]:
    """A checkout abandoned at `at`, its contact consenting to SMS an hour before by default."""
    token = uuid.uuid4().hex
    data = CheckoutInput(
        token=token,
        contact=ContactInput(
            email=email,
            phone=phone,
            first_name=first_name,
            sms_consent=sms_consent,
            email_consent=True,
            consent_at=consent_at or at - timedelta(hours=1),
            country="US",
            region="CA",
        ),
        currency="USD",
        line_items=[LineItem("Coffee mug", 2, total / 2, variant_title="Blue")],
        subtotal=total,
        total=total,
        recovery_url=f"https://{store.domain}/?followup_restore={token}",
        device=device,
        updated_at=at - timedelta(minutes=20),
    )
    checkout = await checkout_services.upsert_checkout(store, data, at - timedelta(minutes=20))
    await checkout_services.mark_abandoned(checkout.id, at)
    await checkout.refresh_from_db()
    enrollment = await services.enroll(checkout.id) if enroll else None
    return checkout, enrollment
