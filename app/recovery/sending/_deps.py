"""What a send needs from the worker (settings, senders, Redis, the clock) and how it says "later"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.config import Settings
from app.core.timeutil import utcnow
from app.messaging.outbound import Providers
from app.messaging.senders import EmailSender, SmsSender
from app.recovery.discounts import DiscountIssuer


class Later(Exception):
    """Come back in `seconds` (quiet hours, throttle, backoff, another worker's send in flight)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(seconds, 0.05)
        self.reason = reason


@dataclass
class Deps:
    """Built once per worker (`app.recovery.jobs.deps_for`); tests hand in their own."""

    settings: Settings
    sms: SmsSender
    email: EmailSender
    redis: Any = None
    queue: Any = None
    issuer: DiscountIssuer | None = None
    enrich: bool = True
    fresh: bool = (
        True  # re-read prices and stock from the store before rendering (app.recovery.fresh)
    )
    clock: Callable[[], datetime] = utcnow

    @property
    def providers(self) -> Providers:
        return Providers(sms=self.sms, email=self.email)
