"""Property-based checks of the edges: signatures and normalizers hold for every input, not three."""

from __future__ import annotations

import json
from decimal import Decimal

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.phones import parse_phone
from app.core.security import hmac_sha256_base64, verify_base64_hmac
from app.integrations.collect.normalize import normalize as normalize_segment
from app.integrations.shopify import normalize as shopify
from app.integrations.woocommerce.webhooks import plugin_problem, sign_plugin

bodies = st.binary(min_size=0, max_size=2048)
secrets_ = st.text(min_size=1, max_size=64)
prices = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2, allow_nan=False
)


@given(body=bodies, secret=secrets_)
def test_signature_round_trip(body: bytes, secret: str) -> None:
    assert verify_base64_hmac(secret, body, hmac_sha256_base64(secret, body))


@given(
    body=bodies.filter(bool),
    secret=secrets_,
    index=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_any_changed_byte_breaks_the_signature(
    body: bytes, secret: str, index: int, flip: int
) -> None:
    signature = hmac_sha256_base64(secret, body)
    position = index % len(body)
    tampered = body[:position] + bytes([body[position] ^ flip]) + body[position + 1 :]
    assert not verify_base64_hmac(secret, tampered, signature)


@given(body=bodies, secret=secrets_, other=secrets_)
def test_another_secret_never_verifies(body: bytes, secret: str, other: str) -> None:
    if other != secret:
        assert not verify_base64_hmac(other, body, hmac_sha256_base64(secret, body))


@given(body=bodies, secret=secrets_, skew=st.integers(-1000, 1000))
def test_plugin_signature_window(body: bytes, secret: str, skew: int) -> None:
    now = 1_767_897_667
    headers = {
        "x-followup-timestamp": str(now + skew),
        "x-followup-signature": sign_plugin(secret, now + skew, body),
    }
    problem = plugin_problem(secret, body, headers, now=now)
    assert (problem is None) == (abs(skew) <= 300)


line_items = st.lists(
    st.fixed_dictionaries(
        {"title": st.text(max_size=40), "price": prices.map(str), "quantity": st.integers(1, 50)},
        optional={
            "variant_title": st.none() | st.text(max_size=20),
            "sku": st.none() | st.text(max_size=12),
            "variant_id": st.integers(1, 10**12),
            "product_id": st.integers(1, 10**12),
        },
    ),
    max_size=8,
)


@settings(max_examples=150)
@given(
    items=line_items,
    total=prices,
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD"]),
    email=st.none() | st.emails(),
    accepts=st.booleans(),
)
def test_shopify_checkout_normalizes_exactly(items, total, currency, email, accepts) -> None:
    payload = {
        "token": "tok",
        "line_items": items,
        "total_price": str(total),
        "currency": currency,
        "email": email,
        "buyer_accepts_sms_marketing": accepts,
        "updated_at": "2026-01-08T13:42:55-05:00",
    }
    data = shopify.checkout(json.loads(json.dumps(payload), parse_float=Decimal))
    assert data.total == total and data.currency == currency
    assert [i.unit_price for i in data.line_items] == [Decimal(i["price"]) for i in items]
    assert all(i.quantity >= 1 for i in data.line_items)
    assert data.contact.sms_consent is (True if accepts else None)


@settings(max_examples=150)
@given(
    products=st.lists(
        st.fixed_dictionaries(
            {"name": st.text(max_size=30), "price": prices, "quantity": st.integers(1, 9)}
        ),
        max_size=6,
    )
)
def test_segment_prices_never_pass_through_float(products) -> None:
    event = {
        "type": "track",
        "event": "Checkout Started",
        "anonymousId": "v",
        "properties": {
            "checkout_id": "c1",
            "currency": "USD",
            "products": products,
            "value": str(sum((p["price"] * p["quantity"] for p in products), Decimal(0))),
        },
    }
    raw = json.dumps(event, default=str)
    [checkout] = normalize_segment(json.loads(raw, parse_float=Decimal))
    assert [i.unit_price for i in checkout.line_items] == [p["price"] for p in products]
    assert checkout.total == sum((p["price"] * p["quantity"] for p in products), Decimal(0))


@given(
    raw=st.text(alphabet="0123456789 +-()", max_size=20),
    region=st.sampled_from(["US", "GB", "DE", None]),
)
def test_phone_is_e164_or_null_with_a_reason(raw: str, region: str | None) -> None:
    parsed = parse_phone(raw, region)
    if parsed.e164 is None:
        assert parsed.problem or not raw
    else:
        assert parsed.e164.startswith("+") and phonenumbers.is_valid_number(
            phonenumbers.parse(parsed.e164)
        )
