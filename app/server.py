"""The web application: create_app() assembles domains, plugins and error mapping."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from app.accounts.guards import LoginRequired
from app.analytics.controllers import FlowResultsApi, PromotionsApi, StatsApi
from app.checkouts.controllers import CheckoutsApi, NextSteps
from app.config import Settings, get_settings
from app.core.db import close_db, init_db
from app.core.errors import http_error_response, internal_error, login_redirect
from app.core.health import healthz
from app.core.heap import freeze_startup_heap
from app.core.inputs import InputGuard
from app.core.logging import configure_logging
from app.core.redis import connect_queue, connect_redis
from app.hooks.controllers import HooksApi
from app.integrations.collect.controllers import CollectEvents, SegmentApi
from app.integrations.magento.controllers import MagentoWebhooks
from app.integrations.sendgrid.controllers import SendGridInbound
from app.integrations.shopify.controllers import ShopifyApp, ShopifyEmbeddedApi, ShopifyWebhooks
from app.integrations.twilio.controllers import TwilioWebhooks
from app.integrations.woocommerce.controllers import WooCommercePluginApi, WooCommerceWebhooks
from app.privacy.controllers import PrivacyApi
from app.recovery import services as recovery
from app.recovery.controllers import (
    DiscountLookup,
    EnrollmentsApi,
    FlowsApi,
    ShopperLinks,
    TemplatesApi,
)
from app.recovery.segments.controllers import SegmentsApi
from app.web.assets import API_DOCS_ASSETS, FOLDERS, caching
from app.web.pages import PAGES
from app.web.pages.checkouts import ConversationLinks
from app.web.templating import template_config
from app.wiring import wire
from inbox import queries as inbox_queries
from inbox.chat_socket import ChatApi, chat_socket
from inbox.controllers import InboxApi, InboxManagerApi
from inbox.dev_phone import DevPhone
from inbox.live import channels_plugin
from inbox.sockets import dashboard_socket, inbox_socket

log = logging.getLogger(__name__)


def api_docs() -> SwaggerRenderPlugin:
    """Swagger UI at /schema (and /schema/swagger), every file served by this app."""
    return SwaggerRenderPlugin(
        path=["/", "/swagger"],
        js_url=f"{API_DOCS_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{API_DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{API_DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon="<link rel='icon' href='/favicon.ico'>",
    )


def route_handlers() -> list[Any]:
    """Every domain's controllers; the one place the program's surface is listed."""
    return [
        healthz,
        ShopifyWebhooks,
        WooCommerceWebhooks,
        WooCommercePluginApi,
        MagentoWebhooks,
        CollectEvents,
        SegmentApi,
        CheckoutsApi,
        HooksApi,
        ShopifyApp,
        ShopifyEmbeddedApi,
        PrivacyApi,
        TwilioWebhooks,
        SendGridInbound,
        FlowsApi,
        PromotionsApi,
        SegmentsApi,
        DiscountLookup,
        TemplatesApi,
        EnrollmentsApi,
        ShopperLinks,
        StatsApi,
        FlowResultsApi,
        *PAGES,
        InboxApi,
        InboxManagerApi,
        inbox_socket,
        dashboard_socket,
        ChatApi,
        chat_socket,
        # One router per static folder, from the same table the cache headers read
        # (app.web.assets.FOLDERS); the Swagger UI folder makes /schema work offline.
        *(
            create_static_files_router(
                path=prefix.rstrip("/"),
                directories=[folder],
                include_in_schema=False,
                middleware=[caching],
            )
            for prefix, folder in FOLDERS
        ),
    ]


def provide_next_steps() -> NextSteps:
    """The checkouts API shows recovery's next step; recovery builds on checkouts, not back."""
    return recovery.next_steps


def provide_conversation_links() -> ConversationLinks:
    """The Checkouts page links each cart to its inbox conversation; app never imports inbox."""
    return inbox_queries.conversations_of_checkouts


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Litestar:
    """Build the app; `manage_db=False` when the caller (tests, `followup dev`) owns Tortoise."""
    settings = settings or get_settings()
    wire()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if manage_db:
            await init_db(settings)
        app.state.redis = connect_redis(settings)
        app.state.queue = await connect_queue(settings)
        if manage_db:  # a serving process: its start-up heap lives as long as it does
            freeze_startup_heap()
        try:
            yield
        finally:
            await app.state.queue.aclose()
            await app.state.redis.aclose()
            if manage_db:
                await close_db()

    handlers = route_handlers()
    if settings.dev_mode:  # the local outbox and shopper phone exist only under `followup dev`
        from app.dev.outbox import DevOutbox

        handlers += [DevOutbox, DevPhone]
    return Litestar(
        route_handlers=handlers,
        dependencies={
            "next_steps": Provide(provide_next_steps, sync_to_thread=False),
            "conversation_links": Provide(provide_conversation_links, sync_to_thread=False),
        },
        plugins=[channels_plugin(settings)],
        middleware=[InputGuard()],
        lifespan=[lifespan],
        exception_handlers={
            HTTPException: http_error_response,
            LoginRequired: login_redirect,
            Exception: internal_error,
        },
        template_config=template_config(),
        request_max_body_size=settings.server.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="FollowUp API",
            version="1",
            description="Capture endpoints and the store-scoped JSON API. Authenticate API calls "
            "with `Authorization: Bearer <store api_token>`.",
            path="/schema",
            render_plugins=[api_docs()],
        ),
        on_startup=[lambda: configure_logging(settings.server.log_level)] if manage_db else [],
        # Logging is ours (app.core.logging; unhandled errors are logged by app.core.errors):
        # Litestar's default config would replace the root handlers, and under `followup dev`
        # every later line, the worker's too, would lose its format and key=value context.
        logging_config=None,
        debug=False,
    )
