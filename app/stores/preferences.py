"""Pure parsing of the merchant's settings form into Store fields and `Store.settings` sections.

The sections are read elsewhere: `recovery` by `app.recovery.rules.policy_from_settings`,
`prices` and `attribution` by the analytics rules, `email_from`/`email_reply_to` by the sender.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from typing import Any

from app.core.phones import parse_phone

CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass
class Parsed:
    store: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _int(form: Mapping[str, str], name: str, low: int, high: int, out: Parsed) -> int | None:
    raw = str(form.get(name, "")).strip()
    try:
        value = int(raw)
    except ValueError:
        out.errors[name] = "a whole number"
        return None
    if not low <= value <= high:
        out.errors[name] = f"between {low} and {high}"
        return None
    return value


def _price(form: Mapping[str, str], name: str, out: Parsed) -> str | None:
    raw = str(form.get(name, "")).strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        out.errors[name] = "a price like 0.0079"
        return None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(10):
        out.errors[name] = "between 0 and 10"
        return None
    return str(value)


def _address(form: Mapping[str, str], name: str, out: Parsed) -> str | None:
    raw = str(form.get(name, "")).strip()[:320]
    if not raw:
        return None
    _, address = parseaddr(raw)
    if "@" not in address or any(c in raw for c in "\r\n"):
        out.errors[name] = "an email address, optionally with a name: Shop <hello@shop.com>"
        return None
    return raw


def _exit_minutes(form: Mapping[str, str], out: Parsed) -> int | None:
    """Optional: blank keeps idle time alone; N abandons N minutes after the shopper left."""
    name = "abandon_after_exit_minutes"
    if not str(form.get(name, "")).strip():
        return None
    minutes = _int(form, name, 0, 7 * 24 * 60, out)
    return minutes * 60 if minutes is not None else None


def _clock(form: Mapping[str, str], name: str, out: Parsed) -> str | None:
    raw = str(form.get(name, "")).strip()
    if not CLOCK.match(raw):
        out.errors[name] = "a time like 09:00"
        return None
    return raw


def parse(form: Mapping[str, str], current: Mapping[str, Any]) -> Parsed:
    """Validate every field; nothing is saved unless `errors` is empty."""
    out = Parsed()
    minutes = _int(form, "abandon_after_minutes", 1, 7 * 24 * 60, out)
    if minutes is not None:
        out.store["abandon_after_seconds"] = minutes * 60
    out.settings["abandon_after_exit_seconds"] = _exit_minutes(form, out)
    sender = str(form.get("sms_number", "")).strip()
    if sender:
        parsed = parse_phone(sender, "US")
        if parsed.e164 is None:
            out.errors["sms_number"] = parsed.problem or "not a valid phone number"
        else:
            out.store["sms_number"] = parsed.e164
    else:
        out.store["sms_number"] = None
    recovery = dict(current.get("recovery") or {})
    recovery.update(
        quiet_start=_clock(form, "quiet_start", out),
        quiet_end=_clock(form, "quiet_end", out),
        frequency_days=_int(form, "frequency_days", 0, 365, out),
        max_sequences=_int(form, "max_sequences", 1, 20, out),
        email_requires_consent=form.get("email_requires_consent") == "on",
        email_quiet_hours=form.get("email_quiet_hours") == "on",
    )
    clocks_ok = not out.errors.get("quiet_start") and not out.errors.get("quiet_end")
    if clocks_ok and recovery["quiet_start"] >= recovery["quiet_end"]:
        out.errors["quiet_end"] = "must be later than the start"
    out.settings["recovery"] = recovery
    out.settings["email_from"] = _address(form, "email_from", out)
    out.settings["email_reply_to"] = _address(form, "email_reply_to", out)
    out.settings["prices"] = {
        "sms_segment": _price(form, "price_sms_segment", out),
        "email": _price(form, "price_email", out),
    }
    attribution = dict(current.get("attribution") or {})
    for name in ("email_window_hours", "sms_window_hours", "click_window_hours"):
        attribution[name] = _int(form, name, 1, 90 * 24, out)
    attribution["min_ab_sample"] = _int(form, "min_ab_sample", 10, 1_000_000, out)
    out.settings["attribution"] = attribution
    out.settings["chat"] = _chat(form, current, out)
    out.settings["response_targets"] = _response_targets(form, current, out)
    if "cross_device_window_hours" in form:  # 0: each device's cart is its own abandonment
        out.settings["cross_device_window_hours"] = _int(
            form, "cross_device_window_hours", 0, 720, out
        )
    return out


# First-response targets per channel (app/messaging/response_time.py): chat in seconds, the
# slower channels in minutes, stored as seconds. A form without the fields keeps what is saved.
RESPONSE_TARGET_FIELDS = (
    ("chat", "response_target_chat_seconds", 1, 1, 3600),
    ("sms", "response_target_sms_minutes", 60, 1, 7 * 24 * 60),
    ("email", "response_target_email_minutes", 60, 1, 7 * 24 * 60),
)


def _response_targets(
    form: Mapping[str, str], current: Mapping[str, Any], out: Parsed
) -> dict[str, int]:
    saved = current.get("response_targets")
    targets = dict(saved) if isinstance(saved, Mapping) else {}
    for channel, name, unit, low, high in RESPONSE_TARGET_FIELDS:
        if name not in form:
            continue
        value = _int(form, name, low, high, out)
        if value is not None:
            targets[channel] = value * unit
    return targets


def _chat(form: Mapping[str, str], current: Mapping[str, Any], out: Parsed) -> dict[str, Any]:
    """Live chat on the store's site; a form without the chat fields keeps what was saved."""
    chat = dict(current.get("chat") or {})
    if "chat_start" not in form:
        return chat
    chat.update(
        enabled=form.get("chat_enabled") == "on",
        weekends=form.get("chat_weekends") == "on",
        start=_clock(form, "chat_start", out),
        end=_clock(form, "chat_end", out),
        greeting=str(form.get("chat_greeting", "")).strip()[:200] or None,
        invite=form.get("chat_invite") == "on",
        invite_text=str(form.get("chat_invite_text", "")).strip()[:200] or None,
        invite_everywhere=form.get("chat_invite_everywhere") == "on",
    )
    if "chat_invite_idle_seconds" in form:  # 0: no invitation for idling
        chat["invite_idle_seconds"] = _int(form, "chat_invite_idle_seconds", 0, 3600, out)
    if chat["start"] and chat["end"] and chat["start"] >= chat["end"]:
        out.errors["chat_end"] = "later than the start"
    return chat
