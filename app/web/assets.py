"""Static files: page assets named by their content, cached for a year; everything else revalidated.

A page links its stylesheet and scripts through `static_url`, which adds `?v=` and the first
twelve hex digits of the file's SHA-256. Such a URL names one content for good, so it is answered
with `Cache-Control: public, max-age=31536000, immutable`: an agent's browser opens the inbox
without asking for inbox.js again, and a new release changes the URL, never the cached copy.

What merchants embed on their own sites (the capture snippet `followup.js`, the chat widget) keeps
its plain URL: a store's pages must pick up a new release without being edited. It, and any URL
whose `v` is not the file's current one (a page rendered before an upgrade), gets an hour of
freshness and then a conditional request, which is answered `304 Not Modified` while the file's
ETag still matches. Litestar's static router sends ETags but always answers 200.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs

from litestar.types import ASGIApp, Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = ROOT / "app" / "web" / "static"
INBOX_STATIC_DIR = ROOT / "inbox" / "static"
# URL prefix → folder, the longest prefix first (as the routers match them).
FOLDERS = (("/static/inbox/", INBOX_STATIC_DIR), ("/static/", STATIC_DIR))

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"public, max-age=3600, must-revalidate"

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


def _current(scope: Scope) -> bool:
    """Whether the URL's `v` names the file's current content."""
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v")
    if not asked:
        return False
    try:
        return asked[0] == version(_file(scope["path"]))
    except (FileNotFoundError, OSError):
        return False


def caching(app: ASGIApp) -> ASGIApp:
    """Middleware for the static routers: Cache-Control on every answer, 304 for a matching ETag."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        policy = IMMUTABLE if _current(scope) else REVALIDATE
        wanted = {
            tag.strip()
            for name, value in scope["headers"]
            if name == b"if-none-match"
            for tag in value.split(b",")
        }
        dropping = False

        async def answer(message: Message) -> None:
            nonlocal dropping
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    await send(message)
                    return
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                etag = next((v for k, v in headers if k == b"etag"), None)
                if etag is not None and (etag in wanted or b"*" in wanted):
                    dropping = True
                    kept = [(k, v) for k, v in headers if k in (b"etag", b"last-modified")]
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 304,
                            "headers": [*kept, (b"cache-control", policy)],
                        }
                    )
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
                await send({**message, "headers": [*headers, (b"cache-control", policy)]})
            elif not dropping:
                await send(message)

        await app(scope, receive, answer)

    return middleware
