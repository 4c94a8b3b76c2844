"""The template gallery: one ready flow per trigger of the catalogue, with sensible timing and copy
a merchant can send as is or edit. Texts use only what every trigger knows (names, store, link to
the store); the abandoned-cart template is the default playbook itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from app.recovery import triggers
from app.recovery.playbook import DEFAULT_STEPS
from app.recovery.schemas import FlowIn

HOUR, DAY = 3600, 86400
_HI = "Hi {{ first_name or 'there' }},\n\n"
_SIGN = "\n\n{{ store_name }}\n{{ store_url }}"


def _email(delay: int, subject: str, body: str) -> dict[str, Any]:
    return {
        "channel": "email",
        "delay_seconds": delay,
        "variants": [{"key": "a", "weight": 1, "subject": subject, "body": _HI + body + _SIGN}],
    }


@dataclass(frozen=True, slots=True)
class Template:
    trigger: str
    name: str
    pitch: str
    steps: list[dict[str, Any]]
    trigger_params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return triggers.get(self.trigger).label

    def as_flow(self) -> FlowIn:
        """A new flow from this template, paused: the merchant reads the copy before it sends."""
        body = {
            "name": self.name,
            "trigger": self.trigger,
            "trigger_params": self.trigger_params,
            "steps": self.steps,
            "enabled": False,
        }
        return msgspec.convert(body, FlowIn)


GALLERY: tuple[Template, ...] = (
    Template(
        triggers.CHECKOUT_ABANDONED,
        "Abandoned cart",
        "A text after 15 minutes, then emails over five days, with a discount on day one.",
        DEFAULT_STEPS,
    ),
    Template(
        triggers.ORDER_PAYMENT_PENDING,
        "Payment reminder",
        "An order is placed but not paid: a reminder after an hour, another the next day.",
        [
            _email(
                HOUR,
                "Your order at {{ store_name }} is waiting for payment",
                "Thank you for your order {{ order_number }} of {{ order_total }}. We have not "
                "received the payment yet, so it is on hold. If something went wrong at "
                "checkout, just reply and we will help.",
            ),
            _email(
                DAY,
                "Still want your order from {{ store_name }}?",
                "Your order is still on hold while the payment is pending. Reply to this email "
                "if you would like a hand finishing it.",
            ),
        ],
    ),
    Template(
        triggers.CONTACT_SUBSCRIBED,
        "Welcome",
        "Greets a new subscriber right away and introduces the store.",
        [
            _email(
                0,
                "Welcome to {{ store_name }}",
                "Thanks for signing up. You will hear from us about new arrivals and offers, "
                "never more than we would like to receive ourselves.",
            )
        ],
    ),
    Template(
        triggers.CONTACT_BIRTHDAY,
        "Birthday",
        "Sends good wishes at 9 in the morning on the shopper's birthday, in their time zone.",
        [
            _email(
                0,
                "Happy birthday from {{ store_name }}",
                "Everyone at {{ store_name }} wishes you a wonderful birthday.",
            )
        ],
    ),
    Template(
        triggers.ORDER_FIRST_PLACED,
        "After the first order",
        "Thanks a new customer two weeks after their first order and asks how it went.",
        [
            _email(
                0,
                "How are you getting on with your order?",
                "It has been a couple of weeks since your first order with us. We would love "
                "to hear how you like it: just reply to this email.",
            )
        ],
        {"days": 14},
    ),
    Template(
        triggers.CONTACT_LAPSED,
        "Win back",
        "Reaches out to customers who have not ordered for 90 days.",
        [
            _email(
                0,
                "We miss you at {{ store_name }}",
                "It has been a while since your last order. Come and see what is new.",
            )
        ],
        {"days": 90},
    ),
    Template(
        triggers.ORDERS_COUNT_REACHED,
        "Loyal customer",
        "Thanks a customer on their third order.",
        [
            _email(
                0,
                "Thank you for coming back to {{ store_name }}",
                "This is your third order with us, and we noticed. Thank you for your loyalty.",
            )
        ],
        {"count": 3},
    ),
    Template(
        triggers.TOTAL_SPENT_REACHED,
        "Top customer",
        "Thanks a customer once their orders reach 500 in the store's currency.",
        [
            _email(
                0,
                "You are one of our best customers",
                "Your orders with {{ store_name }} have passed a milestone. Thank you for "
                "choosing us again and again.",
            )
        ],
        {"amount": "500.00"},
    ),
)
BY_TRIGGER = {t.trigger: t for t in GALLERY}
