"""Where the program is assembled: every event listener and every vendor's topic map, in one place.

A composition root like app/server.py and app/worker.py (which both call `wire()` at start): it
may import every domain and vendor package, and nothing imports it but those roots and tests.
Registration is explicit here rather than a side effect of importing a module, so "what happens
when a checkout is abandoned" is read off the table below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from app.analytics import listeners as analytics
from app.checkouts import listeners as checkouts
from app.core import events, scheduling
from app.hooks import listeners as hooks
from app.hooks.payloads import ANNOUNCES
from app.ingest import processing
from app.ingest.processing import Topics
from app.integrations.collect import spec as collect
from app.integrations.magento import webhooks as magento
from app.integrations.segment import listeners as segment
from app.integrations.segment.forward import TRACKED
from app.integrations.sendgrid import mail as sendgrid
from app.integrations.shopify import flow as shopify_flow
from app.integrations.shopify import webhooks as shopify
from app.integrations.smtp import sender as smtp
from app.integrations.twilio import sms as twilio
from app.integrations.woocommerce import webhooks as woocommerce
from app.messaging import providers
from app.recovery import listeners as recovery
from app.recovery.playbook import ensure_default_flow
from app.scoring import listeners as scoring
from app.stores.services import seed_new_stores_with
from inbox import listeners as inbox

# Domain events (outbox, at least once): who reacts, in the order they run.
SUBSCRIPTIONS: tuple[tuple[str, events.Handler], ...] = (
    (events.CHECKOUT_ABANDONED, analytics.checkout_changed),
    (events.CHECKOUT_ABANDONED, checkouts.log_abandoned),
    (events.CHECKOUT_ABANDONED, scoring.score_abandoned),  # before enrolment: conditions read it
    (events.CHECKOUT_ABANDONED, recovery.enroll_abandoned),
    (events.CHECKOUT_COMPLETED, analytics.checkout_changed),
    (events.CHECKOUT_COMPLETED, recovery.stop_on_order),
    (events.CHECKOUT_RECOVERED, analytics.checkout_changed),
    (events.CHECKOUT_RECOVERED, recovery.stop_on_order),
    (events.ENROLLMENT_STOPPED, analytics.enrollment_stopped),
    (events.ORDER_RECORDED, analytics.order_recorded),
    (events.ORDER_RECORDED, checkouts.refresh_history),
    (events.ORDER_RECORDED, recovery.enter_on_order),  # after the history: milestones read it
    (events.STORE_UNINSTALLED, recovery.stop_on_uninstall),
    (events.CONTACT_OPTED_OUT, analytics.contact_changed),
    (events.CONTACT_OPTED_OUT, recovery.trim_on_opt_out),
    (events.CONTACT_OPTED_OUT, checkouts.refresh_subscription),
    (events.CONTACT_OPTED_IN, checkouts.refresh_subscription),
    (events.CONTACT_OPTED_IN, recovery.enter_on_opt_in),
    (events.SHOPPER_REPLIED, analytics.shopper_replied),
    (events.SHOPPER_REPLIED, recovery.pause_on_reply),
    # Outward: subscribers' webhooks, Segment, Shopify Flow (each names the events it announces).
    *((name, hooks.fan_out) for name in sorted(ANNOUNCES)),
    *((name, segment.forward_to_segment) for name in sorted(TRACKED)),
    *((name, shopify_flow.fire_trigger) for name in sorted(shopify_flow.HANDLES)),
    # Live dashboards, last: by now analytics has marked the day the figures are re-read from.
    *((name, inbox.stats_changed) for name in inbox.STATS_EVENTS),
)

# Notifications (fire and forget, live views only).
LISTENERS: tuple[tuple[str, Callable[..., Awaitable[None]]], ...] = (
    (events.MESSAGE_CHANGED, analytics.message_changed),
    (events.MESSAGE_CHANGED, inbox.message_changed),
)

# One topic map per vendor, declared next to its webhook code.
TOPIC_MAPS: tuple[Topics, ...] = (
    shopify.TOPICS,
    woocommerce.TOPICS,
    woocommerce.PLUGIN_TOPICS,
    collect.TOPICS,
    magento.TOPICS,
)


def wire(*_: Any) -> None:
    """Register every listener and topic map; idempotent, so each process may call it freely."""
    for name, handler in SUBSCRIPTIONS:
        events.subscribe(name)(handler)
    for name, listener in LISTENERS:
        events.listen(name)(listener)
    # A batch's events are dispatched last, once its marks and frames are out (scopes end in
    # reverse order): the live dashboards they wake re-read marked days.
    events.batch_scope(scheduling.GATHERED_DISPATCHES.scope)
    events.batch_scope(analytics.gathered_marks)  # a batch of sends: one rollup mark per store
    events.batch_scope(inbox.gathered_frames)  # and its live frames' threads read at once
    for topics in TOPIC_MAPS:
        processing.register(topics)
    seed_new_stores_with(ensure_default_flow)
    providers.offer_sms(twilio.from_settings)
    for email in (sendgrid.from_settings, smtp.from_settings):  # in order of preference
        providers.offer_email(email)
