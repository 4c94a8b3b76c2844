"""The inbox page shell: any agent of the store, with the CSRF token the inbox app sends back."""

from __future__ import annotations

from app.accounts.models import Role
from tests.factories import make_store
from tests.web.conftest import csrf_from, login_as


async def test_inbox_page_needs_a_session_and_carries_the_csrf_token(client):
    assert (await client.get("/inbox")).status_code == 303
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.AGENT)
    page = await client.get("/inbox")
    assert page.status_code == 200 and "/static/inbox/inbox.js" in page.text
    assert csrf_from(page.text) and issued.store.name in page.text
    js = await client.get("/static/inbox/inbox.js")
    assert js.status_code == 200 and "innerHTML" not in js.text
