"""The flow editor page and its session-authenticated JSON: the same services as `/api/v1/flows`."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State, UploadFile
from litestar.di import Provide
from litestar.response import Redirect, Template
from markupsafe import Markup

from app.recovery import flows, pool
from app.recovery.controllers import render_preview
from app.recovery.discounts import upload_pool
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
    async def editor(self, access: Access, uploaded: int | None = None) -> Template:
        return await _editor(access, uploaded=uploaded)

    @post("/flows/codes")
    async def upload_codes(self, request: Request[Any, Any, State], access: Access) -> Any:
        """Paste or a CSV file: codes made in the merchant's own store, and what each is worth."""
        form = await request.form()
        text = str(form.get("codes") or "")
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            content = await upload.read(MAX_CSV_BYTES + 1)
            if len(content) > MAX_CSV_BYTES:
                return await _editor(access, 422, pool_error="The file is larger than 1 MB.")
            text += "\n" + content.decode("utf-8-sig", errors="replace")
        fields = {k: str(form.get(k) or "") for k in ("kind", "value", "warn_below")}
        try:
            terms = pool.read_terms(fields, pool.PoolTerms.of(access.store))
            codes = pool.parse_codes(text)
            pool.check_codes(codes)
        except pool.PoolProblem as exc:
            return await _editor(access, 422, pool_error=str(exc))
        await pool.save_terms(access.store, terms)
        added = await upload_pool(access.store, codes, None)
        return Redirect(f"/flows?uploaded={added}#codes", status_code=303)


MAX_CSV_BYTES = 1024 * 1024


async def _editor(access: Access, status_code: int = 200, **extra: Any) -> Template:
    found = await flows.list_flows(access.store)
    context = access.context(
        "flows",
        flows=found,
        flows_json=script_json(found),
        pool=await pool.status(access.store),
        pool_terms=pool.terms_label(pool.PoolTerms.of(access.store), access.store),
        **extra,
    )
    return Template(
        "analytics/flows.html",
        context=context,
        status_code=status_code,
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
