"""The public notice page (公示): the proposed list, the method, each candidate's
breakdown, the period, how to object, and the objection counts — never their content."""

from __future__ import annotations

import datetime as dt
import re

from portal.audit import Actor
from portal.campaigns import get_campaign
from portal.tables import Campaign, Phase
from portal.templating import localtime
from results import objections
from results import services as results
from results.tables import Tally
from tests.results.conftest import NOTICE_SLUG, NOTICE_SPEC

ADMIN = Actor(staff_id=None, name="测试管理员", role="city_admin")
PAGE = f"/campaigns/{NOTICE_SLUG}/notice"


def text_of(html: str) -> str:
    """The page's visible text, tags removed (figures sit in their own cells)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def record(scene, name: str, real_name: str, content: str):  # type: ignore[no-untyped-def]
    data = objections.check_fields(
        {
            "candidate": str(scene.ids[name]),
            "real_name": real_name,
            "phone": "0932-8212345",
            "relation": "纠纷当事人",
            "content": content,
        },
        {scene.ids[name]},
    )
    return await objections.record_objection(scene.campaign, data)


async def test_the_notice_shows_the_proposed_list_method_breakdown_and_period(
    client, notice_scene
) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 200, response.text[:300]
    html = response.text
    campaign, tally = notice_scene.campaign, await results.tally_of(notice_scene.campaign.id)
    # Every candidate of every category, with its components.
    for category in await results.ranking(campaign):
        assert category.category.title in html
        for row in category.rows:
            assert row.name in html and row.county in html
            for figure in (row.review_score, row.vote_score, row.final_score):
                assert f">{figure}<" in html
    assert ">拟命名<" in html and "未进入名额" in html
    method = results.method_of(tally)
    assert method.formula_zh in html
    assert str(method.review_weight) in html and str(method.vote_weight) in html
    # The period in the campaign's time zone, and how to object until when.
    starts = localtime(tally.notice_starts_at, campaign.timezone)
    ends = localtime(tally.notice_ends_at, campaign.timezone)
    assert starts in html and ends in html
    assert f"{ends}（北京时间）前" in html
    page = text_of(html)
    assert f"公示期为7个工作日，自 {starts} 至 {ends} （北京时间）" in page
    assert "Asia/Shanghai" not in html and "UTC" not in page
    assert "异议方式" in html and "真实姓名" in html and "联系电话" in html
    assert f'href="/campaigns/{NOTICE_SLUG}/notice/object"' in html
    first = notice_scene.ids["甲司法所"]
    assert f'href="/campaigns/{NOTICE_SLUG}/notice/object?candidate={first}"' in html
    assert 'href="/objections"' in html
    assert "公示中" in html and "/honours" not in html
    text = text_of(html)
    assert "已受理异议 0 件" in text and "已办结 0 件" in text


async def test_designees_are_listed_per_category_by_rank(client, notice_scene) -> None:
    html = (await client.get(PAGE)).text
    designees = html.split('class="card-list designees"')
    assert len(designees) == 1 + len(NOTICE_SPEC)
    office, mediator = (part.split("</ol>")[0] for part in designees[1:])
    assert office.index("甲司法所") < office.index("乙司法所")
    assert "丙司法所" not in office and "第 1 名" in office and "第 2 名" in office
    assert "张调解员" in mediator and "李调解员" not in mediator


async def test_counts_of_objections_are_public_but_never_their_content_or_names(
    client, notice_scene
) -> None:
    first = await record(notice_scene, "甲司法所", "赵卫东", "申报的调解数量明显不实，请核查。")
    await record(notice_scene, "张调解员", "钱秀兰", "该调解员曾在调解中收取当事人财物。")
    html = (await client.get(PAGE)).text
    text = text_of(html)
    assert "已受理异议 2 件" in text and "已办结 0 件" in text
    for private in (
        "赵卫东",
        "钱秀兰",
        "0932-8212345",
        "纠纷当事人",
        "不实",
        "财物",
        first.receipt,
    ):
        assert private not in html
    await objections.dismiss(
        ADMIN, notice_scene.campaign, first.id, "经核查，数据属实，异议不成立。"
    )
    html = (await client.get(PAGE)).text
    text = text_of(html)
    assert "已受理异议 2 件" in text and "已办结 1 件" in text
    assert "异议不成立" not in html and "数据属实" not in html


async def test_an_excluded_candidate_is_marked_without_the_reason(client, notice_scene) -> None:
    reason = "经核实，该所申报材料中的调解卷宗系事后补写"
    await results.exclude(ADMIN, notice_scene.campaign, notice_scene.ids["甲司法所"], reason)
    html = (await client.get(PAGE)).text
    assert "已取消资格" in html
    assert reason not in html and "卷宗" not in html
    row = next(r for r in re.findall(r"<tr[^>]*>.*?</tr>", html, re.S) if "甲司法所" in r)
    assert "已取消资格" in row and ">—<" in row  # no rank
    office = html.split('class="card-list designees"')[1].split("</ol>")[0]
    assert "甲司法所" not in office and "丙司法所" in office  # the next moved up


async def test_no_notice_before_the_notice_phase(client, results_campaign) -> None:
    await results_campaign(NOTICE_SPEC, slug=NOTICE_SLUG)
    response = await client.get(PAGE)  # voting has closed, nothing tallied
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "尚未公示" in response.text and "Traceback" not in response.text
    await results.tally(ADMIN, NOTICE_SLUG)  # tallied, not yet published
    response = await client.get(PAGE)
    assert response.status_code == 404 and "甲司法所" not in response.text
    assert (await client.get(f"{PAGE}/object")).status_code == 404
    assert (await client.get("/campaigns/no-such-campaign/notice")).status_code == 404
    campaign_page = await client.get(f"/campaigns/{NOTICE_SLUG}")
    assert PAGE not in campaign_page.text


async def test_the_campaign_page_links_to_the_notice(client, notice_scene) -> None:
    page = await client.get(f"/campaigns/{NOTICE_SLUG}")
    assert page.status_code == 200
    assert f'href="{PAGE}"' in page.text and "拟命名名单公示" in page.text


async def test_after_the_period_the_notice_is_marked_ended(client, notice_scene) -> None:
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    await (
        Tally.update({Tally.notice_ends_at: ended})
        .where(Tally.campaign == notice_scene.campaign.id)
        .run()
    )
    html = (await client.get(PAGE)).text
    assert "公示已结束" in html and "公示中" not in html
    assert "/notice/object" not in html
    assert "不再受理新的异议" in html
    assert "甲司法所" in html  # the list stays readable


async def test_once_designated_the_notice_links_to_the_honour_list(client, notice_scene) -> None:
    tally = await results.tally_of(notice_scene.campaign.id)
    later = tally.notice_ends_at + dt.timedelta(minutes=1)
    await results.designate(ADMIN, NOTICE_SLUG, now=later)
    assert (await get_campaign(NOTICE_SLUG)).phase == Phase.published.value
    response = await client.get(PAGE)
    assert response.status_code == 200
    html = response.text
    assert "公示已结束" in html and "已正式命名" in html
    assert f'href="/campaigns/{NOTICE_SLUG}/honours"' in html
    assert "/notice/object" not in html
    campaign_page = await client.get(f"/campaigns/{NOTICE_SLUG}")
    assert f'href="{PAGE}"' in campaign_page.text


async def test_a_draft_campaign_has_no_notice(client, notice_scene) -> None:
    await (
        Campaign.update({Campaign.phase: Phase.draft.value})
        .where(Campaign.id == notice_scene.campaign.id)
        .run()
    )
    assert (await client.get(PAGE)).status_code == 404


# --- what the notice shows: the organiser's choice ----------------------------------------


async def names_only() -> None:
    await (
        Campaign.update({Campaign.notice_shows_scores: False})
        .where(Campaign.slug == NOTICE_SLUG)
        .run()
    )


async def test_names_only_the_notice_lists_names_unit_and_county_without_figures(
    client, notice_scene
) -> None:
    await names_only()
    html = (await client.get(PAGE)).text
    for category in await results.ranking(notice_scene.campaign):
        for row in category.designated:
            assert row.name in html and row.county in html
        for row in category.rows:
            for figure in (row.review_score, row.vote_score, row.final_score):
                assert f">{figure}<" not in html
        # Candidates outside the quota are not named, nor any breakdown shown.
        for row in category.rows:
            if not row.designated:
                assert row.name not in html
    assert "综合评定明细" not in html and "综合得分 <strong>" not in html
    assert "第 1 名" not in html
    first = notice_scene.ids["甲司法所"]
    assert f'href="/campaigns/{NOTICE_SLUG}/notice/object?candidate={first}"' in html


async def test_names_only_the_results_api_and_workbook_hide_the_figures(
    client, notice_scene
) -> None:
    shown = (await client.get(f"/api/v1/campaigns/{NOTICE_SLUG}/results")).json()
    first = shown["categories"][0]["ranking"][0]
    assert isinstance(first["final_score"], float) and isinstance(first["votes"], int)
    await names_only()
    response = await client.get(f"/api/v1/campaigns/{NOTICE_SLUG}/results")
    assert response.status_code == 200
    body = response.json()
    for category in body["categories"]:
        for row in category["ranking"]:
            # The contract's field names stay; what the organiser hides is null.
            assert {"review_score", "votes", "vote_score", "final_score"} <= set(row)
            assert row["review_score"] is None and row["votes"] is None
            assert row["vote_score"] is None and row["final_score"] is None
            assert row["name"] and row["county"] and row["rank"] is not None
    # The OpenAPI schema says they may be null.
    schema = (await client.get("/schema/openapi.json")).json()
    standing = schema["components"]["schemas"]["Standing"]["properties"]
    assert "null" in str(standing["final_score"])

    from io import BytesIO

    from openpyxl import load_workbook

    workbook = await client.get(f"/campaigns/{NOTICE_SLUG}/results.xlsx")
    assert workbook.status_code == 200
    wb = load_workbook(BytesIO(workbook.content))
    summary = [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    assert ("公示内容", "仅名单（不公布分数和票数）") in [r[:2] for r in summary]
    for sheet in wb.worksheets[1:]:
        for row in list(sheet.iter_rows(values_only=True))[1:]:
            assert row[4:8] == (None, None, None, None), row
