"""The JS snippet as shipped: served by the static router, small, dependency-free, queue-aware."""

from __future__ import annotations

import gzip

from app.web.assets import STATIC_DIR

SNIPPET = STATIC_DIR / "followup.js"


def test_snippet_is_under_five_kilobytes_gzipped() -> None:
    size = len(gzip.compress(SNIPPET.read_bytes(), compresslevel=9))
    assert size < 5 * 1024, f"followup.js is {size} bytes gzipped"


def test_snippet_has_no_dependencies_and_the_documented_api() -> None:
    source = SNIPPET.read_text()
    assert "import " not in source and "require(" not in source
    for needle in (
        "followup.q",
        "keepalive",
        "sendBeacon",
        "text/plain",
        "/collect/v1/events?key=",
        "messageId",
        "followup_aid",
        "Checkout Started",
        "Order Completed",
        "data-followup",
    ):
        assert needle in source, needle


async def test_snippet_is_served_as_javascript(client) -> None:
    response = await client.get("/static/followup.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.content == SNIPPET.read_bytes()


def test_chat_is_its_own_file_loaded_only_when_the_store_turns_it_on() -> None:
    snippet, widget = SNIPPET.read_text(), (STATIC_DIR / "chat.js").read_text()
    assert "/static/chat.js" in snippet and "/chat/v1/config?key=" in snippet
    assert "WebSocket" not in snippet  # the chat's code stays out of the capture snippet
    assert "innerHTML" not in widget and "insertAdjacentHTML" not in widget  # text only
    assert "credentials: 'omit'" in widget and "document.cookie" not in widget
