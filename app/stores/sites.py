"""Which URLs are a store's own site: the only places a magic link may send a shopper."""

from __future__ import annotations

import string
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from app.stores.models import Platform, Store

Origin = tuple[str, str, int]
"""(scheme, host, port), the way browsers compare sites."""

DEFAULT_PORTS = {"http": 80, "https": 443}
PLATFORM_CHECKOUT_HOSTS: dict[str, tuple[str, ...]] = {
    # Shopify's own checkout host for stores without one on their domain (legacy web checkout,
    # `https://checkout.shopify.com/{shop_id}/checkouts/{token}`); the shop's myshopify domain is
    # the store's domain itself and its primary domain is in allowed_origins since install.
    Platform.SHOPIFY: ("checkout.shopify.com",),
}
_UNSAFE = frozenset(string.whitespace) | {"\\", "\x00"} | {chr(c) for c in range(0x20)}


def _parts(url: str) -> SplitResult | None:
    """The URL split, or None when browsers and Python could read it differently."""
    if not url or len(url) > 2048 or any(ch in _UNSAFE for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return parts


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an absolute http(s) URL with no credentials, else None."""
    parts = _parts(url)
    if parts is None:
        return None
    host = (parts.hostname or "").rstrip(".")
    return parts.scheme, host, parts.port or DEFAULT_PORTS[parts.scheme]


def site_origins(platform: str, domain: str, allowed_origins: Iterable[str]) -> frozenset[Origin]:
    """The store's domain (with or without www., http or https), its allowed origins, and its
    platform's own checkout hosts. A "*" origin (any page may capture) allows no landing."""
    bare = domain.strip().lower().rstrip(".").removeprefix("www.")
    found: set[Origin | None] = set()
    for host in (bare, f"www.{bare}"):
        found |= {origin_of(f"https://{host}/"), origin_of(f"http://{host}/")}
    found |= {origin_of(o.strip()) for o in allowed_origins if o.strip() != "*"}
    found |= {origin_of(f"https://{h}/") for h in PLATFORM_CHECKOUT_HOSTS.get(platform, ())}
    return frozenset(o for o in found if o is not None)


def is_own_site(url: str, origins: frozenset[Origin]) -> bool:
    """Whether following `url` keeps the shopper on the store's own site (or its checkout)."""
    origin = origin_of(url)
    return origin is not None and origin in origins


def of_store(store: Store) -> frozenset[Origin]:
    return site_origins(str(store.platform), store.domain, store.allowed_origins or [])
