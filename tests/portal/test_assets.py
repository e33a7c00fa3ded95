"""Compressed text answers and fingerprinted, long-cached static files."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from portal.assets import IMMUTABLE, Fingerprints, static_url
from portal.compression import compressible
from portal.templating import STATIC_DIR, TEMPLATE_DIR

# --- compression ----------------------------------------------------------------------------


async def test_text_is_sent_gzipped_to_a_client_that_asks(client) -> None:
    for url in ("/", static_url("css/portal.css"), "/schema/openapi.json"):
        async with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as raw:
            wire = b"".join([chunk async for chunk in raw.aiter_raw()])
        assert raw.status_code == 200, url
        assert raw.headers["content-encoding"] == "gzip", url
        assert "accept-encoding" in raw.headers["vary"].lower(), url
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers, url
        assert gzip.decompress(wire) == plain.content, url
        assert len(wire) < len(plain.content) / 2, url


async def test_pictures_and_files_are_not_gzipped_again(client) -> None:
    share = await client.get(static_url("img/share.png"), headers={"Accept-Encoding": "gzip"})
    assert share.status_code == 200 and share.headers["content-type"] == "image/png"
    assert "content-encoding" not in share.headers
    assert (
        compressible("text/html; charset=utf-8")
        and compressible("application/json")
        and compressible("text/csv")
        and compressible("application/atom+xml")
    )
    for kind in ("image/jpeg", "application/pdf", "application/zip", "image/png"):
        assert not compressible(kind)
    assert not compressible("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --- fingerprinted static files -------------------------------------------------------------


async def test_a_fingerprinted_static_url_is_cached_for_a_year(client) -> None:
    url = static_url("css/portal.css")
    assert re.fullmatch(r"/static/css/portal\.css\?v=[0-9a-f]{12}", url)
    answer = await client.get(url)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == IMMUTABLE.decode()
    # Without its hash, or with another one (a page from before a deploy), the file is
    # still served, but checked again every time: a year's caching only for its own hash.
    for other in ("/static/css/portal.css", "/static/css/portal.css?v=000000000000"):
        answer = await client.get(other)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-cache", other
    assert (await client.get("/static/nope.css?v=1")).headers["cache-control"] == "no-cache"


def test_the_fingerprint_changes_when_the_content_changes(tmp_path: Path) -> None:
    sheet = tmp_path / "css" / "site.css"
    sheet.parent.mkdir()
    sheet.write_text("body { color: #111; }")
    fingerprints = Fingerprints(tmp_path)
    first = fingerprints.url("css/site.css")
    assert first == fingerprints.url("/css/site.css")
    sheet.write_text("body { color: #000; }")
    second = fingerprints.url("css/site.css")
    assert second != first and second.startswith("/static/css/site.css?v=")
    assert fingerprints.url("css/missing.css") == "/static/css/missing.css"
    assert fingerprints.of("../secret") is None


async def test_pages_link_every_static_file_by_its_fingerprint(client) -> None:
    home = await client.get("/")
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', home.text)
    assert links and all(re.search(r"\?v=[0-9a-f]{12}$", link) for link in links), links
    # No template writes a bare /static/ path: all go through static_url().
    for template in TEMPLATE_DIR.rglob("*.html"):
        assert '"/static/' not in template.read_text(encoding="utf-8"), template
    assert (STATIC_DIR / "css" / "portal.css").is_file()
