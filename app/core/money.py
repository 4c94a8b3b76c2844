"""Money for people: amounts rounded to their currency's minor unit, formatted with babel."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel.core import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision

DEFAULT_LOCALE = "en_US"


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Stored amounts keep four places; shown and exported amounts use the currency's own (JPY 0, KWD 3)."""
    places = get_currency_precision(currency.upper())
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


@lru_cache(maxsize=256)  # every amount of every message asks: parse each name once
def normal_locale(name: str | None) -> str:
    """A babel locale name from what a platform sends ("en-GB", "fr_CA", None); en_US when
    babel does not know it, so a shopper's odd locale never breaks a message."""
    try:
        return str(Locale.parse(name or DEFAULT_LOCALE, sep="_" if "_" in (name or "_") else "-"))
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE


@lru_cache(maxsize=256)
def _locale(name: str | None) -> Locale:
    """The parsed locale itself: babel parses a name on every call, three times the formatting."""
    return Locale.parse(normal_locale(name))


def format_money(amount: Decimal | str, currency: str, locale: str | None = DEFAULT_LOCALE) -> str:
    """`amount` in `currency` for `locale`; an amount or currency babel cannot read is shown as
    it came ("12.5 XYZ") rather than failing the page or the message it is part of."""
    try:
        value = quantize(Decimal(str(amount)), currency)
        return format_currency(value, currency.upper(), locale=_locale(locale))
    except (ValueError, ArithmeticError):
        return f"{amount} {currency}"
