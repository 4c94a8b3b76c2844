"""Static files as a browser meets them: page assets named by their content and cached for a year,
the embeddable snippet kept at its plain URL and revalidated, and a matching ETag answered 304."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from app.accounts.models import Role
from app.web import assets
from app.web.assets import INBOX_STATIC_DIR, STATIC_DIR
from tests.factories import make_store
from tests.web.conftest import login_as

ASSET = re.compile(r'(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]+)"')


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def file_for(url: str) -> Path:
    if url.startswith("/static/inbox/"):
        return INBOX_STATIC_DIR / url.removeprefix("/static/inbox/")
    return STATIC_DIR / url.removeprefix("/static/")


async def test_pages_link_their_assets_by_content_and_those_are_cached_for_a_year(client):
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    seen: dict[str, str] = {}
    for page_url in ("/inbox", "/dashboard", "/flows"):
        page = await client.get(page_url)
        assert page.status_code == 200, page_url
        seen.update(ASSET.findall(page.text))
    assert {"/static/app.css", "/static/inbox/inbox.css", "/static/inbox/inbox.js"} <= set(seen)
    assert "/static/dashboard.js" in seen and "/static/flows.js" in seen
    for url, version in seen.items():
        assert version == content_hash(file_for(url)), url
        answer = await client.get(f"{url}?v={version}")
        assert answer.status_code == 200, url
        assert answer.content == file_for(url).read_bytes()
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable", url


async def test_the_install_snippet_keeps_its_plain_url_and_is_revalidated(client):
    """A store's own pages embed followup.js by its plain URL: a release must reach them without
    an edit, so it is never cached for good, and a page rendered before an upgrade (an old `v`)
    does not pin the new file for a year either."""
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    dashboard = (await client.get("/dashboard")).text
    assert "/static/followup.js?v=" not in dashboard and "/static/followup.js" in dashboard
    for url in ("/static/followup.js", "/static/chat.js", "/static/app.css?v=000000000000"):
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["cache-control"] == "public, max-age=3600, must-revalidate", url


@pytest.mark.parametrize(
    "url", ["/static/followup.js", "/static/inbox/inbox.js", "/static/api-docs/swagger-ui.css"]
)
async def test_a_matching_etag_is_answered_304_without_the_file(client, url):
    """The ETag is the content hash, the same from every web process on every host (Litestar's
    own is built from the file's mtime, which differs between two installs of one release)."""
    first = await client.get(url)
    etag = first.headers["etag"]
    assert etag == f'"{content_hash(assets._file(url))}"'
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and "cache-control" in again.headers
    listed = await client.get(url, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304
    stale = await client.get(url, headers={"If-None-Match": '"an-older-version"'})
    assert stale.status_code == 200 and stale.content == first.content


async def test_a_missing_file_is_still_a_404_without_caching(client):
    answer = await client.get("/static/no-such-file.js?v=abc")
    assert answer.status_code == 404
    assert "immutable" not in answer.headers.get("cache-control", "")


def test_a_changed_file_gets_a_new_url(tmp_path, monkeypatch):
    folder = tmp_path / "static"
    folder.mkdir()
    monkeypatch.setattr(assets, "FOLDERS", (("/static/", folder),))
    sheet = folder / "site.css"
    sheet.write_text("body { color: black }")
    before = assets.static_url("site.css")
    assert before == f"/static/site.css?v={content_hash(sheet)}"
    sheet.write_text("body { color: navy; margin: 0 }")
    after = assets.static_url("site.css")
    assert after != before and after.endswith(content_hash(sheet))


def test_a_path_outside_the_static_folders_has_no_version():
    with pytest.raises(FileNotFoundError):
        assets.static_url("../../pyproject.toml")
