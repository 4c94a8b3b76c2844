"""Read side of the inbox: the list with filters and search, a thread, the cart panel, catch-up after a gap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from app.accounts.models import Agent
from app.checkouts import groups
from app.checkouts.models import Checkout, Contact
from app.core.errors import ApiError
from app.messaging.models import Message
from app.recovery import controls as recovery_link
from app.stores.models import Store
from inbox import replies, services
from inbox.models import CannedReply, ChatVisitor, Conversation, ConversationStatus, ReadMarker
from inbox.schemas import (
    checkout_json,
    contact_json,
    conversation_json,
    message_json,
    score_json,
)

VIEWS = ("mine", "unassigned", "all")
STATUSES = ("open", "snoozed", "closed", "any")
SORTS = ("recent", "score")


def _search(q: str) -> Q:
    terms = [t for t in q.strip().split()[:5] if t]
    query = Q()
    for term in terms:
        digits = "".join(ch for ch in term if ch.isdigit())
        term_q = (
            Q(contact__first_name__icontains=term)
            | Q(contact__last_name__icontains=term)
            | Q(contact__email__icontains=term)
        )
        if len(digits) >= 3:
            term_q |= Q(contact__phone__contains=digits)
        query &= term_q
    return query


async def list_conversations(
    store_id: int,
    agent_id: int,
    view: str,
    status: str,
    q: str = "",
    limit: int = 50,
    sort: str = "recent",
) -> list[dict[str, Any]]:
    if view not in VIEWS or status not in STATUSES or sort not in SORTS:
        raise ApiError(
            422,
            "bad_filter",
            f"view is one of {VIEWS}, status one of {STATUSES}, sort one of {SORTS}",
        )
    query = Conversation.filter(store_id=store_id)
    if status != "any":
        query = query.filter(status=ConversationStatus(status))
    if view == "mine":
        query = query.filter(assignee_id=agent_id)
    elif view == "unassigned":
        query = query.filter(assignee_id=None)
    if q.strip():
        query = query.filter(_search(q[:100]))
    # The unassigned queue is first in, first out; other views show the latest activity first.
    order = ("waiting_since", "id") if view == "unassigned" else ("-last_message_at", "-id")
    limit = min(max(limit, 1), 200)
    if sort == "score":
        return await _summaries(store_id, agent_id, await _by_score(query, order, limit))
    convs = await query.order_by(*order).limit(limit)
    return await _summaries(store_id, agent_id, convs)


async def _by_score(
    query: QuerySet[Conversation], order: tuple[str, ...], limit: int
) -> list[Conversation]:
    """Highest predicted recovery first; threads without a scored cart follow in the view's order
    (two queries, so NULL ordering, which PostgreSQL and SQLite disagree on, never matters)."""
    scored = (
        await query.filter(checkout__recovery_score__isnull=False)
        .order_by("-checkout__recovery_score", "-id")
        .limit(limit)
    )
    if len(scored) >= limit:
        return scored
    rest = (
        await query.filter(Q(checkout_id=None) | Q(checkout__recovery_score__isnull=True))
        .order_by(*order)
        .limit(limit - len(scored))
    )
    return [*scored, *rest]


async def _summaries(
    store_id: int, agent_id: int | None, convs: list[Conversation]
) -> list[dict[str, Any]]:
    """`services.summary` for many threads in three queries; without an agent, unread is None."""
    if not convs:
        return []
    ids = [c.id for c in convs]
    contacts = {c.id: c for c in await Contact.filter(id__in=[c.contact_id for c in convs])}
    carts = {
        c.id: c
        for c in await Checkout.filter(
            store_id=store_id, id__in=[c.checkout_id for c in convs if c.checkout_id]
        )
    }
    names = await services.agent_names(store_id)
    seen: dict[int, int] = {}
    if agent_id is not None:
        markers = await ReadMarker.filter(conversation_id__in=ids, agent_id=agent_id)
        seen = {m.conversation_id: m.seen_inbound for m in markers}
    out = []
    for conv in convs:
        assignee_id = conv.assignee_id
        assignee = {"id": assignee_id, "name": names.get(assignee_id, "?")} if assignee_id else None
        unread = max(conv.inbound_count - seen.get(conv.id, 0), 0) if agent_id is not None else None
        cart = carts.get(conv.checkout_id or 0)
        score = score_json(cart) if cart else None
        out.append(conversation_json(conv, contacts[conv.contact_id], assignee, unread, score))
    return out


async def thread(store_id: int, agent_id: int, conv_id: int) -> dict[str, Any]:
    conv = await services.scoped(store_id, conv_id)
    names = await services.agent_names(store_id)
    # Automated messages (recovery texts and emails) carry no conversation: the contact's thread.
    automated = Q(contact_id=conv.contact_id, conversation_id=None)
    messages = (
        await Message.filter(Q(conversation_id=conv.id) | automated, store_id=store_id)
        .order_by("-id")
        .limit(300)
    )
    store = await Store.get(id=store_id)
    contact = await Contact.get(id=conv.contact_id, store_id=store_id)
    quiet = replies.quiet_state(store, contact)
    return {
        "conversation": await services.summary(conv, agent_id),
        "messages": [
            {**message_json(m, names), "conversation_id": conv.id} for m in reversed(messages)
        ],
        "quiet_hours": {"quiet": quiet.quiet, "local_time": quiet.local_time, "zone": quiet.zone},
        "reply_channel": str(await replies.default_channel(store, contact, conv.id)),
        "channels": {
            "sms": bool(contact.phone and store.sms_number),
            "email": bool(contact.email),
            "chat": await ChatVisitor.exists(store_id=store_id, contact_id=contact.id),
        },
        "cart": await cart_panel(store_id, conv),
    }


async def cart_panel(store_id: int, conv: Conversation) -> dict[str, Any] | None:
    checkout_id = conv.checkout_id
    checkout = (
        await Checkout.get_or_none(id=checkout_id, store_id=store_id) if checkout_id else None
    )
    if checkout is None:
        return None
    return {
        **checkout_json(checkout),
        "magic_link": await recovery_link.magic_link(checkout),
        "sequence": await recovery_link.progress(checkout),
        "discount": await recovery_link.issued_discount(checkout),
        # The same shopper's carts on other devices that this one replaced (one abandonment).
        "earlier_carts": [
            {**checkout_json(c), "device": c.device} for c in await groups.earlier(checkout)
        ],
    }


async def conversations_of_checkouts(store_id: int, checkout_ids: list[int]) -> dict[int, int]:
    """Each checkout's latest conversation in this store, by checkout id (one query)."""
    rows = await Conversation.filter(store_id=store_id, checkout_id__in=checkout_ids).order_by("id")
    return {c.checkout_id: c.id for c in rows if c.checkout_id is not None}


async def changes(
    store_id: int, after_id: int, since: datetime | None, limit: int = 500
) -> dict[str, Any]:
    """What a page missed while disconnected: new messages by id, and state changes by time.

    Ids are allocated before commit, so a message committed late can carry a smaller id than one
    already seen; `since` (the client's last event time minus a margin) catches those, and the
    client drops any id it already holds.
    """
    cond = Q(id__gt=after_id)
    if since is not None:
        cond |= Q(updated_at__gte=since)
    rows = (
        await Message.filter(cond, store_id=store_id)
        .exclude(conversation_id=None)
        .order_by("id")
        .limit(limit)
    )
    names = await services.agent_names(store_id)
    conv_ids = {m.conversation_id for m in rows}
    convs = await Conversation.filter(store_id=store_id, id__in=list(conv_ids))
    last = max((m.id for m in rows), default=after_id)
    return {
        "messages": [message_json(m, names) for m in rows],
        "conversations": await _summaries(store_id, None, convs),
        "cursor": max(last, after_id),
        "complete": len(rows) < limit,
    }


async def agents(store_id: int) -> list[dict[str, Any]]:
    rows = await Agent.filter(store_id=store_id, active=True).order_by("name")
    return [{"id": a.id, "name": a.name, "role": str(a.role)} for a in rows]


async def canned(store_id: int) -> list[dict[str, Any]]:
    rows = await CannedReply.filter(store_id=store_id).order_by("title")
    return [{"id": c.id, "title": c.title, "body": c.body} for c in rows]


async def contact_card(store_id: int, contact_id: int) -> dict[str, Any]:
    contact = await Contact.get_or_none(id=contact_id, store_id=store_id)
    if contact is None:
        raise ApiError(404, "not_found", f"no contact {contact_id} in this store")
    return contact_json(contact)
