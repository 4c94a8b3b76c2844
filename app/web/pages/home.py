"""The front door: `/` sends each person to the page their role opens first; the site icon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.datastructures import CacheControlHeader, State
from litestar.response import File, Redirect

from app.accounts.guards import optional_agent
from app.accounts.models import Agent


async def landing_for(agent: Agent) -> str:
    """Owners and admins open on the dashboard; agents on the inbox."""
    return "/dashboard" if agent.is_manager else "/inbox"


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, State]) -> Redirect:
    current = await optional_agent(request)
    if current is None:
        return Redirect("/login", status_code=303)
    return Redirect(await landing_for(current.agent), status_code=303)


FAVICON = Path(__file__).parents[1] / "static" / "favicon.ico"


@get("/favicon.ico", include_in_schema=False, cache_control=CacheControlHeader(max_age=86400))
async def favicon() -> File:
    """Browsers ask for it at the root on every site, whatever the page links."""
    return File(FAVICON, media_type="image/x-icon", content_disposition_type="inline")
