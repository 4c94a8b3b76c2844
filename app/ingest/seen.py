"""Orders seen at capture: the keys of a placed order, read from its delivery before we answer.

An order waits in the raw-event queue for the drain (up to a second, longer under load) while a
step may fall due. Its keys -- checkout token, cart token, and digests of the email and phone --
are stored with the raw event in one statement, so the send-time check can stop a message for an
order we have already acknowledged. Contacts are kept as SHA-256 digests: no personal data here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from app.checkouts.schemas import OrderInput
from app.core.phones import parse_phone, region_of_locale
from app.ingest.models import Source
from app.ingest.processing import Normalizer, topics_for

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeenOrder:
    checkout_token: str | None
    cart_token: str | None
    email_digest: str | None
    phone_digest: str | None


def digest(value: str | None) -> str | None:
    return hashlib.sha256(value.encode()).hexdigest() if value else None


def email_key(email: str | None) -> str | None:
    """The same normal form contacts are stored in (app.checkouts.contacts)."""
    return digest(email.strip().lower()[:320]) if email and "@" in email else None


def phone_key(phone: str | None, region: str | None = None) -> str | None:
    return digest(parse_phone(phone, region).e164) if phone else None


def seen_order(
    source: Source, topic: str, body: bytes, locale: str | None, payload: Any = None
) -> SeenOrder | None:
    """The keys of a placed order in this delivery, or None (not an order, not placed, or not
    readable: the drain decides about those as before). `payload` is the body if it was already
    read; the store's `locale` gives a phone without a country code its region."""
    topics = topics_for(source)
    normalize = topics.normalizer(topic) if topic in topics.orders else None
    if normalize is None:
        return None
    region = region_of_locale(locale)
    try:
        order = _placed_order(normalize, json.loads(body) if payload is None else payload)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("order keys not readable at capture: %s", exc)
        return None
    if order is None:
        return None
    contact = order.contact
    return SeenOrder(
        order.checkout_token,
        order.cart_token,
        email_key(contact.email),
        phone_key(contact.phone, contact.country or region),
    )


def _placed_order(normalize: Normalizer, payload: Any) -> OrderInput | None:
    found = [n for n in normalize(payload) if isinstance(n, OrderInput) and n.placed]
    return found[0] if found else None
