"""Twilio's webhook forms as dicts: repeated names kept for the signature, first values for parsers."""

from __future__ import annotations

from litestar.datastructures import FormMultiDict

from app.integrations.twilio.form import first_values, multi_dict, one


def test_repeated_names_stay_lists_and_single_ones_strings():
    form = FormMultiDict(
        [
            ("MessageSid", "SM1"),
            ("MediaUrl0", "https://a"),
            ("Tag", "x"),
            ("Tag", "y"),
            ("Tag", "z"),
        ]
    )
    assert multi_dict(form) == {
        "MessageSid": "SM1",
        "MediaUrl0": "https://a",
        "Tag": ["x", "y", "z"],
    }


def test_one_and_first_values_read_the_first_value_or_nothing():
    form = {"MessageSid": "SM1", "Tag": ["x", "y"]}
    assert one(form, "MessageSid") == "SM1"
    assert one(form, "Tag") == "x"
    assert one(form, "Body") == ""
    assert first_values(form) == {"MessageSid": "SM1", "Tag": "x"}
