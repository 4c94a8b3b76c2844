"""`chat_link` in emails: a tracked magic link whose landing opens the store's chat on this
shopper's thread, only on the store's own site, and only where the store turned chat on."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from app.checkouts.models import Checkout
from app.messaging.models import Message
from app.recovery import links
from app.recovery.models import Click, Enrollment
from app.recovery.sending import run_step
from inbox import chat
from inbox.models import ChatVisitor
from tests.recovery.conftest import abandoned


async def chat_on(store) -> None:
    store.settings = {**(store.settings or {}), "chat": {"enabled": True}}
    await store.save(update_fields=["settings"])


async def test_the_default_email_invites_to_chat_and_the_link_opens_it(client, deps, store, clock):
    await chat_on(store)
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    await Enrollment.filter(id=enrollment.id).update(next_step=1)
    assert await run_step(deps, enrollment.id, 1) == "sent"
    message = await Message.get(enrollment_id=enrollment.id)
    magic = links.magic_link(enrollment.id, 1)
    assert f'href="{magic}?chat=1"' in message.html and "Chat with us now" in message.html
    assert f"Or chat with us live on our site: {magic}?chat=1" in message.body

    response = await client.get(urlsplit(magic).path + "?chat=1", follow_redirects=False)
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert target.netloc == store.domain  # the store's own site, never elsewhere
    token = parse_qs(target.query)[links.CHAT_PARAM][0]
    assert links.read_chat_token(token, store.id) == checkout.contact_id
    assert links.read_chat_token(token, store.id + 1) is None  # names this store only
    assert await Click.filter(enrollment_id=enrollment.id).count() == 1  # tracked like any click

    opened = await chat.open_session(store, None, token, None)
    assert (await ChatVisitor.get(id=opened.visitor.id)).contact_id == checkout.contact_id


async def test_without_chat_the_email_has_no_chat_link_and_the_landing_no_token(
    client, deps, store, clock
):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    await Enrollment.filter(id=enrollment.id).update(next_step=1)
    assert await run_step(deps, enrollment.id, 1) == "sent"
    message = await Message.get(enrollment_id=enrollment.id)
    assert "?chat=1" not in message.html and "Chat with us" not in message.body
    magic = links.magic_link(enrollment.id, 1)
    response = await client.get(urlsplit(magic).path, follow_redirects=False)
    assert links.CHAT_PARAM not in response.headers["location"]
    assert (await Checkout.get(id=checkout.id)).contact_id is not None


async def test_a_forged_chat_token_attaches_nothing(store, clock):
    await chat_on(store)
    checkout, _ = await abandoned(store, clock.now)
    real = links.chat_token(store.id, checkout.contact_id)
    forged = real[:-1] + ("A" if real[-1] != "A" else "B")
    opened = await chat.open_session(store, None, forged, None)
    assert opened.visitor.contact_id is None
