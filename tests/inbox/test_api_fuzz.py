"""Every query parameter and JSON field of the JSON API and the inbox API, fuzzed from the OpenAPI schema.

A property per operation: whatever arrives, the answer is 2xx (valid input) or 4xx with a reason,
never 5xx, and a refusal stores nothing. Runs through the ORM, so on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tortoise import Tortoise

from app.accounts import sessions
from app.accounts.models import Role
from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.core.timeutil import utcnow
from app.recovery.models import Flow
from app.recovery.services import enroll
from app.server import create_app
from inbox.models import CannedReply, Conversation
from tests.conftest import make_settings
from tests.factories import make_store
from tests.inbox.conftest import STORE_NUMBER, agent_session

SCHEMA = json.loads(
    json.dumps(create_app(make_settings(), manage_db=False).openapi_schema.to_schema(), default=str)
)
COMPONENTS = SCHEMA["components"]["schemas"]
OPERATIONS = {
    (method.upper(), path): op
    for path, item in SCHEMA["paths"].items()
    if path.startswith(("/api/v1/", "/inbox/api/v1/"))
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
}
EXAMPLES = 40

# What clients get wrong or try on purpose: NUL and other control characters, lone surrogates,
# text past any column, numbers past any integer column, the wrong JSON type.
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(
        alphabet=st.sampled_from("\x00\x01\x1b\x7f\ud800\udfff\ufeff\u202e%'\"\\{}<>"), max_size=8
    ),
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=10), st.text(max_size=10)),
    st.sampled_from(["\x00", "%00", "\ud83d", "a" * 300, "9" * 40, "-1", "1e999", "NaN", "null"]),
)
NASTY_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.sampled_from([2**63, -(2**63) - 1, 2**31, 0, -1]),
        st.floats(allow_nan=False, allow_infinity=False),
        NASTY_TEXT,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(NASTY_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema allows, for the shapes Litestar's OpenAPI uses (hypothesis-jsonschema
    0.23 breaks on the installed Hypothesis, so this small reader stands in)."""
    schema = _resolve(schema)
    if "enum" in schema or "const" in schema:
        return st.sampled_from(schema.get("enum") or [schema.get("const")])
    if "oneOf" in schema or "anyOf" in schema:
        return st.one_of(*[_valid(s) for s in schema.get("oneOf") or schema["anyOf"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*[_valid({**schema, "type": k}) for k in kind])
    if kind == "object":
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        return st.fixed_dictionaries(
            {k: _valid(v) for k, v in props.items() if k in required},
            optional={k: _valid(v) for k, v in props.items() if k not in required},
        )
    return _SCALARS.get(kind, lambda s: NASTY_JSON)(schema)


def _integer(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    low, high = schema.get("minimum"), schema.get("maximum")
    return st.integers(
        int(low) if low is not None else None, int(high) if high is not None else None
    )


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("format") == "date-time":
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    return st.text(max_size=30)


_SCALARS: dict[Any, Callable[[dict[str, Any]], st.SearchStrategy[Any]]] = {
    "integer": _integer,
    "number": lambda s: st.floats(allow_nan=False, allow_infinity=False),
    "boolean": lambda s: st.booleans(),
    "null": lambda s: st.none(),
    "string": _string,
    "array": lambda s: st.lists(_valid(s.get("items") or {}), max_size=3),
}


def _body(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body, one with a field swapped for something nasty, or something else entirely."""
    resolved = _resolve(schema)
    fields = sorted((resolved.get("properties") or {}).keys())

    def mutate(valid: Any, field: str, value: Any) -> Any:
        return {**valid, field: value} if isinstance(valid, dict) else valid

    choices = [_valid(schema), _valid(schema), NASTY_JSON]
    if fields:
        choices.append(st.builds(mutate, _valid(schema), st.sampled_from(fields), NASTY_JSON))
    return st.one_of(*choices)


def _query_value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    valid = (
        _valid(schema)
        .filter(lambda v: v is not None)
        .map(lambda v: v if isinstance(v, str) else json.dumps(v))
    )
    raw = st.binary(max_size=12).map(quote_from_bytes)  # bytes that are no UTF-8 at all
    return st.one_of(
        valid.map(quote), NASTY_TEXT.map(lambda t: quote(t, errors="surrogatepass")), raw
    )


async def _state() -> dict[str, Any]:
    """Rows per table (and the latest update where tables keep one): what a refusal may not move."""
    counts: dict[str, Any] = {}
    for app_models in Tortoise.apps.values():
        for model in app_models.values():
            counts[model._meta.db_table] = await model.all().count()
    return counts


@pytest.fixture
async def world(client, redis, inbox_settings, fake_twilio) -> dict[str, Any]:
    """A store with a shopper thread, a cart, a canned reply, and both kinds of credentials."""
    issued = await make_store("custom", domain="shop.example.com", sms_number=STORE_NUMBER)
    store = issued.store
    _, token, csrf = await agent_session(redis, store, "owner@shop.example", Role.OWNER)
    contact = await Contact.create(
        store=store, phone="+14155550173", sms_consent=True, sms_consent_at=utcnow()
    )
    checkout = await Checkout.create(
        store=store,
        platform="custom",
        token="c-1",
        contact=contact,
        status=CheckoutStatus.ABANDONED,
        total=Decimal("48.00"),
        last_activity_at=utcnow() - timedelta(hours=1),
        abandoned_at=utcnow(),
    )
    conv = await Conversation.create(
        store=store, contact=contact, checkout=checkout, opened_at=utcnow()
    )
    canned = await CannedReply.create(store=store, title="Hi", body="Hello")
    enrollment = await enroll(checkout.id)
    flow = await Flow.get(store=store)
    client.cookies.set(sessions.COOKIE, token, domain="app.example.com")
    client.headers["X-CSRF-Token"] = csrf
    client.headers["Authorization"] = f"Bearer {issued.api_token}"
    return {
        "conv_id": conv.id,
        "contact_id": contact.id,
        "checkout_id": checkout.id,
        "canned_id": canned.id,
        "flow_id": flow.id,
        "enrollment_id": enrollment.id if enrollment else 1,
    }


def _path_value(param: dict[str, Any], ids: dict[str, int]) -> st.SearchStrategy[str]:
    schema = _resolve(param.get("schema") or {})
    if schema.get("type") == "integer":
        own = st.just(ids.get(param["name"], 1))  # the row of this store, most of the time
        return st.one_of(own, own, own, st.integers(-(2**70), 2**70)).map(str)
    return st.one_of(_valid(schema).map(str), NASTY_TEXT).map(
        lambda t: quote(t, safe="", errors="surrogatepass") or "x"
    )


def _request(op: dict[str, Any], ids: dict[str, int]) -> st.SearchStrategy[dict[str, Any]]:
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for param in op.get("parameters") or []:
        name, where = param["name"], param["in"]
        if where == "path":
            parts[f"path:{name}"] = _path_value(param, ids)
        elif where == "query":
            value = _query_value(param.get("schema") or {})
            parts[f"query:{name}"] = st.one_of(st.none(), value, value)
    body = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
    if body:
        parts["body"] = _body(body["schema"])
    return st.fixed_dictionaries(parts)


def _url(path: str, drawn: dict[str, Any]) -> str:
    query = []
    for key, value in drawn.items():
        kind, _, name = key.partition(":")
        if kind == "path":
            path = path.replace("{" + name + "}", value)
        elif kind == "query" and value is not None:
            query.append(f"{quote(name)}={value}")
    return path + ("?" + "&".join(query) if query else "")


def _check(response: Any, before: dict[str, Any], after: dict[str, Any], url: str) -> None:
    assert response.status_code < 500, f"{url}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        reason = response.json()
        assert reason.get("error") and reason.get("detail"), f"{url}: no reason in {reason}"
        assert after == before, f"{url}: refused ({response.status_code}) but stored something"


@pytest.mark.parametrize(
    ("method", "path"), sorted(OPERATIONS), ids=[" ".join(k) for k in sorted(OPERATIONS)]
)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
async def test_no_input_gets_a_server_error(method, path, world, client, data):
    drawn = data.draw(_request(OPERATIONS[method, path], world), label="request")
    url = _url(path, drawn)
    before = await _state()
    if "body" in drawn:
        content = json.dumps(drawn["body"]).encode()
        headers = {"Content-Type": "application/json"}
        response = await client.request(method, url, content=content, headers=headers)
    else:
        response = await client.request(method, url)
    event(f"{response.status_code // 100}xx")  # see --hypothesis-show-statistics
    _check(response, before, await _state(), url)


@pytest.mark.parametrize(
    ("method", "url", "body", "named"),
    [
        ("GET", "/inbox/api/v1/conversations?q=%00", None, "'q'"),
        ("GET", "/inbox/api/v1/conversations?q=%ED%A0%80", None, "UTF-8"),
        ("GET", "/inbox/api/v1/conversations/9223372036854775808", None, "'conv_id'"),
        ("GET", "/inbox/api/v1/changes?after=99999999999999999999", None, "'after'"),
        ("POST", "/inbox/api/v1/manage/canned", {"title": "a\x00b", "body": "x"}, "body.title"),
        ("POST", "/inbox/api/v1/manage/canned", {"title": "ok", "body": "\ud800"}, "body.body"),
        (
            "POST",
            "/inbox/api/v1/conversations",
            {"contact_id": 2**64, "body": "x", "client_id": "c-123456789"},
            "body.contact_id",
        ),
        ("GET", "/api/v1/checkouts?cursor=%00", None, "'cursor'"),
    ],
)
async def test_the_reported_inputs_get_a_reason(method, url, body, named, world, client):
    before = await _state()
    content = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = await client.request(method, url, content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unstorable_input" and named in response.json()["detail"]
    assert await _state() == before
