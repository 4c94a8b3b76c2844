"""Segment-spec events (snippet, Shopify pixel, servers) into the canonical model."""

from __future__ import annotations

from typing import Any

from app.checkouts.schemas import (
    AliasInput,
    CheckoutInput,
    ContactInput,
    ExitInput,
    IdentifyInput,
    LineItem,
    Normalized,
    OrderInput,
    birthday,
    money,
    normalize_tags,
    text,
)
from app.core.timeutil import parse_datetime, utcnow
from app.integrations.common import device_from_user_agent, locale_tag


def _contact(event: dict[str, Any]) -> ContactInput:
    traits = event.get("traits") or (event.get("context") or {}).get("traits") or {}
    props = event.get("properties") or {}
    consent = traits.get("consent") or props.get("consent") or {}
    return ContactInput(
        email=text(traits.get("email") or props.get("email"), 320),
        phone=text(traits.get("phone") or props.get("phone"), 32),
        first_name=text(traits.get("first_name") or traits.get("firstName")),
        last_name=text(traits.get("last_name") or traits.get("lastName")),
        country=text(
            (traits.get("address") or {}).get("country")
            if isinstance(traits.get("address"), dict)
            else traits.get("country"),
            2,
        ),
        timezone=text((event.get("context") or {}).get("timezone"), 64),
        locale=locale_tag((event.get("context") or {}).get("locale")),
        email_consent=consent.get("email") if isinstance(consent.get("email"), bool) else None,
        sms_consent=consent.get("sms") if isinstance(consent.get("sms"), bool) else None,
        consent_source="web_snippet",
        external_id=text(event.get("userId"), 64),
        birthday=birthday(traits.get("birthday")),
        tags=normalize_tags(traits.get("tags")),
    )


def _items(props: dict[str, Any]) -> list[LineItem]:
    return [
        LineItem(
            title=text(p.get("name"), 512) or "Item",
            variant_title=text(p.get("variant"), 512),
            sku=text(p.get("sku"), 128),
            quantity=max(int(p.get("quantity") or 1), 1),
            unit_price=money(p.get("price")),
            product_id=text(p.get("product_id"), 64),
            image_url=text(p.get("image_url"), 2048),
            product_url=text(p.get("url"), 2048),
        )
        for p in props.get("products") or []
        if isinstance(p, dict)
    ]


def _checkout(event: dict[str, Any], visitor: str | None, user: str | None) -> CheckoutInput:
    props = event.get("properties") or {}
    token = text(props.get("checkout_id") or props.get("order_id") or props.get("cart_id"), 128)
    if not token:
        raise ValueError("properties.checkout_id (or order_id) identifies the checkout")
    total = props.get("total", props.get("value", props.get("revenue")))
    received = event.get("_received") or {}
    return CheckoutInput(
        token=token,
        cart_token=text(props.get("cart_id"), 128),
        visitor_id=visitor,
        user_id=user,
        contact=_contact(event),
        currency=(text(props.get("currency"), 3) or "USD").upper(),
        line_items=_items(props),
        subtotal=money(props.get("subtotal", total)),
        total_discounts=money(props.get("discount")),
        total_shipping=money(props.get("shipping")),
        total_tax=money(props.get("tax")),
        total=money(total),
        discount_codes=[str(props["coupon"])] if props.get("coupon") else [],
        recovery_url=text(props.get("recovery_url") or props.get("checkout_url"), 2048),
        device=device_from_user_agent(
            (event.get("context") or {}).get("userAgent") or received.get("user_agent")
        ),
        locale=locale_tag((event.get("context") or {}).get("locale")),
        updated_at=parse_datetime(event.get("timestamp")) or utcnow(),
    )


# A payment status on an order event (`status` or `payment_status`, lowercased; not part of the
# Segment spec, which has none): these say the order was placed and waits for its money ...
PENDING = frozenset({"pending", "pending_payment", "awaiting_payment", "authorized", "on-hold"})
# ... and these that it is no purchase at all. Any other status, or none, is a paid order.
NOT_PLACED = frozenset({"cancelled", "canceled", "failed", "voided", "refunded"})


def payment_status(props: dict[str, Any]) -> str | None:
    """The order's payment status as recorded: `pending` for any waiting one, else the word
    given (`paid`, `completed`, `failed`...), else None (the spec's default: a paid order)."""
    given = text(props.get("payment_status") or props.get("status"), 32)
    if not given:
        return None
    status = given.strip().lower().replace(" ", "_")
    return "pending" if status in PENDING else status


def _order(event: dict[str, Any]) -> OrderInput:
    props = event.get("properties") or {}
    external_id = text(props.get("order_id"), 128)
    if not external_id:
        raise ValueError(f"properties.order_id is required on {event.get('event')}")
    status = payment_status(props)
    return OrderInput(
        external_id=external_id,
        contact=_contact(event),
        currency=(text(props.get("currency"), 3) or "USD").upper(),
        total=money(props.get("total", props.get("revenue"))),
        placed_at=parse_datetime(event.get("timestamp")) or utcnow(),
        checkout_token=text(props.get("checkout_id"), 128),
        cart_token=text(props.get("cart_id"), 128),
        discount_codes=[str(props["coupon"])] if props.get("coupon") else [],
        financial_status=status,
        placed=status not in NOT_PLACED,
    )


def _exit(event: dict[str, Any]) -> list[Normalized]:
    token = text((event.get("properties") or {}).get("checkout_id"), 128)
    if not token:
        raise ValueError("properties.checkout_id is required on Checkout Exited")
    return [ExitInput(token=token, exited_at=parse_datetime(event.get("timestamp")))]


def normalize(event: dict[str, Any]) -> list[Normalized]:
    visitor = text(event.get("anonymousId"), 128)
    user = text(event.get("userId"), 128)
    if event.get("type") == "alias":
        previous = text(event.get("previousId"), 128)
        return [AliasInput(previous_id=previous, user_id=user)] if previous and user else []
    if event.get("type") == "identify":
        if not (visitor or user):
            return []
        return [IdentifyInput(contact=_contact(event), visitor_id=visitor, user_id=user)]
    name = event.get("event")
    if name in ("Order Completed", "Order Updated"):
        return [_order(event)]
    if name == "Checkout Exited":
        return _exit(event)
    return [_checkout(event, visitor, user)]
