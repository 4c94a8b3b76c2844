"""The flow editor page saves and previews through the JSON API with its session and CSRF token."""

from __future__ import annotations

from app.accounts.models import Role
from app.recovery.models import Flow
from tests.factories import make_store
from tests.web.conftest import csrf_from, login_as


async def test_editor_saves_through_the_flow_service_with_csrf(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/flows")
    assert page.status_code == 200 and 'id="flows-data"' in page.text
    csrf = csrf_from(page.text)
    flow = (await client.get("/api/v1/flows")).json()[0]
    body = {"enabled": False, "holdout_percent": "10"}
    assert (await client.patch(f"/api/v1/flows/{flow['id']}", json=body)).status_code == 403
    saved = await client.patch(
        f"/api/v1/flows/{flow['id']}", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert saved.status_code == 200, saved.text
    stored = await Flow.get(id=flow["id"])
    assert stored.enabled is False and stored.holdout_percent == 10
    bad = await client.patch(
        f"/api/v1/flows/{flow['id']}",
        json={"holdout_percent": "80"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422 and "holdout_percent" in bad.json()["detail"]


async def test_preview_counts_sms_segments_and_renders_email(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.ADMIN)
    csrf = csrf_from((await client.get("/flows")).text)
    headers = {"X-CSRF-Token": csrf}
    sms = await client.post(
        "/api/v1/templates/preview",
        json={"channel": "sms", "body": "Hi {{ first_name }} " + "x" * 200},
        headers=headers,
    )
    assert (
        sms.status_code == 200 and sms.json()["segments"] == 2 and "Hi Jane" in sms.json()["text"]
    )
    email = await client.post(
        "/api/v1/templates/preview",
        json={
            "channel": "email",
            "subject": "For {{ first_name }}",
            "body": "<b>{{ first_item }}</b>",
        },
        headers=headers,
    )
    out = email.json()
    assert out["subject"] == "For Jane" and "&lt;b&gt;" in out["html"]


async def test_agents_cannot_open_or_call_the_editor(client):
    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.AGENT)
    assert (await client.get("/flows")).status_code == 403
    assert (await client.get("/api/v1/flows")).status_code == 403
    assert (await client.post("/api/v1/templates/preview", json={})).status_code == 403


async def test_the_editor_script_calls_the_json_api(client):
    """No second copy of the flows API for the page: the script speaks to /api/v1 itself."""
    script = (await client.get("/static/flows.js")).text
    assert "/api/v1/flows/${flowId}" in script and "/api/v1/templates/preview" in script
    assert "/flows/api" not in script
    assert (await client.get("/flows/api")).status_code == 404


async def test_every_gallery_template_makes_a_valid_paused_flow(client):
    """Each of the eight templates passes the same validation as the API, lands paused, and opens."""
    from app.recovery.gallery import GALLERY

    issued = await make_store("shopify")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/flows")).text)
    for template in GALLERY:
        made = await client.post(
            "/flows/new", data={"template": template.trigger, "csrf_token": csrf}
        )
        assert made.status_code == 303, (template.trigger, made.text[:300])
        opened = await client.get(made.headers["location"])
        assert opened.status_code == 200 and template.name in opened.text
    stored = await Flow.filter(store=issued.store).order_by("id")
    assert [f.trigger for f in stored[1:]] == [t.trigger for t in GALLERY]
    assert not any(f.enabled for f in stored[1:])
    assert stored[-1].trigger_params == {"amount": "500.00"}
    refused = await client.post("/flows/new", data={"template": "nope", "csrf_token": csrf})
    assert refused.status_code == 422 and "Pick one of the templates" in refused.text
    assert await Flow.filter(store=issued.store).count() == len(GALLERY) + 1
