"""CSV cells that a spreadsheet opens as text, never as a formula (CSV injection)."""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain number such as "-12.50" or "1E-7" is data, not a formula: it stays as it is.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: Any) -> str:
    """The cell's text, with a leading quote when it starts like a formula and is not a number."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_START and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
