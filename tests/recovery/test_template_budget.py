"""Templates that save but cannot send: refused on save and preview (422 naming the variant), and
bounded in size and time whenever they render."""

from __future__ import annotations

import copy
import gc
import time
import tracemalloc

import pytest

from app.recovery import sandbox, templates
from tests.factories import make_store

HOSTILE = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "huge range": "{% for i in range(999999999) %}x{% endfor %}",
    "huge string": "{{ 'a' * 20000000 }}",
    "doubling": (
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s|length }}"
    ),
    "nested loops": (
        "{% for a in range(5000) %}{% for b in range(5000) %}{% endfor %}{% endfor %}"
    ),
    "padding": "{{ first_name|center(500000000) }}",
    "replace": "{{ ('a' * 10000)|replace('a', 'b' * 10000) }}",
    "format width": "{{ '%900000000s'|format(first_name) }}",
    "str format": "{{ '{:>900000000}'.format(1) }}",
    "join": "{{ range(9000)|join('x' * 9000) }}",
    "power": "{{ 10 ** 10000000 }}",
    "output": "{% for i in range(9000) %}{{ 'x' * 9000 }}{% endfor %}",
    "division": "{{ 1 // 0 }}",
    "many values": "{{ range(999)|map('string')|map('center', 9999)|list|length }}",
    "generator join": "{{ range(9999)|map('string')|join('x' * 9999) }}",
}


@pytest.fixture
async def api(settings):
    issued = await make_store("woocommerce", sms_number="+14155550100", name="Tidewater Teas")
    return issued.store, {"Authorization": f"Bearer {issued.api_token}"}


@pytest.mark.parametrize("name", HOSTILE)
async def test_preview_refuses_a_template_that_cannot_render(client, api, name):
    _, headers = api
    body = {"channel": "email", "subject": "Your cart", "body": HOSTILE[name]}
    tracemalloc.start()
    try:
        response = await client.post("/api/v1/templates/preview", json=body, headers=headers)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 422, response.text
    assert "template.body (variant 'a') cannot be sent: " in response.json()["detail"]
    # Refused before the work, not after it: none of these ever builds its huge value.
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated while refusing {name!r}"


@pytest.mark.parametrize("name", ["subclasses", "huge string", "huge range"])
async def test_saving_a_flow_refuses_it_naming_the_variant(client, api, name):
    _, headers = api
    [flow] = (await client.get("/api/v1/flows", headers=headers)).json()
    steps = [{k: v for k, v in s.items() if k != "position"} for s in copy.deepcopy(flow["steps"])]
    good = steps[1]["variants"][0]
    steps[1]["variants"] = [good, {**good, "key": "b", "html": HOSTILE[name]}]
    response = await client.put(
        f"/api/v1/flows/{flow['id']}",
        json={"name": flow["name"], "steps": steps},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("steps[1].variants[1].html (variant 'b') cannot be sent: "), detail
    [after] = (await client.get("/api/v1/flows", headers=headers)).json()
    assert after["steps"] == flow["steps"]


async def test_the_reason_is_in_words():
    problems = {}
    for name in ("subclasses", "huge string", "huge range", "nested loops", "output"):
        with pytest.raises(templates.RenderProblem) as caught:
            templates.try_variant("email", {"subject": "s", "body": HOSTILE[name]})
        problems[name] = caught.value.reason  # type: ignore[attr-defined]
    assert "may not access" in problems["subclasses"]
    assert "20,000,000 characters" in problems["huge string"]
    assert "range of 999,999,999 numbers" in problems["huge range"]
    assert "more than 10,000 times" in problems["nested loops"]
    assert "more than 200,000 characters" in problems["output"]


async def test_a_slow_render_stops_at_its_time_budget(monkeypatch):
    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.05)
    monkeypatch.setattr(sandbox, "MAX_LOOPS", 10**9)
    slow = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}"
    with pytest.raises(templates.RenderProblem, match=r"more than 0\.05 s of work"):
        templates.try_variant("sms", {"body": slow})  # 10^8 iterations unless the budget stops it


async def test_ordinary_templates_still_render():
    variant = {
        "subject": "{{ first_name|default('there') }}, {{ item_count }} items",
        "body": "{% for i in items %}{{ i.title|upper }} x{{ i.quantity }} {{ '%-10s'|format(i.price) }}"
        "{% endfor %}{{ ', '.join(['a', 'b']) }} {{ ('-' * 20) ~ discount_code }}",
    }
    templates.try_variant("email", variant)
    templates.try_variant("sms", {"body": "{{ store_name }}: {{ magic_link }}"})


def test_a_garbage_collection_during_a_render_is_not_charged_to_the_template(monkeypatch):
    """A full collection can start in any render (the allocation that sets it off may be the
    template's); on a big heap it costs more than a render's budget, and it is not the template's work."""
    monkeypatch.setattr(sandbox, "RENDER_SECONDS", 0.01)
    heap = [{"self": None, "n": n} for n in range(400_000)]
    for node in heap:
        node["self"] = node  # cycles: the collector walks every one of them
    spent: list[float] = []

    def collect() -> str:
        started = time.thread_time()
        gc.collect()
        spent.append(time.thread_time() - started)
        return "."

    template = sandbox.environment(False).from_string(
        "{% for i in range(3) %}{{ collect() }}{% endfor %}"
    )
    assert sandbox.render(template, {"collect": collect}) == "..."
    assert max(spent) > sandbox.RENDER_SECONDS  # without the collector's time set apart, this fails
    del heap
