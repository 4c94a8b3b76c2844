"""A batch's view of its contacts' history: orders and automated sends, read once for every row.

The facts a single claim reads with two queries per step (an order since the abandonment, other
sequences inside the frequency window) are read here with two queries per batch, under the same
contact locks. Sends the batch itself records are added as it goes, so a shopper with two carts in
one batch still gets one sequence.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from app.checkouts.models import Order
from app.messaging.models import Author, Message
from app.recovery import rules
from app.recovery.facts import UNSENT, Known
from app.recovery.models import Enrollment
from app.stores.models import Store


def _horizon(store: Store, now: datetime) -> datetime:
    policy = rules.policy_from_settings((store.settings or {}).get("recovery"))
    return rules.frequency_horizon(now, policy)


class History:
    def __init__(self) -> None:
        self.orders: dict[int, list[datetime]] = defaultdict(list)
        self.sends: dict[int, list[tuple[int, datetime]]] = defaultdict(list)

    @classmethod
    async def read(
        cls, conn: Any, enrollments: list[Enrollment], stores: list[Store], now: datetime
    ) -> History:
        history = cls()
        contacts = list({e.contact_id for e in enrollments if e.contact_id})  # type: ignore[attr-defined]
        if not contacts:
            return history
        since = min(e.abandoned_at for e in enrollments)
        for contact_id, placed_at in (
            await Order.filter(contact_id__in=contacts, placed=True, placed_at__gte=since)
            .using_db(conn)
            .values_list("contact_id", "placed_at")
        ):
            history.orders[contact_id].append(placed_at)
        horizon = min(_horizon(store, now) for store in stores)
        for contact_id, enrollment_id, created_at in (
            await Message.filter(
                store_id__in=[store.id for store in stores],  # leads the (store, contact) index
                contact_id__in=contacts,
                author=Author.AUTOMATION,
                enrollment_id__not_isnull=True,
                created_at__gte=horizon,
            )
            .exclude(status__in=UNSENT)
            .using_db(conn)
            .values_list("contact_id", "enrollment_id", "created_at")
        ):
            history.sends[contact_id].append((enrollment_id, created_at))
        return history

    def known(self, enrollment: Enrollment, store: Store, now: datetime) -> Known | None:
        contact_id = enrollment.contact_id  # type: ignore[attr-defined]
        if not contact_id:
            return None
        horizon = _horizon(store, now)
        others = {
            other
            for other, at in self.sends[contact_id]
            if other != enrollment.id and at >= horizon
        }
        ordered = any(at >= enrollment.abandoned_at for at in self.orders[contact_id])
        return Known(ordered=ordered, others=len(others))

    def sent(self, enrollment: Enrollment, now: datetime) -> None:
        contact_id = enrollment.contact_id  # type: ignore[attr-defined]
        if contact_id:
            self.sends[contact_id].append((enrollment.id, now))
