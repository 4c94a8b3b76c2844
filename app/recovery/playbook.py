"""The default recovery playbook every store starts with, in the store's voice, editable afterwards."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from app.recovery.models import Flow, FlowStep
from app.stores.models import Store

MINUTE, HOUR = 60, 3600
DEFAULT_INCENTIVE = {
    "source": "auto",
    "kind": "percentage",
    "value": "10",
    "min_total": "50",
    "expires_hours": 48,
}

_REPLY = (
    "Questions about sizing, shipping or anything else? Just reply to this email"
    "{% if store_phone %} or text us at {{ store_phone }}{% endif %}: a real person answers."
    "{% if chat_link %} Or chat with us live on our site: {{ chat_link }}{% endif %}"
)

DEFAULT_STEPS: list[dict[str, Any]] = [
    {
        "channel": "sms",
        "delay_seconds": 15 * MINUTE,
        "variants": [
            {
                "key": "a",
                "weight": 1,
                # One GSM-7 segment (160) with a typical brand, item and link: see the unit test.
                "body": "Hi {{ first_name or 'there' }}, it's {{ store_name }}. Your {{ first_item }}"
                " is saved: {{ magic_link }} Reply STOP to opt out.",
            }
        ],
    },
    {
        "channel": "email",
        "delay_seconds": 1 * HOUR,
        "variants": [
            {
                "key": "a",
                "weight": 1,
                "subject": "{{ first_name or 'Hi' }}, your cart at {{ store_name }} is saved",
                "body": "Hi {{ first_name or 'there' }},\n\nYou left {{ first_item }} in your cart. "
                "We kept everything just as you left it, so you can pick up where you stopped."
                "\n\n" + _REPLY,
            }
        ],
    },
    {
        "channel": "email",
        "delay_seconds": 24 * HOUR,
        "incentive": DEFAULT_INCENTIVE,
        "variants": [
            {
                "key": "a",
                "weight": 1,
                "subject": "{% if discount_code %}{{ discount_offer }}, just for you"
                "{% else %}Still thinking it over?{% endif %}",
                "body": "Hi {{ first_name or 'there' }},\n\n{% if discount_code %}Something "
                "for your order: {{ discount_offer }}{% if discount_expires %}, valid until "
                "{{ discount_expires }}{% endif %}. "
                "The button below applies it for you.{% else %}Your "
                "{{ first_item }} is still waiting in your cart.{% endif %}\n\n" + _REPLY,
            }
        ],
    },
    {
        "channel": "email",
        "delay_seconds": 72 * HOUR,
        "variants": [
            {
                "key": "a",
                "weight": 1,
                "subject": "Why people love {{ first_item }}",
                "body": "Hi {{ first_name or 'there' }},\n\nWe make every order at {{ store_name }}"
                " with care, ship it fast, and stand behind it: if {{ first_item }} is not right, "
                "we will make it right.\n\n" + _REPLY,
            }
        ],
    },
    {
        "channel": "email",
        "delay_seconds": 120 * HOUR,
        "incentive": DEFAULT_INCENTIVE,
        "variants": [
            {
                "key": "a",
                "weight": 1,
                "subject": "Last note about your cart",
                "body": "Hi {{ first_name or 'there' }},\n\nThis is our last note about your cart:"
                " we will not follow up about it again.{% if discount_code %} Your code "
                "{{ discount_code }} ({{ discount_label }}) still works"
                "{% if discount_expires %} until {{ discount_expires }}{% endif %}.{% endif %}"
                "\n\nThank you for considering {{ store_name }}.",
            }
        ],
    },
]


async def ensure_default_flow(store: Store) -> Flow:
    """Give a store its playbook once; concurrent callers converge on the earliest flow."""
    existing = await Flow.filter(store=store).order_by("id").first()
    if existing:
        return existing
    async with in_transaction() as conn:
        flow = await Flow.create(store=store, name="Default recovery", using_db=conn)
        for position, step in enumerate(DEFAULT_STEPS):
            await FlowStep.create(
                flow=flow,
                position=position,
                channel=step["channel"],
                delay_seconds=step["delay_seconds"],
                conditions=step.get("conditions", {}),
                incentive=step.get("incentive"),
                variants=step["variants"],
                using_db=conn,
            )
    first = await Flow.filter(store=store).order_by("id").first()
    if first and first.id != flow.id:
        await flow.delete()
        return first
    return flow
