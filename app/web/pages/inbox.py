"""The inbox page: the shell the inbox app (`inbox/static`) boots in, for every agent of the store."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import Provide
from litestar.response import Template

from app.accounts.guards import CurrentAgent, page_agent
from app.config import get_settings
from app.core.timeutil import utcnow
from app.stores.models import Store


class InboxPages(Controller):
    include_in_schema = False
    dependencies = {"current": Provide(page_agent)}

    @get("/inbox")
    async def inbox(self, current: CurrentAgent) -> Template:
        store = await Store.get(id=current.store_id)
        boot = {
            "agent": {
                "id": current.agent.id,
                "name": current.agent.name,
                "role": str(current.agent.role),
            },
            "store": {"id": store.id, "name": store.name, "timezone": store.timezone},
            "poll_seconds": get_settings().inbox.poll_seconds,
            "server_now": utcnow().isoformat(),  # overdue markers use the server's clock
        }
        return Template(
            "inbox/inbox.html",
            context={
                "current": current,
                "csrf_token": current.session.csrf,
                "store": store,
                "boot": boot,
            },
        )
