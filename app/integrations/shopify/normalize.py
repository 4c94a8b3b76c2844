"""Shopify checkout, order and customer webhooks into the canonical model."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.checkouts.schemas import (
    CheckoutInput,
    ContactInput,
    IdentifyInput,
    LineItem,
    OrderInput,
    birthday,
    money,
    normalize_tags,
    text,
)
from app.core.timeutil import parse_datetime
from app.integrations.common import device_from_user_agent, locale_tag

_SUBSCRIBED = {"subscribed"}
_OPTED_OUT = {"unsubscribed", "redacted"}


def _consent(state: dict[str, Any] | None) -> bool | None:
    if not isinstance(state, dict):
        return None
    value = str(state.get("state") or "").lower()
    return True if value in _SUBSCRIBED else False if value in _OPTED_OUT else None


def contact(payload: dict[str, Any]) -> ContactInput:
    customer = payload.get("customer") or {}
    address = payload.get("shipping_address") or payload.get("billing_address") or {}
    sms_state = customer.get("sms_marketing_consent")
    sms = True if payload.get("buyer_accepts_sms_marketing") else _consent(sms_state)
    email_consent = (
        True
        if payload.get("buyer_accepts_marketing")
        else _consent(customer.get("email_marketing_consent"))
    )
    consent_at = parse_datetime((sms_state or {}).get("consent_updated_at")) or parse_datetime(
        payload.get("updated_at")
    )
    return ContactInput(
        email=text(
            payload.get("email") or customer.get("email") or payload.get("contact_email"), 320
        ),
        phone=text(
            payload.get("sms_marketing_phone")
            or payload.get("phone")
            or customer.get("phone")
            or address.get("phone"),
            32,
        ),
        first_name=text(customer.get("first_name") or address.get("first_name")),
        last_name=text(customer.get("last_name") or address.get("last_name")),
        locale=locale_tag(payload.get("customer_locale")),
        country=text(address.get("country_code"), 2),
        region=text(address.get("province_code"), 16),
        external_id=text(customer.get("id"), 64),
        email_consent=email_consent,
        sms_consent=sms,
        sms_opted_out=_consent(sms_state) is False,
        consent_source="shopify_checkout",
        consent_at=consent_at,
        birthday=_birthday(payload),
        tags=normalize_tags(customer.get("tags")),  # "VIP, wholesale": the customer's own tags
    )


def customer(payload: dict[str, Any]) -> IdentifyInput:
    """`customers/create` and `customers/update`: who the customer is and their marketing
    consent. `subscribed` grants it (the welcome flows react); `unsubscribed` or `redacted`
    withdraws marketing consent only; any other state (`not_subscribed`, `pending` double
    opt-in, `invalid`) or a missing object changes nothing."""
    address = payload.get("default_address") or {}
    email_state = payload.get("email_marketing_consent")
    sms_state = payload.get("sms_marketing_consent")
    email, sms = _consent(email_state), _consent(sms_state)
    granted = email_state if email else sms_state if sms else None
    consent_at = parse_datetime((granted or {}).get("consent_updated_at")) or parse_datetime(
        payload.get("updated_at")
    )
    withdrawn = tuple(c for c, v in (("email", email), ("sms", sms)) if v is False)
    return IdentifyInput(
        contact=ContactInput(
            email=text(payload.get("email"), 320),
            phone=text(payload.get("phone") or address.get("phone"), 32),
            first_name=text(payload.get("first_name") or address.get("first_name")),
            last_name=text(payload.get("last_name") or address.get("last_name")),
            country=text(address.get("country_code"), 2),
            region=text(address.get("province_code"), 16),
            external_id=text(payload.get("id"), 64),
            email_consent=True if email else None,
            sms_consent=True if sms else None,
            withdrawn=withdrawn,
            consent_source="shopify_customer",
            consent_at=consent_at,
            birthday=metafield_birthday(payload.get("metafields")),
            tags=normalize_tags(payload.get("tags")),
        )
    )


_BIRTHDAY_NAMES = {"birthday", "birth_date", "date_of_birth", "birthdate"}
# Customer metafields that hold a birthday, best first: Shopify's standard "Birth date"
# definition (facts.birth_date, type date), then the merchant's own `custom` ones. Webhooks
# carry them only for namespaces the subscription names (registration.py METAFIELD_NAMESPACES).
BIRTHDAY_METAFIELDS = (
    ("facts", "birth_date"),
    ("custom", "birthday"),
    ("custom", "birth_date"),
    ("custom", "date_of_birth"),
)


def metafield_birthday(metafields: Any) -> date | None:
    """The first readable birthday among a customer's metafields; an unreadable one is skipped."""
    found = {
        (str(m.get("namespace")), str(m.get("key"))): m.get("value")
        for m in metafields or []
        if isinstance(m, dict)
    }
    for name in BIRTHDAY_METAFIELDS:
        if (day := birthday(found.get(name))) is not None:
            return day
    return None


def _birthday(payload: dict[str, Any]) -> date | None:
    """A birthday from the order's note attributes (how birthday-field apps pass it on), else
    from its customer's metafields when the payload carries them."""
    for entry in payload.get("note_attributes") or []:
        named = isinstance(entry, dict) and str(entry.get("name", "")).lower() in _BIRTHDAY_NAMES
        if named and (day := birthday(entry.get("value"))) is not None:
            return day
    customer = payload.get("customer")
    return metafield_birthday(customer.get("metafields")) if isinstance(customer, dict) else None


def _line_items(payload: dict[str, Any]) -> list[LineItem]:
    items = []
    for raw in payload.get("line_items") or []:
        items.append(
            LineItem(
                title=text(raw.get("title") or raw.get("presentment_title"), 512) or "Item",
                variant_title=text(
                    raw.get("variant_title") or raw.get("presentment_variant_title"), 512
                ),
                sku=text(raw.get("sku"), 128),
                quantity=max(int(raw.get("quantity") or 1), 1),
                unit_price=money(raw.get("price") or raw.get("variant_price")),
                product_id=text(raw.get("product_id"), 64),
                variant_id=text(raw.get("variant_id"), 64),
                image_url=text(
                    (raw.get("image") or {}).get("src")
                    if isinstance(raw.get("image"), dict)
                    else raw.get("image_url"),
                    2048,
                ),
            )
        )
    return items


def checkout(payload: dict[str, Any], *, deleted: bool = False) -> CheckoutInput:
    token = text(payload.get("token"), 128)
    if not token:
        raise ValueError("checkout has no token")
    shipping = sum(
        (money(line.get("price")) for line in payload.get("shipping_lines") or []), start=money(0)
    )
    address = payload.get("shipping_address") or payload.get("billing_address")
    client = payload.get("client_details") or {}
    return CheckoutInput(
        token=token,
        external_id=text(payload.get("id"), 128),
        cart_token=text(payload.get("cart_token"), 128),
        contact=contact(payload),
        currency=(text(payload.get("currency"), 3) or "USD").upper(),
        line_items=_line_items(payload),
        subtotal=money(payload.get("subtotal_price")),
        total_discounts=money(payload.get("total_discounts")),
        total_shipping=shipping,
        total_tax=money(payload.get("total_tax")),
        total=money(payload.get("total_price")),
        discount_codes=[
            str(d.get("code"))
            for d in payload.get("discount_codes") or []
            if isinstance(d, dict) and d.get("code")
        ],
        recovery_url=text(payload.get("abandoned_checkout_url"), 2048),
        device=device_from_user_agent(client.get("user_agent")),
        locale=locale_tag(payload.get("customer_locale")),
        address=address if isinstance(address, dict) else None,
        created_at=parse_datetime(payload.get("created_at")),
        updated_at=parse_datetime(payload.get("updated_at")),
        completed=bool(payload.get("completed_at")),
        deleted=deleted,
    )


def order(payload: dict[str, Any]) -> OrderInput:
    external_id = text(payload.get("id"), 128)
    placed_at = parse_datetime(payload.get("processed_at") or payload.get("created_at"))
    if not external_id or placed_at is None:
        raise ValueError("order needs an id and created_at")
    shop_money = (payload.get("total_price_set") or {}).get("shop_money") or {}
    presentment = (payload.get("total_price_set") or {}).get("presentment_money") or {}
    cancelled = bool(payload.get("cancelled_at"))
    return OrderInput(
        external_id=external_id,
        contact=contact(payload),
        currency=(
            text(shop_money.get("currency_code") or payload.get("currency"), 3) or "USD"
        ).upper(),
        total=money(shop_money.get("amount") or payload.get("total_price")),
        placed_at=placed_at,
        checkout_token=text(payload.get("checkout_token"), 128),
        cart_token=text(payload.get("cart_token"), 128),
        presentment_currency=text(
            presentment.get("currency_code") or payload.get("presentment_currency"), 3
        ),
        presentment_total=money(presentment["amount"]) if presentment.get("amount") else None,
        discount_codes=[
            str(d.get("code"))
            for d in payload.get("discount_codes") or []
            if isinstance(d, dict) and d.get("code")
        ],
        financial_status=text(payload.get("financial_status"), 32),
        placed=not cancelled,
    )
