"""Settings page: preferences land where the rules read them; team management for managers only."""

from __future__ import annotations

import re

from app.accounts.models import Agent, Role
from app.analytics.measures import prices_from_settings
from app.analytics.rules import windows_from_settings
from app.recovery.rules import policy_from_settings
from app.stores.models import Store
from tests.factories import make_store
from tests.web.conftest import csrf_from, login_as

FORM = {
    "abandon_after_minutes": "30",
    "frequency_days": "14",
    "max_sequences": "1",
    "quiet_start": "10:00",
    "quiet_end": "19:30",
    "email_requires_consent": "on",
    "sms_number": "+1 415 555 0133",
    "email_from": "Velvet Fern <hello@velvetfern.example>",
    "email_reply_to": "help@velvetfern.example",
    "price_sms_segment": "0.0083",
    "price_email": "0.0005",
    "email_window_hours": "72",
    "sms_window_hours": "12",
    "click_window_hours": "48",
    "min_ab_sample": "250",
}


async def test_settings_are_saved_where_the_rules_read_them(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    response = await client.post("/settings", data={**FORM, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    store = await Store.get(id=issued.store.id)
    assert store.abandon_after_seconds == 1800 and store.sms_number == "+14155550133"
    policy = policy_from_settings(store.settings["recovery"])
    assert (policy.quiet_start.hour, policy.quiet_end.minute, policy.frequency_days) == (10, 30, 14)
    assert policy.email_requires_consent and not policy.email_quiet_hours
    assert str(prices_from_settings(store.settings["prices"]).sms_segment) == "0.0083"
    assert windows_from_settings(store.settings["attribution"]).sms.total_seconds() == 12 * 3600
    assert store.settings["email_from"].startswith("Velvet Fern")
    page = await client.get("/settings?saved=true")
    assert 'value="0.0083"' in page.text and "Saved. Texts go out from 10:00" in page.text


async def test_bad_values_are_refused_with_reasons_and_nothing_saved(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.ADMIN)
    csrf = csrf_from((await client.get("/settings")).text)
    bad = {
        **FORM,
        "quiet_end": "08:00",
        "price_email": "-1",
        "email_from": "nobody",
        "csrf_token": csrf,
    }
    response = await client.post("/settings", data=bad)
    assert response.status_code == 422
    assert "later than the start" in response.text and "between 0 and 10" in response.text
    store = await Store.get(id=issued.store.id)
    assert store.settings == {} and store.abandon_after_seconds == 900
    assert (await client.post("/settings", data=FORM)).status_code == 403  # no CSRF token


async def test_team_invite_role_change_and_deactivate(client, redis):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    page = await client.post(
        "/settings/team/invite",
        data={"email": "new@shop.example", "role": "agent", "csrf_token": csrf},
    )
    assert page.status_code == 200
    link = re.search(r"(https://app\.example\.com/invite/[\w-]+)", page.text)
    assert link, page.text
    assert (
        await client.get(link.group(1).removeprefix("https://app.example.com"))
    ).status_code == 200
    member = await Agent.get(email="new@shop.example")
    await client.post(
        f"/settings/team/{member.id}", data={"action": "role", "role": "admin", "csrf_token": csrf}
    )
    assert (await Agent.get(id=member.id)).role == Role.ADMIN
    await client.post(
        f"/settings/team/{member.id}", data={"action": "deactivate", "csrf_token": csrf}
    )
    assert (await Agent.get(id=member.id)).active is False
    me = await Agent.get(email=f"owner@{issued.store.domain}")
    refused = await client.post(
        f"/settings/team/{me.id}", data={"action": "deactivate", "csrf_token": csrf}
    )
    assert refused.status_code == 422 and (await Agent.get(id=me.id)).active


async def test_admins_cannot_touch_owners_and_agents_get_403(client):
    issued = await make_store("shopify")
    owner = await Agent.create(
        store=issued.store, email="boss@shop.example", name="Boss", role=Role.OWNER
    )
    await login_as(client, issued.store, Role.ADMIN)
    csrf = csrf_from((await client.get("/settings")).text)
    response = await client.post(
        f"/settings/team/{owner.id}", data={"action": "deactivate", "csrf_token": csrf}
    )
    assert response.status_code == 403 and (await Agent.get(id=owner.id)).active
    other = await make_store("custom")
    stranger = await Agent.create(
        store=other.store, email="x@other.example", name="X", role=Role.AGENT
    )
    response = await client.post(
        f"/settings/team/{stranger.id}", data={"action": "deactivate", "csrf_token": csrf}
    )
    assert response.status_code == 404
    client.cookies.clear()
    await login_as(client, issued.store, Role.AGENT)
    assert (await client.get("/settings")).status_code == 403


async def test_a_refused_form_is_the_settings_page_again_with_the_error_by_its_field(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    response = await client.post(
        "/settings", data={**FORM, "abandon_after_minutes": "abc", "csrf_token": csrf}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    field = re.search(r'id="abandon_after_minutes".*?</div>', response.text, re.S)
    assert field and "Must be a whole number." in field.group(0)
    assert 'value="abc"' in response.text  # what the merchant typed stays in the form


async def test_saving_says_what_the_engine_will_apply(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    early = {**FORM, "quiet_start": "07:00", "quiet_end": "22:30", "csrf_token": csrf}
    response = await client.post("/settings", data=early, follow_redirects=True)
    assert response.status_code == 200
    assert "Settings saved." not in response.text
    assert "Texts go out from 08:00, the legal earliest" in response.text
    assert "until 21:00, the legal latest" in response.text
    fine = {**FORM, "quiet_start": "10:00", "quiet_end": "19:30", "csrf_token": csrf}
    response = await client.post("/settings", data=fine, follow_redirects=True)
    assert "Saved. Texts go out from 10:00 until 19:30" in response.text


CHAT_FORM = {
    "chat_enabled": "on",
    "chat_start": "08:30",
    "chat_end": "18:00",
    "chat_greeting": "Hello from <Velvet Fern>",
    "chat_invite_idle_seconds": "45",
}


async def test_chat_settings_are_saved_where_the_chat_reads_them(client):
    from app.stores.chat import settings_from

    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/settings")
    assert "Live chat on your store" in page.text
    csrf = csrf_from(page.text)
    response = await client.post("/settings", data={**FORM, **CHAT_FORM, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    chat = settings_from((await Store.get(id=issued.store.id)).settings["chat"])
    assert chat.enabled and (chat.start.hour, chat.start.minute, chat.end.hour) == (8, 30, 18)
    assert len(chat.days) == 5 and chat.greeting == "Hello from <Velvet Fern>"
    assert chat.invite_idle_seconds == 45
    again = await client.get("/settings")
    assert 'value="Hello from &lt;Velvet Fern&gt;"' in again.text  # escaped in the form
    assert "Last 30 days: 0 invitations shown, 0 accepted, 0 orders from them." in again.text
    from app.core.timeutil import utcnow
    from inbox.models import ChatInvitation

    await ChatInvitation.create(
        store_id=issued.store.id, session_key="s" * 20, trigger="back", shown_at=utcnow()
    )
    assert "1 invitation shown" in (await client.get("/settings")).text
    # A form without the chat fields (an older page) keeps the chat as saved.
    csrf = csrf_from(again.text)
    await client.post("/settings", data={**FORM, "csrf_token": csrf})
    assert settings_from((await Store.get(id=issued.store.id)).settings["chat"]).enabled


async def test_chat_hours_that_end_before_they_start_are_refused(client):
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    bad = {**FORM, **CHAT_FORM, "chat_end": "07:00", "csrf_token": csrf}
    response = await client.post("/settings", data=bad)
    assert response.status_code == 422 and "later than the start" in response.text
    idle = {**FORM, **CHAT_FORM, "chat_invite_idle_seconds": "7200", "csrf_token": csrf}
    response = await client.post("/settings", data=idle)
    assert response.status_code == 422 and "between 0 and 3600" in response.text
    assert "chat" not in ((await Store.get(id=issued.store.id)).settings or {})


async def test_reply_targets_per_channel_default_save_and_refuse(client):
    from app.messaging.response_time import targets_from_settings

    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/settings")
    assert "Reply targets" in page.text
    assert re.search(r'id="response_target_chat_seconds"[^>]*value="10"', page.text)
    assert re.search(r'id="response_target_sms_minutes"[^>]*value="5"', page.text)
    csrf = csrf_from(page.text)
    targets = {
        "response_target_chat_seconds": "30",
        "response_target_sms_minutes": "15",
        "response_target_email_minutes": "120",
    }
    saved = await client.post("/settings", data={**FORM, **targets, "csrf_token": csrf})
    assert saved.status_code == 303, saved.text
    store = await Store.get(id=issued.store.id)
    assert targets_from_settings(store.settings) == {"chat": 30, "sms": 900, "email": 7200}
    bad = {**FORM, **targets, "response_target_chat_seconds": "0", "csrf_token": csrf}
    refused = await client.post("/settings", data=bad)
    assert refused.status_code == 422 and "between 1 and 3600" in refused.text
    store = await Store.get(id=issued.store.id)
    assert targets_from_settings(store.settings)["chat"] == 30


async def test_cross_device_window_defaults_to_a_day_and_is_saved(client):
    from app.recovery.devices import window

    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/settings")
    assert re.search(r'id="cross_device_window_hours"[^>]*value="24"', page.text)
    csrf = csrf_from(page.text)
    form = {**FORM, "cross_device_window_hours": "6", "csrf_token": csrf}
    assert (await client.post("/settings", data=form)).status_code == 303
    store = await Store.get(id=issued.store.id)
    assert window(store.settings).total_seconds() == 6 * 3600
    bad = {**form, "cross_device_window_hours": "-1"}
    assert (await client.post("/settings", data=bad)).status_code == 422
    assert window((await Store.get(id=issued.store.id)).settings).total_seconds() == 6 * 3600
