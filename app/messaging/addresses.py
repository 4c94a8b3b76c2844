"""Reply addresses: `reply+<store>-<contact>-<signature>@<inbound domain>`, one per shopper thread.

Every email we send to a shopper carries the address of that shopper's thread as its Reply-To (and
its envelope sender, so bounces come back to it too). The signature, keyed by the app's secret,
is what lets an inbound email into a thread: an address someone made up or edited finds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formataddr, getaddresses, parseaddr
from typing import TYPE_CHECKING

from app.config import Settings
from app.core.security import sign_for_address, verify_address_signature

if TYPE_CHECKING:
    from app.stores.models import Store

PURPOSE = "reply-address"
_LOCAL = re.compile(r"^reply\+(\d{1,18})-(\d{1,18})-([a-z2-7]{16})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Thread:
    """Whose thread a reply address names: the store and the shopper (contact)."""

    store_id: int
    contact_id: int


def enabled(settings: Settings) -> bool:
    return bool(settings.inbound_mail.domain)


def reply_address(settings: Settings, store_id: int, contact_id: int) -> str:
    value = f"{store_id}-{contact_id}"
    signature = sign_for_address(value, PURPOSE)
    return f"reply+{value}-{signature}@{settings.inbound_mail.domain}"


def looks_like_reply(address: str) -> bool:
    """The shape alone (no signature check): for logging what was refused."""
    return bool(_LOCAL.match(address.rpartition("@")[0]))


def thread_of(settings: Settings, address: str) -> Thread | None:
    """The thread an address names, or None when it is not ours, badly signed or for another domain."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    if domain.lower() != settings.inbound_mail.domain or not settings.inbound_mail.domain:
        return None
    found = _LOCAL.match(local)
    if found is None:
        return None
    store_id, contact_id, signature = found.groups()
    value = f"{int(store_id)}-{int(contact_id)}"
    if f"{store_id}-{contact_id}" != value:  # leading zeros: not an address we made
        return None
    if not verify_address_signature(value, signature, PURPOSE):
        return None
    return Thread(int(store_id), int(contact_id))


def first_thread(settings: Settings, *fields: str) -> Thread | None:
    """The first of the addresses (envelope recipients, To, Cc) that names a thread."""
    for _, address in getaddresses(list(fields)):
        if address and (thread := thread_of(settings, address)) is not None:
            return thread
    return None


def email_from(store: Store, settings: Settings) -> str:
    """The store's From: its name, and its own address when set, else the app's default."""
    configured = (store.settings or {}).get("email_from")
    _, address = parseaddr(str(configured or settings.email.default_from))
    return formataddr((store.name, address))


def store_reply_to(store: Store) -> str | None:
    """The store's own Reply-To, used when reply addresses are off (no inbound domain)."""
    configured = (store.settings or {}).get("email_reply_to")
    return str(configured) if configured else None
