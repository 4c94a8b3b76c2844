"""The Checkouts page: the store's abandoned carts with status, value, score, contact and next step,
and the cart panel's own actions (`app.recovery.controls`, the code the inbox calls too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.checkouts import listing
from app.checkouts.models import Checkout, CheckoutStatus
from app.core.errors import ApiError
from app.core.money import format_money
from app.recovery import controls
from app.stores.models import Store
from app.web.access import Access, frame_headers, manager_access

# The inbox's conversation for each checkout id that has one, in this store. The composition
# root provides it as the `conversation_links` dependency, so app never imports inbox.
ConversationLinks = Callable[[int, list[int]], Awaitable[dict[int, int]]]

# Checkout status, and for abandoned carts the follow-up state, in the words people use.
WORDS = {
    "recovered": "Recovered",
    "completed": "Ordered",
    "expired": "Expired",
    "open": "Open",
}
FOLLOW_UP_WORDS = {
    "active": "Abandoned",
    "paused": "Follow-ups paused",
    "stopped": "Follow-ups stopped",
    "completed": "Follow-ups finished",
    "holdout": "Abandoned (holdout)",
}


class CheckoutPages(Controller):
    include_in_schema = False
    dependencies = {"access": Provide(manager_access)}

    @get("/checkouts")
    async def checkouts(
        self,
        request: Request[Any, Any, State],
        access: Access,
        conversation_links: ConversationLinks,
    ) -> Template:
        params = {k: str(v) for k, v in request.query_params.items()}
        filters = listing.parse(params)
        rows, following = await listing.page(access.store.id, filters)
        links = await conversation_links(access.store.id, [c.id for c in rows])
        shown = [await _row(access.store, c, links.get(c.id)) for c in rows]
        kept = {k: v for k, v in params.items() if k != "cursor" and v}
        return Template(
            "pages/checkouts.html",
            context=access.context(
                "checkouts",
                rows=shown,
                f=filters,
                next_url=f"/checkouts?{urlencode({**kept, 'cursor': following})}"
                if following
                else "",
                first_url=f"/checkouts?{urlencode(kept)}" if filters.cursor else "",
                here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
                statuses=listing.STATUSES,
            ),
            headers=frame_headers(access.store),
        )

    @post("/checkouts/{checkout_id:int}/sequence")
    async def sequence(
        self, request: Request[Any, Any, State], access: Access, checkout_id: int
    ) -> Redirect:
        """Pause, resume or stop the cart's follow-ups, as the cart panel's buttons do."""
        form = await request.form()
        checkout = await _scoped(access.store, checkout_id)
        actor = f"agent:{access.current.agent.id}"
        await controls.control(checkout, str(form.get("action") or ""), actor)
        return _back(form.get("back"), checkout_id)

    @post("/checkouts/{checkout_id:int}/discount")
    async def discount(
        self, request: Request[Any, Any, State], access: Access, checkout_id: int
    ) -> Redirect:
        """A single-use code for this cart, as the cart panel's button makes; the row shows it."""
        form = await request.form()
        await controls.issue_discount(await _scoped(access.store, checkout_id))
        return _back(form.get("back"), checkout_id)


async def _scoped(store: Store, checkout_id: int) -> Checkout:
    checkout = await Checkout.get_or_none(id=checkout_id, store_id=store.id)
    if checkout is None:
        raise ApiError(404, "not_found", f"no checkout {checkout_id} in this store")
    return checkout


def _back(back: Any, checkout_id: int) -> Redirect:
    """Back to the list the action was taken on (only ever a /checkouts address), at the row."""
    target = str(back or "")
    if not target.startswith("/checkouts") or target.startswith("//"):
        target = "/checkouts"
    return Redirect(f"{target}#checkout-{checkout_id}", status_code=303)


def _local(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%d %b %Y, %H:%M") if moment else "—"


def _status(checkout: Checkout, state: dict[str, Any]) -> str:
    if checkout.status != CheckoutStatus.ABANDONED:
        return WORDS.get(str(checkout.status), str(checkout.status).title())
    return FOLLOW_UP_WORDS.get(str(state.get("status")), "Abandoned")


def _next(state: dict[str, Any], zone: str) -> dict[str, str]:
    """The next send (channel and time in the store's zone), or in words why there is none."""
    step = state.get("next_step")
    if step and step.get("at"):
        at = datetime.fromisoformat(step["at"])
        return {"channel": str(step["channel"]).upper(), "when": _local(at, zone)}
    if not state.get("enrolled"):
        return {"why": "No follow-ups for this cart"}
    return {"why": str(state.get("summary") or "Nothing planned")}


async def _row(store: Store, checkout: Checkout, conversation_id: int | None) -> dict[str, Any]:
    """One line of the list, with the same state and actions the cart panel shows."""
    zone, locale = store.timezone or "UTC", store.locale or "en_US"
    state = await controls.progress(checkout)
    contact = checkout.contact
    score = checkout.recovery_score
    value = checkout.expected_value
    return {
        "id": checkout.id,
        "status": _status(checkout, state),
        "value": format_money(checkout.total, checkout.currency, locale),
        "percent": None if score is None else round(float(score) * 100),
        "expected": None if value is None else format_money(value, checkout.currency, locale),
        "name": (contact.full_name if contact else "") or "",
        "email": (contact.email if contact else None) or checkout.email,
        "phone": (contact.phone if contact else None) or checkout.phone,
        "next": _next(state, zone),
        "abandoned": _local(checkout.abandoned_at, zone),
        "conversation_id": conversation_id,
        "actions": state.get("actions", []),
        "enrolled": bool(state.get("enrolled")),
        "link": await controls.magic_link(checkout, store),
        "code": await controls.issued_discount(checkout, store),
    }
