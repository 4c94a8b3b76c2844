"""Cross-language contract for coupons: the app signs, the plugin's PHP verifies and answers over HTTP,
and the app reads the answer. Refusals and unreachable plugins come back as reasons in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from app.integrations.woocommerce.coupons import (
    SITE_SETTING,
    CouponError,
    CouponRequest,
    coupon_url,
    create_coupon,
    signed_headers,
)
from app.stores.models import Store
from tests.factories import b64_hmac, free_port, make_store
from tests.fakes.woocommerce_plugin import PhpCouponPlugin


@pytest.fixture
def plugin_secret() -> str:
    return "whsec_contract_secret_for_coupons_0123"


@pytest.fixture
def php_plugin(plugin_secret: str) -> Iterator[PhpCouponPlugin]:
    plugin = PhpCouponPlugin(plugin_secret).start()
    yield plugin
    plugin.stop()


async def _store(site: str, secret: str, domain: str = "shop.tidewaterteas.example") -> Store:
    issued = await make_store("woocommerce", domain=domain)
    await Store.filter(id=issued.store.id).update(
        webhook_secret=secret, settings={SITE_SETTING: site}
    )
    return await Store.get(id=issued.store.id)


def _request(**overrides: object) -> CouponRequest:
    values: dict = {
        "key": "enrollment:41",
        "code": "BACK-7KQ2MZ4P",
        "discount_type": "percent",
        "amount": Decimal("15"),
        "minimum_amount": Decimal("50.00"),
        "expires_at": datetime.now(UTC).replace(microsecond=0) + timedelta(hours=48),
        "email": "Ana.Lima@Example.com",
    }
    return CouponRequest(**(values | overrides))


async def test_app_signed_request_creates_the_coupon_php_describes(
    settings, php_plugin, plugin_secret
):
    store = await _store(php_plugin.site, plugin_secret)
    request = _request()
    issued = await create_coupon(store, request)
    assert issued.created and issued.code == "back-7kq2mz4p"
    assert issued.expires_at == request.expires_at
    [coupon] = php_plugin.coupons()
    assert coupon["id"] == issued.coupon_id
    assert (coupon["discount_type"], coupon["amount"], coupon["minimum_amount"]) == (
        "percent",
        "15",
        "50.00",
    )
    assert coupon["usage_limit"] == 1 and coupon["usage_limit_per_user"] == 1
    assert coupon["individual_use"] is True and coupon["free_shipping"] is False
    assert coupon["email_restrictions"] == ["ana.lima@example.com"]
    assert coupon["date_expires"] == int(request.expires_at.timestamp())
    assert coupon["meta"] == {"_followup_request_key": "enrollment:41"}


async def test_retry_returns_the_same_coupon_and_free_shipping_is_understood(
    settings, php_plugin, plugin_secret
):
    store = await _store(php_plugin.site, plugin_secret)
    first = await create_coupon(store, _request())
    again = await create_coupon(store, _request())
    assert not again.created and again.coupon_id == first.coupon_id
    ship = _request(
        key="enrollment:42",
        code="SHIP-AAAABBBB",
        discount_type="fixed_cart",
        amount=Decimal(0),
        free_shipping=True,
        email=None,
        minimum_amount=None,
    )
    shipped = await create_coupon(store, ship)
    coupons = php_plugin.coupons()
    assert [c["id"] for c in coupons] == [first.coupon_id, shipped.coupon_id]
    assert coupons[1]["free_shipping"] is True and coupons[1]["email_restrictions"] == []


async def test_wrong_secret_stale_timestamp_and_bad_input_are_refused_with_reasons(
    settings, php_plugin, plugin_secret
):
    foreign = await _store(
        php_plugin.site, "whsec_not_what_the_plugin_holds_0000", "other.tidewaterteas.example"
    )
    with pytest.raises(CouponError, match="refused our signature") as caught:
        await create_coupon(foreign, _request())
    assert caught.value.status == 401 and "signature does not match" in caught.value.reason

    store = await _store(php_plugin.site, plugin_secret)
    body = _request().body()
    stale = signed_headers(plugin_secret, body, "enrollment:41", now=time.time() - 301)
    async with httpx.AsyncClient() as client:
        answer = await client.post(coupon_url(store), content=body, headers=stale)
    assert answer.status_code == 401
    assert answer.json()["message"] == "timestamp outside the five-minute window"

    with pytest.raises(CouponError, match="cannot exceed 100") as caught:
        await create_coupon(store, _request(amount=Decimal("120")))
    assert caught.value.status == 400
    assert php_plugin.coupons() == []


async def test_the_documented_signature_is_what_php_accepts(settings, php_plugin, plugin_secret):
    """Signed by hand per the README's formula, not by the app's helper: both sides agree on it."""
    store = await _store(php_plugin.site, plugin_secret)
    body = _request().body()
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-FollowUp-Timestamp": ts,
        "X-FollowUp-Signature": b64_hmac(plugin_secret, f"{ts}.".encode() + body),
    }
    async with httpx.AsyncClient() as client:
        answer = await client.post(coupon_url(store), content=body, headers=headers)
        missing = await client.post(
            f"{php_plugin.site}?rest_route=/followup/v1/nothing", content=body, headers=headers
        )
    assert answer.status_code == 201 and answer.json()["status"] == "created"
    assert missing.status_code == 404


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers, like a hung WordPress."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_unreachable_or_hung_plugin_gives_a_clear_reason(settings):
    closed = await _store(
        f"http://127.0.0.1:{free_port()}/", "whsec_contract_secret_for_coupons_0123"
    )
    with pytest.raises(CouponError, match="could not be reached") as caught:
        await create_coupon(closed, _request())
    assert caught.value.status == 0 and "rest_route=/followup/v1/coupons" in caught.value.reason

    async with _silent_server() as port:
        await Store.filter(id=closed.id).update(
            settings={SITE_SETTING: f"http://127.0.0.1:{port}/"}
        )
        hung = await Store.get(id=closed.id)
        # The server never answers: only the limit can end this, and the reason names it.
        with pytest.raises(CouponError, match=r"did not answer within 0\.5 s"):
            await create_coupon(hung, _request(), limit_seconds=0.5)


async def test_plugin_connection_test_records_the_site_coupons_are_asked_at(client, settings):
    issued = await make_store("woocommerce")
    secret = issued.webhook_secret
    for site, kept in (
        ("http://127.0.0.1:8089/shop", "http://127.0.0.1:8089/shop/"),
        ("javascript:alert(1)", "http://127.0.0.1:8089/shop/"),
    ):
        body = f'{{"type":"connection.test","id":"t","site":"{site}"}}'.encode()
        ts = str(int(time.time()))
        response = await client.post(
            f"/webhooks/woocommerce/{issued.store.id}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-FollowUp-Event": "connection.test",
                "X-FollowUp-Timestamp": ts,
                "X-FollowUp-Signature": b64_hmac(secret, f"{ts}.".encode() + body),
            },
        )
        assert response.status_code == 200
        store = await Store.get(id=issued.store.id)
        assert store.settings[SITE_SETTING] == kept
        assert coupon_url(store) == "http://127.0.0.1:8089/shop/?rest_route=/followup/v1/coupons"
