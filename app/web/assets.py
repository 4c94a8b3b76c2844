"""Static files: page assets named by their content, cached for a year; everything else revalidated.

A page links its stylesheet and scripts through `static_url`, which adds `?v=` and the first
twelve hex digits of the file's SHA-256. Such a URL names one content for good, so it is answered
with `Cache-Control: public, max-age=31536000, immutable`: an agent's browser opens the inbox
without asking for inbox.js again, and a new release changes the URL, never the cached copy.

What merchants embed on their own sites (the capture snippet `followup.js`, the chat widget) keeps
its plain URL: a store's pages must pick up a new release without being edited. It, and any URL
whose `v` is not the file's current one (a page rendered before an upgrade), gets an hour of
freshness and then a conditional request. The ETag is the same content hash, so every web process
on every host gives a file the same one (Litestar's is built from the file's mtime), and a
matching `If-None-Match` is answered `304 Not Modified` before the file is opened (Litestar's
static router always answers 200).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "app" / "web" / "static"
INBOX_STATIC_DIR = ROOT / "inbox" / "static"
API_DOCS_DIR = Path(str(swagger_ui_path)).resolve()  # Swagger UI from its PyPI package
API_DOCS_ASSETS = "/static/api-docs"
# URL prefix → folder: app.server mounts one static router per row, and `_file` maps a URL to its
# file the same way (the longest prefix first, as the routers match them).
FOLDERS = (
    ("/static/inbox/", INBOX_STATIC_DIR),
    (f"{API_DOCS_ASSETS}/", API_DOCS_DIR),
    ("/static/", STATIC_DIR),
)

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"public, max-age=3600, must-revalidate"
_REPLACED = (b"etag", b"cache-control")  # Litestar's, where an answer sets them

_versions: dict[Path, tuple[int, int, str]] = {}


def version(path: Path) -> str:
    """The first 12 hex digits of the file's SHA-256, read again only when the file changes."""
    stat = path.stat()
    known = _versions.get(path)
    if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
        return known[2]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    _versions[path] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def static_url(name: str) -> str:
    """`/static/<name>?v=<content hash>` for a page's own asset (`inbox/inbox.css` included)."""
    url = f"/static/{name.lstrip('/')}"
    return f"{url}?v={version(_file(url))}"


def _file(url_path: str) -> Path:
    for prefix, folder in FOLDERS:
        if url_path.startswith(prefix):
            path = (folder / url_path[len(prefix) :]).resolve()
            if path.is_relative_to(folder) and path.is_file():
                return path
            break
    raise FileNotFoundError(url_path)


def _asked(scope: Scope) -> str | None:
    """The URL's `v`, if it has one."""
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
    return asked[0] if asked else None


def caching(app: ASGIApp) -> ASGIApp:
    """Middleware for the static routers: the content hash as ETag, `304` when the browser holds
    it, and Cache-Control on every file. A path that is no file goes on to the router's 404."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        try:
            current = version(_file(scope["path"]))
        except OSError:
            await app(scope, receive, send)
            return
        etag = f'"{current}"'.encode()
        policy = IMMUTABLE if _asked(scope) == current else REVALIDATE
        held = {
            tag.strip()
            for name, value in scope["headers"]
            if name == b"if-none-match"
            for tag in value.split(b",")
        }
        if etag in held or b"*" in held:
            headers = [(b"etag", etag), (b"cache-control", policy)]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                kept = [h for h in message.get("headers", []) if h[0] not in _REPLACED]
                message = {
                    **message,
                    "headers": [*kept, (b"etag", etag), (b"cache-control", policy)],
                }
            await send(message)

        await app(scope, receive, answer)

    return middleware
