"""`followup dev`: migrations, demo data, web and worker together in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import replace

import uvicorn
from arq.worker import Worker

from app.config import DEFAULTS, Settings, use_settings
from app.core.db import close_db, init_db, migrate
from app.core.redis import connect_redis, redis_url, stop_embedded
from app.dev.demo import Demo, demo_shop_url, seed_demo
from app.integrations.smtp import receiver
from app.server import create_app
from app.wiring import wire
from app.worker import build_worker

log = logging.getLogger("followup.dev")


def _banner(
    settings: Settings, host: str, port: int, demo: Demo | None, mail_port: int | None = None
) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "  FollowUp is running (embedded SQLite and Redis)"
        if settings.database.embedded
        else "  FollowUp is running",
        f"  App          {base}",
        f"  API docs     {base}/schema",
        f"  Health       {base}/healthz",
        f"  Data dir     {settings.server.data_dir}",
    ]
    if mail_port is not None:
        lines.append(
            f"  Mail in      smtp://{host}:{mail_port}  (replies to *@{settings.inbound_mail.domain})"
        )
    if demo:
        seeded = demo.issued.as_dict()
        lines += [
            "",
            f"  Demo store   {seeded['name']} (id {seeded['id']})",
            f"  API token    {seeded['api_token']}",
            f"  Publishable  {seeded['publishable_key']}",
            f"  Log in       {base}/login  as {demo.login_email} / {demo.login_password}",
            f"  Try          curl -H 'Authorization: Bearer {seeded['api_token']}' "
            f"{base}/api/v1/checkouts",
            *_story(base, demo_shop_url(base, demo.issued.store.publishable_key)),
        ]
    return "\n".join(lines) + "\n"


def _story(base: str, shop: str) -> list[str]:
    """The whole story in about two minutes: the demo store abandons after 1 minute, texts at once."""
    return [
        "",
        "  See the whole story in two minutes:",
        f"  1. Shop      {shop}",
        '               type an email and a mobile number, tick "Text me", then close the tab',
        f"  2. Phone     {base}/dev/phone  (put that number in From)",
        "               the store's text arrives a minute later; texts wait for 08:00-21:00",
        "               in the shopper's time zone. Reply to it from there.",
        f'  3. Inbox     {base}/inbox  (log in above): answer, press "Create discount code"',
        "  4. Open the cart link from the inbox: the cart comes back with the code; place the order",
        f"  5. Dashboard {base}/dashboard  shows the recovered revenue",
    ]


def dev_settings(settings: Settings, host: str, port: int) -> Settings:
    """Links in messages point at the address `followup dev` serves, unless one was set."""
    base = f"http://{host}:{port}"
    if settings.server.public_url != DEFAULTS["PUBLIC_URL"] or base == settings.server.public_url:
        return settings
    changed = replace(settings, server=replace(settings.server, public_url=base))
    use_settings(changed)
    return changed


@contextlib.contextmanager
def _survive_stop_signal() -> Iterator[None]:
    """Keep the process alive after uvicorn's graceful stop so our own cleanup runs.

    uvicorn re-raises the SIGINT or SIGTERM that stopped it once it has shut down; under the
    default handlers that kills the process on the spot, before the embedded Redis is stopped.
    """
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _stop_worker(worker: Worker, main: asyncio.Task[None]) -> None:
    """Cancel the polling loop and any job in flight (each is safe to run again), then close.

    arq's close() cancels in-flight jobs itself and then awaits them, so a job that was running
    re-raised its cancellation out of close() and the process exited 1 without cleaning up.
    """
    jobs = list(worker.tasks.values())
    for task in (main, *jobs):
        task.cancel()
    await asyncio.gather(main, *jobs, return_exceptions=True)
    worker.tasks.clear()
    await worker.close()


async def run_dev(settings: Settings, host: str, port: int, mail_port: int | None = None) -> None:
    with _survive_stop_signal():
        await _run_dev(dev_settings(settings, host, port), host, port, mail_port)


async def _start_mail(settings: Settings, host: str, port: int) -> asyncio.Server | None:
    """The SMTP receiver on the dev loop, so a developer can answer an email from /dev/outbox."""
    try:
        return await receiver.start(settings, host, port, connect_redis(settings))
    except OSError as exc:
        log.warning("mail receiver not started on port %s: %s", port, exc)
        return None


async def _run_dev(settings: Settings, host: str, port: int, mail_port: int | None) -> None:
    await migrate(settings)
    redis_url(settings)  # start the embedded Redis before anything connects to it
    await init_db(settings)
    wire()  # before the demo store is created: new stores are seeded through the wiring
    try:
        demo = await seed_demo(f"http://{host}:{port}")
        app = create_app(settings, manage_db=False)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
            )
        )
        worker = build_worker(settings, manage_db=False)
        wanted = mail_port if mail_port is not None else port + 25
        mail = await _start_mail(settings, host, wanted) if settings.inbound_mail.domain else None
        shown = mail.sockets[0].getsockname()[1] if mail and mail.sockets else None
        print(_banner(settings, host, port, demo, shown), flush=True)
        worker_task = asyncio.create_task(worker.async_run())
        try:
            await server.serve()
            if server.force_exit:  # a second interrupt: uvicorn skipped the app's shutdown
                await server.lifespan.shutdown()  # so the app closes its Redis and queue itself
        finally:
            if mail is not None:
                mail.close()
            await _stop_worker(worker, worker_task)
    finally:
        await close_db()
        stop_embedded()  # the server this process started goes with it
