"""The settings page: store preferences and the team, for owners and admins.

The page is a list of sections, each a partial template under `pages/settings/`: `FORM_SECTIONS`
sit inside the preferences form (saved together by `POST /settings`), `PAGE_SECTIONS` follow it
with their own forms and routes (the team here; outbound webhooks and Segment in `integrations`).
A new section is a partial plus, if it needs data, a context function: append a `Section` to the
list, nothing else changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.accounts import team
from app.accounts.models import Agent, Role
from app.accounts.services import AccountError, create_agent
from app.analytics import site_saves
from app.analytics.measures import prices_from_settings
from app.analytics.rules import windows_from_settings
from app.checkouts.rules import after_exit_seconds
from app.config import get_settings
from app.core.timeutil import utcnow
from app.messaging.response_time import targets_from_settings
from app.recovery.devices import window
from app.recovery.rules import LEGAL_END, LEGAL_START, policy_from_settings, window_for
from app.stores import preferences
from app.stores.chat import settings_from as chat_settings_from
from app.stores.models import Store
from app.web.access import Access, frame_headers, manager_access
from app.web.pages import integrations


@dataclass(frozen=True, slots=True)
class Section:
    template: str
    context: Callable[[Access], Awaitable[dict[str, Any]]] | None = None
    """The section's own template values, read when the page is drawn."""


async def _team(access: Access) -> dict[str, Any]:
    team = await Agent.filter(store_id=access.store.id).order_by("-active", "role", "email")
    return {"team": team, "roles": [r.value for r in Role]}


async def _chat(access: Access) -> dict[str, Any]:
    """The chat section's "save before they leave" figures for the last 30 days."""
    now = utcnow()
    store = access.store
    saves = await site_saves.between(store.id, store.currency, now - timedelta(days=30), now)
    return {"chat_saves": saves}


FORM_SECTIONS = [
    Section("pages/settings/_pace.html"),
    Section("pages/settings/_quiet_hours.html"),
    Section("pages/settings/_senders.html"),
    Section("pages/settings/_costs.html"),
    Section("pages/settings/_chat.html", _chat),
    Section("pages/settings/_response_targets.html"),
    Section("pages/settings/_cross_device.html"),
]


async def _integrations(access: Access) -> dict[str, Any]:
    return await integrations.section(access.store)


PAGE_SECTIONS = [
    Section("pages/settings/_team.html", _team),
    Section("pages/settings/_integrations.html", _integrations),
]


def _values(store: Store) -> dict[str, Any]:
    """The form as stored now, with the same defaults the rules apply."""
    raw = store.settings or {}
    policy = policy_from_settings(raw.get("recovery"))
    prices = prices_from_settings(raw.get("prices"))
    windows = windows_from_settings(raw.get("attribution"))
    return {
        "abandon_after_minutes": store.abandon_after_seconds // 60,
        "abandon_after_exit_minutes": (
            "" if (exit_after := after_exit_seconds(raw)) is None else exit_after // 60
        ),
        "sms_number": store.sms_number or "",
        "quiet_start": policy.quiet_start.strftime("%H:%M"),
        "quiet_end": policy.quiet_end.strftime("%H:%M"),
        "frequency_days": policy.frequency_days,
        "max_sequences": policy.max_sequences,
        "email_requires_consent": policy.email_requires_consent,
        "email_quiet_hours": policy.email_quiet_hours,
        "email_from": raw.get("email_from") or "",
        "email_reply_to": raw.get("email_reply_to") or "",
        "price_sms_segment": prices.sms_segment,
        "price_email": prices.email,
        "email_window_hours": int(windows.email.total_seconds() // 3600),
        "sms_window_hours": int(windows.sms.total_seconds() // 3600),
        "click_window_hours": int(windows.click.total_seconds() // 3600),
        "min_ab_sample": int((raw.get("attribution") or {}).get("min_ab_sample") or 100),
        **_chat_values(raw.get("chat")),
        **_response_target_values(raw),
        "cross_device_window_hours": int(window(raw).total_seconds() // 3600),
    }


def _response_target_values(raw: dict[str, Any]) -> dict[str, int]:
    targets = targets_from_settings(raw)
    return {
        name: targets[channel] // unit
        for channel, name, unit, *_ in preferences.RESPONSE_TARGET_FIELDS
    }


def _chat_values(raw: Any) -> dict[str, Any]:
    chat = chat_settings_from(raw)
    return {
        "chat_enabled": chat.enabled,
        "chat_weekends": len(chat.days) == 7,
        "chat_start": chat.start.strftime("%H:%M"),
        "chat_end": chat.end.strftime("%H:%M"),
        "chat_greeting": chat.greeting,
        "chat_invite": chat.invite,
        "chat_invite_text": chat.invite_text,
        "chat_invite_everywhere": chat.invite_everywhere,
        "chat_invite_idle_seconds": chat.invite_idle_seconds,
    }


def saved_note(store: Store) -> str:
    """What the engine will apply after a save: the merchant's hours, clamped to the law."""
    policy = policy_from_settings((store.settings or {}).get("recovery"))
    window = window_for(policy, None, None)
    start, end = window.start.strftime("%H:%M"), window.end.strftime("%H:%M")
    opens = f"from {start}" + (", the legal earliest," if policy.quiet_start < LEGAL_START else "")
    closes = f"until {end}" + (", the legal latest," if policy.quiet_end > LEGAL_END else "")
    return f"Saved. Texts go out {opens} {closes} in the shopper's own time."


async def _page(access: Access, status: int = 200, **extra: Any) -> Template:
    sections = [*FORM_SECTIONS, *PAGE_SECTIONS]
    for section in sections:
        if section.context is not None:
            extra.update(await section.context(access))
    context = access.context(
        "settings",
        values=extra.pop("values", None) or _values(access.store),
        errors=extra.pop("errors", {}),
        form_sections=[s.template for s in FORM_SECTIONS],
        page_sections=[s.template for s in PAGE_SECTIONS],
        **extra,
    )
    return Template(
        "pages/settings.html",
        context=context,
        status_code=status,
        headers=frame_headers(access.store),
        media_type="text/html",
    )


class SettingsPages(Controller):
    include_in_schema = False
    dependencies = {"access": Provide(manager_access)}

    @get("/settings")
    async def show(self, access: Access, saved: bool = False, team: str = "") -> Template:
        note = saved_note(access.store) if saved else "Team updated." if team == "saved" else None
        return await _page(access, saved=note)

    @post("/settings")
    async def save(self, request: Request[Any, Any, State], access: Access) -> Template | Redirect:
        form = {k: str(v) for k, v in (await request.form()).items()}
        parsed = preferences.parse(form, access.store.settings or {})
        if parsed.errors:
            return await _page(
                access, 422, values={**_values(access.store), **form}, errors=parsed.errors
            )
        merged = {**(access.store.settings or {}), **parsed.settings}
        await Store.filter(id=access.store.id).update(settings=merged, **parsed.store)
        return Redirect("/settings?saved=true", status_code=303)

    @post("/settings/team/invite")
    async def invite(self, request: Request[Any, Any, State], access: Access) -> Template:
        form = await request.form()
        role = team.check_invite(access.current.agent, str(form.get("role", "agent")))
        try:
            invitation = await create_agent(
                access.store,
                str(form.get("email", "")),
                role,
                str(form.get("name", "")).strip()[:255] or None,
            )
        except AccountError as exc:
            return await _page(access, 422, team_error=str(exc))
        link = f"{get_settings().server.public_url}/invite/{invitation.token}"
        return await _page(access, invite_link=link, invited=invitation.agent.email)

    @post("/settings/team/{agent_id:int}")
    async def change(
        self, request: Request[Any, Any, State], access: Access, agent_id: int
    ) -> Template | Redirect:
        form = await request.form()
        role = form.get("role")
        try:
            await team.change_member(
                request.app.state.redis,
                access.store.id,
                access.current.agent,
                agent_id,
                str(form.get("action", "")),
                None if role is None else str(role),
            )
        except AccountError as exc:
            return await _page(access, 422, team_error=str(exc))
        return Redirect("/settings?team=saved#team", status_code=303)
