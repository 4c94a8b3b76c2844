"""require_json reads bodies with msgspec but must accept, refuse and explain exactly as the standard library did."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ApiError
from app.ingest.services import check_json, require_json

TRICKY = [
    b'{"a": 1}',
    b"NaN",
    b"[Infinity, -Infinity]",
    b"1e400",
    b"123456789012345678901234567890",
    b'"\\ud800"',
    b"\xef\xbb\xbf{}",
    '{"a": "é"}'.encode("utf-16"),
    b'{"a": "\x01"}',
    b'{"a": "\xff"}',
    b"[1,]",
    b'{"a":1,}',
    b"01",
    b"",
    b"   ",
    b"\x0c[]",
    b'{"a":1} x',
    b'{"a":1,"a":2}',
    b"-0",
    b"[1.5e-7]",
]


def standard(body: bytes) -> tuple[str, Any]:
    try:
        return "ok", json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return "refused", f"body is not valid JSON: {exc}"


def ours(body: bytes) -> tuple[str, Any]:
    try:
        return "ok", require_json(body)
    except ApiError as exc:
        assert exc.status_code == 400 and exc.code == "malformed_json"
        return "refused", exc.detail


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    # NaN is not equal to itself; compare its text instead.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) if _has_nan(a) else a == b


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    return False


@pytest.mark.parametrize("body", TRICKY)
def test_tricky_bodies_get_the_standard_librarys_answer(body):
    assert same(ours(body), standard(body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_any_document_reads_as_the_standard_library_reads_it(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert same(ours(body), standard(body))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_are_accepted_or_refused_as_before(body):
    assert same(ours(body), standard(body))


def checked(body: bytes) -> str:
    """check_json's verdict, with require_json's message when it refuses."""
    try:
        check_json(body)
    except ApiError as exc:
        assert exc.status_code == 400 and exc.code == "malformed_json"
        return f"refused: {exc.detail}"
    return "ok"


def verdict(body: bytes) -> str:
    kind, value = ours(body)
    return "ok" if kind == "ok" else f"refused: {value}"


@pytest.mark.parametrize("body", [*TRICKY, b'"\\x"', b'{"a": "\\u00zz"}', b"[1e]", b"1e400"])
def test_checking_without_reading_answers_as_reading_does(body):
    assert checked(body) == verdict(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_are_checked_as_they_are_read(body):
    assert checked(body) == verdict(body)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_any_document_passes_the_check(value, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert checked(body) == verdict(body)
