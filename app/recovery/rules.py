"""Pure recovery rules: quiet hours, conditions, stop and pace decisions, variants and holdout.

Nothing here does I/O. The send pipeline gathers `Facts` under a row lock, asks `decide`, and
acts on the answer, so the same rules hold whichever worker sends and whenever it runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.scoring.rules import BASE_RATE

# --- policy ------------------------------------------------------------------------------------

LEGAL_START, LEGAL_END = time(8), time(21)
SMS_MAX_AGE = timedelta(hours=48)
# US states with stricter telemarketing hours than the federal 08:00-21:00.
STATE_WINDOWS: dict[str, tuple[time, time]] = {
    "US-FL": (time(8), time(20)),
    "US-OK": (time(8), time(20)),
    "US-MD": (time(8), time(20)),
    "US-NJ": (time(8), time(20)),
}
SUNDAY_NOON = {"US-TX"}  # Texas: no solicitation texts before noon on Sundays


@dataclass(frozen=True, slots=True)
class Window:
    start: time
    end: time
    sunday_start: time | None = None

    def bounds(self, day: date) -> tuple[time, time]:
        start = self.sunday_start if self.sunday_start and day.weekday() == 6 else self.start
        return max(start, self.start), self.end


@dataclass(frozen=True, slots=True)
class Policy:
    """A store's pace rules, from `store.settings["recovery"]`, clamped to what the law allows."""

    quiet_start: time = time(9)
    quiet_end: time = time(20)
    overrides: dict[str, tuple[time, time]] = field(default_factory=dict)
    frequency_days: int = 7
    max_sequences: int = 1
    email_quiet_hours: bool = False
    email_requires_consent: bool = False
    value_buckets: tuple[Decimal, Decimal] = (Decimal("50"), Decimal("150"))


def _clock(value: object, default: time) -> time:
    if not value:
        return default
    hour, _, minute = str(value).partition(":")
    return time(int(hour), int(minute or 0))


def policy_from_settings(raw: dict[str, Any] | None) -> Policy:
    raw = raw or {}
    overrides = {
        str(key).upper(): (_clock(v.get("start"), time(9)), _clock(v.get("end"), time(20)))
        for key, v in dict(raw.get("quiet_hours_overrides") or {}).items()
    }
    buckets = raw.get("value_buckets") or ("50", "150")
    return Policy(
        quiet_start=_clock(raw.get("quiet_start"), time(9)),
        quiet_end=_clock(raw.get("quiet_end"), time(20)),
        overrides=overrides,
        frequency_days=int(raw.get("frequency_days", 7)),
        max_sequences=int(raw.get("max_sequences", 1)),
        email_quiet_hours=bool(raw.get("email_quiet_hours", False)),
        email_requires_consent=bool(raw.get("email_requires_consent", False)),
        value_buckets=(Decimal(str(buckets[0])), Decimal(str(buckets[1]))),
    )


def window_for(policy: Policy, country: str | None, region: str | None) -> Window:
    """The narrowest of: the legal window, the store's choice, its country/state override, state law."""
    start, end = max(policy.quiet_start, LEGAL_START), min(policy.quiet_end, LEGAL_END)
    keys = [k for k in (country, f"{country}-{region}" if country and region else None) if k]
    for key in keys:
        for bounds in (policy.overrides.get(key.upper()), STATE_WINDOWS.get(key.upper())):
            if bounds:
                start, end = max(start, bounds[0]), min(end, bounds[1])
    sunday = time(12) if any(k.upper() in SUNDAY_NOON for k in keys) else None
    return Window(start, max(end, start), sunday)


def next_allowed(now: datetime, zone: str, window: Window) -> datetime:
    """`now` if the shopper's local clock is inside the window, else the next moment it is (UTC).

    Works on UTC instants of each local day's bounds, so DST gaps and folds need no special case.
    """
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date() - timedelta(days=1)
    for _ in range(10):
        start, end = window.bounds(day)
        opens = datetime.combine(day, start, tz).astimezone(UTC)
        closes = datetime.combine(day, end, tz).astimezone(UTC)
        if now < closes and opens < closes:
            return max(now, opens)
        day += timedelta(days=1)
    raise ValueError(f"window {window} never opens in {zone}")


def is_allowed(moment: datetime, zone: str, window: Window) -> bool:
    local = moment.astimezone(ZoneInfo(zone))
    start, end = window.bounds(local.date())
    return start <= local.time().replace(tzinfo=None) < end


@dataclass(frozen=True, slots=True)
class Forecast:
    """When a step will really go out, and why that is later than its delay says."""

    at: datetime
    reason: str | None = None


def forecast(
    nominal: datetime,
    planned: datetime | None,
    now: datetime,
    channel: str,
    zone: str,
    window: Window,
    policy: Policy,
) -> Forecast:
    """The send time the merchant and agent should see: the step's own time (`nominal`), or the
    engine's (`planned`, after a deferral), or now if overdue, moved to the shopper's next
    allowed hour when quiet hours hold it. Auto steps email at night, so they are never held."""
    start = max(planned or nominal, now)
    if not (channel == "sms" or (channel == "email" and policy.email_quiet_hours)):
        return Forecast(start)
    moment = next_allowed(start, zone, window)
    held = moment > start or not is_allowed(nominal, zone, window)
    return Forecast(moment, "quiet hours" if held and moment > nominal else None)


# --- conditions --------------------------------------------------------------------------------

CONDITION_KEYS = frozenset(
    {
        "min_total",
        "max_total",
        "customer",
        "devices",
        "countries",
        "tags_any",
        "tags_all",
        "tags_none",
        "min_score",
        "max_score",
        "min_expected_value",
        "max_expected_value",
    }
)
SCORE_KEYS = ("min_score", "max_score", "min_expected_value", "max_expected_value")
DEVICES = frozenset({"mobile", "desktop", "tablet", "unknown"})


@dataclass(frozen=True, slots=True)
class Cart:
    total: Decimal
    device: str
    country: str | None
    returning: bool
    tags: frozenset[str]
    score: Decimal = BASE_RATE
    """Predicted likelihood of recovery, 0 to 1 (app/scoring); the store's prior when unscored."""
    expected_value: Decimal = Decimal(0)


def derive_tags(
    own: list[str], abandonments: int, total: Decimal, interacted: bool, policy: Policy
) -> frozenset[str]:
    """Tags a merchant can target: their own, plus abandonment count, value bucket, engagement."""
    low, high = policy.value_buckets
    bucket = "low" if total < low else "mid" if total < high else "high"
    tags = {str(t).lower() for t in own} | {f"value:{bucket}"}
    tags.add(f"abandonments:{min(abandonments, 3)}{'+' if abandonments >= 3 else ''}")
    if abandonments >= 2:
        tags.add("repeat_abandoner")
    if interacted:
        tags.add("engaged")
    return frozenset(tags)


def validate_conditions(conditions: dict[str, object]) -> list[str]:
    problems = [f"unknown condition {k!r}" for k in conditions if k not in CONDITION_KEYS]
    for key in ("min_total", "max_total", "min_expected_value", "max_expected_value"):
        if key in conditions:
            try:
                Decimal(str(conditions[key]))
            except ArithmeticError:
                problems.append(f"{key} must be an amount, got {conditions[key]!r}")
    for key in ("min_score", "max_score"):
        if key in conditions and not _fraction(conditions[key]):
            problems.append(f"{key} must be a likelihood between 0 and 1, got {conditions[key]!r}")
    if conditions.get("customer") not in (None, "new", "returning"):
        problems.append("customer must be 'new' or 'returning'")
    devices = conditions.get("devices")
    bad = set(devices) - DEVICES if isinstance(devices, list) else set()
    if bad:
        problems.append(f"devices must be among {sorted(DEVICES)}, got {sorted(bad)}")
    for key in ("countries", "tags_any", "tags_all", "tags_none", "devices"):
        if key in conditions and not isinstance(conditions[key], list):
            problems.append(f"{key} must be a list")
    return problems


def _fraction(value: object) -> bool:
    try:
        return Decimal(0) <= Decimal(str(value)) <= Decimal(1)
    except ArithmeticError:
        return False


def _unmet_score(c: dict[str, Any], cart: Cart) -> str | None:
    if "min_score" in c and cart.score < Decimal(str(c["min_score"])):
        return "recovery score below min_score"
    if "max_score" in c and cart.score > Decimal(str(c["max_score"])):
        return "recovery score above max_score"
    if "min_expected_value" in c and cart.expected_value < Decimal(str(c["min_expected_value"])):
        return "expected value below min_expected_value"
    if "max_expected_value" in c and cart.expected_value > Decimal(str(c["max_expected_value"])):
        return "expected value above max_expected_value"
    return None


def unmet_condition(conditions: dict[str, Any], cart: Cart) -> str | None:
    """The first condition the cart fails, or None when the step applies."""
    c = conditions
    if "min_total" in c and cart.total < Decimal(str(c["min_total"])):
        return "cart below min_total"
    if "max_total" in c and cart.total > Decimal(str(c["max_total"])):
        return "cart above max_total"
    if c.get("customer") and (c["customer"] == "returning") != cart.returning:
        return f"not a {c['customer']} customer"
    if c.get("devices") and cart.device not in c["devices"]:
        return f"device {cart.device} not targeted"
    if c.get("countries") and (cart.country or "").upper() not in c["countries"]:
        return f"country {cart.country} not targeted"
    tags = cart.tags
    if c.get("tags_any") and not tags & {str(t).lower() for t in c["tags_any"]}:
        return "none of tags_any"
    if c.get("tags_all") and not {str(t).lower() for t in c["tags_all"]} <= tags:
        return "missing one of tags_all"
    if c.get("tags_none") and tags & {str(t).lower() for t in c["tags_none"]}:
        return "has one of tags_none"
    return _unmet_score(c, cart)


# --- the decision before each send ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reach:
    """What we know about reaching the shopper on the step's channel."""

    address: str | None
    consent: bool
    consent_at: datetime | None
    opted_out: bool
    undeliverable: bool
    held: bool = False
    """SMS only: a reply may be an opt-out and an agent has not decided yet."""


@dataclass(frozen=True, slots=True)
class Facts:
    """For an auto step, `channel` is "auto", `reach` the email reach and `sms_reach` the SMS one;
    `resolve` turns them into the facts of one channel. `store_can_text` is False for a store
    without an SMS number: its SMS steps are skipped and its auto steps resolve to email."""

    now: datetime
    channel: str
    conditions: dict[str, object]
    store_active: bool
    ordered_since_abandonment: bool
    abandoned_at: datetime
    reach: Reach
    cart: Cart
    automated_sms_sent: int
    sequence_started: bool
    other_sequences_in_window: int
    zone: str
    window: Window
    policy: Policy
    checkout_status: str = "abandoned"
    sms_reach: Reach | None = None
    store_can_text: bool = True
    # Flows with other triggers (app/recovery/triggers.py): no cart; `abandoned_at` is the entry.
    cart_flow: bool = True
    transactional: bool = False  # outside the frequency budget (payment pending)
    purchase_stops: bool = True  # an order since the entry ends the flow (cart, welcome, win-back)
    order_state: str | None = None  # payment pending: the order's pending | paid | cancelled
    outside_entry: str | None = None
    """At the flow's first step: why the contact is not in the flow's entry segment (a stop)."""
    outside_step: str | None = None
    """Why the contact is not in the step's segment (the step is skipped)."""


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # "send" | "skip" | "defer" | "stop"
    reason: str = ""
    until: datetime | None = None


SEND = Decision("send")


def _channel_problem(f: Facts) -> str | None:
    r = f.reach
    if not r.address:
        return f"no {f.channel} address"
    if r.opted_out:
        return f"{f.channel} opted out"
    if r.undeliverable:
        return f"{f.channel} undeliverable"
    if r.held:
        return f"{f.channel} on hold: the shopper's reply may be an opt-out"
    if f.channel == "sms" and not f.store_can_text:
        return "store has no SMS number"
    if f.channel == "email" and f.policy.email_requires_consent and not r.consent:
        return "no email consent"
    return None


def _carrier_problem(f: Facts) -> str | None:
    """Cart-recovery texts: one per abandonment, within 48 h, to consent given before it; other
    flows text only with SMS consent held."""
    r = f.reach
    if not f.cart_flow:
        return None if r.consent else "no sms consent"
    if not r.consent or r.consent_at is None or r.consent_at > f.abandoned_at:
        return "no sms consent recorded before abandonment"
    if f.automated_sms_sent >= 1:
        return "automated sms already sent for this abandonment"
    if f.now > f.abandoned_at + SMS_MAX_AGE:
        return "sms window of 48h after abandonment passed"
    return None


def _can_text_now(f: Facts) -> bool:
    """A text needs a mobile shopper, a usable number, the carrier rule and the quiet-hours window
    open now: a shopper asleep gets the email now rather than a text in the morning."""
    return (
        (f.cart.device == "mobile" or not f.cart_flow)
        and _channel_problem(f) is None
        and _carrier_problem(f) is None
        and is_allowed(f.now, f.zone, f.window)
    )


def resolve(f: Facts) -> Facts:
    """An auto step becomes an SMS step when the shopper can be texted right now, else an email
    step; the facts of any other step are returned as they are."""
    if f.channel != "auto":
        return f
    if f.sms_reach is not None:
        sms = replace(f, channel="sms", reach=f.sms_reach, sms_reach=None)
        if _can_text_now(sms):
            return sms
    return replace(f, channel="email", sms_reach=None)


def decide(f: Facts) -> Decision:
    """Stop, skip, defer or send; evaluated under the enrollment's row lock right before sending.

    Callers that record a message resolve an auto step first, so they know its channel."""
    f = resolve(f)
    if not f.store_active:
        return Decision("stop", "store_uninstalled")
    stop = _stop_reason(f)
    if stop:
        return Decision("stop", stop)
    if f.outside_entry:
        return Decision("stop", f.outside_entry[:64])
    problem = f.outside_step or _channel_problem(f) or unmet_condition(f.conditions, f.cart)
    if problem:
        return Decision("skip", problem)
    capped = f.other_sequences_in_window >= f.policy.max_sequences
    if not f.transactional and not f.sequence_started and capped:
        return Decision("stop", "frequency_cap")
    if f.channel == "sms":
        problem = _carrier_problem(f)
        if problem:
            return Decision("skip", problem)
    if f.channel == "sms" or f.policy.email_quiet_hours:
        moment = next_allowed(f.now, f.zone, f.window)
        if moment > f.now:
            late = moment > f.abandoned_at + SMS_MAX_AGE
            if f.channel == "sms" and f.cart_flow and late:
                return Decision("skip", "next allowed hour is past the 48h sms window")
            return Decision("defer", "quiet hours", moment)
    return SEND


def _stop_reason(f: Facts) -> str | None:
    """A cart flow ends when its checkout expired or was bought; a payment reminder when its
    order was paid or cancelled; welcome and win-back flows when the contact ordered since."""
    if f.cart_flow and f.checkout_status == "expired":
        return "checkout_expired"
    if f.cart_flow and f.checkout_status != "abandoned":  # bought, or gone
        return "order_placed"
    if f.order_state in ("paid", "cancelled"):
        return f"order_{f.order_state}"
    if f.purchase_stops and f.ordered_since_abandonment:
        return "order_placed"
    return None


# --- variants, holdout, timing ------------------------------------------------------------------


def _unit(seed: str) -> float:
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_variant(variants: list[dict[str, object]], seed: str) -> dict[str, object]:
    """Weighted and deterministic, so a retried send renders the same variant it started with."""
    weights = [max(Decimal(str(v.get("weight", 1))), Decimal(0)) for v in variants]
    total = sum(weights) or Decimal(len(variants))
    point = Decimal(str(_unit(seed))) * total
    for variant, weight in zip(variants, weights, strict=True):
        if point < weight:
            return variant
        point -= weight
    return variants[-1]


def in_holdout(store_id: int, checkout_token: str, percent: Decimal) -> bool:
    """The same checkout always lands on the same side, so the holdout is a fair control group."""
    return (
        percent > 0 and Decimal(str(_unit(f"holdout:{store_id}:{checkout_token}"))) * 100 < percent
    )


def step_due(abandoned_at: datetime, delay_seconds: int) -> datetime:
    return abandoned_at + timedelta(seconds=delay_seconds)


def frequency_horizon(now: datetime, policy: Policy) -> datetime:
    return now - timedelta(days=policy.frequency_days)
