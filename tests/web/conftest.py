"""Page fixtures: log in as a role through the login page and get a client carrying its session."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.stores.models import Store

PASSWORD = "correct horse battery"


async def login_as(client: Any, store: Store, role: Role, email: str | None = None) -> str:
    """Returns the page's CSRF token for later writes."""
    email = email or f"{role}@{store.domain}"
    await create_agent(store, email, role, password=PASSWORD)
    page = await client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    response = await client.post(
        "/login", data={"email": email, "password": PASSWORD, "login_csrf": token, "next": "/"}
    )
    assert response.status_code == 303, response.text
    return ""


def csrf_from(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, "page carries no CSRF token"
    return found.group(1)


@pytest.fixture
def as_role() -> Any:
    return login_as
