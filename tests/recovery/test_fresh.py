"""Fresh at send time: a cart's lines are re-read from Shopify (fake, real HTTP) or our WooCommerce
plugin (real PHP) right before a step is rendered; sold-out lines are left out or the step is
skipped, drops are shown, and a throttled or slow store falls back to the captured cart."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.checkouts import services as checkout_services
from app.checkouts.current import CurrentLine
from app.checkouts.models import Checkout
from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem
from app.integrations.woocommerce.coupons import SITE_SETTING
from app.messaging.models import DeliveryStatus, Message
from app.recovery import flows, fresh, services
from app.recovery.models import Enrollment, Flow
from app.recovery.sending import run_step, send_due
from app.stores.models import Store
from app.stores.services import forget_cached_stores
from tests.fakes.woocommerce_plugin import PhpCouponPlugin
from tests.shopify.conftest import fake_server, installed, shopify  # noqa: F401

EMAIL_STEP = 1  # the playbook's one-hour email
PILLOW, MUG, VASE = "49871234561234", "49871234569988", "49871234560001"
QUERY_NAME = "FollowUpCurrentVariants"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    yield
    flows.forget_steps()
    forget_cached_stores()


def _variant(price: str, available: bool = True, compare_at: str | None = None) -> dict:
    return {"price": price, "compareAtPrice": compare_at, "availableForSale": available}


def _offer(shopify, store: Store, **variants: dict) -> None:  # noqa: F811
    shop = shopify.shop(store.domain)
    for variant_id, fields in variants.items():
        gid = f"gid://shopify/ProductVariant/{variant_id}"
        shop.variants[gid] = {"id": gid, "image": None, "product": None, **fields}


def _lookups(shopify) -> list[dict]:  # noqa: F811
    return [r for r in shopify.graphql_requests if QUERY_NAME in r["query"]]


async def _cart(
    store: Store,
    at: datetime,
    items: list[LineItem],
    email: str = "jane@example.com",
    phone: str = "+14155550173",
) -> Enrollment:
    """A checkout of these lines abandoned at `at`, its email step due now."""
    token = uuid.uuid4().hex
    total = sum((i.unit_price * i.quantity for i in items), Decimal(0))
    data = CheckoutInput(
        token=token,
        contact=ContactInput(email=email, phone=phone, first_name="Jane", email_consent=True),
        currency="USD",
        line_items=items,
        subtotal=total,
        total=total + Decimal("5.00"),
        recovery_url=f"https://{store.domain}/?r={token}",
        updated_at=at - timedelta(minutes=20),
    )
    checkout = await checkout_services.upsert_checkout(store, data, at - timedelta(minutes=20))
    await checkout_services.mark_abandoned(checkout.id, at)
    enrollment = await services.enroll(checkout.id)
    assert enrollment is not None
    await Enrollment.filter(id=enrollment.id).update(next_step=EMAIL_STEP)
    return await Enrollment.get(id=enrollment.id)


def _parts(mail) -> tuple[str, str]:
    text, html = mail.get_payload()[0], mail.get_payload()[1]
    return text.get_payload(decode=True).decode(), html.get_payload(decode=True).decode()


def _items() -> list[LineItem]:
    return [
        LineItem("Linen pillow", 1, Decimal("25.00"), variant_id=PILLOW),
        LineItem("Stoneware mug", 2, Decimal("12.00"), variant_id=MUG),
    ]


async def test_email_shows_the_price_drop_and_leaves_out_the_sold_out_line(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    smtp,
):
    _offer(shopify, installed, **{PILLOW: _variant("20.00"), MUG: _variant("12.00", False)})
    enrollment = await _cart(installed, clock.now - timedelta(hours=2), _items())
    assert await run_step(deps, enrollment.id, EMAIL_STEP) == "sent"

    [mail] = smtp.messages
    text, html = _parts(mail)
    assert "Linen pillow: $20.00 (now $20.00, was $25.00)" in text
    assert "Stoneware mug" not in text and "Stoneware mug" not in html
    assert "Subtotal: $20.00" in text  # the items' sum: taxes and shipping are the store's again
    assert "now $20.00, was <s>$25.00</s>" in html
    assert "a price in your cart has dropped" in text
    [lookup] = _lookups(shopify)
    assert sorted(lookup["variables"]["ids"]) == sorted(
        f"gid://shopify/ProductVariant/{v}" for v in (PILLOW, MUG)
    )
    assert "inventoryQuantity" not in lookup["query"]  # the token has no read_inventory scope
    # What was captured stays as captured: the next lookup starts from the shopper's cart.
    assert len((await Checkout.get(id=enrollment.checkout_id)).line_items) == 2


async def test_a_higher_price_is_the_one_shown(deps, installed, shopify, clock, smtp):  # noqa: F811
    _offer(shopify, installed, **{PILLOW: _variant("27.50"), MUG: _variant("12.00")})
    enrollment = await _cart(installed, clock.now - timedelta(hours=2), _items())
    assert await run_step(deps, enrollment.id, EMAIL_STEP) == "sent"
    text, html = _parts(smtp.messages[0])
    assert "Linen pillow: $27.50" in text and "$25.00" not in text + html
    assert "was" not in text.split("Linen pillow", 1)[1].split("\n", 1)[0]


async def test_a_flow_that_skips_on_sold_out_records_why(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    smtp,
):
    _offer(shopify, installed, **{PILLOW: _variant("25.00"), MUG: _variant("12.00", False)})
    enrollment = await _cart(installed, clock.now - timedelta(hours=2), _items())
    await Flow.filter(id=enrollment.flow_id).update(sold_out="skip")
    flows.forget_steps(enrollment.flow_id)  # as an edit through the API does
    assert await run_step(deps, enrollment.id, EMAIL_STEP) == "skipped"
    assert smtp.messages == []
    row = await Message.get(enrollment_id=enrollment.id, step_index=EMAIL_STEP)
    assert row.status == DeliveryStatus.CANCELLED
    assert row.error_message == "Skipped: sold out: Stoneware mug"
    await enrollment.refresh_from_db()
    assert enrollment.next_step == EMAIL_STEP + 1  # the sequence goes on


async def test_every_line_sold_out_skips_even_when_the_flow_omits(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    smtp,
):
    _offer(shopify, installed, **{PILLOW: _variant("25", False), MUG: _variant("12", False)})
    enrollment = await _cart(installed, clock.now - timedelta(hours=2), _items())
    assert await run_step(deps, enrollment.id, EMAIL_STEP) == "skipped"
    row = await Message.get(enrollment_id=enrollment.id, step_index=EMAIL_STEP)
    assert row.error_message.startswith("Skipped: sold out: every item")
    assert smtp.messages == []


@pytest.mark.parametrize("fault", ["throttled", "rate_limited", "slow", "down"])
async def test_a_throttled_slow_or_failing_shopify_sends_the_captured_cart(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    smtp,
    caplog,
    fault,
):
    _offer(shopify, installed, **{PILLOW: _variant("20.00"), MUG: _variant("12.00", False)})
    if fault == "throttled":
        shopify.throttle_next = 10
    elif fault == "rate_limited":
        shopify.rate_limit_next = 10
    elif fault == "slow":  # never answers within the configured bound
        recovery = dataclasses.replace(deps.settings.recovery, fresh_timeout_seconds=1)
        deps.settings = dataclasses.replace(deps.settings, recovery=recovery)
        shopify.answer_delay = 30
    else:
        shopify.fail_next = 10
    deps.enrich = False  # images are asked of Shopify too, patiently: not what this test is about
    enrollment = await _cart(installed, clock.now - timedelta(hours=2), _items())
    with caplog.at_level(logging.WARNING, logger="app.recovery.fresh"):
        assert await run_step(deps, enrollment.id, EMAIL_STEP) == "sent"
    text, _ = _parts(smtp.messages[0])
    assert "Linen pillow: $25.00" in text and "Stoneware mug" in text  # as captured
    assert "Total: $54.00" in text
    [record] = [r for r in caplog.records if "captured cart" in r.getMessage()]
    assert record.__dict__["ctx"]["store"] == installed.id
    shopify.answer_delay = 0


async def test_one_lookup_for_a_batch_of_sends_of_one_store(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    smtp,
):
    """Steps due together (a worker runs their jobs at once) ask Shopify once, for every line."""
    catalogue = {str(4987000 + i): _variant(f"{10 + i}.00") for i in range(5)}
    _offer(shopify, installed, **catalogue)
    at = clock.now - timedelta(hours=2)
    rows = [
        await _cart(
            installed,
            at,
            [LineItem(f"Item {i}", 1, Decimal(f"{11 + i}.00"), variant_id=str(4987000 + i))],
            email=f"shopper{i}@example.com",
            phone=f"+1415555{300 + i:04d}",
        )
        for i in range(5)
    ]
    deps.enrich = False
    carts = [await _checkout(e) for e in rows]
    prices = await asyncio.gather(
        *(fresh.look_up(deps.redis, deps.settings, [(installed, c)]) for c in carts)
    )
    assert all(p[installed.id] for p in prices)
    [lookup] = _lookups(shopify)
    assert len(lookup["variables"]["ids"]) == 5
    for enrollment in rows:  # the sends themselves reuse the answer (cached in Redis)
        assert await run_step(deps, enrollment.id, EMAIL_STEP) == "sent"
    assert len(_lookups(shopify)) == 1
    assert len(smtp.messages) == 5
    assert all("was" in _parts(m)[0] for m in smtp.messages)


async def _checkout(enrollment: Enrollment) -> Checkout:
    return await Checkout.get(id=enrollment.checkout_id)


@pytest.mark.postgres_only("batch claims take rows with FOR UPDATE SKIP LOCKED")
async def test_a_drainer_batch_asks_each_store_once(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    smtp,
):
    catalogue = {str(4988000 + i): _variant(f"{10 + i}.00") for i in range(6)}
    _offer(shopify, installed, **catalogue)
    at = clock.now - timedelta(hours=2)
    for i in range(6):
        await _cart(
            installed,
            at,
            [LineItem(f"Item {i}", 1, Decimal(f"{11 + i}.00"), variant_id=str(4988000 + i))],
            email=f"batch{i}@example.com",
            phone=f"+1415555{400 + i:04d}",
        )
    deps.enrich = False  # images would send each step through its own job
    batch = await send_due(deps, 50)
    assert batch.outcomes == {"sent": 6}
    [lookup] = _lookups(shopify)
    assert len(lookup["variables"]["ids"]) == 6
    assert all("was" in _parts(m)[0] for m in smtp.messages)


async def test_redis_losing_the_cache_asks_the_store_again(
    deps,
    installed,  # noqa: F811
    shopify,  # noqa: F811
    clock,
    redis,
):
    _offer(shopify, installed, **{PILLOW: _variant("20.00")})
    enrollment = await _cart(installed, clock.now - timedelta(hours=2), _items()[:1])
    checkout = await _checkout(enrollment)
    first = await fresh.look_up(deps.redis, deps.settings, [(installed, checkout)])
    again = await fresh.look_up(deps.redis, deps.settings, [(installed, checkout)])
    assert first == again and len(_lookups(shopify)) == 1
    await redis.flushdb()
    await fresh.look_up(deps.redis, deps.settings, [(installed, checkout)])
    assert len(_lookups(shopify)) == 2


# --- WooCommerce: the plugin's signed products route, real PHP ----------------------------


@pytest.fixture
def php_plugin(store: Store) -> Iterator[PhpCouponPlugin]:
    plugin = PhpCouponPlugin(store.webhook_secret or "").start()
    yield plugin
    plugin.stop()


async def test_woocommerce_lines_are_read_through_the_plugin(deps, store, clock, smtp, php_plugin):
    php_plugin.set_products(
        {
            41: {"name": "Sencha tin", "price": "9.5", "regular_price": "12"},
            42: {"name": "Clay teapot", "price": "48", "in_stock": False},
        }
    )
    settings = {**(store.settings or {}), SITE_SETTING: php_plugin.site}
    await Store.filter(id=store.id).update(settings=settings)
    forget_cached_stores()
    items = [
        LineItem("Sencha tin", 2, Decimal("12.00"), product_id="41"),
        LineItem("Clay teapot", 1, Decimal("48.00"), product_id="40", variant_id="42"),
    ]
    enrollment = await _cart(await Store.get(id=store.id), clock.now - timedelta(hours=2), items)
    assert await run_step(deps, enrollment.id, EMAIL_STEP) == "sent"
    text, html = _parts(smtp.messages[0])
    assert "2 x Sencha tin: $19.00 (now $9.50, was $12.00)" in text
    assert "Clay teapot" not in text and "Clay teapot" not in html
    assert php_plugin.requests("/followup/v1/products") == ["/followup/v1/products"]


# --- What a message may show: pure -------------------------------------------------------


def test_a_price_in_another_currency_is_never_compared_or_shown():
    items = [{"title": "Mug", "variant_id": "1", "quantity": 1, "unit_price": "10.00"}]
    cart = fresh.apply(items, "EUR", {"1": CurrentLine(Decimal("8.00"), "USD")})
    assert cart.items == items and not cart.price_drop


def test_lines_the_store_did_not_answer_for_stay_as_captured():
    items = [
        {"title": "Gift card", "quantity": 1, "unit_price": "50"},
        {"title": "Mug", "variant_id": "1", "quantity": 3, "unit_price": "10.00"},
    ]
    cart = fresh.apply(items, "USD", {"1": CurrentLine(Decimal("9.00"), "USD")})
    assert cart.items[0] == items[0]
    assert (cart.items[1]["unit_price"], cart.items[1]["line_total"]) == ("9.00", "27.00")
    assert cart.items[1]["was_price"] == "10.00"
    assert cart.subtotal == Decimal("77.00") and cart.price_drop


def test_cached_lines_read_back_exactly():
    line = CurrentLine(Decimal("19.99"), "USD", Decimal("24.00"), True, 3)
    assert CurrentLine.loads(line.dumps()) == line
    assert CurrentLine.loads(CurrentLine.gone("JPY").dumps()).available is False


def test_a_black_friday_preset_runs_friday_to_tuesday():
    from app.recovery.seasons import black_friday

    preset = black_friday(2026)
    assert (preset["starts_at"], preset["ends_at"]) == ("2026-11-27T00:00", "2026-12-01T00:00")
    assert datetime(2026, 11, 27, tzinfo=UTC).weekday() == 4
