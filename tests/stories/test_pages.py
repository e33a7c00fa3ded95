"""The story pages as staff and the public use them."""

from __future__ import annotations

import re

from lxml import etree

from portal import visits
from portal.tables import AuditEntry, CategoryKind
from stories import publishing
from stories.tables import Story
from tests.conftest import FORGED_HOST, PUBLIC_URL
from tests.factories import actor_for
from tests.helpers import login, post_form
from tests.stories.conftest import SLUG, World, jpeg


def story_id_of(response) -> int:  # type: ignore[no-untyped-def]
    match = re.fullmatch(r"/staff/stories/(\d+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


def upload_names(client) -> list[str]:  # type: ignore[no-untyped-def]
    folder = client.app.state.settings.var_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def cards(page: str) -> list[str]:
    """The titles of the story cards on a page, in order."""
    return re.findall(r'<strong class="story-title">([^<]*)</strong>', page)


async def test_clerk_drafts_and_submits_the_city_publishes_it_shows_everywhere(
    client, world: World
) -> None:
    mediator = world.candidate("安定区", CategoryKind.mediator)
    await login(client, "clerk")
    form = await client.get(f"/staff/stories/new?campaign={SLUG}")
    assert form.status_code == 200
    assert 'name="_csrf_token"' in form.text
    assert f'value="{mediator.id}"' in form.text and mediator.name in form.text

    response = await post_form(
        client,
        "/staff/stories/new",
        {
            "kind": "deeds",
            "title": "扎根乡村的“和事佬”",
            "body": "他走遍了辖区的每一条山路。\n\n群众都叫他“和事佬”。",
            "campaign": SLUG,
            "candidates": [str(mediator.id)],
            "action": "save",
        },
        files={"cover": ("封面.jpg", jpeg(), "image/jpeg")},
    )
    assert response.status_code in (302, 303), response.text[:400]
    story_id = story_id_of(response)
    detail = await client.get(f"/staff/stories/{story_id}")
    assert detail.status_code == 200
    assert "草稿" in detail.text and mediator.name in detail.text
    assert (await client.get(f"/staff/stories/{story_id}/cover.jpg")).status_code == 200
    # Not public before publication.
    assert (await client.get(f"/stories/{story_id}")).status_code == 404
    assert (await client.get(f"/media/stories/{story_id}/cover.jpg")).status_code == 404

    submitted = await post_form(client, f"/staff/stories/{story_id}/submit")
    assert submitted.status_code in (302, 303)
    # A clerk never publishes.
    refused = await post_form(client, f"/staff/stories/{story_id}/publish")
    assert refused.status_code == 403

    client.cookies.clear()
    await world.published(title="更早的一期")  # so this story gets number 2
    await login(client, "admin")
    published = await post_form(client, f"/staff/stories/{story_id}/publish")
    assert published.status_code in (302, 303)
    story = await Story.objects().where(Story.id == story_id).first().run()
    assert (story.status, story.series_no) == ("published", 2)
    assert "已发布，为第 2 期。" in (await client.get(f"/staff/stories/{story_id}")).text

    client.cookies.clear()
    page = await client.get(f"/stories/{story_id}")
    assert page.status_code == 200
    assert "第2期" in page.text and "先进事迹" in page.text and "安定区司法局" in page.text
    assert f'href="/campaigns/{SLUG}/candidates/{mediator.id}"' in page.text
    assert f'href="/campaigns/{SLUG}"' in page.text
    assert '<link rel="alternate" type="application/atom+xml"' in page.text
    assert f'src="/media/stories/{story_id}/cover.jpg"' in page.text
    cover = await client.get(f"/media/stories/{story_id}/cover.jpg")
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/jpeg"

    honouree = await client.get(f"/campaigns/{SLUG}/candidates/{mediator.id}")
    assert honouree.status_code == 200
    assert "相关典型案例与先进事迹" in honouree.text
    assert f'href="/stories/{story_id}"' in honouree.text and "扎根乡村的“和事佬”" in honouree.text
    other = world.candidate("通渭县", CategoryKind.mediator)
    assert "扎根乡村" not in (await client.get(f"/campaigns/{SLUG}/candidates/{other.id}")).text

    home = await client.get("/")
    assert "典型案例与先进事迹" in home.text
    assert cards(home.text)[:2] == ["扎根乡村的“和事佬”", "更早的一期"]

    feed = await client.get("/stories/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert ">第2期｜先进事迹｜扎根乡村的“和事佬”</title>" in feed.text


async def test_a_clerk_never_sees_another_countys_story(client, world: World) -> None:
    story = await world.draft(world.other_clerk, title="通渭县的草稿")
    await login(client, "clerk")
    listing = await client.get("/staff/stories")
    assert listing.status_code == 200 and "通渭县的草稿" not in listing.text
    for url in (
        f"/staff/stories/{story.id}",
        f"/staff/stories/{story.id}/edit",
        f"/staff/stories/{story.id}/cover.jpg",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "通渭县的草稿" not in response.text
    for url, data in (
        (f"/staff/stories/{story.id}/edit", {"kind": "case", "title": "改掉", "action": "save"}),
        (f"/staff/stories/{story.id}/submit", {}),
    ):
        response = await post_form(client, url, data)
        assert response.status_code == 404, url
    row = await Story.objects().where(Story.id == story.id).first().run()
    assert (row.title, row.status) == ("通渭县的草稿", "draft")
    assert await AuditEntry.count().where(AuditEntry.action.like("story.%")).run() == 1


async def test_auditor_reads_and_reviewer_is_refused(client, world: World) -> None:
    story = await world.draft(world.clerk, title="安定区的稿件")
    await login(client, "auditor")
    assert "安定区的稿件" in (await client.get("/staff/stories")).text
    detail = await client.get(f"/staff/stories/{story.id}")
    assert detail.status_code == 200
    assert "/publish" not in detail.text and "/edit" not in detail.text
    assert (await client.get("/staff/stories/new")).status_code == 403
    assert (await post_form(client, f"/staff/stories/{story.id}/publish")).status_code == 403
    client.cookies.clear()
    await login(client, "reviewer")
    assert (await client.get("/staff/stories")).status_code == 403
    assert (await client.get(f"/staff/stories/{story.id}")).status_code == 403


async def test_a_non_image_cover_is_refused_and_nothing_is_saved(client, world: World) -> None:
    await login(client, "admin")
    before = await AuditEntry.count().run()
    response = await post_form(
        client,
        "/staff/stories/new",
        {"kind": "case", "title": "", "body": "正文", "bureau": str(world.bureaus[""])},
        files={"cover": ("cover.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")},
    )
    assert response.status_code == 400
    assert "封面图片：无法识别为照片。只接受 JPEG、PNG 或 WebP 格式的照片" in response.text
    assert "请填写标题。" in response.text  # the other fields' problems are shown too
    assert await Story.count().run() == 0
    assert await AuditEntry.count().run() == before
    assert upload_names(client) == []

    # Editing: the story and its cover stay as they were.
    story = await world.draft(title="有封面的稿件")
    await post_form(
        client,
        f"/staff/stories/{story.id}/edit",
        {"kind": "case", "title": "有封面的稿件", "body": "正文", "bureau": str(story.bureau)},
        files={"cover": ("cover.png", jpeg(), "image/png")},
    )
    kept = await Story.objects().where(Story.id == story.id).first().run()
    assert kept.cover and kept.cover_thumbnail
    files = upload_names(client)
    response = await post_form(
        client,
        f"/staff/stories/{story.id}/edit",
        {"kind": "case", "title": "改过的标题", "body": "正文", "bureau": str(story.bureau)},
        files={"cover": ("cover.jpg", b"%PDF-1.4 not a picture", "image/jpeg")},
    )
    assert response.status_code == 400 and "封面图片：" in response.text
    row = await Story.objects().where(Story.id == story.id).first().run()
    assert (row.title, row.cover) == ("有封面的稿件", kept.cover)
    assert upload_names(client) == files


async def test_bad_input_is_shown_per_field_and_nothing_changes(client, world: World) -> None:
    await login(client, "admin")
    response = await post_form(
        client,
        "/staff/stories/new",
        {"kind": "x", "title": "标" * 121, "bureau": "", "candidates": ["-3"]},
    )
    assert response.status_code == 400
    for message in (
        "请选择稿件类型（典型案例或先进事迹）。",
        "标题不能超过 120 字（现为 121 字）。",
        "请选择稿件所属的单位（不属于某个下级单位的稿件选择本级）。",
        "所选候选对象有误，请重新选择。",
    ):
        assert message in response.text
    assert await Story.count().run() == 0
    # Returning without a reason: a message, and the story stays submitted.
    story = await world.draft(world.clerk)
    await publishing.submit(actor_for(world.clerk), world.clerk, story)
    response = await post_form(client, f"/staff/stories/{story.id}/return", {"reason": ""})
    assert response.status_code == 400 and "请填写退回意见。" in response.text
    assert (await Story.objects().where(Story.id == story.id).first().run()).status == "submitted"


async def test_markdown_is_sanitised_on_the_page_and_in_the_feed(client, world: World) -> None:
    body = (
        "调解经过：\n\n<script>alert('x')</script>\n\n"
        '[点我](javascript:alert(1)) <img src=x onerror="alert(2)">\n\n**结果**：握手言和。'
    )
    story = await world.published(title="安全的稿件", body=body)
    page = await client.get(f"/stories/{story.id}")
    assert page.status_code == 200
    article = page.text.split('<div class="prose story-body">', 1)[1].split("</div>", 1)[0]
    # Typed tags come out as text, a javascript: link as no link at all.
    assert "<script" not in article and "<img" not in article
    assert "href=" not in article
    assert "<strong>结果</strong>" in article
    assert "&lt;script&gt;" in article  # shown as text, never run
    feed = (await client.get("/stories/feed.atom")).text
    content = etree.fromstring(feed.encode()).find(".//{http://www.w3.org/2005/Atom}content").text
    assert "<script" not in content and "<img" not in content and "href=" not in content
    assert "<strong>结果</strong>" in content


async def test_the_public_list_pages_and_filters(client, world: World) -> None:
    made = []
    for i in range(27):
        county = ("安定区", "通渭县", "")[i % 3]
        kind = "case" if i % 2 == 0 else "deeds"
        made.append(
            await world.published(
                title=f"稿件{i + 1:02d}", kind=kind, bureau=str(world.bureaus[county])
            )
        )
    first = await client.get("/stories")
    assert first.status_code == 200
    assert cards(first.text) == [f"稿件{i:02d}" for i in range(27, 15, -1)]
    assert "共 27 篇，第 1 / 3 页" in first.text
    assert 'href="/stories?page=2"' in first.text
    last = await client.get("/stories?page=3")
    assert cards(last.text) == ["稿件03", "稿件02", "稿件01"]
    assert (await client.get("/stories?page=4")).status_code == 404
    assert (await client.get("/stories?page=0")).status_code == 400

    cases = await client.get("/stories?kind=case")
    assert "共 14 篇" in cases.text
    assert all(int(t[2:]) % 2 == 1 for t in cards(cases.text))
    tongwei = await client.get("/stories?county=通渭县")
    assert cards(tongwei.text) == [f"稿件{i:02d}" for i in range(26, 0, -3)]
    city = await client.get("/stories?county=全市&kind=deeds")
    assert cards(city.text) == ["稿件24", "稿件18", "稿件12", "稿件06"]
    assert "共 4 篇" in city.text
    both = await client.get("/stories?kind=case&county=安定区")
    assert cards(both.text) == ["稿件25", "稿件19", "稿件13", "稿件07", "稿件01"]
    # Unknown filter values show everything; filters survive paging.
    assert "共 27 篇" in (await client.get("/stories?kind=poem&county=火星")).text
    deeds = await client.get("/stories?kind=deeds")
    assert "共 13 篇，第 1 / 2 页" in deeds.text
    assert 'href="/stories?kind=deeds&amp;page=2"' in deeds.text
    assert cards((await client.get("/stories?kind=deeds&page=2")).text) == ["稿件02"]

    # A story taken down leaves the list; its number is not reused.
    await publishing.unpublish(actor_for(world.admin), world.admin, made[-1], "信息有误")
    assert "稿件27" not in (await client.get("/stories")).text
    assert (await client.get(f"/stories/{made[-1].id}")).status_code == 404


async def test_views_are_counted_in_the_store_and_flushed(client, world: World) -> None:
    story = await world.published(title="被阅读的稿件")
    shown = []
    for _ in range(3):
        page = await client.get(f"/stories/{story.id}")
        shown.append(int(re.search(r'class="story-views">([\d,]+)<', page.text).group(1)))
    assert shown == [1, 2, 3]
    store = client.app.state.stores.state
    assert await store.get(f"visits:story:{story.id}") == b"3"
    assert (await Story.objects().where(Story.id == story.id).first().run()).visits == 0
    assert await visits.flush(store) == 3
    assert (await Story.objects().where(Story.id == story.id).first().run()).visits == 3
    page = await client.get(f"/stories/{story.id}")
    assert re.search(r'class="story-views">4<', page.text)
    # Unpublished stories are neither shown nor counted.
    draft = await world.draft(title="草稿")
    assert (await client.get(f"/stories/{draft.id}")).status_code == 404
    assert await store.get(f"visits:story:{draft.id}") is None


async def test_the_share_tags_use_the_public_url_whatever_the_host(
    client, forged_host_client, world: World
) -> None:
    story = await world.published()
    await Story.update({Story.cover: "cover.jpg"}).where(Story.id == story.id).run()
    # Without PORTAL_PUBLIC_URL (development), the request's own host.
    local = share_meta((await client.get(f"/stories/{story.id}")).text)
    assert local["og:url"] == f"http://testserver.local/stories/{story.id}"
    # With it, the public URL, whatever Host the request named.
    page = await forged_host_client.get(f"/stories/{story.id}")
    assert page.status_code == 200 and FORGED_HOST not in page.text
    meta = share_meta(page.text)
    assert meta["og:url"] == f"{PUBLIC_URL}/stories/{story.id}"
    assert meta["og:image"] == f"{PUBLIC_URL}/media/stories/{story.id}/cover.jpg"


def share_meta(page: str) -> dict[str, str]:
    return dict(re.findall(r'<meta property="(og:[a-z_]+)" content="([^"]*)">', page))
