"""Short signed tokens for magic links and unsubscribe, and where a magic link lands."""

from __future__ import annotations

import hmac
import logging
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from app.config import get_settings
from app.core.logging import ctx
from app.core.security import sign_value
from app.integrations.magento.restore import signed_restore_url
from app.stores import sites
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)

MAGIC, UNSUBSCRIBE, CHAT = "magic-link", "unsubscribe", "chat-link"
CHAT_PARAM = "fu_chat"
"""The landing's query parameter that opens the store's chat on this shopper's thread (chat.js)."""
INBOX_STEP = 0xFFFF
"""Step number of links an agent shares in a conversation: the click counts, no message matches."""


def _pack(value: str, purpose: str, size: int) -> str:
    return f"{value}-{sign_value(value, purpose)[:size]}"


def _unpack(token: str, purpose: str, size: int) -> str | None:
    # The signature is base64url and may itself hold "-": cut it by its length, not at a dash.
    if len(token) > 64 or len(token) < size + 2 or token[-size - 1] != "-":
        return None
    value, signature = token[: -size - 1], token[-size:]
    if not hmac.compare_digest(sign_value(value, purpose)[:size], signature):
        return None
    return value


def magic_token(enrollment_id: int, step: int) -> str:
    return _pack(f"{enrollment_id:x}.{step:x}", MAGIC, 12)


def read_magic_token(token: str) -> tuple[int, int] | None:
    value = _unpack(token, MAGIC, 12)
    if value is None:
        return None
    enrollment, _, step = value.partition(".")
    try:
        return int(enrollment, 16), int(step, 16)
    except ValueError:
        return None


def unsubscribe_token(contact_id: int) -> str:
    return _pack(f"{contact_id:x}", UNSUBSCRIBE, 16)


def read_unsubscribe_token(token: str) -> int | None:
    value = _unpack(token, UNSUBSCRIBE, 16)
    try:
        return int(value, 16) if value else None
    except ValueError:
        return None


def chat_token(store_id: int, contact_id: int) -> str:
    """What a chat link lands with: this shopper's thread in this store, signed."""
    return _pack(f"{store_id:x}.{contact_id:x}", CHAT, 16)


def read_chat_token(token: str | None, store_id: int) -> int | None:
    """The contact id when the token is ours and names this store, else None."""
    value = _unpack(token or "", CHAT, 16)
    store_hex, _, contact_hex = (value or "").partition(".")
    try:
        found_store, contact_id = int(store_hex, 16), int(contact_hex, 16)
    except ValueError:
        return None
    return contact_id if found_store == store_id else None


def chat_link(magic: str) -> str:
    """A magic link that also opens the chat: the same click tracking, the same landing."""
    return _with_query(magic, {"chat": "1"})


def with_chat(url: str, store_id: int, contact_id: int) -> str:
    return _with_query(url, {CHAT_PARAM: chat_token(store_id, contact_id)})


def magic_link(enrollment_id: int, step: int) -> str:
    return f"{get_settings().server.public_url}/r/{magic_token(enrollment_id, step)}"


def unsubscribe_url(contact_id: int | None) -> str:
    base = get_settings().server.public_url
    return f"{base}/u/{unsubscribe_token(contact_id)}" if contact_id else f"{base}/u/none"


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))


def own_site_url(store: Store, url: str | None, checkout_id: int) -> str | None:
    """`url` when it is on the store's own site (or None when there is none), else its home page.

    Checkout URLs come from capture events, which anyone holding the public key can send, so a
    magic link must never become a redirect to wherever such an event pointed.
    """
    if url is None or sites.is_own_site(url, sites.of_store(store)):
        return url
    origin = sites.origin_of(url)
    log.warning(
        "magic link target off the store's site; landing on its home page",
        extra=ctx(
            store=store.id, checkout=checkout_id, host=origin[1] if origin else "(unreadable)"
        ),
    )
    return f"https://{store.domain}/"


def store_landing(store: Store, url: str | None) -> str | None:
    """The landing as the store opens it: Magento's restore route takes only links signed for it."""
    return signed_restore_url(store, url) if url else url


def landing_url(
    platform: str, domain: str, recovery_url: str | None, code: str | None, utm: dict[str, str]
) -> str:
    """Shopify applies codes through `/discount/CODE?redirect=`; our Woo plugin reads `discount=`."""
    cart = "checkout/cart" if platform == Platform.MAGENTO else "cart"
    target = _with_query(recovery_url or f"https://{domain}/{cart}", utm)
    if not code:
        return target
    if platform == Platform.SHOPIFY:
        parts = urlsplit(target)
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"https://{domain}"
        return f"{origin}/discount/{quote(code, safe='')}?{urlencode({'redirect': path})}"
    return _with_query(target, {"discount": code})
