"""Recovery controls beside a cart (inbox cart panel, Checkouts page): progress, pause, codes, links."""

from __future__ import annotations

from typing import Any

from app.checkouts.models import Checkout
from app.core.errors import ApiError
from app.recovery import pool, services
from app.stores.models import Store

ACTIONS = ("pause", "resume", "stop")
# What an agent reads instead of the engine's codes.
STATES = {
    "active": "Running",
    "paused": "Paused",
    "stopped": "Stopped",
    "completed": "Finished",
    "holdout": "Not messaged (holdout group)",
}
REASONS = {
    "shopper_replied": "the shopper replied",
    "order_placed": "the shopper ordered",
    "opted_out": "the shopper opted out",
    "store_uninstalled": "the store was uninstalled",
    "checkout_expired": "the cart expired",
    "frequency_cap": "the shopper had another sequence recently",
    "replaced_by_newer_cart": "replaced by a newer cart",
}
VALID = {"active": ["pause", "stop"], "paused": ["resume", "stop"]}


def reason_words(code: str | None) -> str | None:
    if not code:
        return None
    if code.startswith(("inbox:agent", "agent")):
        return "by an agent"
    return REASONS.get(code, code.replace("_", " "))


def summary(state: dict[str, Any]) -> str:
    """In words, e.g. "Paused: the shopper replied · 1 of 5 steps sent", never a raw code."""
    status = str(state.get("status"))
    code = state.get("stop_reason") if status == "stopped" else None
    code = state.get("pause_reason") if status == "paused" else code
    why = reason_words(code)
    words = STATES.get(status, status) + (f" {why}" if why == "by an agent" else "")
    words += f": {why}" if why and why != "by an agent" else ""
    return f"{words} · {state['steps_done']} of {state['steps_total']} steps sent"


async def progress(checkout: Checkout | None) -> dict[str, Any]:
    """Steps done, next step and when, in words, and the actions that make sense now."""
    if checkout is None:
        return {"available": True, "enrolled": False, "actions": []}
    state = await services.progress(checkout)
    if not state["enrolled"]:
        return {"available": True, **state, "actions": []}
    extra = {"summary": summary(state), "actions": VALID.get(str(state["status"]), [])}
    return {"available": True, **state, **extra}


async def control(checkout: Checkout | None, action: str, actor: str) -> dict[str, Any]:
    """Pause, resume or stop the checkout's sequence from the conversation."""
    if action not in ACTIONS:
        raise ApiError(422, "bad_action", f"action must be one of {', '.join(ACTIONS)}")
    state = await progress(checkout)
    enrollment_id = state.get("enrollment_id")
    if enrollment_id is None:
        raise ApiError(409, "not_enrolled", "this cart has no recovery sequence")
    if action == "resume":
        await services.resume(int(enrollment_id))
    else:
        await getattr(services, action)(int(enrollment_id), reason=f"inbox:{actor}")
    return await progress(checkout)


async def issue_discount(checkout: Checkout | None) -> dict[str, Any]:
    """A single-use code for this cart, to drop into the reply."""
    if checkout is None:
        raise ApiError(409, "no_cart", "this conversation has no cart to discount")
    try:
        row = await services.issue_discount(checkout)
    except services.NoDiscount as exc:
        raise ApiError(409, "no_discount", str(exc)) from None
    store = await Store.get(id=checkout.store_id)
    return pool.describe(row, store)


async def issued_discount(checkout: Checkout, store: Store | None = None) -> dict[str, Any] | None:
    """The code this cart's shopper was given (by a step or an agent), for the cart panel;
    `store`: the checkout's, when the caller has it already (the Checkouts page's rows)."""
    row = await services.issued_code(checkout)
    if row is None:
        return None
    return pool.describe(row, store or await Store.get(id=checkout.store_id))


async def magic_link(checkout: Checkout | None, store: Store | None = None) -> str | None:
    """The signed one-click link back to this cart (the platform's URL when not enrolled)."""
    return await services.share_link(checkout, store) if checkout else None
