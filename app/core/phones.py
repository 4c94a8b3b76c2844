"""Phone numbers: E.164 or nothing, with the reason kept when a number is unusable."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as phone_timezones


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    e164: str | None
    problem: str | None = None


def region_of_locale(locale: str | None) -> str | None:
    if locale and "_" in locale:
        return locale.split("_", 1)[1].upper()[:2]
    return None


def parse_phone(raw: str | None, region: str | None = None) -> ParsedPhone:
    """Parsing and validating costs 100-200 us of CPU, and the same numbers come back (every
    text of a conversation, every update of a cart), so answers are cached: they are immutable
    and depend only on the arguments and phonenumbers' metadata. Only phone-sized input is kept."""
    if raw is not None and len(raw) > 64:
        return _parse.__wrapped__(raw, region)
    return _parse(raw, region)


@lru_cache(maxsize=16_384)
def _parse(raw: str | None, region: str | None) -> ParsedPhone:
    if not raw:
        return ParsedPhone(None)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        return ParsedPhone(None, f"unparseable phone {raw!r}: {exc}"[:255])
    if not phonenumbers.is_valid_number(number):
        return ParsedPhone(None, f"invalid phone {raw!r} for region {region or 'unknown'}"[:255])
    return ParsedPhone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def timezone_of_phone(e164: str) -> str | None:
    """The phone's zone when the number pins exactly one (area codes usually do)."""
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None


def country_of_phone(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
