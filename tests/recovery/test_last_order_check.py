"""The last order check before a send: a batch asks once for all its carts, and each cart gets
exactly the answer its own check gives."""

from __future__ import annotations

from datetime import timedelta

from app.checkouts.models import Checkout, Contact
from app.core.timeutil import utcnow
from app.ingest import seen
from app.ingest.models import OrderSeen
from app.recovery.sending._facts import order_seen, orders_seen
from tests.factories import make_store


def cart(store_id: int, name: str, **extra: object) -> Checkout:
    values: dict[str, object] = {
        "store_id": store_id,
        "platform": "custom",
        "token": f"tok-{name}",
        "cart_token": f"cart-{name}",
        "email": f"{name}@example.com",
        "phone": None,
        "last_activity_at": utcnow() - timedelta(hours=1),
    }
    return Checkout(**(values | extra))


async def test_a_batch_gets_for_each_cart_the_answer_of_its_own_check(settings) -> None:
    one = (await make_store("custom", domain="one.example.com")).store
    two = (await make_store("custom", domain="two.example.com")).store
    now = utcnow()
    before, after = now - timedelta(hours=2), now - timedelta(minutes=5)
    seen_rows = [
        # by the checkout's own token, whenever it was seen
        OrderSeen(store_id=one.id, checkout_token="tok-token", seen_at=before),
        # by the cart token, the email or the phone: only after the shopper's last touch
        OrderSeen(store_id=one.id, cart_token="cart-cart", seen_at=after),
        OrderSeen(store_id=one.id, cart_token="cart-old", seen_at=before),
        OrderSeen(store_id=one.id, email_digest=seen.email_key("mail@example.com"), seen_at=after),
        OrderSeen(store_id=one.id, phone_digest=seen.phone_key("+14155550123"), seen_at=after),
        # another store's order for the same shopper and cart stops nothing here
        OrderSeen(store_id=two.id, checkout_token="tok-other", seen_at=after),
        OrderSeen(store_id=two.id, email_digest=seen.email_key("other@example.com"), seen_at=after),
    ]
    for row in seen_rows:
        await row.save()
    contact = Contact(store_id=one.id, email="Mail@Example.com ", phone="+14155550123")
    carts = [
        (one.id, cart(one.id, "token"), None),
        (one.id, cart(one.id, "cart"), None),
        (one.id, cart(one.id, "old"), None),
        (one.id, cart(one.id, "byemail", email=None), contact),
        (one.id, cart(one.id, "byphone", email=None, phone="+14155550123"), None),
        (one.id, cart(one.id, "other", token="tok-other", cart_token=None), None),
        (one.id, cart(one.id, "other"), None),
        (one.id, cart(one.id, "quiet"), None),
        (two.id, cart(two.id, "other", token="tok-other"), None),
    ]
    each = [await order_seen(*c) for c in carts]
    assert each == [True, True, False, True, True, False, False, False, True]
    assert await orders_seen(carts) == each
    assert await orders_seen([]) == []
    bare = cart(one.id, "bare", cart_token=None, email=None)  # only its token to look for
    assert await orders_seen([(one.id, bare, None)]) == [False]
