"""Accounts: argon2 passwords, Redis sessions, CSRF on state changes, logout here and everywhere."""

from __future__ import annotations

import re

from app.accounts import sessions
from app.accounts.models import Agent, Role
from app.accounts.services import create_agent
from tests.factories import make_store

PASSWORD = "correct horse battery"


async def login(client, email: str, password: str = PASSWORD, next_url: str = "/"):
    page = await client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    return await client.post(
        "/login", data={"email": email, "password": password, "login_csrf": token, "next": next_url}
    )


async def test_login_sets_a_server_side_session_and_lands_by_role(client, redis):
    issued = await make_store("custom")
    await create_agent(issued.store, "owner@shop.example", Role.OWNER, password=PASSWORD)
    await create_agent(issued.store, "agent@shop.example", Role.AGENT, password=PASSWORD)
    stored = await Agent.get(email="owner@shop.example")
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash

    response = await login(client, "owner@shop.example")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.cookies.get(sessions.COOKIE)
    assert cookie and await sessions.load(redis, cookie) is not None
    client.cookies.clear()
    response = await login(client, "Agent@Shop.Example")
    assert response.headers["location"] == "/inbox"


async def test_wrong_password_and_missing_form_token_are_refused(client):
    issued = await make_store("custom")
    await create_agent(issued.store, "owner@shop.example", Role.OWNER, password=PASSWORD)
    response = await login(client, "owner@shop.example", "wrong password!")
    assert response.status_code == 401 and "not right" in response.text
    assert sessions.COOKIE not in response.cookies
    forged = await client.post("/login", data={"email": "owner@shop.example", "password": PASSWORD})
    assert forged.status_code == 403


async def test_open_redirect_is_not_followed(client):
    issued = await make_store("custom")
    await create_agent(issued.store, "owner@shop.example", Role.OWNER, password=PASSWORD)
    response = await login(client, "owner@shop.example", next_url="//evil.example/phish")
    assert response.headers["location"] == "/dashboard"


async def test_logout_needs_csrf_and_logout_everywhere_ends_every_session(client, redis):
    issued = await make_store("custom")
    invitation = await create_agent(
        issued.store, "owner@shop.example", Role.OWNER, password=PASSWORD
    )
    first = (await login(client, "owner@shop.example")).cookies[sessions.COOKIE]
    client.cookies.clear()
    second = (await login(client, "owner@shop.example")).cookies[sessions.COOKIE]
    session = await sessions.load(redis, second)

    no_token = await client.post("/logout/everywhere")
    assert no_token.status_code == 403 and await sessions.load(redis, second) is not None
    done = await client.post("/logout/everywhere", headers={"X-CSRF-Token": session.csrf})
    assert done.status_code == 303
    assert await sessions.load(redis, first) is None and await sessions.load(redis, second) is None
    assert invitation.agent.id == session.agent_id


async def test_invitation_sets_password_once(client):
    issued = await make_store("custom")
    invitation = await create_agent(issued.store, "new@shop.example", Role.AGENT)
    page = await client.get(f"/invite/{invitation.token}")
    assert page.status_code == 200 and "new@shop.example" in page.text
    short = await client.post(
        f"/invite/{invitation.token}", data={"password": "short", "name": "Nia"}
    )
    assert short.status_code == 422 and "10 characters" in short.text
    accepted = await client.post(
        f"/invite/{invitation.token}", data={"password": PASSWORD, "name": "Nia"}
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == "/inbox"
    again = await client.get(f"/invite/{invitation.token}")
    assert again.status_code == 404
    assert (await Agent.get(email="new@shop.example")).name == "Nia"


async def test_pages_redirect_to_login_without_a_session(client):
    response = await client.post("/logout")
    assert response.status_code == 401
