"""Flows and preview API: store-scoped, validated with 422 messages that name the exact problem."""

from __future__ import annotations

import copy

import pytest

from tests.factories import make_store


@pytest.fixture
async def api(settings):
    issued = await make_store("woocommerce", sms_number="+14155550100", name="Tidewater Teas")
    return issued.store, {"Authorization": f"Bearer {issued.api_token}"}


async def flow_of(client, headers):
    response = await client.get("/api/v1/flows", headers=headers)
    assert response.status_code == 200, response.text
    [flow] = response.json()
    return flow


async def test_every_store_gets_the_default_playbook(client, api):
    _, headers = api
    flow = await flow_of(client, headers)
    assert [(s["channel"], s["delay_seconds"]) for s in flow["steps"]] == [
        ("sms", 900),
        ("email", 3600),
        ("email", 86400),
        ("email", 259200),
        ("email", 432000),
    ]
    assert flow["steps"][2]["incentive"]["min_total"] == "50"
    assert "no" in flow["steps"][4]["variants"][0]["body"] and flow["enabled"] is True


AUTO = {
    "key": "a",
    "weight": 1,
    "subject": "Your cart at {{ store_name }}",
    "body": "Hi {{ first_name }}, your {{ first_item }} is waiting.",
    "sms_body": "Hi {{ first_name }}, your {{ first_item }} is waiting: {{ magic_link }}",
}


def _steps(flow):
    return [{k: v for k, v in s.items() if k != "position"} for s in copy.deepcopy(flow["steps"])]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda s: s[1]["variants"][0].update(body="Hi {{ frist_name }}"),
            "steps[1].variants[0].body: unknown variable 'frist_name'",
        ),
        (
            lambda s: s[1]["variants"][0].update(body="Hi\n{% if first_name %}oops"),
            "steps[1].variants[0].body: template syntax error on line 2",
        ),
        (
            lambda s: s[0].update(delay_seconds=49 * 3600),
            "steps[0].delay_seconds (176400): an automated SMS must go out within 48 hours",
        ),
        (
            lambda s: s[2].update(delay_seconds=3600),
            "steps[2].delay_seconds (3600) must be greater than the previous step's (3600)",
        ),
        (
            lambda s: s[1]["variants"].append(
                {"key": "b", "weight": -1, "subject": "x", "body": "y"}
            ),
            "steps[1].variants: weights must be >= 0",
        ),
        (
            lambda s: s[1].update(channel="sms", variants=[{"key": "a", "body": "hi"}]),
            "carriers allow one automated SMS per abandonment",
        ),
        (
            lambda s: s[1].update(conditions={"devices": ["fridge"]}),
            "steps[1].conditions: devices must be among",
        ),
        (
            lambda s: s[1].update(channel="auto"),
            "steps[1].variants[0].sms_body is required for an auto step",
        ),
        (
            lambda s: s[1]["variants"][0].update(sms_body="Hi {{ first_name }}"),
            "steps[1].variants[0].sms_body: only an auto step has a separate text message",
        ),
        (
            lambda s: s[0]["variants"][0].update(sms_body="Hi {{ first_name }}"),
            "steps[0].variants[0].sms_body: only an auto step has a separate text message",
        ),
        (
            lambda s: s[3].update(
                channel="auto", variants=[dict(AUTO, sms_body="{{ frist_name }}")]
            ),
            "steps[3].variants[0].sms_body: unknown variable 'frist_name'",
        ),
        (
            lambda s: s[3].update(channel="auto", variants=[dict(AUTO, sms_body="x" * 1601)]),
            "steps[3].variants[0].sms_body: an SMS template is at most 1600 characters",
        ),
        (
            lambda s: s[1].update(channel="auto", variants=[dict(AUTO, subject=None)]),
            "steps[1].variants[0].subject is required for an email",
        ),
        (
            lambda s: s[2].update(incentive={"kind": "free_shipping", "value": "10"}),
            "steps[2].incentive.value: a free_shipping incentive takes no value",
        ),
        (
            lambda s: s[2].update(incentive={"kind": "free_shiping"}),
            "steps[2].incentive.kind: must be one of percentage, fixed_amount, free_shipping",
        ),
        (
            lambda s: s[2].update(incentive={"source": "woo", "value": "5"}),
            "steps[2].incentive.source: must be one of auto, shopify, woocommerce, pool, static",
        ),
        (
            lambda s: s[4].update(incentive={"kind": "percentage", "value": "0"}),
            "steps[4].incentive.value: must be a positive amount",
        ),
        (
            lambda s: s[2].update(incentive={"kind": "free_shipping", "expires_hours": 0}),
            "steps[2].incentive.expires_hours: must be between 1 and 1440",
        ),
        (
            lambda s: s[3].update(channel="auto", variants=[AUTO]),
            "steps[3]: carriers allow one automated SMS per abandonment; steps[0] (sms) may "
            "already send one (an auto step counts as an SMS)",
        ),
    ],
)
async def test_invalid_edits_are_refused_with_a_precise_reason(client, api, mutate, message):
    _, headers = api
    flow = await flow_of(client, headers)
    steps = _steps(flow)
    mutate(steps)
    response = await client.patch(
        f"/api/v1/flows/{flow['id']}", json={"steps": steps}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert (await flow_of(client, headers))["steps"] == flow["steps"]  # nothing half-saved


async def test_edit_variants_weights_holdout_and_disable(client, api):
    _, headers = api
    flow = await flow_of(client, headers)
    steps = _steps(flow)
    steps[1]["variants"] = [
        {"key": "short", "weight": 3, "subject": "Your cart", "body": "Hi {{ first_name }}"},
        {"key": "long", "weight": 1, "subject": "Still there?", "body": "{{ items|length }} items"},
    ]
    steps[1]["conditions"] = {"min_total": "20", "customer": "new", "devices": ["desktop"]}
    body = {"name": "Spring", "enabled": False, "holdout_percent": "10", "steps": steps}
    response = await client.put(f"/api/v1/flows/{flow['id']}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["name"] == "Spring" and saved["enabled"] is False
    assert saved["holdout_percent"] == "10" or float(saved["holdout_percent"]) == 10
    assert [v["key"] for v in saved["steps"][1]["variants"]] == ["short", "long"]
    assert saved["steps"][1]["conditions"]["devices"] == ["desktop"]


async def test_flows_are_scoped_to_the_token_store(client, api):
    _, headers = api
    flow = await flow_of(client, headers)
    other = await make_store("custom", domain="other.example.com")
    other_headers = {"Authorization": f"Bearer {other.api_token}"}
    response = await client.get(f"/api/v1/flows/{flow['id']}", headers=other_headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/flows")).status_code == 401


async def test_preview_sms_counts_segments_and_adds_compliance(client, api):
    _, headers = api
    body = {"channel": "sms", "body": "Hi {{ first_name }}, your {{ first_item }} is waiting 🙂"}
    response = await client.post("/api/v1/templates/preview", json=body, headers=headers)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["text"].startswith("Tidewater Teas: Hi Jane, your Coffee mug is waiting 🙂")
    assert out["text"].endswith("Reply STOP to opt out.")
    assert out["encoding"] == "UCS-2" and out["segments"] == 2


async def test_preview_email_escapes_and_renders_button(client, api):
    _, headers = api
    body = {
        "channel": "email",
        "subject": "For {{ first_name }}",
        "body": "Total {{ total }} <script>alert(1)</script>",
        "discount": True,
    }
    response = await client.post("/api/v1/templates/preview", json=body, headers=headers)
    out = response.json()
    assert out["subject"] == "For Jane"
    assert "&lt;script&gt;" in out["html"] and "<script>" not in out["html"]
    assert "Complete your purchase" in out["html"] and "SAMPLE-10OFF" in out["html"]
    assert "$64.00" in out["text"]


async def test_preview_against_another_stores_checkout_is_404(client, api):
    _, headers = api
    body = {"channel": "sms", "body": "hi", "checkout_id": 999}
    response = await client.post("/api/v1/templates/preview", json=body, headers=headers)
    assert response.status_code == 404


async def test_preview_rejects_unknown_variables(client, api):
    _, headers = api
    body = {"channel": "email", "subject": "x", "body": "{{ password }}"}
    response = await client.post("/api/v1/templates/preview", json=body, headers=headers)
    assert response.status_code == 422
    assert "unknown variable 'password'" in response.json()["detail"]


async def test_progress_and_agent_controls_over_http(client, api):
    from datetime import UTC, datetime

    from tests.recovery.conftest import abandoned

    store, headers = api
    checkout, enrollment = await abandoned(store, datetime.now(UTC))
    response = await client.get(f"/api/v1/recovery/checkouts/{checkout.id}", headers=headers)
    assert response.status_code == 200 and response.json()["steps_total"] == 5
    assert response.json()["next_step"]["channel"] == "sms"
    base = f"/api/v1/recovery/enrollments/{enrollment.id}"
    paused = await client.post(f"{base}/pause", json={"reason": "agent took over"}, headers=headers)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    resumed = await client.post(f"{base}/resume", headers=headers)
    assert resumed.json()["changed"] is True and resumed.json()["status"] == "active"
    stopped = await client.post(f"{base}/stop", headers=headers)
    assert stopped.json()["status"] == "stopped" and stopped.json()["next_step"] is None
    other = await make_store("custom", domain="elsewhere.example.com")
    foreign = {"Authorization": f"Bearer {other.api_token}"}
    assert (await client.post(f"{base}/resume", headers=foreign)).status_code == 404


async def test_an_auto_step_is_saved_with_both_parts_at_any_delay(client, api):
    _, headers = api
    flow = await flow_of(client, headers)
    steps = _steps(flow)
    steps[0].update(channel="email", variants=[{k: v for k, v in AUTO.items() if k != "sms_body"}])
    steps[3].update(channel="auto", variants=[AUTO])  # 72 hours: past 48 h it simply emails
    response = await client.patch(
        f"/api/v1/flows/{flow['id']}", json={"steps": steps}, headers=headers
    )
    assert response.status_code == 200, response.text
    saved = response.json()["steps"]
    assert [s["channel"] for s in saved] == ["email", "email", "email", "auto", "email"]
    assert saved[3]["delay_seconds"] == 72 * 3600
    assert saved[3]["variants"][0]["sms_body"] == AUTO["sms_body"]
    assert saved[3]["variants"][0]["subject"] == AUTO["subject"]
    assert saved[0]["variants"][0]["sms_body"] is None
    # Previews stay per channel: an auto step previews its text and its email separately.
    preview = {"channel": "auto", "body": "hi"}
    response = await client.post("/api/v1/templates/preview", json=preview, headers=headers)
    assert response.status_code == 400


async def test_free_shipping_incentive_saves_and_previews_with_its_own_words(client, api):
    _, headers = api
    flow = await flow_of(client, headers)
    steps = _steps(flow)
    steps[2]["incentive"] = {"kind": "free_shipping", "min_total": "40", "expires_hours": 72}
    response = await client.patch(
        f"/api/v1/flows/{flow['id']}", json={"steps": steps}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["steps"][2]["incentive"]["kind"] == "free_shipping"

    body = {
        "channel": "email",
        "subject": "{{ discount_offer }}",
        "body": "{{ discount_label }} until {{ discount_expires }}",
        "discount": True,
        "discount_kind": "free_shipping",
    }
    out = (await client.post("/api/v1/templates/preview", json=body, headers=headers)).json()
    assert out["subject"] == "Free shipping with code SAMPLE-SHIP"
    assert out["text"].startswith("Free shipping until")
    assert "Free shipping with code SAMPLE-SHIP." in out["text"]


async def test_agent_controls_on_a_flow_without_a_cart(client, api):
    """Pause and stop work the same on a birthday's enrollment, which has no checkout."""
    from app.checkouts.models import Contact
    from app.core.timeutil import utcnow
    from app.recovery import entries
    from app.recovery.models import Flow, FlowStep

    store, headers = api
    contact = await Contact.create(store_id=store.id, email="b@example.com")
    flow = await Flow.create(store_id=store.id, name="Birthday", trigger="contact.birthday")
    await FlowStep.create(
        flow_id=flow.id, position=0, channel="email", delay_seconds=3600, variants=[{"body": "Hi"}]
    )
    enrollment = await entries.enter(flow, contact.id, "birthday:2027-01-01", utcnow(), None)
    assert enrollment is not None
    base = f"/api/v1/recovery/enrollments/{enrollment.id}"
    paused = await client.post(f"{base}/pause", json={"reason": "agent"}, headers=headers)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused" and paused.json()["trigger"] == "contact.birthday"
    stopped = await client.post(f"{base}/stop", headers=headers)
    assert stopped.json()["status"] == "stopped" and stopped.json()["entry_key"].startswith("birth")
