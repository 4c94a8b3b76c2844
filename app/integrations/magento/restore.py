"""Restore links into a Magento store: the app signs them, the module's restore route checks them.

The module sends each cart's own restore address (`{base}followup/cart/restore?token=T`) as its
recovery URL; a magic link lands there only after the usual own-site check, and only once this
module has added `expires` and `signature` = base64url(HMAC-SHA256(webhook secret,
"followup-restore-link:{token}:{expires}:{discount}")), so the shopper cannot change the code and
an old link stops working. Anything else (a home page when the URL was refused) passes unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.stores.models import Platform, Store

RESTORE_PATH = "/followup/cart/restore"
LINK_TTL_SECONDS = 86_400
"""Links are signed when the shopper clicks the magic link, so a day is plenty."""
SIGNED = ("expires", "signature")


def link_signature(secret: str, token: str, expires: int, discount: str) -> str:
    signed = f"followup-restore-link:{token}:{expires}:{discount}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def is_restore_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path.endswith(RESTORE_PATH) and any(
        key == "token" and value for key, value in parse_qsl(parts.query)
    )


def signed_restore_url(store: Store, url: str, now: float | None = None) -> str:
    """`url` with the signature the module's restore route needs, when it is that route."""
    if store.platform != Platform.MAGENTO or not store.webhook_secret or not is_restore_url(url):
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in SIGNED]
    values = dict(query)
    expires = int(time.time() if now is None else now) + LINK_TTL_SECONDS
    signature = link_signature(
        store.webhook_secret, values["token"], expires, values.get("discount", "")
    )
    query += [("expires", str(expires)), ("signature", signature)]
    return urlunsplit(parts._replace(query=urlencode(query)))
