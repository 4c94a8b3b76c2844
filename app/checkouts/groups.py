"""Carts of one shopper on several devices, linked newest-first (`Checkout.superseded_by_id`).

`app/recovery/devices.py` makes the links when a newer cart takes a sequence over; here the
group is read: its live head (what an order settles) and the earlier carts (the inbox shows them).
"""

from __future__ import annotations

from app.checkouts.models import Checkout, CheckoutStatus


async def head(checkout: Checkout) -> Checkout:
    """The group's newest cart that is still live, following the links forward; else `checkout`."""
    current, seen = checkout, {checkout.id}
    while current.superseded_by_id and current.superseded_by_id not in seen:
        nxt = await Checkout.get_or_none(id=current.superseded_by_id, store_id=checkout.store_id)
        if nxt is None:
            break
        seen.add(nxt.id)
        current = nxt
    live = (CheckoutStatus.OPEN, CheckoutStatus.ABANDONED)
    return current if current.status in live else checkout


async def earlier(checkout: Checkout, limit: int = 10) -> list[Checkout]:
    """Carts this one replaced, directly or through another, newest first."""
    found: list[Checkout] = []
    frontier = [checkout.id]
    while frontier and len(found) < limit:
        rows = await Checkout.filter(
            store_id=checkout.store_id, superseded_by_id__in=frontier
        ).order_by("-last_activity_at")
        rows = [r for r in rows if r.id != checkout.id and r not in found]
        found.extend(rows)
        frontier = [r.id for r in rows]
    return found[:limit]
