"""The plugin's restore lookup: the cart and contact behind a restore token, so WordPress keeps neither."""

from __future__ import annotations

from typing import Any

from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.stores.models import Store

RESTORE_EVENT = "restore.lookup"
USED = frozenset({CheckoutStatus.COMPLETED, CheckoutStatus.RECOVERED})


class RestoreRefused(Exception):
    """Why a token cannot restore a cart; carries the HTTP status the plugin maps to a notice."""

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason


def _items(checkout: Checkout) -> list[dict[str, Any]]:
    return [
        {
            "product_id": item.get("product_id"),
            "variation_id": item.get("variant_id"),
            "quantity": item.get("quantity") or 1,
            "name": item.get("title"),
        }
        for item in checkout.line_items or []
        if isinstance(item, dict) and item.get("product_id")
    ]


async def restore_view(store: Store, token: str) -> dict[str, Any]:
    """What the plugin needs to rebuild the cart and pre-fill checkout; used or expired carts are refused."""
    checkout = await Checkout.get_or_none(store=store, token=token[:128])
    if checkout is None:
        raise RestoreRefused(404, "unknown_checkout", "no checkout has this restore token")
    if checkout.status in USED:
        raise RestoreRefused(410, "restore_used", "an order was already placed for this cart")
    if checkout.status == CheckoutStatus.EXPIRED:
        raise RestoreRefused(410, "restore_expired", "this cart is too old to restore")
    contact = (
        await Contact.get_or_none(id=checkout.contact_id, store=store)
        if checkout.contact_id
        else None
    )
    return {
        "status": "ok",
        "cart": {
            "currency": checkout.currency,
            "coupons": list(checkout.discount_codes or []),
            "items": _items(checkout),
        },
        "customer": {
            "email": checkout.email or "",
            "phone": checkout.phone or "",
            "first_name": (contact.first_name if contact else None) or "",
            "last_name": (contact.last_name if contact else None) or "",
            "country": (contact.country if contact else None) or "",
        },
    }
