"""What no database can store is named before any handler runs: NUL, lone surrogates, huge numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.inputs import pairs_problem, path_problem, value_problem


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"title": "a\x00b"}, "body.title contains a NUL"),
        (
            {"steps": [{"body": "ok"}, {"body": "\ud800"}]},
            "body.steps[1].body contains an unpaired",
        ),
        ({"contact_id": 2**63}, "body.contact_id is a whole number past 64 bits"),
        ({"contact_id": -(2**63) - 1}, "body.contact_id is a whole number past 64 bits"),
        ({"a\x00": 1}, "a key in body contains a NUL"),
        (["x", ["\x00"]], "body[1][0] contains a NUL"),
    ],
)
def test_unstorable_json_is_named_by_its_path(document, named):
    assert value_problem(document, "body").startswith(named)


@pytest.mark.parametrize(
    "document",
    [
        {"title": "Ünïcødé ✓ 🛒"},
        {"n": 2**63 - 1},
        {"n": -(2**63)},
        {"ok": True},
        [1.5e300, None],
        "",
    ],
)
def test_storable_json_passes(document):
    assert value_problem(document, "body") is None


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b"q=%00", "query string parameter 'q' contains a NUL"),
        (b"q=%ED%A0%80", "the query string is not valid UTF-8"),
        (b"q=%FF", "the query string is not valid UTF-8"),
        (b"after=99999999999999999999", "query string parameter 'after' is a whole number past"),
        (b"%00=1", "a query string parameter name contains a NUL"),
    ],
)
def test_query_strings(raw, named):
    assert pairs_problem(raw, "query string").startswith(named)


def test_ordinary_queries_pass():
    assert pairs_problem(b"view=all&status=open&q=Jane+Doe&after=123&q2=%E2%9C%93", "query") is None


def test_path_parameters():
    assert path_problem({"conv_id": 2**63}).startswith("path parameter 'conv_id' is a whole")
    assert path_problem({"token": "a\x00"}).startswith("path parameter 'token' contains a NUL")
    assert path_problem({"conv_id": 7, "action": "pause"}) is None


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_whatever_is_accepted_can_be_stored(document):
    """Accepted means: every text encodes to UTF-8 without NUL and every integer fits a bigint."""
    if value_problem(document, "body") is not None:
        return
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            assert "\x00" not in item and isinstance(item.encode("utf-8"), bytes)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            assert -(2**63) <= item < 2**63
        elif isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            pending += item
