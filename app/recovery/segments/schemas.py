"""Shapes of `/api/v1/segments`: a segment in and out, and the live count."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """POST creates a segment, PUT replaces one. `conditions` (all must hold): `orders_count`,
    `total_spent` (decimal strings, the store's currency), `last_order_days` (each as
    `{"min": .., "max": ..}`), `tags_any`, `tags_all`, `tags_none`, `countries`, `rfm_groups`
    (lists) and `subscribed` (true or false). See docs/automations.md#segments."""

    name: str
    conditions: dict[str, Any] = msgspec.field(default_factory=dict)


class SegmentPatch(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH changes only what is given; `conditions`, if given, replaces all conditions."""

    name: str | None = None
    conditions: dict[str, Any] | None = None


class SegmentOut(msgspec.Struct):
    id: int
    name: str
    conditions: dict[str, Any]
    used_by: list[str]
    """Names of the flows using it, at entry or on a step (such a segment cannot be deleted)."""
    created_at: datetime
    updated_at: datetime
    matching: int | None = None
    """How many of the store's contacts match now (one segment's GET and the count call)."""


class CountIn(msgspec.Struct, forbid_unknown_fields=True):
    conditions: dict[str, Any] = msgspec.field(default_factory=dict)


class CountOut(msgspec.Struct):
    matching: int
    """Contacts of the store that match the conditions now."""
