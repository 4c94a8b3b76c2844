"""Store lifecycle: creation with fresh credentials, lookup by each kind of key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import phonenumbers

from app.core.cache import TTLCache
from app.core.security import new_token, token_digest
from app.stores.models import Platform, Store, StoreStatus


class StoreInputError(ValueError):
    """Raised with a message fit to show the merchant."""


@dataclass(frozen=True, slots=True)
class IssuedCredentials:
    """Secrets shown once, at creation; only their digests or ciphertexts are kept."""

    store: Store
    api_token: str
    webhook_secret: str | None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.store.id,
            "platform": str(self.store.platform),
            "domain": self.store.domain,
            "name": self.store.name,
            "api_token": self.api_token,
            "publishable_key": self.store.publishable_key,
            "abandon_after_seconds": self.store.abandon_after_seconds,
            "sms_number": self.store.sms_number,
        }
        if self.webhook_secret:
            data["webhook_secret"] = self.webhook_secret
        return data


def normalize_domain(domain: str) -> str:
    value = domain.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if not value or "/" in value or " " in value or len(value) > 255:
        raise StoreInputError(
            f"invalid domain {domain!r}: expected a host name like shop.example.com"
        )
    return value


def normalize_sms_number(number: str | None) -> str | None:
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        raise StoreInputError(f"invalid SMS number {number!r}: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise StoreInputError(f"invalid SMS number {number!r}: not a dialable E.164 number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


StoreSeeder = Callable[[Store], Awaitable[object]]
# What every new store starts with (recovery's default flow); domains that build on stores
# register here through app.wiring, so stores never imports them.
_seeders: list[StoreSeeder] = []


def seed_new_stores_with(seeder: StoreSeeder) -> None:
    if seeder not in _seeders:
        _seeders.append(seeder)


async def create_store(
    *,
    platform: Platform,
    domain: str,
    name: str | None = None,
    abandon_after_seconds: int = 900,
    sms_number: str | None = None,
    timezone: str = "UTC",
    currency: str = "USD",
    locale: str = "en_US",
) -> IssuedCredentials:
    if not 60 <= abandon_after_seconds <= 7 * 24 * 3600:
        raise StoreInputError("abandon-after must be between 60 seconds and 7 days")
    domain = normalize_domain(domain)
    if await Store.exists(platform=platform, domain=domain):
        raise StoreInputError(f"a {platform} store for {domain} already exists")
    api_token = new_token("fu_sk")
    webhook_secret = new_token("whsec", 32) if platform != Platform.SHOPIFY else None
    store = await Store.create(
        platform=platform,
        domain=domain,
        name=name or domain,
        abandon_after_seconds=abandon_after_seconds,
        sms_number=normalize_sms_number(sms_number),
        timezone=timezone,
        currency=currency.upper(),
        locale=locale,
        api_token_digest=token_digest(api_token),
        publishable_key=new_token("fu_pk", 16),
        webhook_secret=webhook_secret,
    )
    for seed in _seeders:
        await seed(store)
    return IssuedCredentials(store=store, api_token=api_token, webhook_secret=webhook_secret)


# Capture endpoints look a store up on every delivery; a few seconds of staleness is harmless
# there (a re-installed shop gets a 5xx and Shopify retries), a query per webhook is not.
_capture_cache: TTLCache[Store] = TTLCache(ttl=5.0)


async def capture_store(kind: str, key: str | int) -> Store | None:
    """Cached lookup for the capture path only; everything else reads the database."""
    try:
        load = _CAPTURE_LOOKUPS[kind]
    except KeyError:
        raise ValueError(f"unknown capture lookup {kind!r}") from None
    return await _capture_cache.get((kind, key), lambda: load(key))


# Work on the per-send and per-notification paths reads the store by id before any lock (throttle
# key, enrichment, attribution windows); whatever decides reads it fresh under the lock.
_recent: TTLCache[Store] = TTLCache(ttl=2.0)


async def recent_store(store_id: int) -> Store | None:
    """The store as seen within the last two seconds (edits reach every process within that)."""
    return await _recent.get(store_id, lambda: Store.get_or_none(id=store_id))


def forget_cached_stores() -> None:
    _capture_cache.clear()
    _recent.clear()


async def store_for_api_token(token: str) -> Store | None:
    return await Store.get_or_none(api_token_digest=token_digest(token))


async def store_for_publishable_key(key: str) -> Store | None:
    return await Store.get_or_none(publishable_key=key)


async def store_for_shop_domain(domain: str) -> Store | None:
    return await Store.get_or_none(platform=Platform.SHOPIFY, domain=domain.strip().lower())


async def _active_sms_number(number: str | int) -> Store | None:
    """An inbound text, by the store number it was sent to."""
    return await Store.get_or_none(sms_number=str(number), status=StoreStatus.ACTIVE)


async def _woocommerce_id(store_id: str | int) -> Store | None:
    return await Store.get_or_none(id=int(store_id), platform=Platform.WOOCOMMERCE)


async def _magento_id(store_id: str | int) -> Store | None:
    return await Store.get_or_none(id=int(store_id), platform=Platform.MAGENTO)


_CAPTURE_LOOKUPS: dict[str, Callable[[str | int], Awaitable[Store | None]]] = {
    "shopify": lambda domain: store_for_shop_domain(str(domain)),
    "sms": _active_sms_number,
    "woocommerce": _woocommerce_id,
    "magento": _magento_id,
    "collect": lambda key: store_for_publishable_key(str(key)),
}
