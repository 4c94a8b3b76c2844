"""Shopify Flow triggers: the extensions `shopify app build` validates, fired with flowTriggerReceive."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from app.checkouts.models import Checkout
from app.checkouts.services import settle
from app.core import events
from app.core.outbox import OutboxEvent
from app.core.timeutil import utcnow
from app.integrations.shopify import flow
from app.messaging.models import Author, Channel, Direction, Message
from tests.fakes.shopify_graphql import deployed_flow_triggers
from tests.hooks.conftest import abandoned_checkout
from tests.shopify.conftest import SHOP
from tests.shopify.test_shopify_cli import _build, app_copy  # noqa: F401  (fixture)

EXTENSIONS = Path(__file__).resolve().parents[2] / "shopify_extension" / "extensions"
NAMES = {
    flow.ABANDONED: "Checkout abandoned (FollowUp)",
    flow.RECOVERED: "Checkout recovered (FollowUp)",
    flow.REPLIED: "Shopper replied (FollowUp)",
}
# Custom field types a Flow trigger accepts (Shopify's trigger reference, and @shopify/cli's list).
FIELD_TYPES = {
    "single_line_text_field",
    "multi_line_text_field",
    "email",
    "url",
    "boolean",
    "number_integer",
    "number_decimal",
}


def test_the_three_triggers_follow_shopifys_rules() -> None:
    found = {}
    for toml in EXTENSIONS.glob("*/shopify.extension.toml"):
        config = tomllib.loads(toml.read_text())
        for ext in config.get("extensions", []):
            if ext["type"] == "flow_trigger":
                found[ext["handle"]] = (ext, config["settings"]["fields"])
    assert {h: e["name"] for h, (e, _) in found.items()} == NAMES
    for handle, (_, fields) in found.items():
        assert len(handle) <= 30 and re.fullmatch(r"[a-z0-9-]+", handle)
        assert all(f["type"] in FIELD_TYPES and f["key"] for f in fields), handle


async def _dispatch(name: str) -> None:
    event = await OutboxEvent.filter(name=name).order_by("-id").first()
    assert event is not None
    assert await events.dispatch(event.id)


async def test_an_abandoned_checkout_starts_the_flow_trigger(installed, shopify) -> None:
    checkout = await abandoned_checkout(installed, "flow-1", phone="+14155550173")
    await Checkout.filter(id=checkout.id).update(recovery_url="https://velvetferngoods.example/r")
    await _dispatch(events.CHECKOUT_ABANDONED)
    (fired,) = shopify.shop(SHOP).flow_triggers
    assert fired == {
        "handle": "followup-checkout-abandoned",
        "payload": {
            "Checkout token": "flow-1",
            "Email": "flow-1@example.com",
            "Phone": "+14155550173",
            "Total": 62.5,
            "Currency": "USD",
            "Recovery URL": "https://velvetferngoods.example/r",
        },
    }


async def test_a_recovered_checkout_starts_its_trigger_with_the_order(installed, shopify) -> None:
    checkout = await abandoned_checkout(installed, "flow-2")
    await Checkout.filter(id=checkout.id).update(recovery_contacted_at=utcnow())
    assert await settle(checkout.id, utcnow(), "5551234") is not None
    await _dispatch(events.CHECKOUT_RECOVERED)
    (fired,) = shopify.shop(SHOP).flow_triggers
    assert fired["handle"] == "followup-checkout-recovered"
    assert fired["payload"]["Order ID"] == "5551234" and fired["payload"]["Total"] == 62.5


async def test_a_shopper_reply_starts_its_trigger(installed, shopify) -> None:
    checkout = await abandoned_checkout(installed, "flow-3", phone="+14155550173")
    reply = await Message.create(
        store=installed,
        contact_id=checkout.contact_id,  # type: ignore[attr-defined]
        checkout=checkout,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        author=Author.SHOPPER,
        to_address="+15005550006",
        from_address="+14155550173",
        body="Is the fern still in stock?",
    )
    await events.record(
        events.SHOPPER_REPLIED, installed.id, reply.id, {"checkout_id": checkout.id}, using=None
    )
    await _dispatch(events.SHOPPER_REPLIED)
    (fired,) = shopify.shop(SHOP).flow_triggers
    assert fired == {
        "handle": "followup-shopper-replied",
        "payload": {
            "Channel": "sms",
            "Message": "Is the fern still in stock?",
            "Email": "flow-3@example.com",
            "Phone": "+14155550173",
            "Checkout token": "flow-3",
        },
    }


async def test_flow_refusing_a_payload_is_final_and_logged(installed, shopify, monkeypatch) -> None:
    """The fake holds the deployed field list: a payload that drifts from the TOML is refused."""
    checkout = await abandoned_checkout(installed, "flow-4")
    event = await OutboxEvent.get(name=events.CHECKOUT_ABANDONED)
    triggers = deployed_flow_triggers()
    triggers[flow.ABANDONED].add("Shoe size")
    monkeypatch.setattr("tests.fakes.shopify_graphql.deployed_flow_triggers", lambda: triggers)
    assert await flow.fire(event) is False
    assert shopify.shop(SHOP).flow_triggers == [] and checkout.id


async def test_other_platforms_fire_nothing(shopify) -> None:
    from tests.factories import make_store

    store = (await make_store("custom")).store
    await abandoned_checkout(store, "flow-5")
    event = await OutboxEvent.get(name=events.CHECKOUT_ABANDONED)
    assert await flow.fire(event) is False and shopify.graphql_requests == []


@pytest.mark.needs_tool("node")
def test_shopify_app_build_loads_the_flow_triggers(app_copy: Path) -> None:  # noqa: F811
    built = _build(app_copy)
    assert built.returncode == 0, built.stdout + built.stderr
    toml = app_copy / "extensions" / "followup-shopper-replied" / "shopify.extension.toml"
    toml.write_text(toml.read_text().replace("followup-shopper-replied", "x" * 60))
    broken = _build(app_copy)
    assert broken.returncode != 0 and "handle" in broken.stdout + broken.stderr
