"""A fake Shopify on loopback: the OAuth endpoints and Admin GraphQL, with the real shapes and rules.

It keeps what a real shop would (tokens, webhook subscriptions, the pixel, discounts, abandoned
checkouts, variants) so tests assert on state, and it enforces what Shopify enforces: single-use
codes, rotating single-use refresh tokens, expiring access tokens, signed session tokens, unique
discount codes, cost-based throttling and 429s.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from litestar import Litestar, Request, Response, get, post

from tests.fakes.shopify_graphql import resolve


@dataclass
class Shop:
    domain: str
    name: str = "Velvet Fern Goods"
    currency: str = "USD"
    timezone: str = "America/New_York"
    primary_host: str = "velvetferngoods.example"
    locale: str = "en"
    webhooks: dict[str, dict[str, str]] = field(default_factory=dict)
    pixel: dict[str, Any] | None = None
    discounts: list[dict[str, Any]] = field(default_factory=list)
    abandoned_checkouts: list[dict[str, Any]] = field(default_factory=list)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    flow_triggers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeShopify:
    api_key: str
    api_secret: str
    url: str = ""
    shops: dict[str, Shop] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    graphql_requests: list[dict[str, Any]] = field(default_factory=list)
    token_ttl: int = 3600
    throttle_next: int = 0
    restore_rate: float = 1000.0
    rate_limit_next: int = 0
    retry_after: str = "2"
    refresh_delay: float = 0.0
    answer_delay: float = 0.0  # seconds every Admin API answer takes (a slow or hung Shopify)
    fail_next: int = 0  # answers that are a top-level INTERNAL_SERVER_ERROR
    granted_scope: str = "read_orders,write_discounts"
    _ids: int = 1000

    def reset(self) -> None:
        for name in ("shops", "codes", "access_tokens", "refresh_tokens"):
            getattr(self, name).clear()
        self.token_requests.clear()
        self.graphql_requests.clear()
        self.token_ttl, self.throttle_next, self.rate_limit_next = 3600, 0, 0
        self.refresh_delay = self.answer_delay = 0.0
        self.fail_next = 0
        self.granted_scope = "read_orders,write_discounts"

    def shop(self, domain: str) -> Shop:
        return self.shops.setdefault(domain, Shop(domain))

    def next_id(self, kind: str) -> str:
        self._ids += 1
        return f"gid://shopify/{kind}/{self._ids}"

    def issue_code(self, domain: str) -> str:
        """What Shopify does when the merchant approves: a one-time code for our callback."""
        self.shop(domain)
        code = secrets.token_hex(16)
        self.codes[code] = domain
        return code

    def session_token(self, domain: str, *, exp_in: int = 60, secret: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": f"https://{domain}/admin",
            "dest": f"https://{domain}",
            "aud": self.api_key,
            "sub": "42",
            "exp": now + exp_in,
            "nbf": now - 5,
            "iat": now - 5,
            "jti": secrets.token_hex(8),
            "sid": secrets.token_hex(8),
        }
        return jwt.encode(claims, secret or self.api_secret, algorithm="HS256")

    def expire_access_tokens(self) -> None:
        self.access_tokens = {t: (s, 0.0) for t, (s, _) in self.access_tokens.items()}

    # --- OAuth ---------------------------------------------------------------------------

    def _grant(self, domain: str, expiring: bool) -> dict[str, Any]:
        token = "shpat_" + secrets.token_hex(16)
        self.access_tokens[token] = (domain, time.time() + self.token_ttl)
        reply: dict[str, Any] = {"access_token": token, "scope": self.granted_scope}
        if expiring:
            refresh = "shprt_" + secrets.token_hex(16)
            self.refresh_tokens[refresh] = domain
            reply |= {
                "expires_in": self.token_ttl,
                "refresh_token": refresh,
                "refresh_token_expires_in": 7776000,
            }
        return reply

    async def access_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if form.get("client_id") != self.api_key or form.get("client_secret") != self.api_secret:
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type", "authorization_code")
        expiring = form.get("expiring") == "1"
        if grant == "refresh_token":
            await asyncio.sleep(self.refresh_delay)
            domain = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if domain is None:  # refresh tokens are single use: the old one dies on rotation
                return 400, {"error": "invalid_request", "error_description": "refresh token"}
            return 200, self._grant(domain, True)
        if grant == "urn:ietf:params:oauth:grant-type:token-exchange":
            try:
                claims = jwt.decode(
                    form.get("subject_token", ""), self.api_secret, ["HS256"], audience=self.api_key
                )
            except jwt.PyJWTError:
                return 400, {"error": "invalid_subject_token"}
            return 200, self._grant(claims["dest"].removeprefix("https://"), expiring)
        domain = self.codes.pop(form.get("code", ""), None)
        if domain is None:
            return 400, {"error": "invalid_request", "error_description": "code was already used"}
        return 200, self._grant(domain, expiring)

    def shop_for(self, token: str | None) -> str | None:
        domain, expires = self.access_tokens.get(token or "", ("", 0.0))
        return domain if domain and expires > time.time() else None


def build_app(fake: FakeShopify) -> Litestar:
    @get("/admin/oauth/authorize", sync_to_thread=False)
    def authorize(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"authorize": dict(request.query_params)}

    @post("/admin/oauth/access_token")
    async def access_token(request: Request[Any, Any, Any]) -> Response[Any]:
        form = dict(await request.form())
        status, body = await fake.access_token({k: str(v) for k, v in form.items()})
        return Response(body, status_code=status)

    @post("/admin/api/{version:str}/graphql.json")
    async def graphql(request: Request[Any, Any, Any], version: str) -> Response[Any]:
        domain = fake.shop_for(request.headers.get("x-shopify-access-token"))
        if domain is None:
            return Response({"errors": "[API] Invalid API key or access token"}, status_code=401)
        if fake.rate_limit_next > 0:
            fake.rate_limit_next -= 1
            return Response(
                {"errors": "Exceeded 2 calls per second for api client. Reduce request rates."},
                status_code=429,
                headers={"Retry-After": fake.retry_after},
            )
        document = await request.json()
        fake.graphql_requests.append({"shop": domain, "version": version, **document})
        if fake.answer_delay:
            await asyncio.sleep(fake.answer_delay)
        return Response(resolve(fake, fake.shop(domain), document))

    return Litestar([authorize, access_token, graphql], debug=True)


def start(fake: FakeShopify) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve in a thread of its own: Litestar's test client blocks the test's event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(build_app(fake), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True, name="fake-shopify"
    )
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread
