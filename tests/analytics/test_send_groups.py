"""`raw.send_groups`, the one read of sends and A/B groups on every path, against a plain Python
count over the ORM rows: on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.analytics import raw
from app.checkouts.models import Checkout
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery.models import Enrollment
from app.stores.models import Store
from tests.analytics.randomized import random_store

KEY = ("flow_id", "channel", "step_index", "variant", "status")
SUMS = ("n", "segments", "replied", "tested", "conversions")


async def _extras(store: Store) -> None:
    """What the random store lacks: shopper replies (some before a later send), sends whose
    enrollment or checkout is gone, an agent's message and a send outside any step."""
    sends = await Message.filter(store=store, author="automation").order_by("id")
    for i, m in enumerate(sends[::3]):
        if m.contact_id is None or m.sent_at is None:
            continue
        reply = await Message.create(
            store=store,
            contact_id=m.contact_id,
            checkout_id=m.checkout_id,
            channel=m.channel,
            direction="inbound",
            author="shopper",
            to_address="x",
            body="Still in stock?",
            status="received",
        )
        late = m.sent_at + timedelta(minutes=5 + 600 * (i % 3))
        await Message.filter(id=reply.id).update(created_at=late)
    gone = [m for m in sends if m.checkout_id is not None][:4]
    await Enrollment.filter(id=gone[0].enrollment_id).delete()
    await Checkout.filter(id=gone[1].checkout_id).delete()  # its sends keep no checkout
    at = sends[0].sent_at or utcnow()
    for author, step in (("agent", None), ("automation", None)):
        extra = await Message.create(
            store=store,
            contact_id=sends[0].contact_id,
            channel="email",
            direction="outbound",
            author=author,
            to_address="x",
            body="Hello",
            status="sent",
            sent_at=at,
            step_index=step,
            idempotency_key=uuid.uuid4().hex,
        )
        await Message.filter(id=extra.id).update(created_at=at)


async def _expected(
    store: Store, start: datetime, end: datetime, channel: str | None
) -> dict[tuple, dict[str, int]]:
    """The same groups counted in Python from every row of the store."""
    messages = await Message.filter(store=store).order_by("id")
    flows = dict(await Enrollment.filter(store=store).values_list("id", "flow_id"))
    checkouts = {c.id: c for c in await Checkout.filter(store=store)}
    automated = [m for m in messages if m.direction == "outbound" and m.author == "automation"]
    replies = [m for m in messages if m.direction == "inbound" and m.author == "shopper"]

    def replied(m: Message) -> bool:
        if m.contact_id is None or m.sent_at is None:
            return False
        for r in replies:
            if r.contact_id != m.contact_id or r.created_at < m.sent_at:
                continue
            later = [
                n
                for n in automated
                if n.contact_id == m.contact_id
                and n.sent_at is not None
                and m.sent_at < n.sent_at <= r.created_at
            ]
            if not later:
                return True
        return False

    found: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SUMS, 0))
    for m in automated:
        if not start <= m.created_at < end or m.status in ("pending", "cancelled"):
            continue
        if channel is not None and m.channel != channel:
            continue
        row = found[(flows.get(m.enrollment_id), m.channel, m.step_index, m.variant, m.status)]
        cart = checkouts.get(m.checkout_id) if m.checkout_id is not None else None
        row["n"] += 1
        row["segments"] += m.segments or 0
        row["replied"] += replied(m)
        row["tested"] += m.sent_at is not None and cart is not None
        row["conversions"] += bool(
            cart is not None
            and cart.status == "recovered"
            and cart.completed_at is not None
            and m.sent_at is not None
            and cart.completed_at >= m.sent_at
        )
    return dict(found)


def _grouped(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, int]]:
    out = {tuple(r[k] for k in KEY): {k: int(r[k]) for k in SUMS} for r in rows}
    assert len(out) == len(rows), "one row per group"
    return out


@pytest.mark.parametrize("seed", [11, 12])
async def test_send_groups_equal_a_plain_count_of_the_rows(settings, seed):
    store = await random_store(seed, "America/New_York", checkouts=40)
    await _extras(store)
    now = utcnow()
    spans = [(now - timedelta(days=30), now + timedelta(days=3)), (now - timedelta(days=6), now)]
    seen = 0
    for start, end in spans:
        for channel in (None, "sms", "email"):
            expected = await _expected(store, start, end, channel)
            found = _grouped(await raw.send_groups(store.id, start, end, channel))
            assert found == expected, (start, end, channel)
            seen += len(found)
    whole = await _expected(store, *spans[0], None)
    assert seen and sum(r["replied"] for r in whole.values()) > 0
    assert sum(r["conversions"] for r in whole.values()) > 0
    assert any(k[0] is None for k in whole) and any(k[2] is None for k in whole)
    assert any(r["n"] > r["tested"] for r in whole.values())
