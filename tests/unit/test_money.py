"""Money shown to people: one formatter for messages and pages, forgiving of odd input."""

from __future__ import annotations

from decimal import Decimal

from app.core.money import format_money, normal_locale


def test_amounts_use_the_currency_minor_unit_and_the_locale():
    assert format_money(Decimal("64.00"), "USD") == "$64.00"
    assert format_money(Decimal("1234.5"), "eur", "de_DE") == "1.234,50\xa0€"
    assert format_money(Decimal("1500.4"), "JPY", "ja_JP") == "￥1,500"
    assert format_money(Decimal("2.125"), "USD") == "$2.12"  # half even, as stored sums round
    assert format_money("19.99", "GBP", "en-GB") == "£19.99"  # strings and dashed names too


def test_locale_names_are_normalized_or_fall_back():
    assert normal_locale("en-GB") == "en_GB"
    assert normal_locale("fr_CA") == "fr_CA"
    assert normal_locale(None) == "en_US"
    assert normal_locale("xx-nowhere") == "en_US"
    assert format_money(Decimal("5"), "USD", "not a locale") == "$5.00"


def test_unreadable_amounts_are_shown_as_they_came():
    assert format_money("twelve", "USD") == "twelve USD"
