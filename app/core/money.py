"""Money for people: amounts rounded to their currency's minor unit, formatted with babel."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from babel.numbers import format_currency, get_currency_precision


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Stored amounts keep four places; shown and exported amounts use the currency's own (JPY 0, KWD 3)."""
    places = get_currency_precision(currency.upper())
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def format_money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    return format_currency(quantize(amount, currency), currency.upper(), locale=locale)
