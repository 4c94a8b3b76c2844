"""Installing on a shop: store the tokens, describe the Store from the shop, register webhooks and pixel."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from app.core.logging import ctx
from app.core.timeutil import utcnow
from app.integrations.shopify import registration, tokens
from app.integrations.shopify.client import AdminClient
from app.stores.models import Platform, Store, StoreStatus
from app.stores.services import create_store, store_for_shop_domain

log = logging.getLogger(__name__)

SHOP_QUERY = """
query FollowUpShop {
  shop {
    name
    email
    myshopifyDomain
    currencyCode
    ianaTimezone
    primaryDomain { host url }
  }
  shopLocales(published: true) { locale primary }
}"""


@dataclass(frozen=True, slots=True)
class ShopProfile:
    name: str
    currency: str
    timezone: str
    locale: str
    origins: list[str]
    email: str | None = None

    @classmethod
    def from_graphql(cls, data: dict[str, Any], shop: str) -> ShopProfile:
        info = data["shop"]
        primary = next(
            (s["locale"] for s in data.get("shopLocales") or [] if s.get("primary")), "en"
        )
        hosts = {
            shop,
            info.get("myshopifyDomain") or shop,
            (info.get("primaryDomain") or {}).get("host"),
        }
        return cls(
            name=str(info.get("name") or shop)[:255],
            currency=str(info.get("currencyCode") or "USD")[:3],
            timezone=str(info.get("ianaTimezone") or "UTC")[:64],
            locale=str(primary).replace("-", "_")[:16],
            origins=sorted(f"https://{h}" for h in hosts if h),
            email=str(info["email"])[:320] if info.get("email") else None,
        )


async def _store_for(shop: str) -> Store:
    """The shop's Store: the same row on every re-install."""
    store = await store_for_shop_domain(shop)
    if store is None:
        store = (await create_store(platform=Platform.SHOPIFY, domain=shop)).store
    return store


async def install(shop: str, grant: dict[str, Any]) -> Store:
    """Finish an install from a token grant; idempotent, so a repeated callback or re-install is safe."""
    store = await _store_for(shop)
    await tokens.save(store, tokens.Credentials.from_grant(grant, utcnow()))
    async with AdminClient(store) as admin:
        profile = ShopProfile.from_graphql(await admin.execute(SHOP_QUERY), shop)
        await Store.filter(id=store.id).update(
            name=profile.name,
            currency=profile.currency,
            timezone=profile.timezone,
            locale=profile.locale,
            allowed_origins=profile.origins,
            status=StoreStatus.ACTIVE,
            uninstalled_at=None,
            installed_at=utcnow(),
            settings={**(store.settings or {}), "shop_email": profile.email},
        )
        await store.refresh_from_db()
        await registration.sync_webhooks(admin)
        await registration.activate_pixel(admin, store.publishable_key)
    log.info("shopify store installed", extra=ctx(store=store.id, shop=shop))
    return store
