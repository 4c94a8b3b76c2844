"""Merchant pages, one controller module per page; each calls the same services as the JSON API.

| Page | Module |
|---|---|
| `/` (front door), `/favicon.ico` | `home` |
| `/login`, `/logout`, `/logout/everywhere` | `login` |
| `/invite/{token}` | `invite` |
| `/dashboard`, `/dashboard/export/{table}.csv`, `/dashboard/live` | `dashboard` (live: `inbox.sockets`) |
| `/checkouts`, `/checkouts/{id}/sequence`, `/checkouts/{id}/discount` | `checkouts` |
| `/flows`, `/flows/codes`, `/flows/segments` | `flows` (saves through `/api/v1/flows`); `segments` |
| `/settings`, `/settings/team/...` | `settings` (sections as partial templates) |
| `/settings/hooks/...`, `/settings/segment` (forms of the settings page) | `integrations` |
| `/inbox` | `inbox` (the live inbox app talks to `inbox.controllers` and its websocket) |
"""

from __future__ import annotations

from typing import Any

from app.web.pages.checkouts import CheckoutPages
from app.web.pages.dashboard import DashboardPages
from app.web.pages.flows import FlowPages
from app.web.pages.home import favicon, home
from app.web.pages.inbox import InboxPages
from app.web.pages.integrations import IntegrationSettings
from app.web.pages.invite import InvitePages
from app.web.pages.login import LoginPages
from app.web.pages.settings import SettingsPages

PAGES: list[Any] = [
    home,
    favicon,
    LoginPages,
    InvitePages,
    DashboardPages,
    CheckoutPages,
    FlowPages,
    SettingsPages,
    IntegrationSettings,
    InboxPages,
]
