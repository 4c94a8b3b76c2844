"""What Shopify's own @shopify/shopify-api library signs, the app accepts: webhooks, OAuth queries, session tokens.

tests/shopify/shopify_api_sign.cjs produces each with the library's helpers (getHmac, getJwt, and
the query signer behind shopify.utils.validateHmac); the tests post them to the app.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from app.ingest.models import RawEvent
from app.stores.models import Store
from tests.conftest import SHOPIFY_SECRET, TEST_ENV
from tests.factories import make_store
from tests.shopify.conftest import SHOP
from tests.vendor_tools import NODE_MODULES, npm_package, program

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent / "payloads" / "shopify_checkouts_create.json"


def _signed(**request: Any) -> dict[str, Any]:
    npm_package("@shopify/shopify-api")
    request = {
        "nodeModules": str(NODE_MODULES),
        "apiKey": TEST_ENV["FOLLOWUP_SHOPIFY_API_KEY"],
        "apiSecret": SHOPIFY_SECRET,
        "shop": SHOP,
        "query": {},
        **request,
    }
    done = subprocess.run(
        [program("node"), str(HERE / "shopify_api_sign.cjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    signed = json.loads(done.stdout)
    assert signed["libraryAcceptsQuery"] is True
    return signed


def library_webhook_hmac(body: bytes, folder: Path) -> str:
    """X-Shopify-Hmac-Sha256 for `body` as the library's getHmac computes it."""
    path = folder / f"webhook-{uuid.uuid4().hex}.json"
    path.write_bytes(body)
    return str(_signed(webhookBodyPath=str(path))["webhookHmac"])


async def test_a_webhook_signed_by_the_library_is_accepted_and_a_tampered_one_is_not(client):
    store = (await make_store("shopify", domain=SHOP)).store
    body = CHECKOUT.read_bytes()
    signed = _signed(webhookBodyPath=str(CHECKOUT))
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "checkouts/create",
        "X-Shopify-Hmac-Sha256": signed["webhookHmac"],
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }
    accepted = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert accepted.status_code == 200 and accepted.json() == {"status": "accepted"}
    tampered = await client.post("/webhooks/shopify", content=body + b" ", headers=headers)
    assert tampered.status_code == 401
    assert await RawEvent.filter(store=store).count() == 1


async def test_an_oauth_callback_signed_by_the_library_installs_the_store(client, shopify):
    start = _signed(query={"host": "aG9zdA"})["callbackQuery"]
    started = await client.get("/shopify/install", params=start, follow_redirects=False)
    assert started.status_code == 302, started.text
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    query = {"code": shopify.issue_code(SHOP), "state": state, "host": "aG9zdA"}
    callback = _signed(query=query)["callbackQuery"]
    response = await client.get("/shopify/callback", params=callback, follow_redirects=False)
    assert response.status_code == 302, response.text
    assert response.headers["location"] == f"/dashboard?shop={SHOP}&host=aG9zdA"
    assert (await Store.get(domain=SHOP)).credentials


async def test_a_managed_install_with_a_library_session_token_installs_the_store(client, shopify):
    query = _signed(query={"host": "aG9zdA", "embedded": "1"}, embedIdToken=True)["callbackQuery"]
    assert query["id_token"]
    response = await client.get("/shopify/install", params=query, follow_redirects=False)
    assert response.status_code == 302, response.text
    assert shopify.token_requests[-1]["subject_token"] == query["id_token"]
    assert (await Store.get(domain=SHOP)).credentials


async def test_a_library_session_token_with_an_https_issuer_opens_the_embedded_api(
    client, installed
):
    token = _signed()["sessionToken"]
    claims = json.loads(_b64url(token.split(".")[1]))
    assert claims["iss"] == f"https://{SHOP}/admin" and claims["dest"] == f"https://{SHOP}"
    ok = await client.get(
        "/shopify/api/privacy/exports", headers={"Authorization": f"Bearer {token}"}
    )
    assert ok.status_code == 200, ok.text
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = await client.get(
        "/shopify/api/privacy/exports", headers={"Authorization": f"Bearer {forged}"}
    )
    assert refused.status_code == 401


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
