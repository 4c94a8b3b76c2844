"""Fresh at send time: a cart's lines re-read from the store right before a step is rendered.

Shopify answers through a batched Admin GraphQL `nodes(ids:)`, WooCommerce through a signed
lookup on our plugin; custom and snippet stores have nothing to ask, so their carts go out as
last captured. Answers are cached in Redis for FOLLOWUP_FRESH_CACHE_SECONDS and concurrent
lookups of one store are merged into one request, so a batch of sends asks a store once.
A slow, throttled or failing store is never waited for past FOLLOWUP_FRESH_TIMEOUT_SECONDS:
the captured cart is used, and the fallback is logged.

What a message then shows (`apply`, pure): lines the store reports sold out are left out (or
the step is skipped: the flow's `sold_out` choice), each line at the price the store charges
now, and a lower price as a drop ("now $X, was $Y"). A price in another currency than the
cart's is never compared or shown: that line keeps its captured price.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.checkouts.current import CurrentLine
from app.core.logging import ctx
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)
COALESCE_SECONDS = 0.05  # lookups of one store arriving this close together share a request
Reader = Callable[[Store, list[str], float], Awaitable[dict[str, CurrentLine]]]


@dataclass(frozen=True, slots=True)
class Cart:
    """The cart as a message may show it; `source` says whether the store was asked."""

    items: list[dict[str, Any]]
    sold_out: list[dict[str, Any]] = field(default_factory=list)
    price_drop: bool = False
    changed: bool = False
    subtotal: Decimal | None = None  # the items' sum, when the store changed anything
    source: str = "captured"  # fresh | captured | fallback


def captured(line_items: list[dict[str, Any]] | None, source: str = "captured") -> Cart:
    return Cart(list(line_items or []), source=source)


def line_key(platform: str, item: dict[str, Any]) -> str:
    """The id a platform's lookup knows a line by: Shopify's variant; WooCommerce's variation,
    else its product (a simple product has no variation)."""
    found = item.get("variant_id")
    if not found and platform == Platform.WOOCOMMERCE:
        found = item.get("product_id")
    return str(found or "")


def apply(
    line_items: list[dict[str, Any]] | None,
    currency: str,
    current: dict[str, CurrentLine],
    platform: str = Platform.SHOPIFY,
) -> Cart:
    """The captured lines as the store would sell them now (pure). Lines without a variant id,
    or that the store did not answer for, stay as captured."""
    items, sold_out, drop, changed = [], [], False, False
    for item in line_items or []:
        now = current.get(line_key(platform, item))
        if now is None:
            items.append(item)
            continue
        if not now.available:
            sold_out.append(item)
            changed = True
            continue
        updated = _priced(item, now, currency)
        drop |= bool(updated.get("was_price"))
        changed |= updated is not item
        items.append(updated)
    subtotal = sum((_line_total(i) for i in items), Decimal(0)) if changed else None
    return Cart(items, sold_out, drop, changed, subtotal, "fresh")


def _priced(item: dict[str, Any], now: CurrentLine, currency: str) -> dict[str, Any]:
    if now.currency.upper() != (currency or "").upper():
        return item  # another currency (a presentment price): nothing to compare, nothing shown
    was = Decimal(str(item.get("unit_price") or "0"))
    if now.price == was:
        return item
    quantity = int(item.get("quantity") or 1)
    updated = {**item, "unit_price": str(now.price), "line_total": str(now.price * quantity)}
    if now.price < was:
        updated["was_price"] = str(was)
    return updated


def _line_total(item: dict[str, Any]) -> Decimal:
    raw = item.get("line_total")
    if raw is None:
        raw = Decimal(str(item.get("unit_price") or "0")) * int(item.get("quantity") or 1)
    return Decimal(str(raw))


def reader_for(store: Store) -> Reader | None:
    """The platform's lookup, or None for stores that have nothing to ask (snippet, custom)."""
    if store.platform == Platform.SHOPIFY and store.credentials:
        module = importlib.import_module("app.integrations.shopify.fresh")
    elif store.platform == Platform.WOOCOMMERCE and (store.settings or {}).get("woocommerce_site"):
        module = importlib.import_module("app.integrations.woocommerce.fresh")
    else:
        return None
    reader: Reader = module.current_lines
    return reader


def _line_ids(platform: str, line_items: list[dict[str, Any]] | None) -> set[str]:
    return {key for i in line_items or [] if (key := line_key(platform, i))}


Prices = dict[int, "dict[str, CurrentLine] | None"]
"""store id -> variant id -> what the store says now; None: the store did not answer (fallback)."""


async def look_up(redis: Any, settings: Any, checkouts: list[tuple[Store, Any]]) -> Prices:
    """The current lines of these carts' variants, one request per store at most (before any
    lock: the send path calls this, then renders under its locks with `cart`)."""
    by_store: dict[int, tuple[Store, set[str]]] = {}
    for store, checkout in checkouts:
        if reader_for(store) is not None:
            entry = by_store.setdefault(store.id, (store, set()))
            entry[1].update(_line_ids(str(store.platform), checkout.line_items))
    found = await asyncio.gather(
        *(_current(redis, settings, store, ids) for store, ids in by_store.values())
    )
    return dict(zip(by_store, found, strict=True))


def cart(prices: Prices | None, store: Store, checkout: Any) -> Cart:
    """The checkout's cart as a message may show it, from what `look_up` found."""
    if prices is None or store.id not in prices:
        return captured(checkout.line_items)
    known = prices[store.id]
    if known is None:
        return captured(checkout.line_items, "fallback")
    currency = checkout.currency or store.currency
    return apply(checkout.line_items, currency, known, str(store.platform))


async def _current(
    redis: Any, settings: Any, store: Store, ids: set[str]
) -> dict[str, CurrentLine] | None:
    """Cached answers first, then one (merged) request for the rest; None: fall back."""
    if not ids:
        return {}
    ttl = settings.recovery.fresh_cache_seconds
    known = await _cached(redis, store, ids) if ttl else {}
    missing = ids - set(known)
    if not missing:
        return known
    try:
        fetched = await _merged(store, missing, float(settings.recovery.fresh_timeout_seconds))
    except Exception as exc:  # throttled, down, slow, uninstalled: the captured cart goes out
        log.warning(
            "current prices unavailable, sending the captured cart",
            extra=ctx(store=store.id, error=f"{type(exc).__name__}: {exc}"[:300]),
        )
        return None
    if ttl:
        await _remember(redis, store, fetched, ttl)
    return known | {k: v for k, v in fetched.items() if k in ids}


def _key(store: Store, variant_id: str) -> str:
    return f"fresh:{store.id}:{variant_id}"


async def _cached(redis: Any, store: Store, ids: set[str]) -> dict[str, CurrentLine]:
    if redis is None:
        return {}
    ordered = sorted(ids)
    try:
        values = await redis.mget([_key(store, i) for i in ordered])
    except Exception as exc:  # Redis may lose everything, or be away: ask the store
        log.warning("price cache unavailable: %s", exc)
        return {}
    return {i: CurrentLine.loads(v) for i, v in zip(ordered, values, strict=True) if v}


async def _remember(redis: Any, store: Store, found: dict[str, CurrentLine], ttl: int) -> None:
    if redis is None or not found:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for variant_id, line in found.items():
                pipe.set(_key(store, variant_id), line.dumps(), ex=ttl)
            await pipe.execute()
    except Exception as exc:
        log.warning("price cache unavailable: %s", exc)


@dataclass
class _Round:
    """One request for a store, open for COALESCE_SECONDS to every lookup that arrives."""

    ids: set[str] = field(default_factory=set)
    task: asyncio.Task[dict[str, CurrentLine]] | None = None


_rounds: dict[int, _Round] = {}


async def _merged(store: Store, ids: set[str], wait_seconds: float) -> dict[str, CurrentLine]:
    current = _rounds.get(store.id)
    if current is None or current.task is None or current.task.done():
        current = _Round()
        _rounds[store.id] = current
        current.task = asyncio.create_task(_ask(store, current, wait_seconds))
    current.ids |= ids
    assert current.task is not None
    return await asyncio.shield(current.task)


async def _ask(store: Store, round_: _Round, wait_seconds: float) -> dict[str, CurrentLine]:
    await asyncio.sleep(COALESCE_SECONDS)
    if _rounds.get(store.id) is round_:
        del _rounds[store.id]  # closed: later lookups start the next round
    reader = reader_for(store)
    if reader is None:
        return {}
    async with asyncio.timeout(wait_seconds):
        return await reader(store, sorted(round_.ids), wait_seconds)
