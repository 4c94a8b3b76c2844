"""The trigger catalogue: what can start a flow, each a pure rule over the contact's history and the
event that may fire it. docs/automations.md is this module in words; keep the two together.

A rule answers with an *entry key* or None. The key names the period the entry belongs to (one
checkout, one order, one lapse, one birthday's year, "ever"): the entry rule "once per contact
per flow and period" is one entry per (flow, contact, key). checkout.abandoned flows
enrol once per checkout; the others once per (flow, contact, key), which the enrollment table
enforces with a unique key (app/recovery/entries.py enrols). Rules do no I/O and take the time
as an argument, like app/recovery/rules.py.

Time-based triggers (`timed`) are fired by the clock, never by reading every contact: each names
the indexed column of the history (`contact_history`) and the range of it that is due
(`due_range`), so the worker asks "whose last order was between these two instants" and the
database answers from an index, however many contacts a store has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

CHECKOUT_ABANDONED = "checkout.abandoned"
ORDER_PAYMENT_PENDING = "order.payment_pending"
CONTACT_SUBSCRIBED = "contact.subscribed"
CONTACT_BIRTHDAY = "contact.birthday"
ORDER_FIRST_PLACED = "order.first_placed"
CONTACT_LAPSED = "contact.lapsed"
ORDERS_COUNT_REACHED = "contact.orders_count_reached"
TOTAL_SPENT_REACHED = "contact.total_spent_reached"
DEFAULT = CHECKOUT_ABANDONED

PURCHASE = "order placed"  # a stop rule: any order of the contact after the entry ends the flow

# What can fire a rule: a domain event (app/core/events.py) by name, or the clock.
CLOCK = "clock"


class TriggerProblem(ValueError):
    """A bad trigger or parameter; `field` is the exact place, e.g. `trigger_params.days`."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name


@dataclass(frozen=True, slots=True)
class History:
    """What a rule may know about the contact: a copy of their `contact_history` row."""

    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    currency: str = "USD"
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    birthday: date | None = None
    birthday_due_at: datetime | None = None
    subscribed: bool = False


@dataclass(frozen=True, slots=True)
class Occasion:
    """The event being looked at: its name (or CLOCK), when, and its subject's id."""

    name: str
    at: datetime
    subject_id: int | None = None
    payment_pending: bool = False  # for an order event: placed and waiting for its money


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: type[int] | type[Decimal]
    default: int | Decimal
    low: int | Decimal
    high: int | Decimal
    help: str


Rule = Callable[[History, Occasion, Mapping[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    label: str
    description: str
    fired_by: frozenset[str]
    rule: Rule
    params: tuple[Param, ...] = ()
    column: str | None = None  # the indexed history column a timed trigger reads
    transactional: bool = False  # outside the frequency budget by default
    stops_on: tuple[str, ...] = field(default=())

    @property
    def timed(self) -> bool:
        return CLOCK in self.fired_by

    @property
    def purchase_stops(self) -> bool:
        return PURCHASE in self.stops_on


def _days(params: Mapping[str, Any]) -> timedelta:
    return timedelta(days=int(params["days"]))


def _abandoned(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    if occasion.name != "checkout.abandoned" or occasion.subject_id is None:
        return None
    return f"checkout:{occasion.subject_id}"


def _payment_pending(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    if occasion.name != "order.recorded" or not occasion.payment_pending:
        return None
    return f"order:{occasion.subject_id}"


def _subscribed(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    return "subscribed" if occasion.name == "contact.opted_in" and history.subscribed else None


def _birthday(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    due = history.birthday_due_at
    if occasion.name != CLOCK or history.birthday is None or due is None or due > occasion.at:
        return None
    return f"birthday:{due.date().isoformat()}"  # due instants are a year apart: one per year


def _first_placed(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    first = history.first_order_at
    if occasion.name != CLOCK or first is None or first + _days(params) > occasion.at:
        return None
    return "first_order"


def _lapsed(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    last = history.last_order_at
    if occasion.name != CLOCK or last is None or last + _days(params) > occasion.at:
        return None
    return f"lapse:{last.isoformat()}"  # a new order starts a new lapse


def _orders_count(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    count = int(params["count"])
    if occasion.name != "order.recorded" or history.orders_count < count:
        return None
    return f"orders:{count}"


def _total_spent(history: History, occasion: Occasion, params: Mapping[str, Any]) -> str | None:
    amount = Decimal(str(params["amount"]))
    if occasion.name != "order.recorded" or history.total_spent < amount:
        return None
    return f"spent:{amount}:{history.currency}"


_DAYS = Param("days", int, 30, 1, 3650, "days after the order")
CATALOGUE: dict[str, Trigger] = {
    t.name: t
    for t in (
        Trigger(
            CHECKOUT_ABANDONED,
            "Abandoned checkout",
            "A reachable checkout idle past the store's threshold; once per checkout.",
            frozenset({"checkout.abandoned"}),
            _abandoned,
            stops_on=("order placed", "reply", "opt-out"),
        ),
        Trigger(
            ORDER_PAYMENT_PENDING,
            "Payment pending",
            "An order placed but not paid (Shopify pending or authorized, WooCommerce pending "
            "or on-hold, a collect order with a pending payment status); once per order, "
            "stopped as soon as it is paid or cancelled.",
            frozenset({"order.recorded"}),
            _payment_pending,
            transactional=True,
            stops_on=("order paid", "order cancelled", "opt-out"),
        ),
        Trigger(
            CONTACT_SUBSCRIBED,
            "Welcome a subscriber",
            "Email or SMS marketing consent granted; once per contact.",
            frozenset({"contact.opted_in"}),
            _subscribed,
            stops_on=("order placed", "opt-out"),
        ),
        Trigger(
            CONTACT_BIRTHDAY,
            "Birthday",
            "09:00 on the contact's birthday in their own time zone; once a year.",
            frozenset({CLOCK}),
            _birthday,
            column="birthday_due_at",
            stops_on=("opt-out",),
        ),
        Trigger(
            ORDER_FIRST_PLACED,
            "After the first order",
            "`days` after a contact's first confirmed order; once per contact.",
            frozenset({CLOCK}),
            _first_placed,
            params=(_DAYS,),
            column="first_order_at",
            stops_on=("opt-out",),
        ),
        Trigger(
            CONTACT_LAPSED,
            "Win back a lapsed customer",
            "No confirmed order for `days` after the last one; once per lapse.",
            frozenset({CLOCK}),
            _lapsed,
            params=(Param("days", int, 90, 1, 3650, "days since the last order"),),
            column="last_order_at",
            stops_on=("order placed", "opt-out"),
        ),
        Trigger(
            ORDERS_COUNT_REACHED,
            "Orders milestone",
            "The contact's confirmed orders reach `count`; once per contact and count.",
            frozenset({"order.recorded"}),
            _orders_count,
            params=(Param("count", int, 3, 1, 10000, "confirmed orders"),),
            stops_on=("opt-out",),
        ),
        Trigger(
            TOTAL_SPENT_REACHED,
            "Spend milestone",
            "The contact's confirmed spend in the store's currency reaches `amount`; once.",
            frozenset({"order.recorded"}),
            _total_spent,
            params=(
                Param("amount", Decimal, Decimal(500), Decimal("0.01"), Decimal(10**9), "spend"),
            ),
            stops_on=("opt-out",),
        ),
    )
}


def get(name: str) -> Trigger:
    found = CATALOGUE.get(name)
    if found is None:
        names = ", ".join(CATALOGUE)
        raise TriggerProblem("trigger", f"unknown trigger {name!r}; one of {names}")
    return found


def validate_params(name: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """The trigger's parameters, defaults filled in, as JSON-safe values; unknown keys refused."""
    trigger = get(name)
    given = dict(given or {})
    known = {p.name for p in trigger.params}
    for key in given:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise TriggerProblem(
                f"trigger_params.{key}", f"{name} takes no {key!r} (allowed: {allowed})"
            )
    return {p.name: _param(p, given.get(p.name, p.default)) for p in trigger.params}


def _param(param: Param, value: Any) -> int | str:
    where = f"trigger_params.{param.name}"
    if isinstance(value, bool) or value is None:
        raise TriggerProblem(where, f"must be a number ({param.help})")
    try:
        number = param.kind(str(value)) if param.kind is Decimal else int(str(value))
    except (ValueError, InvalidOperation):
        raise TriggerProblem(where, f"must be a number ({param.help})") from None
    if not param.low <= number <= param.high:
        raise TriggerProblem(where, f"must be between {param.low} and {param.high}")
    return str(number) if isinstance(number, Decimal) else int(number)


def entry_key(
    name: str, history: History, occasion: Occasion, params: Mapping[str, Any]
) -> str | None:
    """Whether `occasion` enters the contact into a flow with this trigger, and for which period."""
    trigger = get(name)
    if occasion.name not in trigger.fired_by:
        return None
    return trigger.rule(history, occasion, validate_params(name, params))


def due_range(
    name: str, params: Mapping[str, Any], since: datetime, now: datetime
) -> tuple[str, datetime, datetime]:
    """For a timed trigger: the indexed history column and the range of it (lower exclusive,
    upper inclusive) that fell due between the previous pass at `since` and this one at `now`.

    Consecutive passes cover time without gaps or overlaps, so each due instant is looked at
    once; the entry key still guards against a pass that is repeated after a crash.
    """
    trigger = get(name)
    if trigger.column is None:
        raise TriggerProblem("trigger", f"{name} is not fired by the clock")
    values = validate_params(name, params)
    delay = _days(values) if "days" in values else timedelta(0)
    return trigger.column, since - delay, now - delay
