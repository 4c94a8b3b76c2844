"""Save before they leave: exit-intent chat invitations on checkout pages, counted once each.

The widget shows an invitation at most once per browser session (its `session` key, random per
tab session); the server keeps one row per store and session, so a replayed post counts nothing
twice. What came of them (accepts, orders, revenue) is read by `app/analytics/site_saves.py` for
the dashboard's "Saved on site" card and the settings page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from app.core.timeutil import utcnow
from inbox.models import ChatInvitation

SESSION_KEY = re.compile(r"^[A-Za-z0-9]{16,32}$")
TRIGGERS = frozenset({"pointer_left", "tab_hidden", "back", "idle"})
DEFAULT_TEXT = "Before you go: any question about your order? We're here to help right now."


class InviteError(ValueError):
    """What was posted cannot be counted; the message says why."""


@dataclass(frozen=True, slots=True)
class InviteEvent:
    session: str
    trigger: str
    checkout: str | None
    accepted: bool


def parse_event(body: dict[str, Any]) -> InviteEvent:
    session, trigger = body.get("session"), body.get("trigger")
    if not isinstance(session, str) or not SESSION_KEY.match(session):
        raise InviteError("session must be 16-32 letters or digits")
    if trigger not in TRIGGERS:
        raise InviteError("trigger must be pointer_left, tab_hidden, back or idle")
    checkout = body.get("checkout_id")
    checkout = str(checkout)[:128] if isinstance(checkout, (str, int)) and checkout != "" else None
    return InviteEvent(session, str(trigger), checkout, body.get("accepted") is True)


async def record(store_id: int, event: InviteEvent, now: datetime | None = None) -> bool:
    """Count a shown invitation once per session; an accept marks it once. True: counted now."""
    now = now or utcnow()
    try:
        await ChatInvitation.create(
            store_id=store_id,
            session_key=event.session,
            checkout_token=event.checkout,
            trigger=event.trigger,
            shown_at=now,
        )
        counted = True
    except IntegrityError:  # this session's invitation was counted already
        counted = False
    if not event.accepted:
        return counted
    accepted = await ChatInvitation.filter(
        store_id=store_id, session_key=event.session, accepted_at=None
    ).update(accepted_at=now)
    return bool(accepted)
