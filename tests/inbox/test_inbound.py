"""POST /webhooks/twilio/sms: verified first, stored once, keywords change consent at once."""

from __future__ import annotations

from app.accounts.models import Role
from app.checkouts.models import Checkout, CheckoutStatus, ConsentEvent, Contact
from app.core.outbox import OutboxEvent
from app.core.timeutil import utcnow
from app.messaging.models import Message
from inbox.models import Conversation, ConversationStatus
from tests.inbox.conftest import (
    SHOPPER,
    STORE_NUMBER,
    agent_session,
    signed_headers,
    sms_form,
    store_with_number,
)


async def test_signed_text_opens_a_conversation_and_announces_the_reply(client, text_in):
    store = await store_with_number()
    response = await text_in("Is the sage pillow still in stock?", sid="SM" + "a" * 32)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text.endswith("<Response />")
    [msg] = await Message.all()
    contact = await Contact.get(id=msg.contact_id)
    conv = await Conversation.get(id=msg.conversation_id)
    assert (contact.store_id, contact.phone) == (store.id, SHOPPER)
    assert (msg.author, msg.direction, msg.status, msg.provider_id) == (
        "shopper",
        "inbound",
        "received",
        "SM" + "a" * 32,
    )
    assert conv.status == ConversationStatus.OPEN and conv.inbound_count == 1
    assert conv.last_message_preview == "Is the sage pillow still in stock?"
    [event] = await OutboxEvent.filter(name="shopper.replied")
    assert event.subject_id == msg.id and event.store_id == store.id
    assert event.payload == {
        "contact_id": contact.id,
        "checkout_id": None,
        "conversation_id": conv.id,
    }


async def test_bad_or_missing_signature_stores_nothing(client):
    await store_with_number()
    form = sms_form("hello")
    headers = signed_headers({**form, "Body": "tampered"})
    assert (
        await client.post("/webhooks/twilio/sms", data=form, headers=headers)
    ).status_code == 401
    assert (await client.post("/webhooks/twilio/sms", data=form)).status_code == 401
    assert await Message.all().count() == 0 and await Contact.all().count() == 0


async def test_signature_covers_the_query_string(client):
    await store_with_number()
    form = sms_form("hi")
    good = signed_headers(form)  # signed without the query
    response = await client.post("/webhooks/twilio/sms?x=1", data=form, headers=good)
    assert response.status_code == 401


async def test_same_message_sid_is_stored_once(client, text_in):
    await store_with_number()
    for _ in range(3):
        assert (await text_in("twice?", sid="SM" + "b" * 32)).status_code == 200
    assert await Message.all().count() == 1
    assert (await Conversation.get()).inbound_count == 1
    assert await OutboxEvent.filter(name="shopper.replied").count() == 1


async def test_second_text_joins_the_open_conversation_and_links_the_live_cart(client, text_in):
    store = await store_with_number()
    contact = await Contact.create(store=store, phone=SHOPPER, first_name="Maya")
    now = utcnow()
    cart = await Checkout.create(
        store=store,
        contact=contact,
        platform="custom",
        token="t1",
        status=CheckoutStatus.ABANDONED,
        last_activity_at=now,
        total=48,
    )
    await text_in("first")
    await text_in("second")
    [conv] = await Conversation.all()
    assert conv.checkout_id == cart.id and conv.inbound_count == 2
    assert {m.checkout_id for m in await Message.all()} == {cart.id}


async def test_unknown_store_number_and_bad_sender_are_refused(client, text_in):
    await store_with_number()
    assert (await text_in("hi", to="+12125550000")).status_code == 404
    assert (await text_in("hi", from_="not-a-phone")).status_code == 400
    assert await Message.all().count() == 0


async def test_mms_media_urls_are_kept(client, text_in):
    await store_with_number()
    urls = [
        "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1",
        "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME2",
    ]
    await text_in("", media=urls)
    msg = await Message.get()
    assert msg.media_urls == urls
    assert (await Conversation.get()).last_message_preview == "[media]"


async def test_stop_keywords_opt_out_at_once_whatever_the_case(client, text_in):
    store = await store_with_number()
    await Contact.create(store=store, phone=SHOPPER, sms_consent=True, sms_consent_at=utcnow())
    response = await text_in("  Stop ")
    assert response.status_code == 200
    contact = await Contact.get(phone=SHOPPER)
    assert contact.sms_opted_out_at is not None and contact.sms_consent is False
    [consent] = await ConsentEvent.all()
    assert (consent.action, consent.source, consent.message) == (
        "opt_out",
        "sms_keyword",
        "  Stop ",
    )
    [event] = await OutboxEvent.filter(name="contact.opted_out")
    assert event.subject_id == contact.id
    assert event.payload == {
        "channel": "sms",
        "source": "sms_keyword",
        "consent_event_id": consent.id,
    }
    assert event.dedupe_key.endswith(f":{consent.id}")
    assert await OutboxEvent.filter(name="shopper.replied").count() == 0
    await text_in("OPTOUT")  # already out: kept on record, announced once
    assert await ConsentEvent.filter(action="opt_out").count() == 2
    assert await OutboxEvent.filter(name="contact.opted_out").count() == 1


async def test_every_opt_out_word_counts_and_a_sentence_does_not(client, text_in):
    store = await store_with_number()
    for i, word in enumerate(["stopall", "UNSUBSCRIBE", "cancel", "End", "quit", "revoke"]):
        phone = f"+1415555{1000 + i}"
        await text_in(word, from_=phone)
        assert (await Contact.get(store=store, phone=phone)).sms_opted_out_at is not None, word
    await text_in("please don't stop the order", from_="+14155552000")
    assert (await Contact.get(phone="+14155552000")).sms_opted_out_at is None


async def test_start_opts_back_in_and_help_answers_with_the_store_text(client, text_in):
    store = await store_with_number()
    store.settings = {
        "sms_help_text": "Velvet Fern: help at velvetfern.example. Reply STOP to stop."
    }
    await store.save()
    await text_in("STOP")
    await text_in("unstop")
    contact = await Contact.get(phone=SHOPPER)
    assert contact.sms_opted_out_at is None and contact.sms_consent is True
    assert contact.sms_consent_source == "sms_keyword:UNSTOP"
    response = await text_in("help")
    assert (
        "<Message>Velvet Fern: help at velvetfern.example. Reply STOP to stop.</Message>"
        in response.text
    )
    actions = [e.action for e in await ConsentEvent.all().order_by("id")]
    assert actions == ["opt_out", "opt_in", "help"]
    help_reply = await Message.get(author="system")
    assert help_reply.body.startswith("Velvet Fern") and help_reply.to_address == SHOPPER


async def test_new_text_reopens_a_closed_conversation(client, text_in):
    await store_with_number()
    await text_in("first")
    conv = await Conversation.get()
    await Conversation.filter(id=conv.id).update(
        status=ConversationStatus.CLOSED, closed_at=utcnow()
    )
    await text_in("back again")
    assert await Conversation.all().count() == 1
    conv = await Conversation.get()
    assert conv.status == ConversationStatus.OPEN and conv.closed_at is None


async def test_consent_csv_is_for_managers_of_the_store_only(client, text_in, redis, as_agent):
    store = await store_with_number()
    other = await store_with_number("other.example.com", "+12125550111")
    await text_in("STOP")
    await text_in('=HYPERLINK("x")', from_="+14155550111", to="+12125550111")
    _, token, csrf = await agent_session(redis, store, "owner@shop.example", Role.OWNER)
    response = await as_agent(token, csrf).get("/inbox/api/v1/manage/consent-events.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("occurred_at,contact_id,phone")
    assert len(lines) == 2 and SHOPPER in lines[1] and "opt_out" in lines[1]
    _, token, csrf = await agent_session(redis, other, "agent@other.example", Role.AGENT)
    assert (
        await as_agent(token, csrf).get("/inbox/api/v1/manage/consent-events.csv")
    ).status_code == 403
    assert STORE_NUMBER
