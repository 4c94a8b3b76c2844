"""A new Magento store's dashboard says how to connect the module: where, and with which id."""

from __future__ import annotations

from app.accounts.models import Role
from tests.factories import make_store
from tests.web.conftest import login_as


async def test_empty_dashboard_explains_the_magento_module_setup(client, settings):
    issued = await make_store("magento", domain="shop.example.com")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert f"{settings.server.public_url}/webhooks/magento/{issued.store.id}" in page.text
    assert "Stores → Configuration → Sales → FollowUp Cart Recovery" in page.text
    assert "/static/followup.js" not in page.text and "connected to Shopify" not in page.text
