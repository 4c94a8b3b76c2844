"""The `followup` command: run the app, the worker, migrations and store administration."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click

from app.config import ConfigError, Settings, load_settings, use_settings

T = TypeVar("T")


def _settings(dev: bool = False) -> Settings:
    try:
        settings = load_settings(dev_mode=dev)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    use_settings(settings)
    from app.core.logging import configure_logging

    configure_logging(settings.server.log_level)
    return settings


def _run(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(factory())


async def _with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    from app.core.db import close_db, init_db
    from app.wiring import wire

    wire()  # every vendor's topic map, provider and event listener, as web and worker do
    await init_db(settings)
    try:
        return await work()
    finally:
        await close_db()


@click.group(help="FollowUp: win back abandoned checkouts.")
@click.version_option(package_name="followup")
def main() -> None:
    pass


@main.command(help="Apply database migrations.")
def migrate() -> None:
    from app.core.db import migrate as run_migrations

    settings = _settings()
    _run(lambda: run_migrations(settings))
    click.echo("database is up to date")


@main.command(help="Serve the web app with uvicorn (use `followup worker` alongside).")
@click.option("--host", default=None, help="Bind address (default FOLLOWUP_HOST).")
@click.option("--port", default=None, type=int, help="Port (default FOLLOWUP_PORT).")
@click.option("--workers", default=1, show_default=True, help="Web processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    import uvicorn

    settings = _settings()
    uvicorn.run(
        "app.server:create_app",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
        access_log=False,
        # Inbox frames are small JSON; per-socket zlib state doubled the memory of an idle
        # websocket (74 -> 37 KiB in bench/inbox.py) and compressed every frame once per socket.
        ws_per_message_deflate=False,
    )


@main.command(help="Run the background worker (jobs, schedules, the repair sweep).")
def worker() -> None:
    from app.worker import build_worker

    settings = _settings()
    try:  # uvloop (shipped with uvicorn[standard]) trims the cost of every database round trip
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    built = build_worker(settings, handle_signals=True)
    built.run()


@main.command(help="Receive shoppers' email replies over SMTP (point an MX record at it).")
@click.option("--host", default=None, help="Bind address (default FOLLOWUP_MAIL_HOST).")
@click.option("--port", default=None, type=int, help="Port (default FOLLOWUP_MAIL_PORT).")
def mail(host: str | None, port: int | None) -> None:
    settings = _settings()
    if not settings.inbound_mail.domain:
        raise click.ClickException(
            "configuration: set FOLLOWUP_INBOUND_EMAIL_DOMAIN to the domain whose MX points here"
        )
    _run(lambda: _with_db(settings, lambda: _serve_mail(settings, host, port)))


async def _serve_mail(settings: Settings, host: str | None, port: int | None) -> None:
    from app.core.redis import connect_queue, connect_redis
    from app.integrations.smtp import receiver

    bind, number = host or settings.inbound_mail.host, port or settings.inbound_mail.port
    redis, queue = connect_redis(settings), await connect_queue(settings)
    server = await receiver.start(settings, bind, number, redis, queue)
    click.echo(f"receiving mail for *@{settings.inbound_mail.domain} on smtp://{bind}:{number}")
    try:
        await server.serve_forever()
    except asyncio.CancelledError:
        pass
    finally:
        server.close()
        await queue.aclose()
        await redis.aclose()


@main.command(help="Migrate, then run web and worker in one process on embedded defaults.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--mail-port", default=None, type=int, help="SMTP receiver port (default: web port + 25)."
)
def dev(port: int, host: str, mail_port: int | None) -> None:
    from app.dev.server import run_dev

    settings = _settings(dev=True)
    _run(lambda: run_dev(settings, host, port, mail_port))


@main.group(help="Manage stores.")
def store() -> None:
    pass


@store.command("create", help="Create a store and print its credentials as JSON (shown once).")
@click.option(
    "--platform", type=click.Choice(["shopify", "woocommerce", "magento", "custom"]), required=True
)
@click.option("--domain", required=True)
@click.option("--name", default=None)
@click.option(
    "--abandon-after",
    "abandon_after",
    type=int,
    default=900,
    show_default=True,
    help="Seconds without activity before a checkout counts as abandoned.",
)
@click.option("--sms-number", default=None, help="The store's SMS sender, E.164.")
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--currency", default="USD", show_default=True)
def store_create(
    platform: str,
    domain: str,
    name: str | None,
    abandon_after: int,
    sms_number: str | None,
    timezone: str,
    currency: str,
) -> None:
    from app.stores.models import Platform
    from app.stores.services import StoreInputError, create_store

    settings = _settings()

    async def work() -> dict[str, Any]:
        issued = await create_store(
            platform=Platform(platform),
            domain=domain,
            name=name,
            abandon_after_seconds=abandon_after,
            sms_number=sms_number,
            timezone=timezone,
            currency=currency,
        )
        data = issued.as_dict()
        if platform in ("woocommerce", "magento"):
            data["webhook_url"] = (
                f"{settings.server.public_url}/webhooks/{platform}/{issued.store.id}"
            )
        return data

    try:
        click.echo(json.dumps(_run(lambda: _with_db(settings, work)), indent=2))
    except StoreInputError as exc:
        raise click.ClickException(str(exc)) from None


@main.group(help="Manage the people who log in: owners, admins and agents.")
def agent() -> None:
    pass


@agent.command(
    "create", help="Create an account; prints an invitation link unless a password is given."
)
@click.option("--store", "store_id", type=int, required=True)
@click.option("--email", required=True)
@click.option(
    "--role", type=click.Choice(["owner", "admin", "agent"]), default="agent", show_default=True
)
@click.option("--name", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def agent_create(
    store_id: int, email: str, role: str, name: str | None, password_stdin: bool
) -> None:
    from app.accounts.models import Role
    from app.accounts.services import AccountError, create_agent
    from app.stores.models import Store

    settings = _settings()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def work() -> dict[str, Any]:
        store = await Store.get_or_none(id=store_id)
        if store is None:
            raise AccountError(f"no store with id {store_id}")
        invitation = await create_agent(store, email, Role(role), name, password)
        data: dict[str, Any] = {
            "id": invitation.agent.id,
            "store": store_id,
            "email": invitation.agent.email,
            "role": role,
        }
        if invitation.token:
            from app.accounts.invitations import send_invitation

            data["invite_url"] = f"{settings.server.public_url}/invite/{invitation.token}"
            data["emailed"] = await send_invitation(
                settings, invitation.agent.email, store.name, data["invite_url"]
            )
        return data

    try:
        click.echo(json.dumps(_run(lambda: _with_db(settings, work)), indent=2))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None


@main.command(help="Replay stored raw events through processing (idempotent).")
@click.option("--store", "store_id", type=int, default=None)
@click.option(
    "--status",
    type=click.Choice(["failed", "ignored", "processed", "pending", "all"]),
    default="failed",
    show_default=True,
)
@click.option("--topic", default=None)
@click.option("--since", default=None, help="Only events received after this ISO time.")
def reprocess(store_id: int | None, status: str, topic: str | None, since: str | None) -> None:
    from app.ingest.replay import replay

    settings = _settings()
    counts = _run(lambda: _with_db(settings, lambda: replay(store_id, status, topic, since)))
    click.echo(json.dumps(counts))


@main.group(help="Shopify: import history.")
def shopify() -> None:
    pass


@shopify.command("import", help="Import abandoned checkouts from Shopify (idempotent).")
@click.option("--store", "store_id", type=int, required=True, help="FollowUp store id.")
@click.option("--since", default="7d", show_default=True, help="7d, 48h, 90m or an ISO time.")
def shopify_import(store_id: int, since: str) -> None:
    from app.integrations.shopify.cli import run_import

    settings = _settings()
    counts = _run(lambda: _with_db(settings, lambda: run_import(store_id, since)))
    click.echo(json.dumps(counts))


@main.group(help="Contacts: customer history.")
def contacts() -> None:
    pass


@contacts.command(
    "rebuild", help="Rebuild every contact's order history from stored orders (idempotent)."
)
@click.option("--store", "store_id", type=int, default=None, help="Only this store (default: all).")
def contacts_rebuild(store_id: int | None) -> None:
    from app.checkouts.cli import run_rebuild

    settings = _settings()
    counts = _run(lambda: _with_db(settings, lambda: run_rebuild(store_id)))
    click.echo(json.dumps(counts))


@main.command(hidden=True, help="Developers: write migrations for model changes.")
def makemigrations() -> None:
    from tortoise.cli.cli import run_cli_async

    _settings()
    sys.exit(
        _run(
            lambda: run_cli_async(
                ["-c", "app.core.migration_config.TORTOISE_ORM", "makemigrations"]
            )
        )
    )


if __name__ == "__main__":
    main()
