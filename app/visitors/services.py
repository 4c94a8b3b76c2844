"""Remember who a visitor is (identify, alias, a checkout with contact details) and look it up.

Segment's pattern is `identify(anonymousId, traits)` and later `track("Checkout Started")` with
the same anonymousId and no traits; a checkout can only be recovered if we remember the first
for the second. Rows live in the database, store by store: Redis may lose everything.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from app.visitors.models import KEY_LENGTH, Visitor

MAX_HOPS = 4  # alias chains (anonymous -> user -> newer user id) are short; cycles stop here


def anonymous_key(anonymous_id: str | None) -> str | None:
    return f"a:{anonymous_id}"[:KEY_LENGTH] if anonymous_id else None


def user_key(user_id: str | None) -> str | None:
    return f"u:{user_id}"[:KEY_LENGTH] if user_id else None


async def remember(
    store_id: int, anonymous_id: str | None, user_id: str | None, contact_id: int | None
) -> None:
    """Both ids now stand for this contact (when known); the anonymous id signed in as the user."""
    await _upsert(store_id, user_key(user_id), contact_id=contact_id)
    await _upsert(
        store_id, anonymous_key(anonymous_id), contact_id=contact_id, link=user_key(user_id)
    )


async def link(store_id: int, previous_id: str, user_id: str) -> None:
    """Segment `alias`: previousId (an anonymous id, or an earlier user id) is now `user_id`."""
    target = user_key(user_id)
    earlier_user = user_key(previous_id)
    if earlier_user != target and await Visitor.exists(store_id=store_id, key=earlier_user):
        await _upsert(store_id, earlier_user, link=target)
    await _upsert(store_id, anonymous_key(previous_id), link=target)


async def contact_for(store_id: int, anonymous_id: str | None, user_id: str | None) -> int | None:
    """The contact these ids were identified as: the user id's first (an account is the surer
    sign), then the anonymous id's own, then the user it signed in as."""
    for key in (user_key(user_id), anonymous_key(anonymous_id)):
        found = await _follow(store_id, key)
        if found:
            return found
    return None


async def anonymous_ids(store_id: int, user_id: str | None) -> list[str]:
    """Every anonymous id (device) that signed in as this user."""
    key = user_key(user_id)
    if key is None:
        return []
    rows = await Visitor.filter(store_id=store_id, user_key=key, key__startswith="a:")
    return [row.key[2:] for row in rows]


async def _follow(store_id: int, key: str | None) -> int | None:
    seen: set[str] = set()
    while key and key not in seen and len(seen) < MAX_HOPS:
        seen.add(key)
        row = await Visitor.get_or_none(store_id=store_id, key=key)
        if row is None:
            return None
        if row.contact_id is not None:
            return row.contact_id
        key = row.user_key
    return None


async def _upsert(
    store_id: int, key: str | None, contact_id: int | None = None, link: str | None = None
) -> None:
    """Write only what is known and changed: most events repeat what we already hold."""
    values: dict[str, Any] = {
        k: v for k, v in (("contact_id", contact_id), ("user_key", link)) if v is not None
    }
    if key is None or not values:
        return
    row = await Visitor.get_or_none(store_id=store_id, key=key)
    if row is None:
        try:
            await Visitor.create(store_id=store_id, key=key, **values)
            return
        except IntegrityError:  # a concurrent event remembered the same id first
            row = await Visitor.get(store_id=store_id, key=key)
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if changed:
        await Visitor.filter(id=row.id).update(**changed)
