"""The one door to the recovery engine: imported lazily, so the inbox runs (and says so) without it."""

from __future__ import annotations

import importlib
import logging
from types import ModuleType
from typing import Any

from app.checkouts.models import Checkout
from app.core.errors import ApiError

log = logging.getLogger(__name__)
NOT_INSTALLED = "recovery engine not installed"
ACTIONS = ("pause", "resume", "stop")


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def recovery_services() -> ModuleType | None:
    return _module("app.recovery.services")


async def progress(checkout: Checkout | None) -> dict[str, Any]:
    """Steps done, next step and when; `available: False` with a reason when there is no engine."""
    svc = recovery_services()
    if svc is None or not hasattr(svc, "progress"):
        return {"available": False, "reason": NOT_INSTALLED}
    if checkout is None:
        return {"available": True, "enrolled": False}
    data = dict(await svc.progress(checkout))
    return {"available": True, **data}


async def control(checkout: Checkout | None, action: str, actor: str) -> dict[str, Any]:
    """Pause, resume or stop the checkout's sequence from the conversation."""
    if action not in ACTIONS:
        raise ApiError(422, "bad_action", f"action must be one of {', '.join(ACTIONS)}")
    svc = recovery_services()
    if svc is None or not hasattr(svc, action):
        raise ApiError(503, "recovery_unavailable", NOT_INSTALLED)
    state = await progress(checkout)
    enrollment_id = state.get("enrollment_id")
    if enrollment_id is None:
        raise ApiError(409, "not_enrolled", "this cart has no recovery sequence")
    await getattr(svc, action)(int(enrollment_id), reason=f"inbox:{actor}")
    return await progress(checkout)


async def issue_discount(checkout: Checkout | None) -> dict[str, Any]:
    """A single-use code for this cart, to drop into the reply."""
    svc = recovery_services()
    issuer = getattr(svc, "issue_discount", None) if svc else None
    if issuer is None:
        raise ApiError(503, "recovery_unavailable", NOT_INSTALLED)
    if checkout is None:
        raise ApiError(409, "no_cart", "this conversation has no cart to discount")
    result = await issuer(checkout)
    return {"code": str(getattr(result, "code", result))}


async def magic_link(checkout: Checkout | None) -> str | None:
    """The engine's signed one-click link when available, else the platform's recovery URL."""
    if checkout is None:
        return None
    links = _module("app.messaging.links") or recovery_services()
    maker = getattr(links, "magic_link", None) if links else None
    if maker is not None:
        try:
            return str(await maker(checkout))
        except Exception as exc:  # the panel still shows the cart without a link
            log.warning("magic link failed: %r", exc)
    return checkout.recovery_url
