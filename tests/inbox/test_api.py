"""The inbox JSON API: replies through the real Twilio client, assignment, states, tenancy."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from decimal import Decimal

from app.accounts.models import Role
from app.checkouts.models import Checkout, Contact
from app.checkouts.services import mark_abandoned
from app.config import use_settings
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery.models import Click, DiscountCode, DiscountKind, Enrollment, EnrollmentStatus
from app.recovery.services import enroll
from inbox import presence, services
from inbox.models import CannedReply, Conversation
from tests.inbox.conftest import SHOPPER, STORE_NUMBER, agent_session, store_with_number


async def _conversation(text_in, body: str = "Hi, is this in stock?", **kw) -> Conversation:
    assert (await text_in(body, **kw)).status_code == 200
    return await Conversation.filter().order_by("-id").first()


async def test_agent_reply_goes_out_once_from_the_store_number(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    store = await store_with_number()
    agent, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    api = as_agent(token, csrf)
    payload = {"body": "Yes! Still 3 left in sage.", "client_id": "c-0001-abcdef"}
    first, second = await asyncio.gather(
        api.post(f"/inbox/api/v1/conversations/{conv.id}/messages", json=payload),
        api.post(f"/inbox/api/v1/conversations/{conv.id}/messages", json=payload),
    )
    assert {first.status_code, second.status_code} == {201}
    assert sorted([first.json()["sent"], second.json()["sent"]]) == [False, True]
    [sent] = fake_twilio.sent
    assert (sent["to"], sent["from"], sent["body"]) == (SHOPPER, STORE_NUMBER, payload["body"])
    msg = await Message.get(author="agent")
    # Our marker settles the reply by a status callback even if Twilio's answer was lost.
    assert sent["status_callback"] == f"https://app.example.com/webhooks/twilio/status?m={msg.id}"
    assert (msg.status, msg.provider_id, msg.agent_id) == ("queued", sent["sid"], agent.id)
    assert (await Conversation.get(id=conv.id)).assignee_id == agent.id  # answering claims it


async def test_provider_failure_is_recorded_not_hidden(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    fake_twilio.opted_out.add(SHOPPER)
    response = await as_agent(token, csrf).post(
        f"/inbox/api/v1/conversations/{conv.id}/messages",
        json={"body": "hello", "client_id": "c-0002-abcdef"},
    )
    assert response.status_code == 201
    assert response.json()["message"]["status"] == "failed"
    assert response.json()["message"]["error_code"] == "21610"


async def test_a_permanent_refusal_flags_the_contact_as_a_recovery_send_would(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    fake_twilio.opted_out.add(SHOPPER)  # Twilio 21610: the number replied STOP to Twilio itself
    response = await as_agent(token, csrf).post(
        f"/inbox/api/v1/conversations/{conv.id}/messages",
        json={"body": "hello", "client_id": "c-0006-abcdef"},
    )
    assert response.json()["message"]["status"] == "failed"
    contact = await Contact.get(id=conv.contact_id)
    assert contact.sms_opted_out_at is not None  # no later reply or recovery text tries it again


async def test_a_reply_without_an_answer_in_time_is_unknown_not_failed(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    slow = dataclasses.replace(
        inbox_settings,
        recovery=dataclasses.replace(inbox_settings.recovery, provider_timeout_seconds=1),
    )
    use_settings(slow)
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    fake_twilio.delay = 4.0  # Twilio took the message but its answer never comes in time
    response = await as_agent(token, csrf).post(
        f"/inbox/api/v1/conversations/{conv.id}/messages",
        json={"body": "hello", "client_id": "c-0007-abcdef"},
    )
    assert response.status_code == 201
    message = response.json()["message"]
    # The 1 s timeout answered, not Twilio's late 4 s answer (which would have said "queued").
    # It may have gone out: never shown as failed (an agent would send it again), and a status
    # callback can still settle it by our own marker on the callback URL.
    assert (message["status"], message["error_code"]) == ("unknown", "timeout")
    [sent] = fake_twilio.sent
    assert sent["status_callback"].endswith(f"/webhooks/twilio/status?m={message['id']}")


async def test_no_reply_to_an_opted_out_shopper_and_no_cold_text_without_consent(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    api = as_agent(token, csrf)
    conv = await _conversation(text_in)
    await text_in("STOP")
    response = await api.post(
        f"/inbox/api/v1/conversations/{conv.id}/messages",
        json={"body": "sorry to see you go", "client_id": "c-0003-abcdef"},
    )
    assert response.status_code == 409 and response.json()["error"] == "opted_out"
    stranger = await Contact.create(store=store, phone="+14155550999")
    cold = await api.post(
        "/inbox/api/v1/conversations",
        json={"contact_id": stranger.id, "body": "hi", "client_id": "c-0004-abcdef"},
    )
    assert cold.status_code == 409 and cold.json()["error"] == "no_consent"
    assert fake_twilio.sent == []
    await Contact.filter(id=stranger.id).update(sms_consent=True, sms_consent_at=utcnow())
    ok = await api.post(
        "/inbox/api/v1/conversations",
        json={
            "contact_id": stranger.id,
            "body": "Your cart is saved",
            "client_id": "c-0005-abcdef",
            "allow_quiet_hours": True,
        },
    )
    assert ok.status_code == 201 and fake_twilio.sent[0]["to"] == "+14155550999"
    assert (await Conversation.get(contact_id=stranger.id)).started_by == "agent"


async def test_writes_need_the_csrf_token(client, text_in, redis, as_agent):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    api = as_agent(token, csrf)
    del api.headers["X-CSRF-Token"]
    assert (await api.post(f"/inbox/api/v1/conversations/{conv.id}/close")).status_code == 403
    assert (await Conversation.get(id=conv.id)).status == "open"


async def test_an_agent_never_sees_or_touches_another_stores_conversations(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    mine = await store_with_number()
    theirs = await store_with_number("other.example.com", "+12125550111")
    foreign = await _conversation(text_in, "secret cart question", to="+12125550111")
    own = await _conversation(text_in, "my question")
    _, token, csrf = await agent_session(redis, mine, "nia@shop.example")
    intruder, _, _ = await agent_session(redis, theirs, "eve@other.example")
    api = as_agent(token, csrf)
    listed = (await api.get("/inbox/api/v1/conversations?view=all&status=any")).json()
    assert [c["id"] for c in listed["conversations"]] == [own.id]
    base = f"/inbox/api/v1/conversations/{foreign.id}"
    assert (await api.get(base)).status_code == 404
    for path, body in [
        ("/messages", {"body": "hi", "client_id": "c-0006-abcdef"}),
        ("/notes", {"body": "x", "client_id": "c-0007-abcdef"}),
        ("/close", None),
        ("/assign", {"agent_id": None}),
        ("/read", None),
    ]:
        assert (await api.post(base + path, json=body)).status_code == 404, path
    assert (
        await api.post(
            f"/inbox/api/v1/conversations/{own.id}/assign", json={"agent_id": intruder.id}
        )
    ).status_code == 422
    changes = (await api.get("/inbox/api/v1/changes?after=0")).json()
    assert {m["conversation_id"] for m in changes["messages"]} == {own.id}
    assert fake_twilio.sent == []
    assert (await Conversation.get(id=foreign.id)).status == "open"


async def test_list_filters_search_and_unread_per_agent(client, text_in, redis, as_agent):
    store = await store_with_number()
    nia, token, csrf = await agent_session(redis, store, "nia@shop.example")
    maya = await Contact.create(
        store=store, phone=SHOPPER, first_name="Maya", last_name="Okafor", email="maya@example.com"
    )
    conv = await _conversation(text_in, "one")
    await text_in("two")
    other = await _conversation(text_in, "hello", from_="+12075550148")
    api = as_agent(token, csrf)

    def ids(resp):
        return [c["id"] for c in resp.json()["conversations"]]

    assert ids(await api.get("/inbox/api/v1/conversations?q=okafor")) == [conv.id]
    assert ids(await api.get("/inbox/api/v1/conversations?q=maya%20oka")) == [conv.id]
    assert ids(await api.get("/inbox/api/v1/conversations?q=207555")) == [other.id]
    assert ids(await api.get("/inbox/api/v1/conversations?q=MAYA@EXAMPLE")) == [conv.id]
    assert ids(await api.get("/inbox/api/v1/conversations?view=unassigned")) == [conv.id, other.id]
    listed = (await api.get("/inbox/api/v1/conversations")).json()["conversations"]
    assert {c["id"]: c["unread"] for c in listed} == {conv.id: 2, other.id: 1}
    assert (await api.post(f"/inbox/api/v1/conversations/{conv.id}/read")).json() == {"seen": 2}
    await api.post(f"/inbox/api/v1/conversations/{conv.id}/assign", json={"agent_id": nia.id})
    listed = (await api.get("/inbox/api/v1/conversations?view=mine")).json()["conversations"]
    assert [(c["id"], c["unread"], c["assignee"]["name"]) for c in listed] == [(conv.id, 0, "nia")]
    assert maya.id == listed[0]["contact"]["id"]
    bad = await api.get("/inbox/api/v1/conversations?view=everything")
    assert bad.status_code == 422


async def test_snooze_close_reopen_and_notes(client, text_in, redis, as_agent):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    api = as_agent(token, csrf)
    base = f"/inbox/api/v1/conversations/{conv.id}"
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    assert (await api.post(base + "/snooze", json={"until": past})).status_code == 422
    until = (utcnow() + timedelta(hours=2)).isoformat()
    snoozed = (await api.post(base + "/snooze", json={"until": until})).json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"]
    await Conversation.filter(id=conv.id).update(snoozed_until=utcnow() - timedelta(seconds=1))
    assert await services.wake_snoozed(utcnow()) == 1
    assert (await Conversation.get(id=conv.id)).status == "open"
    assert (await api.post(base + "/close")).json()["status"] == "closed"
    assert (await api.post(base + "/reopen")).json()["status"] == "open"
    note = await api.post(
        base + "/notes", json={"body": "VIP, be nice", "client_id": "n-0001-abcdef"}
    )
    assert note.status_code == 201 and note.json()["message"]["author"] == "note"
    thread = (await api.get(base)).json()
    assert [m["author"] for m in thread["messages"]] == ["shopper", "note"]
    assert set(thread["quiet_hours"]) == {"quiet", "local_time", "zone"}


async def test_round_robin_among_online_agents_with_a_cap_and_a_fifo_queue(
    client, text_in, redis, settings
):
    store = await store_with_number()
    a, _, _ = await agent_session(redis, store, "a@shop.example", max_open_conversations=1)
    b, _, _ = await agent_session(redis, store, "b@shop.example", max_open_conversations=1)
    await agent_session(redis, store, "offline@shop.example")
    await presence.heartbeat(redis, store.id, a.id, 45)
    await presence.heartbeat(redis, store.id, b.id, 45)
    first = await _conversation(text_in, "1", from_="+14155551001")
    second = await _conversation(text_in, "2", from_="+14155551002")
    third = await _conversation(text_in, "3", from_="+14155551003")
    fourth = await _conversation(text_in, "4", from_="+14155551004")
    assignees = {c.id: c.assignee_id for c in await Conversation.all()}
    assert {assignees[first.id], assignees[second.id]} == {a.id, b.id}
    assert assignees[third.id] is None and assignees[fourth.id] is None
    await services.set_status(store.id, first.id, "closed")
    done = await services.auto_assign(redis, store.id, 45)
    assert done == [(third.id, assignees[first.id])]  # oldest waiting first


async def test_agent_pauses_the_sequence_issues_a_code_and_shares_a_tracked_link(
    client, text_in, redis, as_agent
):
    store = await store_with_number()
    contact = await Contact.create(
        store=store, phone=SHOPPER, email="maya@example.com", first_name="Maya"
    )
    checkout = await Checkout.create(
        store=store,
        platform="custom",
        token="c-1",
        contact=contact,
        phone=SHOPPER,
        email="maya@example.com",
        total=Decimal("64.00"),
        last_activity_at=utcnow() - timedelta(hours=1),
        abandon_due_at=utcnow() - timedelta(minutes=1),
        recovery_url="https://shop.example.com/cart?restore=c-1",
    )
    await mark_abandoned(checkout.id)
    enrollment = await enroll(checkout.id)
    assert enrollment is not None and enrollment.status == EnrollmentStatus.ACTIVE
    await DiscountCode.create(store=store, code="POOL-0001", kind=DiscountKind.POOL)
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    conv = await _conversation(text_in)
    assert conv.checkout_id == checkout.id
    api = as_agent(token, csrf)

    paused = await api.post(
        f"/inbox/api/v1/conversations/{conv.id}/sequence", json={"action": "pause"}
    )
    assert paused.status_code in (200, 201), paused.text
    assert paused.json()["status"] == "paused"
    assert (await Enrollment.get(id=enrollment.id)).status == EnrollmentStatus.PAUSED

    code = await api.post(f"/inbox/api/v1/conversations/{conv.id}/discount")
    assert code.status_code in (200, 201) and code.json()["code"] == "POOL-0001"
    again = await api.post(f"/inbox/api/v1/conversations/{conv.id}/discount")
    assert again.json()["code"] == "POOL-0001"  # one code per cart, whoever asks

    thread = (await api.get(f"/inbox/api/v1/conversations/{conv.id}")).json()
    shown = thread["cart"]["discount"]  # the cart panel shows the code the shopper was given
    assert shown["code"] == "POOL-0001" and shown["valid"] is True
    link = thread["cart"]["magic_link"]
    assert link.startswith("https://app.example.com/r/")
    landed = await client.get(link.removeprefix("https://app.example.com"))
    assert landed.status_code == 302 and "discount=POOL-0001" in landed.headers["location"]
    assert await Click.filter(enrollment_id=enrollment.id).count() == 1

    resumed = await api.post(
        f"/inbox/api/v1/conversations/{conv.id}/sequence", json={"action": "resume"}
    )
    assert resumed.json()["status"] == "active"


async def test_canned_replies_are_managed_by_managers(client, redis, as_agent):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "owner@shop.example", Role.OWNER)
    api = as_agent(token, csrf)
    made = await api.post(
        "/inbox/api/v1/manage/canned",
        json={"title": "Stock", "body": "Hi {{ first_name }}, it is in stock!"},
    )
    assert made.status_code == 201
    listed = (await api.get("/inbox/api/v1/canned")).json()
    assert listed["canned"][0]["title"] == "Stock" and "first_name" in listed["fields"]
    _, token, csrf = await agent_session(redis, store, "agent@shop.example")
    refused = await as_agent(token, csrf).post(
        "/inbox/api/v1/manage/canned", json={"title": "x", "body": "y"}
    )
    assert refused.status_code == 403


async def test_deleting_another_stores_canned_reply_is_not_found(client, redis, as_agent):
    mine = await store_with_number()
    theirs = await store_with_number("other.example.com", "+12125550111")
    foreign = await CannedReply.create(store_id=theirs.id, title="Theirs", body="Keep me")
    _, token, csrf = await agent_session(redis, mine, "owner@shop.example", Role.OWNER)
    api = as_agent(token, csrf)
    refused = await api.delete(f"/inbox/api/v1/manage/canned/{foreign.id}")
    assert refused.status_code == 404
    assert refused.json()["error"] == "not_found"
    assert await CannedReply.filter(id=foreign.id).exists()
    own = await CannedReply.create(store_id=mine.id, title="Mine", body="Bye")
    assert (await api.delete(f"/inbox/api/v1/manage/canned/{own.id}")).status_code == 204
    assert (await api.delete(f"/inbox/api/v1/manage/canned/{own.id}")).status_code == 404
    assert not await CannedReply.filter(id=own.id).exists()


async def test_list_sorted_by_predicted_score_with_the_score_shown(
    client, text_in, redis, as_agent
):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    low = await _conversation(text_in, "one", from_="+12075550148")
    bare = await _conversation(text_in, "two", from_="+12075550149")
    high = await _conversation(text_in, "three", from_="+12075550150")
    for conv, score in ((low, "0.1500"), (high, "0.7200")):
        checkout = await Checkout.create(
            store=store,
            contact_id=conv.contact_id,
            platform="custom",
            token=f"t-{conv.id}",
            currency="USD",
            total=Decimal("50"),
            status="abandoned",
            last_activity_at=utcnow(),
            recovery_score=Decimal(score),
            expected_value=Decimal(score) * 50,
            score_source="model",
        )
        await Conversation.filter(id=conv.id).update(checkout_id=checkout.id)
    api = as_agent(token, csrf)
    listed = (await api.get("/inbox/api/v1/conversations?sort=score")).json()["conversations"]
    assert [c["id"] for c in listed] == [high.id, low.id, bare.id]
    assert listed[0]["score"] == {
        "likelihood": "0.7200",
        "percent": 72,
        "expected_value": "36.0000",
        "expected_value_text": "$36.00",
        "source": "model",
    }
    assert "score" not in listed[2]
    recent = (await api.get("/inbox/api/v1/conversations")).json()["conversations"]
    assert [c["id"] for c in recent] == [high.id, bare.id, low.id]
    detail = (await api.get(f"/inbox/api/v1/conversations/{high.id}")).json()
    assert detail["cart"]["score"]["percent"] == 72
    assert (await api.get("/inbox/api/v1/conversations?sort=loudest")).status_code == 422
