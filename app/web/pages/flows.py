"""The flow editor page and the code pool form; the editor saves and previews through the JSON API
(`/api/v1/flows`, `/api/v1/templates/preview`) with the page's session."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import Provide
from litestar.response import Redirect, Template
from markupsafe import Markup

from app.analytics import promotion
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.recovery import flows, gallery, pool, seasons, triggers
from app.recovery.discounts import upload_pool
from app.recovery.failures import recent_failures
from app.recovery.models import Flow, Segment
from app.recovery.schemas import FlowOut, FlowPatch
from app.recovery.segments import rules as rfm
from app.recovery.segments import services as segments
from app.web.access import Access, frame_headers, manager_access
from app.web.pages import segments as segment_page


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
    async def editor(
        self,
        access: Access,
        uploaded: int | None = None,
        flow: int | None = None,
        segment: int | None = None,
    ) -> Template:
        editing = (
            await Segment.get_or_none(id=segment, store_id=access.store.id) if segment else None
        )
        return await _editor(
            access,
            uploaded=uploaded,
            selected=flow,
            segment_form=segment_page.form_values(editing),
            editing=editing.id if editing else None,
        )

    @post("/flows/segments")
    async def save_segment(self, request: Request[Any, Any, State], access: Access) -> Any:
        """Create a segment, or change one (`segment_id`); a refusal shows the form again."""
        form = await request.form()
        groups = [str(g) for g in form.getall("groups", [])]
        conditions = segment_page.conditions_from_form(form, groups)
        name = str(form.get("name") or "")
        editing = (
            int(str(form.get("segment_id")))
            if str(form.get("segment_id") or "").isdigit()
            else None
        )
        try:
            if editing is None:
                saved = await segments.create(access.store, name, conditions)
            else:
                saved = await segments.change(access.store, editing, name, conditions)
        except ApiError as exc:
            if exc.status_code == 404:
                raise
            typed = {**{k: str(v) for k, v in form.items()}, "groups_list": groups}
            return await _editor(
                access,
                exc.status_code,
                segment_error=segment_page.in_words(str(exc.detail)),
                segment_form=segment_page.form_values(None, typed),
                editing=editing,
            )
        return Redirect(f"/flows?saved_segment={saved.id}#segments", status_code=303)

    @post("/flows/segments/{segment_id:int}/delete")
    async def delete_segment(self, access: Access, segment_id: int) -> Any:
        try:
            await segments.delete(access.store, segment_id)
        except ApiError as exc:
            if exc.status_code != 409:
                raise
            return await _editor(access, 409, segment_error=str(exc.detail))
        return Redirect("/flows#segments", status_code=303)

    @post("/flows/new")
    async def from_template(self, request: Request[Any, Any, State], access: Access) -> Any:
        """A flow from the gallery, paused, opened in the editor for the merchant to read."""
        form = await request.form()
        template = gallery.BY_TRIGGER.get(str(form.get("template") or ""))
        if template is None:
            return await _editor(access, 422, gallery_error="Pick one of the templates below.")
        created = await flows.create_flow(access.store, template.as_flow())
        return Redirect(f"/flows?flow={created.id}", status_code=303)

    @post("/flows/{flow_id:int}/auto-promote")
    async def auto_promote(
        self, request: Request[Any, Any, State], access: Access, flow_id: int
    ) -> Any:
        """The flow's opt-in to automatic A/B promotion (the worker's hourly pass)."""
        form = await request.form()
        await promotion.set_auto(access.store, flow_id, str(form.get("enabled")) == "true")
        return Redirect(f"/flows?flow={flow_id}#promotions", status_code=303)

    @post("/flows/{flow_id:int}/seasons/black-friday")
    async def black_friday(self, access: Access, flow_id: int) -> Any:
        """The gallery's peak-season preset on a flow: Black Friday to Cyber Monday, faster."""
        store = access.store
        flow = await flows.get_flow(store, flow_id)
        preset = seasons.black_friday(
            seasons.preset_year(store.timezone, utcnow()), [s.delay_seconds for s in flow.steps]
        )
        try:
            await flows.patch_flow(store, flow_id, FlowPatch(seasons=[*flow.seasons, preset]))
        except ApiError as exc:
            return await _editor(access, 422, selected=flow_id, season_error=exc.detail)
        return Redirect(f"/flows?flow={flow_id}#seasons", status_code=303)

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


async def _editor(
    access: Access, status_code: int = 200, selected: int | None = None, **extra: Any
) -> Template:
    found = await flows.list_flows(access.store)
    extra.setdefault("segment_form", {"groups": []})
    segment_rows = await segment_page.rows(access.store)
    open_flow = next((f for f in found if f.id == selected), found[0] if found else None)
    auto = open_flow is not None and await Flow.exists(id=open_flow.id, auto_promote=True)
    context = access.context(
        "flows",
        flows=found,
        open_flow=open_flow,
        labels={name: t.label for name, t in triggers.CATALOGUE.items()},
        gallery=gallery.GALLERY,
        flows_json=script_json(found),
        season_rows=_season_rows(open_flow, access.store.timezone) if open_flow else [],
        pool=await pool.status(access.store),
        failures=await recent_failures(access.store.id, utcnow()),
        pool_terms=pool.terms_label(pool.PoolTerms.of(access.store), access.store),
        auto_promote=auto,
        promotions=await promotion.history(access.store, open_flow.id) if open_flow else [],
        segment_rows=segment_rows,
        segments_json=script_json([{"id": r.id, "name": r.name} for r in segment_rows]),
        rfm_groups=[(name, label) for name, label in rfm.GROUP_LABELS.items()],
        rfm_meaning={g.name: g.meaning for g in rfm.GROUPS},
        **extra,
    )
    return Template(
        "pages/flows.html",
        context=context,
        status_code=status_code,
        headers=frame_headers(access.store),
    )


def _season_rows(flow: FlowOut, zone: str) -> list[dict[str, Any]]:
    """The open flow's seasons as the page lists them: when, what changes, in force now."""
    return [
        {
            "name": raw["name"],
            "starts": _when(raw["starts_at"]),
            "ends": _when(raw["ends_at"]),
            "changes": seasons.describe(raw),
            "active": raw["name"] == flow.active_season,
        }
        for raw in flow.seasons
    ]


def _when(local: str) -> str:
    moment = seasons.local_time(local, "season")
    return moment.strftime("%a %d %b %Y, %H:%M")
