"""Inbox HTTP surface: the store-scoped JSON API the page uses (Twilio's webhook is in app/integrations/twilio)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Stream

from app.accounts.guards import CurrentAgent, api_manager, current_agent
from app.checkouts.models import Checkout
from app.config import get_settings
from app.core.errors import ApiError
from app.core.scheduling import schedule_dispatch
from app.recovery import controls as recovery_link
from inbox import consent, queries, replies, services
from inbox.models import CannedReply, ConversationStatus
from inbox.rules import MERGE_FIELDS
from inbox.schemas import (
    AssignIn,
    CannedIn,
    NoteIn,
    OptOutReviewIn,
    ReplyIn,
    SequenceIn,
    SnoozeIn,
    StartIn,
    message_json,
)


async def _checkout(conv_checkout_id: int | None, store_id: int) -> Checkout | None:
    if conv_checkout_id is None:
        return None
    return await Checkout.get_or_none(id=conv_checkout_id, store_id=store_id)


class InboxApi(Controller):
    """Every handler takes the store from the session; ids in paths are looked up within it."""

    path = "/inbox/api/v1"
    tags = ["inbox"]
    dependencies = {"current": Provide(current_agent)}

    @get("/conversations", summary="List conversations (view: mine|unassigned|all)")
    async def list(
        self,
        current: CurrentAgent,
        view: str = "all",
        status: str = "open",
        q: str = "",
        sort: str = "recent",
    ) -> dict[str, Any]:
        rows = await queries.list_conversations(
            current.store_id, current.agent.id, view, status, q, sort=sort
        )
        return {"conversations": rows}

    @post("/conversations", summary="Text a consenting contact first", status_code=201)
    async def start(self, current: CurrentAgent, data: StartIn) -> dict[str, Any]:
        msg, sent = await replies.start_conversation(
            get_settings(),
            current.agent,
            data.contact_id,
            data.body,
            data.client_id,
            data.allow_quiet_hours,
        )
        return {"message": message_json(await _fresh(msg), _me(current)), "sent": sent}

    @get("/conversations/{conv_id:int}", summary="One thread with its cart panel")
    async def detail(self, current: CurrentAgent, conv_id: int) -> dict[str, Any]:
        return await queries.thread(current.store_id, current.agent.id, conv_id)

    @post(
        "/conversations/{conv_id:int}/messages",
        summary="Reply by SMS or email (channel; default: the one the shopper last used)",
        status_code=201,
    )
    async def reply(self, current: CurrentAgent, conv_id: int, data: ReplyIn) -> dict[str, Any]:
        msg, sent = await replies.send_reply(
            get_settings(), current.agent, conv_id, data.body, data.client_id, data.channel
        )
        return {"message": message_json(await _fresh(msg), _me(current)), "sent": sent}

    @post("/conversations/{conv_id:int}/notes", summary="Internal note", status_code=201)
    async def note(self, current: CurrentAgent, conv_id: int, data: NoteIn) -> dict[str, Any]:
        msg = await services.add_note(
            current.store_id, conv_id, current.agent, data.body, data.client_id
        )
        return {"message": message_json(msg, _me(current))}

    @post("/conversations/{conv_id:int}/read", summary="Mark read for me", status_code=200)
    async def read(self, current: CurrentAgent, conv_id: int) -> dict[str, Any]:
        return {"seen": await services.mark_read(current.store_id, conv_id, current.agent.id)}

    @post(
        "/conversations/{conv_id:int}/assign",
        summary="Assign (agent_id null: unassign)",
        status_code=200,
    )
    async def assign(self, current: CurrentAgent, conv_id: int, data: AssignIn) -> dict[str, Any]:
        conv = await services.assign(current.store_id, conv_id, data.agent_id)
        return await services.summary(conv, current.agent.id)

    @post("/conversations/{conv_id:int}/snooze", summary="Snooze until a time", status_code=200)
    async def snooze(self, current: CurrentAgent, conv_id: int, data: SnoozeIn) -> dict[str, Any]:
        conv = await services.set_status(
            current.store_id, conv_id, ConversationStatus.SNOOZED, data.until
        )
        return await services.summary(conv, current.agent.id)

    @post("/conversations/{conv_id:int}/close", summary="Close", status_code=200)
    async def close(self, current: CurrentAgent, conv_id: int) -> dict[str, Any]:
        conv = await services.set_status(current.store_id, conv_id, ConversationStatus.CLOSED)
        return await services.summary(conv, current.agent.id)

    @post("/conversations/{conv_id:int}/reopen", summary="Reopen", status_code=200)
    async def reopen(self, current: CurrentAgent, conv_id: int) -> dict[str, Any]:
        conv = await services.set_status(current.store_id, conv_id, ConversationStatus.OPEN)
        return await services.summary(conv, current.agent.id)

    @post(
        "/conversations/{conv_id:int}/sequence",
        summary="Pause, resume or stop the recovery sequence",
        status_code=200,
    )
    async def sequence(
        self, current: CurrentAgent, conv_id: int, data: SequenceIn
    ) -> dict[str, Any]:
        conv = await services.scoped(current.store_id, conv_id)
        checkout = await _checkout(conv.checkout_id, current.store_id)
        return await recovery_link.control(checkout, data.action, f"agent:{current.agent.id}")

    @post(
        "/conversations/{conv_id:int}/opt-out",
        summary="Decide on a reply that may be an opt-out (confirm or dismiss)",
        status_code=200,
    )
    async def review_opt_out(
        self,
        request: Request[Any, Any, State],
        current: CurrentAgent,
        conv_id: int,
        data: OptOutReviewIn,
    ) -> dict[str, Any]:
        confirm = data.decision == "confirm"
        conv, outbox_ids = await services.review_opt_out(current, conv_id, confirm)
        for outbox_id in outbox_ids:
            await schedule_dispatch(request.app.state.queue, outbox_id)
        return await services.summary(conv, current.agent.id)

    @post(
        "/conversations/{conv_id:int}/discount",
        summary="Create a discount code for this cart",
        status_code=201,
    )
    async def discount(self, current: CurrentAgent, conv_id: int) -> dict[str, Any]:
        conv = await services.scoped(current.store_id, conv_id)
        checkout = await _checkout(conv.checkout_id, current.store_id)
        return await recovery_link.issue_discount(checkout)

    @get("/changes", summary="Catch up after a dropped connection or while polling")
    async def changes(
        self, current: CurrentAgent, after: int = 0, since: datetime | None = None
    ) -> dict[str, Any]:
        return await queries.changes(current.store_id, max(after, 0), since)

    @get("/agents", summary="Agents of my store")
    async def agents(self, current: CurrentAgent) -> dict[str, Any]:
        return {"agents": await queries.agents(current.store_id)}

    @get("/contacts/{contact_id:int}", summary="One contact of my store")
    async def contact(self, current: CurrentAgent, contact_id: int) -> dict[str, Any]:
        return await queries.contact_card(current.store_id, contact_id)

    @get("/canned", summary="Canned replies")
    async def canned(self, current: CurrentAgent) -> dict[str, Any]:
        return {"canned": await queries.canned(current.store_id), "fields": list(MERGE_FIELDS)}


def _me(current: CurrentAgent) -> dict[int, str]:
    """The author's name, so a reply reads the same when sent as after a reload."""
    return {current.agent.id: current.agent.name}


async def _fresh(msg: Any) -> Any:
    await msg.refresh_from_db()
    return msg


class InboxManagerApi(Controller):
    """Owners and admins: canned replies and the consent audit trail."""

    path = "/inbox/api/v1/manage"
    tags = ["inbox"]
    dependencies = {"current": Provide(api_manager)}

    @post("/canned", summary="Add a canned reply", status_code=201)
    async def add_canned(self, current: CurrentAgent, data: CannedIn) -> dict[str, Any]:
        title, body = data.title.strip(), data.body.strip()
        if not (1 <= len(title) <= 80 and 1 <= len(body) <= 1600):
            raise ApiError(422, "bad_canned", "title 1-80 and body 1-1600 characters")
        row, _ = await CannedReply.update_or_create(
            store_id=current.store_id, title=title, defaults={"body": body}
        )
        return {"id": row.id, "title": row.title, "body": row.body}

    @delete("/canned/{canned_id:int}", summary="Remove a canned reply", status_code=204)
    async def remove_canned(self, current: CurrentAgent, canned_id: int) -> None:
        await services.remove_canned(current.store_id, canned_id)

    @get("/consent-events.csv", summary="Consent audit trail as CSV", media_type="text/csv")
    async def consent_export(self, current: CurrentAgent) -> Stream:
        return Stream(
            consent.consent_csv(current.store_id),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="consent-events.csv"'},
        )
