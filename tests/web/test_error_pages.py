"""Errors as their reader wants them: an HTML page for a browser, JSON for an API client."""

from __future__ import annotations

import dataclasses

import httpx
from asgi_lifespan import LifespanManager

from app.accounts.models import Role
from app.server import create_app
from tests.factories import make_store
from tests.web.conftest import login_as

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _is_page(response: httpx.Response) -> bool:
    kind = response.headers["content-type"]
    return kind.startswith("text/html") and response.text.lstrip().startswith("<!doctype html>")


async def test_a_browser_gets_an_html_404_with_a_way_back(client):
    response = await client.get("/no-such-page", headers=BROWSER)
    assert response.status_code == 404 and _is_page(response)
    assert "Page not found" in response.text and 'href="/"' in response.text
    assert 'name="viewport"' in response.text  # sized for a phone, not 980 px wide
    assert '"error"' not in response.text


async def test_an_agent_opening_the_dashboard_gets_an_html_403(client):
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.AGENT)
    response = await client.get("/dashboard", headers=BROWSER)
    assert response.status_code == 403 and _is_page(response)
    assert "owners and admins" in response.text and 'href="/inbox"' in response.text


async def test_api_clients_keep_json_errors(client):
    issued = await make_store("custom")
    for path, headers in (
        ("/api/v1/checkouts/999", {"Authorization": f"Bearer {issued.api_token}", **BROWSER}),
        ("/no-such-page", {"Accept": "application/json"}),
        ("/no-such-page", {}),
        ("/inbox/api/v1/conversations", BROWSER),
    ):
        response = await client.get(path, headers=headers)
        assert response.headers["content-type"].startswith("application/json"), path
        assert response.json()["error"] in ("not_found", "login_required"), path


async def test_a_crash_is_a_calm_html_500_for_browsers_and_json_for_apis(settings):
    app = create_app(dataclasses.replace(settings, dev_mode=True), manage_db=False)

    async def boom() -> None:
        raise RuntimeError("secret internals")

    from litestar import get

    app.register(get("/boom", include_in_schema=False)(boom))
    app.register(get("/api/v1/boom", include_in_schema=False, name="api-boom")(boom))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://a.example") as http:
            page = await http.get("/boom", headers=BROWSER)
            api = await http.get("/api/v1/boom", headers=BROWSER)
    assert page.status_code == 500 and _is_page(page)
    assert "secret internals" not in page.text and "Something went wrong" in page.text
    assert api.status_code == 500 and api.json() == {
        "error": "server_error",
        "detail": "internal server error",
    }
