"""Expiring offline tokens: kept as one encrypted JSON document, refreshed once however many workers ask."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.core.logging import ctx
from app.core.timeutil import parse_datetime, utcnow
from app.integrations.shopify import oauth
from app.stores.models import Store

log = logging.getLogger(__name__)
# Refresh this long before expiry, so a token never dies in the middle of a backfill page.
REFRESH_MARGIN = timedelta(minutes=5)


class NotInstalled(RuntimeError):
    """The store holds no usable Shopify token: it was uninstalled or never finished installing."""


@dataclass(frozen=True, slots=True)
class Credentials:
    access_token: str
    scopes: str
    expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None

    @classmethod
    def from_grant(cls, reply: dict[str, Any], now: datetime) -> Credentials:
        """Build from an access_token reply; `expires_in` only appears on expiring tokens."""

        def after(key: str) -> datetime | None:
            seconds = reply.get(key)
            return now + timedelta(seconds=int(seconds)) if seconds else None

        return cls(
            access_token=str(reply["access_token"]),
            scopes=str(reply.get("scope") or ""),
            expires_at=after("expires_in"),
            refresh_token=reply.get("refresh_token"),
            refresh_expires_at=after("refresh_token_expires_in"),
        )

    def to_json(self) -> str:
        data = asdict(self)
        for key in ("expires_at", "refresh_expires_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Credentials:
        data = json.loads(text)
        return cls(
            access_token=data["access_token"],
            scopes=data.get("scopes") or "",
            expires_at=parse_datetime(data.get("expires_at")),
            refresh_token=data.get("refresh_token"),
            refresh_expires_at=parse_datetime(data.get("refresh_expires_at")),
        )

    def fresh(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at - REFRESH_MARGIN > now


def load(store: Store) -> Credentials:
    if not store.credentials:
        raise NotInstalled(f"store {store.id} has no Shopify credentials")
    return Credentials.from_json(store.credentials)


async def save(store: Store, credentials: Credentials | None) -> None:
    """Unconditional write (install, uninstall); bumps the version so racing refreshes lose."""
    await Store.filter(id=store.id).update(
        credentials=credentials.to_json() if credentials else None,
        credentials_version=F("credentials_version") + 1,
    )
    await store.refresh_from_db(fields=["credentials", "credentials_version"])


async def access_token(store: Store) -> str:
    """A token valid for a while yet; refreshes it first when it is about to expire."""
    credentials = load(store)
    if credentials.fresh(utcnow()):
        return credentials.access_token
    return (await rotate(store, stale=credentials.access_token)).access_token


async def rotate(store: Store, *, stale: str) -> Credentials:
    """Refresh once across all workers: the store row is locked while we talk to Shopify.

    Shopify rotates the refresh token on every use, so a second refresh with the old one would
    fail (or worse, orphan the new one). Whoever takes the lock second finds the token already
    replaced and uses it. On SQLite, where row locks do not exist, the version check below is
    the guard: the loser's write changes no row and it re-reads the winner's credentials.
    """
    async with in_transaction() as conn:
        locked = await Store.select_for_update().using_db(conn).get(id=store.id)
        current = load(locked)
        if current.access_token != stale and current.fresh(utcnow()):
            _adopt(store, locked)
            return current
        if not current.refresh_token:
            raise NotInstalled(f"store {store.id}: token expired and no refresh token is held")
        reply = await oauth.refresh(locked.domain, current.refresh_token)
        renewed = Credentials.from_grant(reply, utcnow())
        won = (
            await Store.filter(id=store.id, credentials_version=locked.credentials_version)
            .using_db(conn)
            .update(
                credentials=renewed.to_json(), credentials_version=locked.credentials_version + 1
            )
        )
    if not won:
        await store.refresh_from_db()
        return load(store)
    log.info("shopify token refreshed", extra=ctx(store=store.id))
    store.credentials = renewed.to_json()
    store.credentials_version = locked.credentials_version + 1
    return renewed


def _adopt(store: Store, locked: Store) -> None:
    store.credentials = locked.credentials
    store.credentials_version = locked.credentials_version
