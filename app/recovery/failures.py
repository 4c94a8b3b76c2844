"""Steps that could not be sent because of their template, as the merchant sees them on /flows and
the dashboard: which step and variant, why, and for how many shoppers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.messaging.models import Author, DeliveryStatus, Message

TEMPLATE_ERROR = "template"
WINDOW = timedelta(days=7)
READ_AT_MOST = 1000


@dataclass
class Failure:
    step: int  # counted from 1, as the editor shows steps
    variant: str
    reason: str
    count: int
    last_at: datetime


async def recent_failures(store_id: int, now: datetime) -> list[Failure]:
    """The last week's template failures of one store, one line per step and variant."""
    rows = (
        await Message.filter(
            store_id=store_id,
            author=Author.AUTOMATION,
            status=DeliveryStatus.FAILED,
            error_code=TEMPLATE_ERROR,
            created_at__gte=now - WINDOW,
        )
        .order_by("-created_at")
        .limit(READ_AT_MOST)
        .values_list("step_index", "variant", "error_message", "created_at")
    )
    found: dict[tuple[int, str], Failure] = {}
    for step, variant, message, at in rows:
        key = (int(step or 0), str(variant or "a"))
        if key in found:
            found[key].count += 1
            continue
        reason = str(message or "").partition(": ")[2] or str(message or "")
        found[key] = Failure(key[0] + 1, key[1], reason, 1, at)
    return sorted(found.values(), key=lambda f: (f.step, f.variant))
