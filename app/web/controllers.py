"""The front door: `/` sends each person to the page their role opens first."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Redirect

from app.accounts.controllers import landing_for
from app.accounts.guards import optional_agent


@get("/", include_in_schema=False)
async def home(request: Request[Any, Any, State]) -> Redirect:
    current = await optional_agent(request)
    if current is None:
        return Redirect("/login", status_code=303)
    return Redirect(await landing_for(current.agent), status_code=303)
