"""Twilio's webhook forms (status callbacks, inbound messages) as plain dicts, signature-ready."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Form = dict[str, str | list[str]]


def multi_dict(form: Any) -> Form:
    """Keep repeated names as lists: Twilio's signature sorts their values too."""
    out: Form = {}
    for key, value in form.multi_items():
        text = value if isinstance(value, str) else str(value)
        if key in out:
            prev = out[key]
            out[key] = [*prev, text] if isinstance(prev, list) else [prev, text]
        else:
            out[key] = text
    return out


def one(form: Mapping[str, str | list[str]], name: str) -> str:
    """A field's first value ("" when absent): the fields we read are single-valued."""
    value = form.get(name, "")
    return value[0] if isinstance(value, list) else value


def first_values(form: Mapping[str, str | list[str]]) -> dict[str, str]:
    """Every field's first value, for parsers that read one value per name."""
    return {name: one(form, name) for name in form}
