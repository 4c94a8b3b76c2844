"""The whole install against the fake Shopify: App URL, OAuth callback, tokens, webhooks, pixel, capture."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tortoise import connections

from app.accounts.models import Agent, Role
from app.ingest.models import RawEvent
from app.stores.models import Store, StoreStatus
from tests.factories import payload_bytes, shopify_headers
from tests.shopify.conftest import SHOP, sign_query

COOKIE = "followup_shopify_state"


async def _start(client, shop=SHOP):
    response = await client.get(
        "/shopify/install",
        params=sign_query({"shop": shop, "host": "aG9zdA"}),
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    return response


async def test_full_install_then_a_signed_checkout_is_accepted(client, shopify):
    started = await _start(client)
    target = urlsplit(started.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == shopify.url
    assert target.path == "/admin/oauth/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == ["test-api-key"]
    assert query["redirect_uri"] == ["https://app.example.com/shopify/callback"]
    assert "write_discounts" in query["scope"][0].split(",")
    state = query["state"][0]
    assert client.cookies.get(COOKIE, path="/shopify").startswith(state + ".")

    code = shopify.issue_code(SHOP)
    callback = await client.get(
        "/shopify/callback",
        params=sign_query({"shop": SHOP, "code": code, "state": state, "host": "aG9zdA"}),
        follow_redirects=False,
    )
    assert callback.status_code == 302, callback.text
    assert callback.headers["location"] == f"/dashboard?shop={SHOP}&host=aG9zdA"
    assert (
        "frame-ancestors https://velvet-fern-goods.myshopify.com https://admin.shopify.com"
        in (callback.headers["content-security-policy"])
    )
    assert shopify.token_requests[-1]["expiring"] == "1"

    # The merchant is signed in as the store's owner, with no form to fill, and sees the dashboard.
    session_cookie = callback.headers["set-cookie"]
    assert "fu_session=" in session_cookie and "samesite=none" in session_cookie.lower()
    assert "Secure" in session_cookie
    dashboard = await client.get(callback.headers["location"], follow_redirects=False)
    assert dashboard.status_code == 200, dashboard.text[:300]
    owner = await Agent.get(role=Role.OWNER)
    assert owner.email == "owner@velvetferngoods.com" or owner.email.startswith("owner@")
    assert owner.password_hash is None

    store = await Store.get(domain=SHOP)
    assert store.status == StoreStatus.ACTIVE and store.platform == "shopify"
    assert (store.name, store.currency, store.timezone, store.locale) == (
        "Velvet Fern Goods",
        "USD",
        "America/New_York",
        "en",
    )
    assert set(store.allowed_origins) == {f"https://{SHOP}", "https://velvetferngoods.example"}
    held = json.loads(store.credentials)
    assert held["access_token"] in shopify.access_tokens and held["refresh_token"]
    rows = await connections.get("default").execute_query_dict(
        "SELECT credentials FROM store WHERE id = $1", [store.id]
    )
    assert held["access_token"] not in rows[0]["credentials"]
    assert "shprt_" not in rows[0]["credentials"] and "shpat_" not in rows[0]["credentials"]

    fake_shop = shopify.shops[SHOP]
    assert sorted(s["topic"] for s in fake_shop.webhooks.values()) == sorted(
        [
            "CHECKOUTS_CREATE",
            "CHECKOUTS_UPDATE",
            "CHECKOUTS_DELETE",
            "ORDERS_CREATE",
            "ORDERS_PAID",
            "ORDERS_UPDATED",
            "ORDERS_CANCELLED",
            "CUSTOMERS_CREATE",
            "CUSTOMERS_UPDATE",
            "APP_UNINSTALLED",
        ]
    )
    assert {s["uri"] for s in fake_shop.webhooks.values()} == {
        "https://app.example.com/webhooks/shopify"
    }
    assert json.loads(fake_shop.pixel["settings"]) == {
        "collectUrl": "https://app.example.com/collect/v1/events",
        "publishableKey": store.publishable_key,
    }
    assert all(r["version"] == "2026-01" for r in shopify.graphql_requests)

    body = payload_bytes("shopify_checkouts_create.json")
    accepted = await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/create")
    )
    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}
    assert await RawEvent.filter(store=store).count() == 1


async def test_reinstall_updates_the_same_store_and_registration_is_idempotent(client, shopify):
    for round_ in range(2):
        state = parse_qs(urlsplit((await _start(client)).headers["location"]).query)["state"][0]
        code = shopify.issue_code(SHOP)
        response = await client.get(
            "/shopify/callback",
            params=sign_query({"shop": SHOP, "code": code, "state": state}),
            follow_redirects=False,
        )
        assert response.status_code == 302, (round_, response.text)
        if round_ == 0:
            shopify.shops[SHOP].name = "Velvet Fern & Co"
            first_pixel = shopify.shops[SHOP].pixel["id"]
            await Store.filter(domain=SHOP).update(status=StoreStatus.UNINSTALLED, credentials=None)
    assert await Store.all().count() == 1
    assert (await Store.get()).name == "Velvet Fern & Co"
    assert len(shopify.shops[SHOP].webhooks) == 10
    assert shopify.shops[SHOP].pixel["id"] == first_pixel


async def _refused(client, shopify, params, status=400):
    response = await client.get("/shopify/callback", params=params, follow_redirects=False)
    assert response.status_code == status, response.text
    assert await Store.all().count() == 0
    return response.json()


async def test_forged_hmac_bad_shop_stale_timestamp_and_state_problems_store_nothing(
    client, shopify
):
    state = parse_qs(urlsplit((await _start(client)).headers["location"]).query)["state"][0]
    code = shopify.issue_code(SHOP)
    good = sign_query({"shop": SHOP, "code": code, "state": state})

    forged = {**good, "hmac": "0" * 64}
    assert "hmac" in (await _refused(client, shopify, forged, 401))["detail"]
    tampered = {**good, "shop": "evil-shop.myshopify.com"}
    assert "hmac" in (await _refused(client, shopify, tampered, 401))["detail"]
    bad_shop = sign_query({"shop": "evil.example.com", "code": code, "state": state})
    assert "myshopify.com" in (await _refused(client, shopify, bad_shop))["detail"]
    stale = sign_query({"shop": SHOP, "code": code, "state": state, "timestamp": "1767873600"})
    assert "stale" in (await _refused(client, shopify, stale))["detail"]
    wrong_state = sign_query({"shop": SHOP, "code": code, "state": "not-the-nonce"})
    assert (await _refused(client, shopify, wrong_state))["error"] == "bad_state"
    no_state = sign_query({"shop": SHOP, "code": code})
    assert (await _refused(client, shopify, no_state))["error"] == "missing_state"
    client.cookies.clear()
    assert (await _refused(client, shopify, good))["error"] == "missing_state"
    assert shopify.token_requests == []


async def test_replayed_callback_is_refused(client, shopify):
    started = await _start(client)
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    cookie = client.cookies.get(COOKIE, path="/shopify")
    params = sign_query({"shop": SHOP, "code": shopify.issue_code(SHOP), "state": state})
    assert (
        await client.get("/shopify/callback", params=params, follow_redirects=False)
    ).status_code == 302
    client.cookies.set(COOKIE, cookie, domain="app.example.com", path="/shopify")
    again = await client.get("/shopify/callback", params=params, follow_redirects=False)
    assert again.status_code == 400 and again.json()["error"] == "replayed_state"


async def test_install_url_refuses_unsigned_or_foreign_requests(client, shopify):
    unsigned = await client.get("/shopify/install", params={"shop": SHOP}, follow_redirects=False)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "bad_signature"
    tampered = {**sign_query({"shop": SHOP}), "timestamp": "1"}
    refused = await client.get("/shopify/install", params=tampered, follow_redirects=False)
    assert refused.status_code == 401 and refused.json()["error"] == "bad_signature"
    bad = await client.get(
        "/shopify/install", params=sign_query({"shop": "shop.evil.com"}), follow_redirects=False
    )
    assert bad.status_code == 400
    assert COOKIE not in client.cookies


async def test_installed_shop_opening_the_app_lands_on_the_dashboard(client, installed):
    response = await client.get(
        "/shopify/install", params=sign_query({"shop": SHOP, "host": "h"}), follow_redirects=False
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith("/dashboard?shop=")
    assert "admin.shopify.com" in response.headers["content-security-policy"]


async def test_managed_install_exchanges_the_session_token(client, shopify):
    id_token = shopify.session_token(SHOP)
    response = await client.get(
        "/shopify/install",
        params=sign_query({"shop": SHOP, "host": "h", "id_token": id_token}),
        follow_redirects=False,
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == f"/dashboard?shop={SHOP}&host=h"
    grant = shopify.token_requests[-1]
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert grant["subject_token"] == id_token and grant["expiring"] == "1"
    assert grant["requested_token_type"] == (
        "urn:shopify:params:oauth:token-type:offline-access-token"
    )
    store = await Store.get(domain=SHOP)
    assert json.loads(store.credentials)["access_token"] in shopify.access_tokens
    assert len(shopify.shops[SHOP].webhooks) == 10 and shopify.shops[SHOP].pixel


async def test_expired_forged_or_foreign_session_tokens_install_nothing(client, shopify):
    for id_token in (
        shopify.session_token(SHOP, exp_in=-120),
        shopify.session_token(SHOP, secret="another-apps-secret"),
        shopify.session_token("other-shop.myshopify.com"),
    ):
        response = await client.get(
            "/shopify/install",
            params=sign_query({"shop": SHOP, "id_token": id_token}),
            follow_redirects=False,
        )
        assert response.status_code == 401, response.text
    assert await Store.all().count() == 0
    assert shopify.token_requests == []


async def test_session_token_guard(client, installed, shopify):
    ok = {"Authorization": f"Bearer {shopify.session_token(SHOP)}"}
    assert (await client.get("/shopify/api/privacy/exports", headers=ok)).status_code == 200
    assert (await client.get("/shopify/api/privacy/exports")).status_code == 401
    other = {"Authorization": f"Bearer {shopify.session_token('other-shop.myshopify.com')}"}
    response = await client.get("/shopify/api/privacy/exports", headers=other)
    assert response.status_code == 401 and response.json()["error"] == "not_installed"
