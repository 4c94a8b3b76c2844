"""Shopify Flow triggers: FollowUp's events start merchants' workflows through `flowTriggerReceive`.

The handles and field keys here are the ones declared in
`shopify_extension/extensions/followup-*/shopify.extension.toml`; Flow refuses a payload whose keys
differ, so tests check the two against each other.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from app.checkouts.models import Checkout, Contact
from app.core import events
from app.core.logging import ctx
from app.core.money import quantize
from app.core.outbox import OutboxEvent
from app.integrations.shopify import tokens
from app.integrations.shopify.client import AdminClient, UserErrors
from app.messaging.models import Message
from app.stores.models import Platform, Store, StoreStatus

log = logging.getLogger(__name__)

ABANDONED = "followup-checkout-abandoned"
RECOVERED = "followup-checkout-recovered"
REPLIED = "followup-shopper-replied"
HANDLES = {
    events.CHECKOUT_ABANDONED: ABANDONED,
    events.CHECKOUT_RECOVERED: RECOVERED,
    events.SHOPPER_REPLIED: REPLIED,
}
TRIGGER = """
mutation FollowUpTrigger($handle: String!, $payload: JSON!) {
  flowTriggerReceive(handle: $handle, payload: $payload) { userErrors { field message } }
}
"""


def _contact_fields(checkout: Checkout | None, contact: Contact | None) -> dict[str, Any]:
    email = (contact.email if contact else None) or (checkout.email if checkout else None)
    phone = (contact.phone if contact else None) or (checkout.phone if checkout else None)
    return {"Email": email or "", "Phone": phone or ""}


def _total(checkout: Checkout) -> float:
    """Flow's number_decimal field takes a JSON number; rounded to the currency first."""
    return float(quantize(Decimal(checkout.total), checkout.currency))


async def _checkout_payload(event: OutboxEvent, store: Store) -> dict[str, Any] | None:
    checkout = await Checkout.get_or_none(id=event.subject_id, store_id=event.store_id)
    if checkout is None:
        return None
    contact = await Contact.get_or_none(id=checkout.contact_id) if checkout.contact_id else None
    payload: dict[str, Any] = {
        "Checkout token": checkout.token,
        **_contact_fields(checkout, contact),
    }
    payload |= {"Total": _total(checkout), "Currency": checkout.currency}
    if event.name == events.CHECKOUT_ABANDONED:
        payload["Recovery URL"] = checkout.recovery_url or f"https://{store.domain}/"
    else:
        payload["Order ID"] = checkout.order_external_id or str(event.payload.get("order") or "")
    return payload


async def _reply_payload(event: OutboxEvent) -> dict[str, Any] | None:
    message = await Message.get_or_none(id=event.subject_id, store_id=event.store_id)
    if message is None:
        return None
    checkout_id = event.payload.get("checkout_id")
    checkout = await Checkout.get_or_none(id=checkout_id) if checkout_id else None
    contact = await Contact.get_or_none(id=message.contact_id) if message.contact_id else None
    return {
        "Channel": str(message.channel),
        "Message": message.body,
        **_contact_fields(checkout, contact),
        "Checkout token": checkout.token if checkout else "",
    }


async def payload_for(event: OutboxEvent, store: Store) -> dict[str, Any] | None:
    if event.name == events.SHOPPER_REPLIED:
        return await _reply_payload(event)
    return await _checkout_payload(event, store)


async def fire(event: OutboxEvent) -> bool:
    """Start the store's Flow workflows for this event; Shopify stores that are installed only.

    Flow's refusals arrive as userErrors (a shop without the trigger in use, a bad field): they
    are final and logged. Transport errors raise, so the outbox retries the event.
    """
    store = await Store.get_or_none(id=event.store_id)
    if store is None or store.platform != Platform.SHOPIFY or store.status != StoreStatus.ACTIVE:
        return False
    if not store.credentials:
        return False
    payload = await payload_for(event, store)
    if payload is None:
        return False
    try:
        async with AdminClient(store) as admin:
            await admin.mutate(
                TRIGGER, {"handle": HANDLES[event.name], "payload": payload}, "flowTriggerReceive"
            )
    except UserErrors as exc:
        log.warning("flow trigger refused", extra=ctx(store=store.id, error=str(exc)))
        return False
    except tokens.NotInstalled:
        return False
    return True


async def fire_trigger(event: OutboxEvent) -> None:
    await fire(event)
