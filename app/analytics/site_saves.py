"""Saved on site: exit-intent chat invitations shown, accepted, and the orders that followed.

Read with plain SQL from the inbox's invitation table (as `response_times` reads the inbox's
clocks), so analytics imports nothing of `inbox`. An invitation counts in the period it was shown
in; its order is the invited checkout bought afterwards (completed, or recovered later by a
message), each checkout once however many sessions were invited on it. Revenue is in the store's
currency; a checkout in another currency counts as an order, not as revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.analytics import sql
from app.checkouts.models import CheckoutStatus


@dataclass(frozen=True, slots=True)
class Saves:
    shown: int
    accepted: int
    orders: int
    revenue: Decimal
    currency: str

    @property
    def accept_rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None


async def between(store_id: int, currency: str, start: datetime, end: datetime) -> Saves:
    """Invitations shown in [start, end), those accepted, and the orders that came of them."""
    [counts] = await sql.rows(
        """SELECT count(*) AS shown, count(i.accepted_at) AS accepted
        FROM inbox_chat_invitation i
        WHERE i.store_id = $1 AND i.shown_at >= $2 AND i.shown_at < $3""",
        store_id,
        start,
        end,
    )
    bought = await sql.rows(
        """SELECT DISTINCT c.id, c.total, c.currency FROM inbox_chat_invitation i
        JOIN checkout c ON c.store_id = i.store_id AND c.token = i.checkout_token
        WHERE i.store_id = $1 AND i.shown_at >= $2 AND i.shown_at < $3
          AND i.accepted_at IS NOT NULL AND c.status IN ($4, $5)""",
        store_id,
        start,
        end,
        CheckoutStatus.COMPLETED.value,
        CheckoutStatus.RECOVERED.value,
    )
    revenue = sum(
        (Decimal(str(r["total"] or 0)) for r in bought if r["currency"] == currency), Decimal(0)
    )
    shown, accepted = int(counts["shown"] or 0), int(counts["accepted"] or 0)
    return Saves(shown, accepted, len(bought), revenue, currency)
