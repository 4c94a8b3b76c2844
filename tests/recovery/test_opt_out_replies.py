"""Opt-out words as shoppers type them, end to end: a signed Twilio webhook, then the send-time check."""

from __future__ import annotations

from datetime import timedelta

from app.accounts import sessions
from app.accounts.models import Role
from app.checkouts.models import ConsentEvent, Contact
from app.core.outbox import OutboxEvent
from app.messaging.models import Message
from app.recovery.sending import run_step
from inbox.models import Conversation
from tests.inbox.conftest import agent_session, signed_headers, sms_form
from tests.recovery.conftest import abandoned

SHOPPER = "+14155550173"


async def _text(client, store, body: str, from_: str = SHOPPER):
    form = sms_form(body, from_=from_, to=store.sms_number)
    response = await client.post("/webhooks/twilio/sms", data=form, headers=signed_headers(form))
    assert response.status_code == 200, response.text
    return response


async def _as_agent(client, redis, store, email: str = "nia@shop.example"):
    agent, token, csrf = await agent_session(redis, store, email, Role.AGENT)
    client.cookies.set(sessions.COOKIE, token, domain="app.example.com")
    client.headers["X-CSRF-Token"] = csrf
    return agent


async def test_opt_out_words_count_as_shoppers_type_them(client, store, clock):
    for i, body in enumerate(["Stop.", "OPT OUT", "Unsubscribe!", "  stop all!! "]):
        phone = f"+1415555{2100 + i}"
        await abandoned(
            store, clock.now - timedelta(minutes=16), phone=phone, email=f"{i}@x.example"
        )
        await _text(client, store, body, from_=phone)
        contact = await Contact.get(store=store, phone=phone)
        assert contact.sms_opted_out_at is not None and contact.sms_consent is False, body
        [event] = await ConsentEvent.filter(contact_id=contact.id, channel="sms", action="opt_out")
        assert (event.source, event.message) == ("sms_keyword", body)
    assert await OutboxEvent.filter(name="contact.opted_out").count() == 4


async def test_a_stop_word_in_a_sentence_holds_automated_texts_until_an_agent_confirms(
    client, redis, deps, store, clock, fake_twilio, caplog
):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    await _text(client, store, "please stop texting me")
    contact = await Contact.get(id=checkout.contact_id)
    assert contact.sms_opted_out_at is None and contact.sms_held_at is not None
    held = await ConsentEvent.get(contact_id=contact.id, action="possible_opt_out")
    assert (held.source, held.message) == ("sms_keyword", "please stop texting me")
    # The reply's own events may not have paused the sequence yet: the send-time check holds it.
    with caplog.at_level("INFO", logger="app.recovery"):
        assert await run_step(deps, enrollment.id, 0) == "skipped"
    assert fake_twilio.sent == []
    [skip] = [r for r in caplog.records if r.getMessage() == "recovery step skipped"]
    assert skip.ctx["reason"] == "sms on hold: the shopper's reply may be an opt-out"
    assert not await Message.filter(enrollment_id=enrollment.id).exists()

    agent = await _as_agent(client, redis, store)
    conv = await Conversation.get(contact_id=contact.id)
    shown = (await client.get(f"/inbox/api/v1/conversations/{conv.id}")).json()
    assert shown["conversation"]["contact"]["sms_held"] is True
    listed = (await client.get("/inbox/api/v1/conversations")).json()["conversations"]
    assert listed[0]["contact"]["sms_held"] is True

    confirmed = await client.post(
        f"/inbox/api/v1/conversations/{conv.id}/opt-out", json={"decision": "confirm"}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["contact"] == {
        **confirmed.json()["contact"],
        "sms_opted_out": True,
        "sms_held": False,
    }
    contact = await Contact.get(id=contact.id)
    assert contact.sms_opted_out_at is not None and contact.sms_held_at is None
    assert contact.sms_consent is False
    done = await ConsentEvent.get(contact_id=contact.id, action="opt_out")
    assert (done.source, done.actor, done.message) == (
        "agent_review",
        f"agent:{agent.id}",
        "please stop texting me",
    )
    [event] = await OutboxEvent.filter(name="contact.opted_out")
    assert event.payload["consent_event_id"] == done.id
    again = await client.post(
        f"/inbox/api/v1/conversations/{conv.id}/opt-out", json={"decision": "dismiss"}
    )
    assert again.status_code == 409 and again.json()["error"] == "no_possible_opt_out"


async def test_dismissing_a_possible_opt_out_resumes_automated_texts(
    client, redis, deps, store, clock, fake_twilio
):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    await _text(client, store, "can I cancel the mug and keep the tea?")
    contact = await Contact.get(id=checkout.contact_id)
    assert contact.sms_held_at is not None
    agent = await _as_agent(client, redis, store)
    conv = await Conversation.get(contact_id=contact.id)
    dismissed = await client.post(
        f"/inbox/api/v1/conversations/{conv.id}/opt-out", json={"decision": "dismiss"}
    )
    assert dismissed.status_code == 200 and dismissed.json()["contact"]["sms_held"] is False
    contact = await Contact.get(id=contact.id)
    assert contact.sms_held_at is None and contact.sms_opted_out_at is None
    kept = await ConsentEvent.get(contact_id=contact.id, action="not_opt_out")
    assert (kept.source, kept.actor) == ("agent_review", f"agent:{agent.id}")
    assert not await OutboxEvent.filter(name="contact.opted_out").exists()
    assert await run_step(deps, enrollment.id, 0) == "sent"
    assert [m["to"] for m in fake_twilio.sent] == [SHOPPER]


async def test_another_store_cannot_decide_and_a_bad_decision_is_refused(
    client, redis, store, clock
):
    from tests.factories import make_store

    await abandoned(store, clock.now - timedelta(minutes=16))
    await _text(client, store, "stop pls, wrong number")
    conv = await Conversation.get()
    other = (await make_store("custom", domain="other.example.com")).store
    await _as_agent(client, redis, other, "eve@other.example")
    path = f"/inbox/api/v1/conversations/{conv.id}/opt-out"
    assert (await client.post(path, json={"decision": "confirm"})).status_code == 404
    await _as_agent(client, redis, store)
    bad = await client.post(path, json={"decision": "maybe"})
    assert bad.status_code == 400 and "decision" in bad.text
    contact = await Contact.get(id=conv.contact_id)
    assert contact.sms_held_at is not None and contact.sms_opted_out_at is None
