"""The flow editor page and its session-authenticated JSON: the same services as `/api/v1/flows`."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.response import Template
from markupsafe import Markup

from app.core.timeutil import utcnow
from app.recovery import flows
from app.recovery.controllers import render_preview
from app.recovery.failures import recent_failures
from app.recovery.schemas import FlowOut, FlowPatch, PreviewIn, PreviewOut
from app.web.access import Access, frame_headers, manager_access, manager_api


def script_json(value: object) -> Markup:
    """JSON safe inside <script>: a merchant's "</script>" in a template cannot end the tag."""
    text = msgspec.json.encode(value).decode()
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return Markup(text)


class FlowPages(Controller):
    include_in_schema = False
    dependencies = {"access": Provide(manager_access)}

    @get("/flows")
    async def editor(self, access: Access) -> Template:
        found = await flows.list_flows(access.store)
        failures = await recent_failures(access.store.id, utcnow())
        return Template(
            "analytics/flows.html",
            context=access.context(
                "flows", flows=found, flows_json=script_json(found), failures=failures
            ),
            headers=frame_headers(access.store),
        )


class FlowSessionApi(Controller):
    """What the editor calls: cookie session + X-CSRF-Token, owners and admins only."""

    path = "/flows/api"
    include_in_schema = False
    dependencies = {"access": Provide(manager_api)}

    @get("/")
    async def list_flows(self, access: Access) -> list[FlowOut]:
        return await flows.list_flows(access.store)

    @patch("/{flow_id:int}")
    async def save(self, access: Access, flow_id: int, data: FlowPatch) -> FlowOut:
        return await flows.patch_flow(access.store, flow_id, data)

    @post("/preview", status_code=200)
    async def preview(self, access: Access, data: PreviewIn) -> PreviewOut:
        return await render_preview(access.store, data)
