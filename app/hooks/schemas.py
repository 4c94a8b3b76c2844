"""API shapes for REST hooks (Zapier, Pabbly Connect)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class HookIn(msgspec.Struct, forbid_unknown_fields=True):
    target_url: str
    event: str


class HookOut(msgspec.Struct):
    id: int
    target_url: str
    event: str
    secret: str
    """`whsec_...`: verify the `webhook-signature` header with it (Standard Webhooks)."""
    created_at: datetime
