"""Inbox fixtures: a fake Twilio the real client talks to, signed inbound texts, logged-in agents."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import uvicorn
from twilio.request_validator import RequestValidator

from app.accounts import sessions
from app.accounts.models import Agent, Role
from app.accounts.services import create_agent
from app.config import Settings, use_settings
from app.server import create_app
from app.stores.models import Store
from tests.factories import make_store
from tests.fakes.twilio import FakeTwilio

TWILIO_TOKEN = "test_auth_token_do_not_use"
STORE_NUMBER = "+12125550199"
SHOPPER = "+14155550173"
PASSWORD = "correct horse battery"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """On its own thread and loop: the test client may block the test loop while the app sends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(FakeTwilio().start(), loop).result(10)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
async def inbox_settings(settings: Settings, fake_twilio: FakeTwilio) -> AsyncIterator[Settings]:
    """The session settings with Twilio pointed at the fake, for handlers that call get_settings()."""
    patched = dataclasses.replace(
        settings, twilio=dataclasses.replace(settings.twilio, api_base_url=fake_twilio.url)
    )
    use_settings(patched)
    yield patched
    use_settings(settings)


def sign(url: str, form: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def sms_form(
    body: str,
    sid: str | None = None,
    from_: str = SHOPPER,
    to: str = STORE_NUMBER,
    media: list[str] | None = None,
) -> dict[str, str]:
    form = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": str(len(media or [])),
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    for i, url in enumerate(media or []):
        form[f"MediaUrl{i}"] = url
        form[f"MediaContentType{i}"] = "image/jpeg"
    return form


def signed_headers(
    form: dict[str, str], public_url: str = "https://app.example.com"
) -> dict[str, str]:
    return {"X-Twilio-Signature": sign(f"{public_url}/webhooks/twilio/sms", form)}


@pytest.fixture
def text_in(client: Any) -> Callable[..., Any]:
    """Post a signed inbound SMS to the app, as Twilio would."""

    async def send(body: str, **kwargs: Any) -> Any:
        form = sms_form(body, **kwargs)
        return await client.post("/webhooks/twilio/sms", data=form, headers=signed_headers(form))

    return send


async def store_with_number(
    domain: str = "shop.example.com", number: str = STORE_NUMBER, **kwargs: Any
) -> Store:
    issued = await make_store("custom", domain=domain, sms_number=number, **kwargs)
    return issued.store


async def agent_session(
    redis: Any, store: Store, email: str, role: Role = Role.AGENT, **kwargs: Any
) -> tuple[Agent, str, str]:
    """An agent with a live server-side session: (agent, cookie token, csrf)."""
    invitation = await create_agent(store, email, role, password=PASSWORD)
    if kwargs:
        await Agent.filter(id=invitation.agent.id).update(**kwargs)
    token, session = await sessions.create(redis, invitation.agent.id, store.id, str(role))
    return invitation.agent, token, session.csrf


@pytest.fixture
def as_agent(client: Any) -> Callable[[str, str], Any]:
    def use(token: str, csrf: str) -> Any:
        client.cookies.set(sessions.COOKIE, token, domain="app.example.com")
        client.headers["X-CSRF-Token"] = csrf
        return client

    return use


class LiveServer:
    """The real app under uvicorn on a loopback port, in the test's loop, lifespan included."""

    def __init__(self, settings: Settings, port: int = 0) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, manage_db=False),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="on",
                access_log=False,
            )
        )
        self.task: Any = None

    async def start(self) -> LiveServer:
        import asyncio

        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        import asyncio

        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 5)
        except TimeoutError:
            self.server.force_exit = True
            await asyncio.wait_for(self.task, 5)


@pytest.fixture
async def live_servers(inbox_settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    started: list[LiveServer] = []

    async def start() -> LiveServer:
        server = await LiveServer(inbox_settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()
