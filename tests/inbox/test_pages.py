"""The inbox page shell and the dev-only shopper phone."""

from __future__ import annotations

import dataclasses

from app.messaging.models import Message
from tests.conftest import app_client
from tests.inbox.conftest import agent_session, store_with_number


async def test_inbox_page_needs_a_session_and_carries_the_csrf_token(client, redis, as_agent):
    assert (await client.get("/inbox")).status_code == 303
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    page = await as_agent(token, csrf).get("/inbox")
    assert page.status_code == 200 and csrf in page.text and "/static/inbox/inbox.js" in page.text
    js = await client.get("/static/inbox/inbox.js")
    assert js.status_code == 200 and "innerHTML" not in js.text


async def test_dev_phone_is_only_mounted_in_dev_mode(client, settings):
    assert (await client.get("/dev/phone/")).status_code == 404
    store = await store_with_number()
    async with app_client(dataclasses.replace(settings, dev_mode=True)) as phone:
        assert (await phone.get("/dev/phone/")).status_code == 200
        sent = await phone.post(
            "/dev/phone/send", json={"store_id": store.id, "from": "+14155550173", "body": "HELP"}
        )
        assert sent.status_code == 201 and "STOP" in sent.json()["reply"]
        thread = (
            await phone.get(f"/dev/phone/messages?number=%2B14155550173&store_id={store.id}")
        ).json()
        assert [m["direction"] for m in thread["messages"]] == ["inbound", "outbound"]
    assert await Message.filter(store_id=store.id).count() == 2
