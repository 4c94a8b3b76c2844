"""Recovery HTTP surface: the flows and preview API, enrollment controls, magic links and unsubscribe."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post, put
from litestar.di import Provide

from app.accounts.guards import store_api
from app.checkouts.models import Checkout, Contact
from app.config import get_settings
from app.core.errors import ApiError
from app.core.scheduling import schedule_dispatch
from app.core.timeutil import utcnow
from app.recovery import flows, pool, services, templates, visits
from app.recovery.discounts import label, upload_pool
from app.recovery.models import DiscountCode, Enrollment
from app.recovery.schemas import (
    CodePoolIn,
    CodePoolOut,
    CodePoolStatus,
    EnrollmentAction,
    FlowIn,
    FlowOut,
    FlowPatch,
    PreviewIn,
    PreviewOut,
    VariantIn,
)
from app.recovery.validation import FlowProblem, validate_variant
from app.stores.auth import api_store
from app.stores.models import Store
from app.stores.services import capture_store

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape()
)


class FlowsApi(Controller):
    """For scripts (bearer token) and for the flow editor page (its session and CSRF header)."""

    path = "/api/v1/flows"
    tags = ["recovery"]
    dependencies = {"store": Provide(store_api)}

    @get("/", summary="The store's flows with their triggers and steps")
    async def list_flows(self, store: Store) -> list[FlowOut]:
        return await flows.list_flows(store)

    @post("/", summary="Create a flow (a trigger from the catalogue; 422 names the exact field)")
    async def create_flow(self, store: Store, data: FlowIn) -> FlowOut:
        return await flows.create_flow(store, data)

    @delete("/{flow_id:int}", summary="Delete a flow; its live sequences stop first")
    async def delete_flow(self, store: Store, flow_id: int) -> None:
        await services.delete_flow(store, flow_id)

    @get("/{flow_id:int}", summary="One flow")
    async def get_flow(self, store: Store, flow_id: int) -> FlowOut:
        return await flows.get_flow(store, flow_id)

    @put("/{flow_id:int}", summary="Replace a flow (validated; 422 names the exact problem)")
    async def replace_flow(self, store: Store, flow_id: int, data: FlowIn) -> FlowOut:
        return await flows.replace_flow(store, flow_id, data)

    @patch("/{flow_id:int}", summary="Change part of a flow; `steps`, if given, replaces all steps")
    async def patch_flow(self, store: Store, flow_id: int, data: FlowPatch) -> FlowOut:
        return await flows.patch_flow(store, flow_id, data)

    @post("/codes", summary="Upload single-use discount codes to the store's pool", status_code=201)
    async def upload_codes(self, store: Store, data: CodePoolIn) -> CodePoolOut:
        if not data.codes:
            raise ApiError(422, "invalid_codes", "send at least one code")
        try:  # the same limits as the upload form on the flows page
            pool.check_codes([c.strip() for c in data.codes])
        except pool.PoolProblem as exc:
            raise ApiError(422, "invalid_codes", str(exc)) from None
        added = await upload_pool(store, data.codes, data.ends_at)
        return CodePoolOut(added=added, available=(await pool.status(store)).available)

    @get("/codes", summary="How many pool codes are left, what each is worth, any warning")
    async def code_pool(self, store: Store) -> CodePoolStatus:
        found = await pool.status(store)
        terms = found.terms
        return CodePoolStatus(
            available=found.available,
            issued=found.issued,
            kind=terms.kind,
            value=None if terms.value is None else str(terms.value),
            warn_below=terms.warn_below,
            warning=found.warning,
        )


class DiscountLookup(Controller):
    """What a code from a magic link is worth, for the store's own page to show it applied."""

    path = "/collect/v1/discounts"
    tags = ["capture"]

    @get("/{code:str}", summary="A code FollowUp issued: its label, value and expiry")
    async def lookup(self, request: Request[Any, Any, Any], code: str, key: str) -> Response[Any]:
        origin = request.headers.get("origin")
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
        store = await capture_store("collect", key[:64])
        if store is None:
            raise ApiError(404, "unknown_store", "no store has this publishable key", cors)
        allowed = "*" in (store.allowed_origins or []) or bool(
            origin and origin.rstrip("/") in store.origins()
        )
        if origin and not allowed:
            reason = f"origin {origin} is not one of this store's sites"
            raise ApiError(403, "origin_not_allowed", reason, cors)
        row = await DiscountCode.get_or_none(store=store, code=code.strip().upper()[:64])
        if row is None or row.assigned_at is None:  # pool codes nobody was given stay secret
            raise ApiError(404, "unknown_code", "FollowUp did not issue this code", cors)
        return Response(pool.describe(row, store), headers=cors)


class TemplatesApi(Controller):
    path = "/api/v1/templates"
    tags = ["recovery"]
    dependencies = {"store": Provide(store_api)}

    @post(
        "/preview", summary="Render a template against a real or sample checkout", status_code=200
    )
    async def preview(self, store: Store, data: PreviewIn) -> PreviewOut:
        return await render_preview(store, data)


def _sample_discount(kind: str | None, store: Store) -> templates.Discount:
    if kind == "free_shipping":
        return templates.Discount("SAMPLE-SHIP", label(kind, None, store.currency, ""), utcnow())
    if kind == "fixed_amount":
        text = label(kind, Decimal(10), store.currency, store.locale)
        return templates.Discount("SAMPLE-10OFF", text, utcnow())
    return templates.Discount("SAMPLE-10OFF", "10% off", utcnow())


async def render_preview(store: Store, data: PreviewIn) -> PreviewOut:
    """A template rendered against a real or sample checkout, as the engine would send it."""
    variant = VariantIn(body=data.body, subject=data.subject, html=data.html)
    try:
        validate_variant("template", data.channel, variant)
    except FlowProblem as exc:
        raise ApiError(422, "invalid_template", str(exc)) from None
    public = get_settings().server.public_url
    checkout, contact = await _subject(store, data.checkout_id, public)
    discount = None
    if data.discount:
        discount = _sample_discount(data.discount_kind, store)
    context = templates.build_context(
        store=store,
        checkout=checkout,
        contact=contact,
        magic_link=f"{public}/r/xxxxxx-xxxxxxxxxxxx",
        unsubscribe_url=f"{public}/u/preview",
        discount=discount,
    )
    try:
        out = _render(data, context)
    except templates.RenderProblem as exc:  # this checkout's data, beyond the sample's
        raise ApiError(422, "invalid_template", f"template: {exc}") from None
    return PreviewOut(
        channel=data.channel,
        text=out.text,
        subject=out.subject,
        html=out.html,
        segments=out.segments,
        encoding=out.encoding,
        characters=len(out.text),
        checkout_id=data.checkout_id,
    )


def _render(data: PreviewIn, context: dict[str, Any]) -> templates.Rendered:
    if data.channel == "sms":
        return templates.render_sms(data.body, context)
    return templates.render_email(
        {"subject": data.subject, "body": data.body, "html": data.html}, context
    )


async def _subject(store: Store, checkout_id: int | None, public_url: str) -> tuple[Any, Any]:
    if checkout_id is None:
        return templates.sample_checkout(public_url), templates.SAMPLE_CONTACT
    checkout = await Checkout.get_or_none(id=checkout_id, store=store)
    if checkout is None:
        raise ApiError(404, "not_found", f"no checkout {checkout_id} in this store")
    contact = await Contact.get_or_none(id=checkout.contact_id) if checkout.contact_id else None
    return checkout, contact


class EnrollmentsApi(Controller):
    path = "/api/v1/recovery"
    tags = ["recovery"]
    dependencies = {"store": Provide(api_store)}

    @get("/checkouts/{checkout_id:int}", summary="Sequence progress for one checkout")
    async def progress(self, store: Store, checkout_id: int) -> dict[str, Any]:
        checkout = await Checkout.get_or_none(id=checkout_id, store=store)
        if checkout is None:
            raise ApiError(404, "not_found", f"no checkout {checkout_id} in this store")
        return await services.progress(checkout)

    @post(
        "/enrollments/{enrollment_id:int}/{action:str}",
        status_code=200,
        summary="pause, resume or stop",
    )
    async def act(
        self, store: Store, enrollment_id: int, action: str, data: EnrollmentAction | None = None
    ) -> dict[str, Any]:
        enrollment = await Enrollment.get_or_none(id=enrollment_id, store=store)
        if enrollment is None:
            raise ApiError(404, "not_found", f"no enrollment {enrollment_id} in this store")
        reason = (data.reason if data else "agent")[:64]
        if action == "pause":
            changed = await services.pause(enrollment_id, reason)
        elif action == "resume":
            changed = await services.resume(enrollment_id)
        elif action == "stop":
            changed = await services.stop(enrollment_id, reason)
        else:
            raise ApiError(404, "not_found", "action must be pause, resume or stop")
        if enrollment.checkout_id is None:  # a flow without a cart: the enrollment's own state
            await enrollment.refresh_from_db()
            return {"changed": changed, **services.state_of(enrollment)}
        checkout = await Checkout.get(id=enrollment.checkout_id)
        return {"changed": changed, **await services.progress(checkout)}


def page(status: int, **values: Any) -> Response[str]:
    html = _pages.get_template("page.html").render(**values)
    return Response(
        html,
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


class ShopperLinks(Controller):
    """Public pages reached from messages: no login, no cookies, nothing but the signed token."""

    include_in_schema = False

    @get("/r/{token:str}")
    async def magic_link(self, request: Request[Any, Any, Any], token: str) -> Response[str]:
        chat = request.query_params.get("chat") == "1"
        landing = await visits.follow(token, request.headers.get("user-agent"), chat)
        if landing.url:
            return Response(
                "",
                status_code=302,
                headers={
                    "Location": landing.url,
                    "Cache-Control": "no-store",
                    "Referrer-Policy": "no-referrer",
                },
            )
        title = "This link has expired" if landing.expired else "This link is not valid"
        return page(
            410 if landing.expired else 404,
            title=title,
            message="Your cart may still be waiting for you in the store.",
            link=landing.store_url,
            link_label="Go to the store",
        )

    @get("/u/{token:str}")
    async def unsubscribe_page(self, token: str) -> Response[str]:
        found = await visits.lookup(token)
        if found.contact is None or found.store is None:
            return page(404, title="Unknown link", message="This unsubscribe link is not valid.")
        if found.contact.email_opted_out_at:
            return page(
                200,
                title="You're unsubscribed",
                message=f"{found.store.name} will not email you about abandoned carts again.",
            )
        return page(
            200,
            title="Unsubscribe?",
            message=f"Stop cart reminder emails from {found.store.name}.",
            form_action=f"/u/{token}",
            button="Unsubscribe",
        )

    @post("/u/{token:str}", status_code=200)
    async def unsubscribe(self, request: Request[Any, Any, Any], token: str) -> Response[str]:
        """RFC 8058 one-click: acts immediately, answers 200, never redirects."""
        form = await request.form()
        source = "one_click" if form.get("List-Unsubscribe") == "One-Click" else "unsubscribe_page"
        done = await visits.unsubscribe(token, source)
        if done.contact is None or done.store is None:
            return page(404, title="Unknown link", message="This unsubscribe link is not valid.")
        if done.event_id:
            await schedule_dispatch(getattr(request.app.state, "queue", None), done.event_id)
        return page(
            200,
            title="You're unsubscribed",
            message=f"{done.store.name} will not email you about abandoned carts again.",
        )
