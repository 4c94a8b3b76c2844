"""The invitation page: an invited teammate sets a password and lands signed in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect, Template

from app.accounts import sessions
from app.accounts.cookies import session_cookie
from app.accounts.models import Agent
from app.accounts.services import AccountError, accept_invitation
from app.core.security import token_digest
from app.web.pages.home import landing_for


class InvitePages(Controller):
    include_in_schema = False

    @get("/invite/{token:str}")
    async def invite_form(self, token: str) -> Template:
        agent = await Agent.get_or_none(
            invite_digest=token_digest(token), active=True
        ).prefetch_related("store")
        if agent is None:
            return Template("pages/invite.html", context={"invalid": True}, status_code=404)
        return Template(
            "pages/invite.html",
            context={"email": agent.email, "name": agent.name, "store_name": agent.store.name},
        )

    @post("/invite/{token:str}")
    async def invite_accept(self, request: Request[Any, Any, State], token: str) -> Response[Any]:
        form = await request.form()
        try:
            agent = await accept_invitation(
                token,
                str(form.get("password", "")),
                str(form.get("name", "")).strip()[:255] or None,
            )
        except AccountError as exc:
            pending = await Agent.get_or_none(invite_digest=token_digest(token)).prefetch_related(
                "store"
            )
            if pending is None:
                return Template("pages/invite.html", context={"invalid": True}, status_code=404)
            return Template(
                "pages/invite.html",
                status_code=422,
                context={
                    "email": pending.email,
                    "name": pending.name,
                    "store_name": pending.store.name,
                    "error": str(exc),
                },
            )
        session_token, _ = await sessions.create(
            request.app.state.redis,
            agent.id,
            agent.store_id,
            str(agent.role),
        )
        return Redirect(
            await landing_for(agent), status_code=303, cookies=[session_cookie(session_token)]
        )
