"""Phone answers are cached only for phone-sized input, and are the same either way."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import phones


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\+?[0-9 ()-]{0,20}", fullmatch=True), st.sampled_from(["US", "GB", None]))
def test_a_cached_answer_is_the_answer(raw: str, region: str | None) -> None:
    assert phones.parse_phone(raw, region) == phones._parse.__wrapped__(raw, region)
    assert phones.parse_phone(raw, region) == phones._parse.__wrapped__(raw, region)


def test_long_input_is_answered_but_not_kept() -> None:
    phones._parse.cache_clear()
    junk = "4" * 10_000
    assert phones.parse_phone(junk).e164 is None
    assert phones._parse.cache_info().currsize == 0
    assert phones.parse_phone("+14155550101").e164 == "+14155550101"
    assert phones._parse.cache_info().currsize == 1
