"""Small things a merchant notices: the CSRF meta tag, the favicon, plurals in the dev outbox."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.messaging.models import Message
from app.server import create_app
from tests.factories import make_store


@pytest.fixture
async def dev_client(settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(settings, dev_mode=True), manage_db=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://a.example") as http:
            yield http


@pytest.mark.parametrize("path", ["/dev/outbox/", "/dev/phone/", "/login", "/missing"])
async def test_pages_never_print_a_python_object(dev_client, path):
    page = await dev_client.get(path, headers={"Accept": "text/html"})
    assert "<function" not in page.text and " at 0x" not in page.text, path


async def test_the_favicon_is_served(client):
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")
    assert len(icon.content) > 0
    assert 'rel="icon"' in (await client.get("/login")).text


async def _outbox_message(store_id: int, n: int) -> None:
    await Message.create(
        store_id=store_id,
        channel="email",
        direction="outbound",
        author="automation",
        to_address=f"jane{n}@example.com",
        body="hello",
        status="sent",
        provider="outbox",
    )


async def test_the_outbox_counts_in_words(dev_client):
    issued = await make_store("custom")
    assert "No messages yet" in (await dev_client.get("/dev/outbox/")).text
    await _outbox_message(issued.store.id, 1)
    page = (await dev_client.get("/dev/outbox/")).text
    assert "The latest message" in page and "The 1 latest messages" not in page
    await _outbox_message(issued.store.id, 2)
    assert "The 2 latest messages" in (await dev_client.get("/dev/outbox/")).text


async def test_the_outbox_shows_each_email_s_headers_to_reply_by_hand(dev_client):
    issued = await make_store("custom")
    headers = {
        "From": "Velvet Fern <shop@velvetfern.example>",
        "Reply-To": "reply+1-2-abcdefghijklmnop@followup.localhost",
        "Message-ID": "<followup.9@velvetfern.example>",
    }
    await Message.create(
        store_id=issued.store.id,
        channel="email",
        direction="outbound",
        author="automation",
        to_address="jane@example.com",
        subject="Your cart",
        body="hello",
        status="sent",
        provider="outbox",
        email_headers=headers,
    )
    page = (await dev_client.get("/dev/outbox/")).text
    for name, value in headers.items():
        assert f"<dt>{name}</dt>" in page
        assert f"<code>{value.replace('<', '&lt;').replace('>', '&gt;')}</code>" in page
