"""Invitation email through a real SMTP server (aiosmtpd), and the CLI that sends it."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import json
import os
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from app.accounts.invitations import send_invitation
from app.accounts.models import Agent
from tests.conftest import TEST_ENV
from tests.factories import free_port
from tests.inbox.conftest import store_with_number


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


async def test_invitation_is_emailed_when_smtp_is_set(settings, smtp):
    configured = dataclasses.replace(
        settings,
        email=dataclasses.replace(settings.email, smtp_url=f"smtp://127.0.0.1:{smtp.port}"),
    )
    url = "https://app.example.com/invite/inv_abc"
    assert await send_invitation(configured, "nia@shop.example", "Velvet Fern", url)
    [message] = smtp.messages
    assert message["To"] == "nia@shop.example" and "Velvet Fern" in message["Subject"]
    assert url in message.get_payload(decode=True).decode()


async def test_without_smtp_the_link_is_logged_not_lost(settings, caplog):
    caplog.set_level("INFO")
    assert not await send_invitation(
        settings, "nia@shop.example", "Velvet Fern", "https://x/invite/1"
    )
    assert any(getattr(r, "ctx", {}).get("url") == "https://x/invite/1" for r in caplog.records)


async def test_cli_agent_create_emails_the_invitation(settings, smtp):
    store = await store_with_number(name="Velvet Fern")
    env = {**os.environ, **TEST_ENV, "FOLLOWUP_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}"}
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "followup"),
        "agent",
        "create",
        "--store",
        str(store.id),
        "--email",
        "Nia@Shop.Example",
        "--role",
        "agent",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    data = json.loads(out)
    assert data["emailed"] is True and data["invite_url"].startswith(
        "https://app.example.com/invite/"
    )
    [message] = smtp.messages
    assert data["invite_url"] in message.get_payload(decode=True).decode()
    assert (await Agent.get(email="nia@shop.example")).invite_digest is not None
