"""identify, then track: a visitor identified once is recognised on later checkouts and devices."""

from __future__ import annotations

from typing import Any

from app.checkouts.models import Checkout
from app.visitors.models import Visitor
from tests.factories import make_store


async def custom_store(domain: str = "shop.example.com") -> Any:
    return (await make_store("custom", domain=domain)).store


def checkout_started(token: str, **ids: str) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Checkout Started",
        "messageId": f"started-{token}",
        "properties": {
            "checkout_id": token,
            "value": 64,
            "currency": "USD",
            "products": [{"name": "Linen Throw Pillow", "price": 64, "quantity": 1}],
        },
        **ids,
    }


def identify(message_id: str, traits: dict[str, Any] | None = None, **ids: str) -> dict[str, Any]:
    return {"type": "identify", "messageId": message_id, "traits": traits or {}, **ids}


async def send(client: Any, store: Any, *events: dict[str, Any]) -> None:
    response = await client.post(
        f"/collect/v1/events?key={store.publishable_key}", json={"batch": list(events)}
    )
    assert response.status_code == 202, response.text


async def test_identify_then_track_gives_the_checkout_its_contact(client, run_jobs, redis):
    store = await custom_store()
    traits = {"email": "maya@example.com", "phone": "+1 415 555 0173"}
    await send(client, store, identify("id-1", traits, anonymousId="anon-A"))
    await run_jobs()
    await redis.flushdb()  # what we remember lives in the database, not in Redis
    await send(client, store, checkout_started("co-1", anonymousId="anon-A"))
    await run_jobs()
    checkout = await Checkout.get(store=store, token="co-1")
    assert (checkout.email, checkout.phone) == ("maya@example.com", "+14155550173")
    assert checkout.contact_id is not None and checkout.abandon_due_at is not None


async def test_user_id_only_identify_reaches_later_checkouts(client, run_jobs):
    store = await custom_store()
    await send(client, store, identify("id-1", {"email": "ola@example.com"}, userId="user-7"))
    await run_jobs()
    await send(
        client,
        store,
        checkout_started("co-1", userId="user-7"),
        checkout_started("co-2", anonymousId="anon-B", userId="user-7"),
    )
    await run_jobs()
    for token in ("co-1", "co-2"):
        assert (await Checkout.get(store=store, token=token)).email == "ola@example.com"


async def test_same_user_on_a_second_device_is_the_same_contact(client, run_jobs):
    store = await custom_store()
    # Device 1 signs in: anonymousId A, userId U, with traits.
    await send(
        client, store, identify("d1", {"email": "li@example.com"}, anonymousId="A", userId="U")
    )
    # Device 2 signs in as U (no traits), then checks out without sending the userId again.
    await send(client, store, identify("d2", anonymousId="B", userId="U"))
    await run_jobs()
    await send(client, store, checkout_started("co-phone", anonymousId="B"))
    await run_jobs()
    phone_checkout = await Checkout.get(store=store, token="co-phone")
    laptop_identified = await Visitor.get(store=store, key="a:A")
    assert phone_checkout.email == "li@example.com"
    assert phone_checkout.contact_id == laptop_identified.contact_id


async def test_checkout_before_the_identify_is_back_filled_across_devices(client, run_jobs):
    store = await custom_store()
    # Device 2 starts a checkout while signed in as U, whom we do not know yet.
    await send(client, store, checkout_started("co-early", anonymousId="B", userId="U"))
    await run_jobs()
    assert (await Checkout.get(store=store, token="co-early")).email is None
    # Later device 1 identifies U with an email: device 2's checkout becomes recoverable.
    await send(
        client, store, identify("d1", {"email": "sam@example.com"}, anonymousId="A", userId="U")
    )
    await run_jobs()
    checkout = await Checkout.get(store=store, token="co-early")
    assert checkout.email == "sam@example.com" and checkout.abandon_due_at is not None


async def test_alias_links_an_anonymous_visitor_to_a_user(client, run_jobs):
    store = await custom_store()
    await send(client, store, checkout_started("co-anon", anonymousId="anon-Z"))
    alias = {"type": "alias", "messageId": "al-1", "previousId": "anon-Z", "userId": "acct-3"}
    await send(client, store, alias)
    await run_jobs()
    await send(client, store, identify("id-3", {"email": "kim@example.com"}, userId="acct-3"))
    await run_jobs()
    assert (await Checkout.get(store=store, token="co-anon")).email == "kim@example.com"


async def test_what_a_store_learned_stays_in_that_store(client, run_jobs):
    first, second = await custom_store(), await custom_store("other.example.com")
    await send(client, first, identify("id-1", {"email": "dev@example.com"}, anonymousId="same"))
    await run_jobs()
    await send(client, second, checkout_started("co-x", anonymousId="same"))
    await run_jobs()
    checkout = await Checkout.get(store=second, token="co-x")
    assert checkout.email is None and checkout.contact_id is None


async def test_erasing_a_person_forgets_their_visitor_ids(client, run_jobs):
    from app.privacy.registry import Subject
    from app.privacy.services import erase_customer

    store = await custom_store()
    await send(client, store, identify("id-1", {"email": "gone@example.com"}, anonymousId="G"))
    await run_jobs()
    counts = await erase_customer(
        Subject(store_id=store.id, emails=frozenset({"gone@example.com"}))
    )
    assert counts["visitors"] == 1 and await Visitor.filter(store=store).count() == 0
    await send(client, store, checkout_started("co-after", anonymousId="G"))
    await run_jobs()
    assert (await Checkout.get(store=store, token="co-after")).email is None
