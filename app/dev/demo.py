"""Seed a demo store with realistic checkouts on an empty database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts import services
from app.checkouts.models import Checkout
from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem, OrderInput
from app.core.timeutil import utcnow
from app.recovery import pool
from app.recovery.discounts import upload_pool
from app.recovery.models import Flow, FlowStep
from app.stores.models import Platform, Store
from app.stores.services import IssuedCredentials, create_store

DEMO_LOGIN = "owner@demo.followup.local"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DEMO_ABANDON_AFTER_SECONDS = 60  # the whole story fits in two minutes; a real store keeps 15
PRODUCTS = [
    ("Linen Throw Pillow", "Sage / 20 x 20", "LTP-SAGE-20", Decimal("48.00"), "pillow"),
    ("Stoneware Mug", "Oat", "MUG-OAT", Decimal("22.00"), "mug"),
    ("Cedar Candle", None, "CANDLE", Decimal("18.50"), "candle"),
    ("Olive Wood Board", None, "BOARD", Decimal("36.00"), "board"),
]
SHOPPERS = [
    ("Maya", "Okafor", "maya.okafor@example.com", "+14155550173", "US", True),
    ("Luis", "Serrano", "luis.serrano@example.net", "+12075550148", "US", True),
    ("Aiko", "Tanaka", "aiko.tanaka@example.org", None, "US", False),
    ("Sam", "Rivera", "sam.rivera@example.com", "+13125550199", "US", False),
    ("Priya", "Natarajan", "priya.n@example.com", "+16175550123", "US", True),
]


def demo_shop_url(public_url: str, publishable_key: str) -> str:
    """The demo checkout page, a plain HTML shop that installs the snippet like any custom store."""
    return f"{public_url}/static/demo/checkout.html?{urlencode({'key': publishable_key})}"


def _demo_cart(picks: list[tuple[str, str | None, str, Decimal, str]], index: int) -> str:
    return ",".join(f"{img}:{1 + index % 2}" for *_, img in picks)


async def _seed_code_pool(store: Store) -> None:
    """Like a real custom store: make single-use codes in the shop, upload them, say their worth."""
    codes = ["FERN-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6)) for _ in range(25)]
    await upload_pool(store, codes, None)
    await pool.save_terms(store, pool.PoolTerms("percentage", Decimal("10"), 5))


async def _text_at_once(store: Store) -> None:
    """The demo flow's first text goes out as soon as the cart is abandoned, not 15 minutes later."""
    flow = await Flow.filter(store=store).order_by("id").first()
    if flow is not None:
        await FlowStep.filter(flow=flow, position=0).update(delay_seconds=0)


@dataclass(frozen=True, slots=True)
class Demo:
    issued: IssuedCredentials
    login_email: str
    login_password: str


async def seed_demo(public_url: str) -> Demo | None:
    """Create the demo store and its owner login once; None when the database already holds a store."""
    if await Store.exists():
        return None
    issued = await create_store(
        platform=Platform.CUSTOM,
        domain="demo.followup.local",
        name="Velvet Fern Goods (demo)",
        abandon_after_seconds=DEMO_ABANDON_AFTER_SECONDS,
        sms_number="+14155550100",
        timezone="America/Los_Angeles",
    )
    store = issued.store
    store.allowed_origins = [public_url]
    # The widest window the law allows (08:00-21:00 in the shopper's time), so the demo texts by day.
    store.settings = {
        **(store.settings or {}),
        "recovery": {"quiet_start": "08:00", "quiet_end": "21:00"},
    }
    await store.save(update_fields=["allowed_origins", "settings"])
    await _seed_code_pool(store)
    await _text_at_once(store)
    shop = demo_shop_url(public_url, store.publishable_key)
    now = utcnow()
    ages = [
        timedelta(hours=3),
        timedelta(hours=26),
        timedelta(minutes=4),
        timedelta(days=2),
        timedelta(hours=5),
    ]
    for index, ((first, last, email, phone, country, sms), age) in enumerate(
        zip(SHOPPERS, ages, strict=True)
    ):
        picks = [PRODUCTS[index % 4], PRODUCTS[(index + 1) % 4]][: 1 + index % 2]
        items = [
            LineItem(
                title=t,
                variant_title=v,
                sku=s,
                quantity=1 + (index % 2),
                unit_price=p,
                image_url=f"{public_url}/static/demo/{img}.svg",
                product_url=shop,
            )
            for t, v, s, p, img in picks
        ]
        subtotal = sum((i.unit_price * i.quantity for i in items), Decimal("0"))
        token = f"demo-{index + 1}"
        await services.upsert_checkout(
            store,
            CheckoutInput(
                token=token,
                contact=ContactInput(
                    email=email,
                    phone=phone,
                    first_name=first,
                    last_name=last,
                    country=country,
                    email_consent=True,
                    sms_consent=sms,
                    consent_source="demo",
                    consent_at=now - age,
                ),
                currency="USD",
                line_items=items,
                subtotal=subtotal,
                total=subtotal,
                recovery_url=f"{shop}&{urlencode({'restore': token, 'cart': _demo_cart(picks, index)})}",
                device="mobile" if index % 2 else "desktop",
                created_at=now - age,
                updated_at=now - age,
            ),
            now - age,
        )
        checkout = await Checkout.get(store=store, token=token)
        await services.mark_abandoned(checkout.id, now)
        if index == 3:
            await services.record_order(
                store,
                OrderInput(
                    external_id="demo-order-1001",
                    contact=ContactInput(email=email),
                    currency="USD",
                    total=subtotal,
                    placed_at=now - age + timedelta(hours=20),
                    checkout_token=token,
                ),
            )
    password = secrets.token_urlsafe(12)
    await create_agent(store, DEMO_LOGIN, Role.OWNER, name="Demo Owner", password=password)
    return Demo(issued, DEMO_LOGIN, password)
