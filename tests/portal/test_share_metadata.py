"""Every public page carries what a shared link shows (WeChat and other apps read Open
Graph): a title, a description, an absolute address and image, and the canonical URL.

The test walks every GET route the app registers outside the staff pages and the API,
with real path values from the loaded demo, and reads each HTML answer; routes that
answer with something else (images, workbooks, feeds, audio) are not pages.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

from results.tables import Designation, Objection
from stories.tables import Story
from tests.portal.test_roles import registered_routes

NOT_PUBLIC = ("/staff", "/api/", "/login", "/logout", "/schema", "/static", "/healthz")
FINISHED = "dingxi-2022"


class Head(HTMLParser):
    """The meta properties and canonical link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.canonical = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta[values.get("property") or values["name"]] = values.get("content", "")
        if tag == "link" and values.get("rel") == "canonical":
            self.canonical = values.get("href", "")


async def path_values() -> dict[str, str]:
    designee = await Designation.objects().where(Designation.campaign.slug == FINISHED).first()
    story = await Story.objects().where(Story.status == "published").first()
    objection = await Objection.objects().first()
    return {
        "slug": FINISHED,
        "candidate_id": str(designee.candidate),
        "story_id": str(story.id),
        "number": quote(designee.certificate_no, safe=""),
        "receipt": objection.receipt,
        "captcha_id": "0123abcd.1700000000.not-signed",
        "key": "judicial-office",
    }


async def test_every_public_page_carries_share_metadata(app, demo_loaded, client) -> None:  # type: ignore[no-untyped-def]
    values = await path_values()
    pages, not_pages = [], []
    for method, path in sorted(registered_routes(app)):
        if method != "GET" or path.startswith(NOT_PUBLIC):
            continue
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)
        response = await client.get(url)
        if not response.headers.get("content-type", "").startswith("text/html"):
            not_pages.append(path)
            continue
        assert response.status_code < 500, (url, response.text[:300])
        head = Head()
        head.feed(response.text)
        for name in ("og:title", "og:description", "og:url", "og:image", "description"):
            assert head.meta.get(name, "").strip(), (url, name)
        for address in (head.meta["og:url"], head.meta["og:image"], head.canonical):
            assert address.startswith(("http://", "https://")), (url, address)
        assert head.meta["og:title"] != head.meta["og:site_name"], url
        if response.status_code == 200:
            pages.append(path)
    # The pages people share most are among those read with their own content.
    for shared in (
        "/",
        "/campaigns/{slug:str}",
        "/campaigns/{slug:str}/honours",
        "/campaigns/{slug:str}/notice",
        "/campaigns/{slug:str}/statistics",
        "/campaigns/{slug:str}/candidates/{candidate_id:int}",
        "/stories/{story_id:int}",
        "/register",
        "/certificates/{number:str}",
    ):
        assert shared in pages, shared
    assert "/campaigns/{slug:str}/results.xlsx" in not_pages


async def test_a_page_about_one_candidate_shares_its_own_title_and_address(
    demo_loaded, client
) -> None:  # type: ignore[no-untyped-def]
    values = await path_values()
    page = await client.get(f"/campaigns/{FINISHED}/candidates/{values['candidate_id']}")
    head = Head()
    head.feed(page.text)
    assert head.meta["og:type"] == "article"
    assert head.meta["og:url"].endswith(
        f"/campaigns/{FINISHED}/candidates/{values['candidate_id']}"
    )
    assert head.canonical == head.meta["og:url"]
    assert page.text.count('property="og:title"') == 1
    assert page.text.count('name="description"') == 1


async def test_the_most_shared_pages_describe_themselves(demo_loaded, client) -> None:  # type: ignore[no-untyped-def]
    """Not the site's general description: a shared campaign link says which campaign."""
    home = Head()
    home.feed((await client.get("/")).text)
    for path in ("", "/notice", "/candidates", "/vote", "/honours", "/statistics"):
        head = Head()
        head.feed((await client.get(f"/campaigns/{FINISHED}{path}")).text)
        assert "2022" in head.meta["og:description"], path
        assert head.meta["og:description"] != home.meta["og:description"], path
    stories = Head()
    stories.feed((await client.get("/stories")).text)
    assert "典型案例" in stories.meta["og:description"]
