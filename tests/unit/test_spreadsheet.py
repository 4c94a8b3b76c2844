"""CSV cells: formula starts become text, numbers and ordinary words stay as they are."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.core.spreadsheet import safe_cell


@pytest.mark.parametrize(
    "raw",
    ['=HYPERLINK("x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "-inf", "\t5"],
)
def test_formula_starts_are_quoted(raw: str) -> None:
    assert safe_cell(raw) == "'" + raw


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (Decimal("-12.50"), "-12.50"),
        (-3, "-3"),
        ("+44", "+44"),
        ("1E-7", "1E-7"),
        (None, ""),
        ("hello = world", "hello = world"),
    ],
)
def test_numbers_and_plain_text_are_left_alone(raw: object, shown: str) -> None:
    assert safe_cell(raw) == shown
