"""The Magento module's documents in the canonical model: amounts as Decimal, bad shapes refused."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.integrations.magento.normalize import cart_updated, order_placed
from app.integrations.magento.restore import is_restore_url, link_signature
from app.integrations.magento.webhooks import TOPICS


def _cart(**cart: object) -> dict[str, object]:
    base = {"restore_token": "q5.AAAAAAAAAAAAAAAAAAAAAA", "total": "10.10", "currency": "eur"}
    return {"type": "cart.updated", "customer": {"email": "a@example.com"}, "cart": base | cart}


def _order(**order: object) -> dict[str, object]:
    base = {"id": "9", "state": "new", "total": "10.10", "created_at": "2026-12-02T18:30:05Z"}
    return {"type": "order.placed", "cart": {"restore_token": "q5.x"}, "order": base | order}


def test_cart_amounts_stay_decimal_and_codes_are_kept() -> None:
    checkout = cart_updated(_cart(subtotal="0.1", discount="0.2", coupons=["A", "", None]))
    assert checkout.total == Decimal("10.10") and checkout.subtotal == Decimal("0.1")
    assert checkout.total_discounts == Decimal("0.2") and checkout.discount_codes == ["A"]
    assert checkout.currency == "EUR" and checkout.device == "unknown"
    assert checkout.contact.consent_source == "magento_module"


@pytest.mark.parametrize(
    "payload",
    [
        _cart(restore_token=""),
        _cart(total="ten"),
        _cart(items="not a list"),
        {"cart": "q5", "customer": {}},
        _cart() | {"customer": ["a@example.com"]},
    ],
)
def test_malformed_carts_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        cart_updated(payload)


def test_order_placed_flag_wins_and_states_decide_without_it() -> None:
    assert order_placed(_order(placed=True, state="pending_payment")).placed is True
    assert order_placed(_order(placed=False, state="processing")).placed is False
    assert order_placed(_order()).placed is True
    assert order_placed(_order(state="pending_payment")).placed is False
    order = order_placed(_order())
    assert order.placed_at == datetime(2026, 12, 2, 18, 30, 5, tzinfo=UTC)
    assert order.checkout_token == "q5.x" and order.total == Decimal("10.10")
    with pytest.raises(ValueError):
        order_placed(_order(id=None))


def test_topic_map_names_every_event_the_module_sends() -> None:
    assert TOPICS.known == {"cart.updated", "order.placed"}
    assert TOPICS.orders == {"order.placed"}


def test_restore_link_signature_covers_token_expiry_and_code() -> None:
    base = link_signature("s", "q5.x", 100, "")
    assert len(base) == 43 and "=" not in base
    assert base != link_signature("s", "q5.x", 101, "")
    assert base != link_signature("s", "q5.x", 100, "CODE")
    assert base != link_signature("t", "q5.x", 100, "")
    assert is_restore_url("https://shop.example.com/followup/cart/restore?token=q5.x")
    assert not is_restore_url("https://shop.example.com/followup/cart/restore")
    assert not is_restore_url("https://shop.example.com/checkout/cart?token=q5.x")
