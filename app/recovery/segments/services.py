"""Segments over the database: saving them (validated, per store), counting who matches with
indexed queries, reading a contact's facts inside the send claim, and the store's RFM cut-offs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery

from app.checkouts.models import Contact, ContactHistory, ContactTag
from app.core.cache import TTLCache
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.recovery.models import Flow, FlowStep, RfmCutoffs, Segment
from app.recovery.segments import rules
from app.stores.models import Store

MAX_SEGMENTS = 100  # per store: the flows page counts each one
SEGMENT_TTL = 2.0  # seconds a worker reuses a segment; edits reach every worker within this
_segments: TTLCache[Segment] = TTLCache(ttl=SEGMENT_TTL, max_entries=2000)
_cutoffs: TTLCache[rules.Cutoffs] = TTLCache(ttl=60.0, max_entries=2000)


def forget_cached() -> None:
    """Every cached segment and cut-off (tests start each from an empty database)."""
    _segments.clear()
    _cutoffs.clear()


# --- the contact's facts, as the send claim reads them ------------------------------------------


def subject(
    contact: Contact | None, history: ContactHistory | None, currency: str
) -> rules.Subject:
    """A contact without a history row has no confirmed order yet (zero spent, store currency)."""
    if contact is None:
        return rules.Subject(currency=currency)
    email = contact.email_consent and not contact.email_opted_out_at
    sms = contact.sms_consent and not contact.sms_opted_out_at
    base = rules.Subject(
        tags=frozenset(contact.tags or []),
        country=(contact.country or "").upper() or None,
        subscribed=bool(email or sms),
        currency=currency,
    )
    if history is None:
        return base
    return rules.Subject(
        orders_count=history.orders_count,
        total_spent=Decimal(history.total_spent),
        currency=history.currency,
        last_order_at=history.last_order_at,
        tags=base.tags,
        country=base.country,
        subscribed=base.subscribed,
    )


async def cached(segment_id: int | None) -> Segment | None:
    if segment_id is None:
        return None
    return await _segments.get(segment_id, lambda: Segment.get_or_none(id=segment_id))


async def cutoffs_for(store_id: int) -> rules.Cutoffs:
    found = await _cutoffs.get(store_id, lambda: _read_cutoffs(store_id))
    return found or rules.Cutoffs()


async def _read_cutoffs(store_id: int) -> rules.Cutoffs:
    row = await RfmCutoffs.get_or_none(store_id=store_id)
    if row is None or row.currency is None:
        return rules.Cutoffs(buyers=row.buyers if row else 0)
    recency = sorted(int(v) for v in row.recency_days)
    monetary = sorted(Decimal(str(v)) for v in row.monetary)
    return rules.Cutoffs(tuple(recency), tuple(monetary), row.currency, row.buyers)  # type: ignore[arg-type]


async def verdicts(
    conn: Any,
    store: Store,
    contact: Contact | None,
    now: datetime,
    entry_id: int | None,
    step_id: int | None,
) -> tuple[str | None, str | None]:
    """Why the contact is outside the flow's entry segment and the step's, in words (None: in
    it, or no segment). One history read; the contact row is the claim's, already locked."""
    entry, step = await cached(entry_id), await cached(step_id)
    if entry is None and step is None:
        return None, None
    history = None
    if contact is not None:
        history = await ContactHistory.filter(contact_id=contact.id).using_db(conn).first()
    who = subject(contact, history, store.currency)
    ctx = rules.Context(now, store.currency, await cutoffs_for(store.id))
    return _verdict(entry, who, ctx), _verdict(step, who, ctx)


def _verdict(segment: Segment | None, who: rules.Subject, ctx: rules.Context) -> str | None:
    if segment is None:
        return None
    reason = rules.unmet(segment.conditions or {}, who, ctx)
    return rules.not_in(segment.name, reason) if reason else None


# --- counting ----------------------------------------------------------------------------------

_HISTORY_KEYS = ("orders_count", "total_spent", "last_order_days", "rfm_groups")


async def count(store: Store, conditions: Mapping[str, Any], now: datetime | None = None) -> int:
    """How many of the store's contacts match: the same answer as `rules.unmet` for each of them,
    asked of the database through indexes that lead with the store (contact, contact_history,
    contact_tag), so the cost follows the store, never every store's contacts."""
    now = now or utcnow()
    ctx = rules.Context(now, store.currency, await cutoffs_for(store.id))
    query = Contact.filter(store_id=store.id)
    for condition in _contact_filters(store.id, conditions):
        query = query.filter(condition)
    history = {k: v for k, v in conditions.items() if k in _HISTORY_KEYS}
    if history:
        query = query.filter(_history_filter(store.id, history, ctx))
    return await query.count()


def _tagged(store_id: int, tags: list[str]) -> Q:
    rows = ContactTag.filter(store_id=store_id, tag__in=tags).values("contact_id")
    return Q(id__in=Subquery(rows))


def _contact_filters(store_id: int, c: Mapping[str, Any]) -> list[Q]:
    found: list[Q] = []
    if c.get("tags_any"):
        found.append(_tagged(store_id, c["tags_any"]))
    for tag in c.get("tags_all") or []:
        found.append(_tagged(store_id, [tag]))
    if c.get("tags_none"):
        found.append(~_tagged(store_id, c["tags_none"]))
    if c.get("countries"):
        found.append(Q(country__in=[*c["countries"], *(x.lower() for x in c["countries"])]))
    if "subscribed" in c:
        held = Q(email_consent=True, email_opted_out_at__isnull=True) | Q(
            sms_consent=True, sms_opted_out_at__isnull=True
        )
        found.append(held if c["subscribed"] else ~held)
    return found


def _history_filter(store_id: int, c: Mapping[str, Any], ctx: rules.Context) -> Q:
    """Contacts whose history row matches; plus those with no row yet when an empty history
    (no order, nothing spent) matches too, exactly as the pure rule decides for them."""
    rows = ContactHistory.filter(store_id=store_id).filter(_history_q(c, ctx)).values("contact_id")
    matching = Q(id__in=Subquery(rows))
    if rules.unmet(c, rules.Subject(currency=ctx.currency), ctx) is None:
        known = ContactHistory.filter(store_id=store_id).values("contact_id")
        return matching | ~Q(id__in=Subquery(known))
    return matching


def _bounds(column: str, bounds: Mapping[str, Any], read: type) -> Q:
    q = Q()
    if "min" in bounds:
        q &= Q(**{f"{column}__gte": read(str(bounds["min"]))})
    if "max" in bounds:
        q &= Q(**{f"{column}__lte": read(str(bounds["max"]))})
    return q


def _days_ago(days: int, now: datetime) -> datetime:
    return now - timedelta(days=days)


def _history_q(c: Mapping[str, Any], ctx: rules.Context) -> Q:
    q = Q()
    if "orders_count" in c:
        q &= _bounds("orders_count", c["orders_count"], int)
    if "total_spent" in c:
        wanted = str(c["total_spent"].get("currency") or ctx.currency).upper()
        q &= Q(currency=wanted) & _bounds("total_spent", c["total_spent"], Decimal)
    if "last_order_days" in c:
        days = c["last_order_days"]
        q &= Q(last_order_at__isnull=False)
        if "min" in days:  # whole days >= min: at least min days ago
            q &= Q(last_order_at__lte=_days_ago(int(days["min"]), ctx.now))
        if "max" in days:  # whole days <= max: less than max + 1 days ago
            q &= Q(last_order_at__gt=_days_ago(int(days["max"]) + 1, ctx.now))
    if c.get("rfm_groups"):
        q &= _groups_q(c["rfm_groups"], ctx)
    return q


def _groups_q(names: list[str], ctx: rules.Context) -> Q:
    either = Q(id__lt=0)  # matches nothing; each named group widens it
    for name in names:
        if name == rules.PROSPECTS:
            either |= Q(orders_count__lt=1) | Q(last_order_at__isnull=True)
            continue
        q = Q(orders_count__gte=1, last_order_at__isnull=False)
        for group in rules.GROUPS:
            if group.name == name:
                q &= _box(group, ctx)
                break
            q &= ~_box(group, ctx)  # an earlier group takes precedence
        either |= q
    return either


def _box(group: rules.Group, ctx: rules.Context) -> Q:
    cuts = ctx.cutoffs
    q = Q()
    low, high = group.r
    if low >= 2:  # R >= low: at most recency_days[5 - low] whole days ago
        q &= Q(last_order_at__gt=_days_ago(cuts.recency_days[5 - low] + 1, ctx.now))
    if high <= 4:  # R <= high: more than recency_days[4 - high] whole days ago
        q &= Q(last_order_at__lte=_days_ago(cuts.recency_days[4 - high] + 1, ctx.now))
    low, high = group.f
    if low >= 2:
        q &= Q(orders_count__gte=rules.FREQUENCY_CUTS[low - 2])
    if high <= 4:
        q &= Q(orders_count__lt=rules.FREQUENCY_CUTS[high - 1])
    low, high = group.m
    same = Q(currency=cuts.currency) if cuts.currency else Q()
    if low >= 2:
        q &= same & Q(total_spent__gte=cuts.monetary[low - 2])
    if high <= 4:
        below = Q(total_spent__lt=cuts.monetary[high - 1])
        q &= (below | ~same) if cuts.currency else below
    return q


# --- RFM cut-offs ------------------------------------------------------------------------------


async def refresh_cutoffs(store: Store, now: datetime | None = None) -> rules.Cutoffs:
    """The store's quintiles from its own buyers: two counts and eight single-row reads at an
    offset over the (store, last_order_at) and (store, total_spent) indexes, once a day."""
    now = now or utcnow()
    buyers = ContactHistory.filter(store_id=store.id, orders_count__gte=1)
    spenders = buyers.filter(currency=store.currency)
    n_recent, n_spend = await buyers.count(), await spenders.count()
    recency: list[int] = []
    spend: list[Decimal] = []
    if min(n_recent, n_spend) >= rules.MIN_BUYERS:
        for offset in rules.quintile_offsets(n_recent):
            at = await _at(buyers.order_by("-last_order_at", "id"), offset, "last_order_at")
            recency.append(rules.age_days(at, now))
        for offset in rules.quintile_offsets(n_spend):
            spend.append(
                Decimal(await _at(spenders.order_by("total_spent", "id"), offset, "total_spent"))
            )
    found = rules.store_cutoffs(recency, spend, store.currency, n_spend)
    values: dict[str, Any] = {
        "recency_days": list(found.recency_days),
        "monetary": [str(v) for v in found.monetary],
        "currency": found.currency,
        "buyers": n_spend,
        "computed_at": now,
    }
    if not await RfmCutoffs.filter(store_id=store.id).update(**values):
        try:
            await RfmCutoffs.create(store_id=store.id, **values)
        except IntegrityError:
            await RfmCutoffs.filter(store_id=store.id).update(**values)
    _cutoffs.forget(store.id)
    return found


async def _at(query: Any, offset: int, column: str) -> Any:
    found = await query.offset(offset).limit(1).values_list(column, flat=True)
    return found[0]


async def refresh_all_cutoffs(now: datetime | None = None) -> int:
    """Daily: every store's cut-offs, one store at a time."""
    done = 0
    for store in await Store.all().only("id", "currency"):
        await refresh_cutoffs(store, now)
        done += 1
    return done


# --- saving ------------------------------------------------------------------------------------


def checked(store: Store, name: str | None, conditions: object | None) -> dict[str, Any]:
    """The columns to write, every field validated; a refusal names the exact field (422)."""
    values: dict[str, Any] = {}
    if name is not None:
        if not 1 <= len(name.strip()) <= 120:
            raise ApiError(422, "invalid_segment", "name: must be 1 to 120 characters")
        values["name"] = name.strip()
    if conditions is not None:
        try:
            values["conditions"] = rules.validate(conditions, store.currency)
        except rules.SegmentProblem as exc:
            raise ApiError(422, "invalid_segment", str(exc)) from None
    return values


async def load(store: Store, segment_id: int) -> Segment:
    found = await Segment.get_or_none(id=segment_id, store_id=store.id)
    if found is None:
        raise ApiError(404, "not_found", f"no segment {segment_id} in this store")
    return found


async def list_segments(store: Store) -> list[Segment]:
    return await Segment.filter(store_id=store.id).order_by("name", "id")


async def create(store: Store, name: str, conditions: object) -> Segment:
    values = checked(store, name, conditions)
    if await Segment.filter(store_id=store.id).count() >= MAX_SEGMENTS:
        raise ApiError(422, "invalid_segment", f"a store has at most {MAX_SEGMENTS} segments")
    try:
        return await Segment.create(store_id=store.id, **values)
    except IntegrityError:
        raise _taken(values["name"]) from None


def _taken(name: str) -> ApiError:
    return ApiError(422, "invalid_segment", f"name: this store already has a segment {name!r}")


async def change(
    store: Store, segment_id: int, name: str | None, conditions: object | None
) -> Segment:
    segment = await load(store, segment_id)
    values = checked(store, name, conditions)
    if values:
        try:
            await Segment.filter(id=segment.id).update(**values, updated_at=utcnow())
        except IntegrityError:
            raise _taken(values["name"]) from None
    _segments.forget(segment.id)
    return await load(store, segment_id)


async def users(segment: Segment) -> list[str]:
    """Names of the flows using the segment, at entry or on a step."""
    flows = await Flow.filter(segment_id=segment.id).values_list("name", flat=True)
    on_steps = await FlowStep.filter(segment_id=segment.id).values_list("flow__name", flat=True)
    return sorted({str(n) for n in [*flows, *on_steps]})


async def delete(store: Store, segment_id: int) -> None:
    """A segment in use is kept (409): deleting it would quietly send a flow to everyone."""
    segment = await load(store, segment_id)
    using = await users(segment)
    if using:
        raise ApiError(
            409,
            "segment_in_use",
            f"segment {segment.name!r} is used by {', '.join(using)}; remove it there first",
        )
    await Segment.filter(id=segment.id).delete()
    _segments.forget(segment.id)


async def owned(store: Store, segment_id: int | None, where: str) -> int | None:
    """A segment id given for a flow or step, checked to be this store's (422 naming `where`)."""
    if segment_id is None:
        return None
    if not await Segment.exists(id=segment_id, store_id=store.id):
        raise ApiError(422, "invalid_flow", f"{where}: no segment {segment_id} in this store")
    return segment_id
