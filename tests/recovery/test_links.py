"""Magic links and unsubscribe: click recorded, 302 to the cart with the code, one-click opt-out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from app.checkouts.models import Checkout, ConsentEvent, Contact
from app.core.outbox import OutboxEvent
from app.messaging.models import DeliveryStatus, Message
from app.recovery import links, pool
from app.recovery.discounts import upload_pool
from app.recovery.models import Click, Enrollment, EnrollmentStatus
from app.recovery.sending import run_step
from app.recovery.services import share_link
from app.stores.models import Store
from tests.factories import make_store
from tests.recovery.conftest import abandoned


async def test_magic_link_records_click_and_lands_on_cart_with_code(client, deps, store, clock):
    await upload_pool(store, ["POOL-1"], None)
    await pool.save_terms(store, pool.PoolTerms("percentage", Decimal("15"), 5))
    checkout, enrollment = await abandoned(
        store, clock.now - timedelta(hours=25), total=Decimal("80")
    )
    await Enrollment.filter(id=enrollment.id).update(next_step=2)
    assert await run_step(deps, enrollment.id, 2) == "sent"
    message = await Message.get(enrollment_id=enrollment.id)
    token = links.magic_token(enrollment.id, 2)
    assert f"/r/{token}" in message.html and len(token) < 30
    assert "POOL-1" in message.body and "15% off" in message.body  # the worth the merchant gave
    assert "valid until ." not in message.body  # a pool code without an expiry claims none

    response = await client.get(
        f"/r/{token}", headers={"User-Agent": "Mobile Safari"}, follow_redirects=False
    )
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    query = parse_qs(target.query)
    assert target.netloc == store.domain
    assert query["followup_restore"] == [checkout.token] and query["discount"] == ["POOL-1"]
    assert query["utm_source"] == ["followup"] and query["utm_medium"] == ["email"]
    [click] = await Click.all()
    assert click.message_id == message.id and click.checkout_id == checkout.id
    assert click.user_agent == "Mobile Safari"


async def test_shopify_link_applies_code_through_discount_path(settings):
    url = links.landing_url(
        "shopify",
        "velvet.myshopify.com",
        "https://velvet.myshopify.com/123/checkouts/abc/recover?key=k1",
        "BACK-7KQ2",
        {"utm_source": "followup"},
    )
    parts = urlsplit(url)
    assert parts.path == "/discount/BACK-7KQ2"
    redirect = parse_qs(parts.query)["redirect"][0]
    assert redirect == "/123/checkouts/abc/recover?key=k1&utm_source=followup"


async def test_tampered_or_unknown_token_gives_a_friendly_page(client, store, clock):
    _, enrollment = await abandoned(store, clock.now)
    token = links.magic_token(enrollment.id, 0)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = await client.get(f"/r/{forged}", follow_redirects=False)
    assert response.status_code == 404
    assert "This link is not valid" in response.text
    assert not await Click.exists()


async def test_expired_link_points_to_the_store(client, store, clock):
    _, enrollment = await abandoned(store, clock.now)
    await Enrollment.filter(id=enrollment.id).update(enrolled_at=clock.now - timedelta(days=60))
    response = await client.get(f"/r/{links.magic_token(enrollment.id, 0)}", follow_redirects=False)
    assert response.status_code == 410
    assert f"https://{store.domain}" in response.text


async def test_one_click_unsubscribe_acts_at_once_without_redirect(
    client, deps, store, clock, smtp
):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2), phone=None)
    contact = await Contact.get(id=checkout.contact_id)
    token = links.unsubscribe_token(contact.id)

    page = await client.get(f"/u/{token}")
    assert page.status_code == 200 and "Unsubscribe" in page.text
    await contact.refresh_from_db()
    assert contact.email_opted_out_at is None  # a GET (link scanners) changes nothing

    response = await client.post(
        f"/u/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 200
    await contact.refresh_from_db()
    assert contact.email_opted_out_at is not None
    assert (
        await ConsentEvent.filter(
            contact=contact, channel="email", action="opt_out", source="one_click"
        ).count()
        == 1
    )
    assert await OutboxEvent.filter(name="contact.opted_out", subject_id=contact.id).count() == 1

    # The next email step is skipped under the row lock, not sent.
    await Enrollment.filter(id=enrollment.id).update(next_step=1)
    assert await run_step(deps, enrollment.id, 1) == "skipped"
    assert smtp.messages == []
    again = await client.post(
        f"/u/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == 200
    assert await OutboxEvent.filter(name="contact.opted_out").count() == 1


async def test_unsubscribe_token_of_one_store_is_useless_when_forged(client, settings):
    await make_store("custom", domain="x.example.com")
    response = await client.post(
        "/u/1-AAAAAAAAAAAAAAAA",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 404


async def test_opt_out_event_stops_sequences_with_nothing_left_to_send(store, clock):
    from app.core.events import dispatch

    checkout, enrollment = await abandoned(store, clock.now, phone=None)
    contact = await Contact.get(id=checkout.contact_id)
    from app.recovery.visits import unsubscribe

    done = await unsubscribe(links.unsubscribe_token(contact.id), "one_click")
    assert await dispatch(done.event_id)
    await enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.STOPPED and enrollment.stop_reason == "opted_out"
    assert not await Message.filter(status=DeliveryStatus.PENDING).exists()


async def test_magic_link_never_leads_off_the_stores_site(client, store, clock, caplog):
    """A URL stored before capture checked it (or from a store whose domains changed) is not followed."""
    await upload_pool(store, ["POOL-9"], None)
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    await Checkout.filter(id=checkout.id).update(recovery_url="https://evil.example/steal?x=1")
    await Enrollment.filter(id=enrollment.id).update(next_step=2)
    with caplog.at_level("WARNING", logger="app.recovery"):
        response = await client.get(
            f"/r/{links.magic_token(enrollment.id, 0)}", follow_redirects=False
        )
    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", store.domain, "/")
    assert parse_qs(target.query)["utm_source"] == ["followup"]
    assert "evil.example" not in response.headers["location"]
    [warning] = [r for r in caplog.records if "off the store's site" in r.getMessage()]
    assert warning.ctx == {"store": store.id, "checkout": checkout.id, "host": "evil.example"}
    assert await Click.filter(checkout_id=checkout.id).count() == 1


async def test_magic_link_follows_an_allowed_origin(client, store, clock):
    await Store.filter(id=store.id).update(allowed_origins=["https://pay.shop-checkout.example"])
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    own = "https://pay.shop-checkout.example/checkout?cart=c1"
    await Checkout.filter(id=checkout.id).update(recovery_url=own)
    response = await client.get(f"/r/{links.magic_token(enrollment.id, 0)}", follow_redirects=False)
    assert response.headers["location"].startswith(own + "&utm_source=followup")


async def test_an_agents_link_for_an_unenrolled_cart_stays_on_the_stores_site(store, clock):
    checkout, _ = await abandoned(store, clock.now, enroll=False)
    assert await share_link(checkout) == checkout.recovery_url
    await Checkout.filter(id=checkout.id).update(recovery_url="https://evil.example/steal")
    await checkout.refresh_from_db()
    assert await share_link(checkout) == f"https://{store.domain}/"


def test_tokens_whose_signature_holds_a_dash_still_read(settings) -> None:
    """Signatures are base64url, so they may contain '-', the separator: about one link in six."""
    dashed = [
        (enrollment, links.magic_token(enrollment, links.INBOX_STEP))
        for enrollment in range(1, 400)
        if "-" in links.magic_token(enrollment, links.INBOX_STEP)[-12:]
    ]
    assert dashed, "no signature with a dash in 400 tokens"
    for enrollment, token in dashed:
        assert links.read_magic_token(token) == (enrollment, links.INBOX_STEP), token
    for contact in range(1, 200):
        assert links.read_unsubscribe_token(links.unsubscribe_token(contact)) == contact
    _, _, signature = dashed[0][1].rpartition(".")
    assert links.read_magic_token(f"{dashed[0][0] + 1:x}.{signature}") is None
