"""A batch's view of its contacts' history: orders and automated sends, read once for every row.

The facts a single claim reads with up to three queries per step (an order since the abandonment,
other sequences inside the frequency window, the checkout's automated texts for the carrier rule)
are read here with up to three queries per batch, under the same contact locks. Sends the batch
itself records are added as it goes, so a shopper with two carts in one batch still gets one
sequence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from app.checkouts.models import Order
from app.messaging.models import Author, Channel, Message
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
        self.texts: dict[int, int] = {}  # checkout id: automated texts (only checkouts read)

    @classmethod
    async def read(
        cls,
        conn: Any,
        enrollments: list[Enrollment],
        stores: list[Store],
        now: datetime,
        texting: list[int] | None = None,
    ) -> History:
        """`texting`: the checkouts whose step may text (sms or auto): only theirs are counted."""
        history = cls()
        if texting:
            history.texts = {checkout_id: 0 for checkout_id in texting}
            history.texts.update(await _texts(conn, texting))
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

    def known(self, enrollment: Enrollment, store: Store, now: datetime) -> Known:
        texts = self.texts.get(enrollment.checkout_id)  # type: ignore[attr-defined]
        contact_id = enrollment.contact_id  # type: ignore[attr-defined]
        if not contact_id:  # nobody to have ordered or been in another sequence
            return Known(ordered=False, others=0, sms_sent=texts)
        horizon = _horizon(store, now)
        others = {
            other
            for other, at in self.sends[contact_id]
            if other != enrollment.id and at >= horizon
        }
        ordered = any(at >= enrollment.abandoned_at for at in self.orders[contact_id])
        return Known(ordered=ordered, others=len(others), sms_sent=texts)

    def sent(self, enrollment: Enrollment, now: datetime, channel: str) -> None:
        contact_id = enrollment.contact_id  # type: ignore[attr-defined]
        if contact_id:
            self.sends[contact_id].append((enrollment.id, now))
        checkout_id = enrollment.checkout_id  # type: ignore[attr-defined]
        if channel == Channel.SMS and checkout_id in self.texts:
            self.texts[checkout_id] += 1


async def _texts(conn: Any, checkout_ids: list[int]) -> Counter[int]:
    """Automated texts per checkout that reached a provider (the carrier rule: one per abandonment)."""
    return Counter(
        await Message.filter(
            checkout_id__in=checkout_ids, channel=Channel.SMS, author=Author.AUTOMATION
        )
        .exclude(status__in=UNSENT)
        .using_db(conn)
        .values_list("checkout_id", flat=True)
    )
