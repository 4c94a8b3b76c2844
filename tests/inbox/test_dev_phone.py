"""The dev-only shopper phone: mounted only under `followup dev`, texts through the inbound service."""

from __future__ import annotations

import dataclasses

from app.messaging.models import Message
from tests.conftest import app_client
from tests.inbox.conftest import store_with_number


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
