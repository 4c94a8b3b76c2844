"""The settings page: store preferences and the team, for owners and admins."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.accounts import sessions
from app.accounts.models import Agent, Role
from app.accounts.services import AccountError, create_agent
from app.analytics.measures import prices_from_settings
from app.analytics.rules import windows_from_settings
from app.config import get_settings
from app.core.errors import ApiError
from app.hooks import web as hooks_web
from app.recovery.rules import LEGAL_END, LEGAL_START, policy_from_settings, window_for
from app.stores import preferences
from app.stores.models import Store
from app.web.access import Access, frame_headers, manager_access


def _values(store: Store) -> dict[str, Any]:
    """The form as stored now, with the same defaults the rules apply."""
    raw = store.settings or {}
    policy = policy_from_settings(raw.get("recovery"))
    prices = prices_from_settings(raw.get("prices"))
    windows = windows_from_settings(raw.get("attribution"))
    return {
        "abandon_after_minutes": store.abandon_after_seconds // 60,
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
    team = await Agent.filter(store_id=access.store.id).order_by("-active", "role", "email")
    context = access.context(
        "settings",
        values=extra.pop("values", None) or _values(access.store),
        errors=extra.pop("errors", {}),
        team=team,
        roles=[r.value for r in Role],
        **await hooks_web.section(access.store),
        **extra,
    )
    return Template(
        "analytics/settings.html",
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
        role = str(form.get("role", "agent"))
        if role not in {r.value for r in Role} or (
            role == Role.OWNER and access.current.agent.role != Role.OWNER
        ):
            raise ApiError(403, "forbidden", "only an owner can invite another owner")
        try:
            invitation = await create_agent(
                access.store,
                str(form.get("email", "")),
                Role(role),
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
        member = await Agent.get_or_none(id=agent_id, store_id=access.store.id)
        if member is None:
            raise ApiError(404, "not_found", "no such team member in this store")
        if member.id == access.current.agent.id:
            return await _page(
                access, 422, team_error="You cannot change or deactivate your own account."
            )
        if member.role == Role.OWNER and access.current.agent.role != Role.OWNER:
            raise ApiError(403, "forbidden", "only an owner can change an owner")
        action = str(form.get("action", ""))
        if action == "deactivate":
            await Agent.filter(id=member.id).update(active=False, invite_digest=None)
            await sessions.destroy_all(request.app.state.redis, member.id)
        elif action == "activate":
            await Agent.filter(id=member.id).update(active=True)
        elif action == "role" and str(form.get("role")) in {r.value for r in Role}:
            role = Role(str(form.get("role")))
            if role == Role.OWNER and access.current.agent.role != Role.OWNER:
                raise ApiError(403, "forbidden", "only an owner can make someone an owner")
            await Agent.filter(id=member.id).update(role=role)
            await sessions.destroy_all(request.app.state.redis, member.id)
        else:
            raise ApiError(400, "invalid_action", "action is role, deactivate or activate")
        return Redirect("/settings?team=saved#team", status_code=303)
