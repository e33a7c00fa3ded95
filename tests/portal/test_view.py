"""The visitor's view: care mode (长辈版) and the text size, switched by cookies that a
plain link sets (no JavaScript), never redirecting off the site; the site's icons; the
footer's filing numbers only when set."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest
from PIL import Image

from portal.view import CARE_COOKIE, TEXT_COOKIE, View, parse, safe_next
from tests.portal.test_identity import FILED, baiyin_admin, png_logo, send

PAGES = ["/", "/stories", "/register", "/certificates", "/receipts", "/login"]


def html_classes(page: str) -> set[str]:
    match = re.search(r'<html lang="zh-CN" class="([^"]*)">', page)
    assert match, page[:300]
    return set(match.group(1).split())


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_the_switch_never_sends_the_visitor_off_the_site(target: str) -> None:
    assert safe_next(target) == "/"


def test_a_path_of_the_site_is_kept_with_its_query() -> None:
    assert safe_next("/campaigns/x/vote?category=a&county=b") == (
        "/campaigns/x/vote?category=a&county=b"
    )


def test_cookie_values_outside_the_choices_mean_the_default() -> None:
    assert parse({}) == View()
    assert parse({CARE_COOKIE: "yes", TEXT_COOKIE: "huge"}) == View()
    assert parse({CARE_COOKIE: "1", TEXT_COOKIE: "xl"}) == View(care=True, text="xl", chosen=True)
    assert parse({CARE_COOKIE: "0"}).chosen and not parse({CARE_COOKIE: "0"}).care


async def test_care_mode_is_switched_by_a_link_and_remembered(client, db) -> None:
    home = (await client.get("/")).text
    assert html_classes(home) == {"text-md"}
    # The switch is a plain link back to the same page; the first-visit hint offers it too.
    link = re.search(r'<a class="view-care" href="([^"]+)"', home)
    assert link and "care=on" in link.group(1)
    assert 'class="care-hint"' in home
    answer = await client.get(
        "/view", params={"care": "on", "next": "/stories?q=调解"}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert unquote(answer.headers["location"]) == "/stories?q=调解"
    cookie = answer.headers["set-cookie"]
    assert f"{CARE_COOKIE}=1" in cookie and "HttpOnly" in cookie and "Max-Age=" in cookie
    for path in PAGES:
        page = (await client.get(path)).text
        assert "care" in html_classes(page), path
        assert 'class="care-hint"' not in page, path
        assert "退出长辈版" in page, path
    await client.get("/view", params={"care": "off", "next": "/"})
    page = (await client.get("/")).text
    assert "care" not in html_classes(page)
    assert 'class="care-hint"' not in page  # answered: no hint any more


async def test_the_text_size_steps_and_is_remembered(client, db) -> None:
    await client.get("/view", params={"text": "lg", "next": "/"})
    page = (await client.get("/stories")).text
    assert html_classes(page) == {"text-lg"}
    assert "字号：大" in page
    larger = re.search(r'href="(/view\?[^"]*)"[^>]*aria-label="[^"]*放大字号"', page)
    assert larger and "text=xl" in larger.group(1).replace("&amp;", "&")
    # A value outside the sizes changes nothing.
    await client.get("/view", params={"text": "huge", "next": "/"})
    assert html_classes((await client.get("/")).text) == {"text-lg"}


async def test_an_off_site_next_goes_home(client, db) -> None:
    answer = await client.get(
        "/view", params={"care": "on", "next": "//evil.example/"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_favicon_and_app_icons_answer(client, db) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(icon.content)).format == "ICO"
    for path, side in (("/apple-touch-icon.png", 180), ("/icon-192.png", 192)):
        answer = await client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(answer.content)).size == (side, side)
    home = (await client.get("/")).text
    assert '<link rel="icon" href="/favicon.ico"' in home
    assert '<link rel="apple-touch-icon" href="/apple-touch-icon.png">' in home


async def test_icons_are_drawn_from_the_logo_once_there_is_one(client, db) -> None:
    default = (await client.get("/apple-touch-icon.png")).content
    await baiyin_admin(client)
    assert (await send(client, FILED, png_logo())).status_code in (302, 303)
    drawn = await client.get("/apple-touch-icon.png")
    assert drawn.content != default
    # The test logo is plain red: so is the middle of the icon drawn from it.
    assert Image.open(io.BytesIO(drawn.content)).convert("RGB").getpixel((90, 90)) == (
        200,
        30,
        30,
    )


async def test_the_footer_shows_filings_only_when_set(client, db) -> None:
    empty = (await client.get("/")).text
    assert 'class="filings"' not in empty
    assert "beian" not in empty and "网站标识码" not in empty
    await baiyin_admin(client)
    await send(client, FILED)
    home = (await client.get("/")).text
    assert 'class="filings"' in home
    assert '<a href="https://beian.miit.gov.cn/"' in home
    assert "beian.mps.gov.cn" in home and "网站标识码：6204000001" in home


async def test_the_switch_links_never_echo_a_pages_own_next(client, db) -> None:
    """The login page's ``next`` is not copied into the switch links (off-site or not);
    the rest of the page's query is kept, to come back to the same list."""
    page = (await client.get("/login", params={"next": "https://evil.example/"})).text
    assert "evil.example" not in page
    stories = (await client.get("/stories", params={"q": "调解"})).text
    assert "next=%2Fstories%3Fq%3D%25E8%25B0%2583" in stories.replace("&amp;", "&")
