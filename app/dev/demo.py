"""Seed a demo store with realistic checkouts on an empty database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts import services
from app.checkouts.models import Checkout
from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem, OrderInput
from app.core.timeutil import utcnow
from app.stores.models import Platform, Store
from app.stores.services import IssuedCredentials, create_store

DEMO_LOGIN = "owner@demo.followup.local"
PRODUCTS = [
    ("Linen Throw Pillow", "Sage / 20 x 20", "LTP-SAGE-20", Decimal("48.00"), "pillow"),
    ("Stoneware Mug", "Oat", "MUG-OAT", Decimal("22.00"), "mug"),
    ("Beeswax Candle", "Large", "CND-BW-L", Decimal("34.00"), "candle"),
    ("Walnut Serving Board", None, "WSB-01", Decimal("65.00"), "board"),
]
SHOPPERS = [
    ("Maya", "Okafor", "maya.okafor@example.com", "+14155550173", "US", True),
    ("Luis", "Serrano", "luis.serrano@example.net", "+12075550148", "US", True),
    ("Aiko", "Tanaka", "aiko.tanaka@example.org", None, "US", False),
    ("Sam", "Rivera", "sam.rivera@example.com", "+13125550199", "US", False),
    ("Priya", "Natarajan", "priya.n@example.com", "+16175550123", "US", True),
]


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
        abandon_after_seconds=900,
        sms_number="+14155550100",
        timezone="America/Los_Angeles",
    )
    store = issued.store
    store.allowed_origins = [public_url]
    await store.save(update_fields=["allowed_origins"])
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
                product_url=f"{public_url}/demo/shop",
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
                recovery_url=f"{public_url}/demo/shop?restore={token}",
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
