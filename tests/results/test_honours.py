"""The designation's public face: the honour list, the printable decision, the results
workbook and the home page's archive.

The campaign is built through the real services: clerks of two counties nominate (with
photos and a PDF), the city shortlists, a reviewer scores against criteria, counted votes
go into the ledger, voting closes, the tally ranks, the city excludes one candidate (the
next moves up), the notice runs seven days and the city designates after it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from openpyxl import load_workbook
from PIL import Image

from nominations import review, services
from nominations.tables import Assignment
from portal import media
from portal.accounts import create_staff, load_staff
from portal.assets import static_url
from portal.campaigns import get_campaign
from portal.tables import Campaign, Category, CategoryKind, Phase, Staff
from results import honours
from results import services as results
from results.ranking import Method
from results.services import Row
from tests.factories import actor_for
from tests.helpers import PASSWORD
from tests.nominations.conftest import UNIT
from tests.portal.test_media import minimal_pdf
from voting.ledger import PendingVote, commit
from voting.services import receipt_hash

SLUG = "honours-2023"
DOCUMENT_NO = "定司发〔2023〕12号"
# 10:00 in Beijing on 28 November; seven days of notice end on 5 December, 10:00.
NOTICE_STARTS = dt.datetime(2023, 11, 28, 2, 0, tzinfo=dt.UTC)
# Five working days from Wednesday 29 November end at 18:00 on Tuesday 5 December;
# the city designates half an hour later.
DESIGNATED = dt.datetime(2023, 12, 5, 10, 30, tzinfo=dt.UTC)
CRITERIA = [("工作实绩", "60"), ("群众评价", "40")]
EXCLUDED_REASON = "经核查，推荐材料中的调解数据不实。"

# key, title, kind, quota
CATEGORIES = (
    ("judicial-office", "“枫桥式”司法所", CategoryKind.judicial_office, 2),
    ("mediation-committee", "“枫桥式”人民调解委员会", CategoryKind.mediation_committee, 1),
    ("mediator", "“枫桥式”人民调解员", CategoryKind.mediator, 2),
)


@dataclass(frozen=True)
class Spec:
    """One candidate: category, county clerk, name, organisation, review total, votes."""

    category: str
    clerk: str  # "anding" or "weiyuan"
    name: str
    place: str  # the township (units) or the committee (mediators)
    review: int
    votes: int


# Final scores (0.7 × review + 0.3 × 100 × votes ÷ most votes of the category):
# offices 93.00, 85.60 (excluded), 72.50, 56.00 — so 中华路 and 清源 are named;
# committees 89.50, 70.40; mediators 86.00, 78.00, 49.00.
SPECS = (
    Spec("judicial-office", "anding", "安定区中华路司法所", "中华路街道", 90, 10),
    Spec("judicial-office", "weiyuan", "渭源县清源司法所", "清源镇", 95, 2),
    Spec("judicial-office", "anding", "安定区凤翔司法所", "凤翔镇", 88, 8),
    Spec("judicial-office", "weiyuan", "渭源县会川司法所", "会川镇", 80, 0),
    Spec("mediation-committee", "anding", "安定区福台路街道人民调解委员会", "福台路街道", 85, 5),
    Spec("mediation-committee", "weiyuan", "渭源县莲峰镇人民调解委员会", "莲峰镇", 92, 1),
    Spec("mediator", "anding", "李志国", "安定区香泉镇香泉村人民调解委员会", 80, 6),
    Spec("mediator", "weiyuan", "王芳", "清源镇人民调解委员会", 90, 3),
    Spec("mediator", "anding", "赵强", "安定区巉口镇人民调解委员会", 70, 0),
)
EXCLUDED = "安定区凤翔司法所"
DESIGNEES = {
    "judicial-office": ["安定区中华路司法所", "渭源县清源司法所"],
    "mediation-committee": ["安定区福台路街道人民调解委员会"],
    "mediator": ["李志国", "王芳"],
}
OTHERS = ["安定区凤翔司法所", "渭源县会川司法所", "渭源县莲峰镇人民调解委员会", "赵强"]


@dataclass
class HonoursScene:
    campaign: Campaign
    categories: dict[str, Category]
    ids: dict[str, int] = field(default_factory=dict)


def photo_bytes() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def person(spec: Spec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "township": "香泉镇",
        "gender": "male",
        "birth_year": "1970",
        "committee": spec.place,
        "position": "专职人民调解员",
        "years_of_service": "12",
        "summary": "扎根基层调解十余年。",
        "deeds": "## 主要事迹\n\n走村入户化解邻里纠纷。",
        "disputes_mediated": "80",
        "disputes_resolved": "79",
        "judicial_confirmations": "3",
        "on_the_spot": "40",
        "entrusted_court": "5",
        "entrusted_police": "2",
        "entrusted_government": "1",
        "entrusted_petition": "0",
        "entrusted_other": "0",
        "contact_name": spec.name,
        "contact_phone": "13912345678",
    }


async def _set(slug: str, **values: Any) -> Campaign:
    await (
        Campaign.update({getattr(Campaign, k): v for k, v in values.items()})
        .where(Campaign.slug == slug)
        .run()
    )
    return await get_campaign(slug)


async def build(folder, stage: Phase) -> HonoursScene:  # type: ignore[no-untyped-def]
    """The campaign carried through the services up to ``stage`` (tallying, notice or
    published)."""
    now = dt.datetime.now(dt.UTC)
    campaign = Campaign(
        slug=SLUG,
        title="2023年度定西市“枫桥式”司法所、人民调解委员会、人民调解员评选",
        year=2023,
        phase=Phase.nominating.value,
        nominating_opens_at=now - dt.timedelta(days=1),
        nominating_closes_at=now + dt.timedelta(days=10),
    )
    await campaign.save().run()
    categories = {}
    for position, (key, title, kind, quota) in enumerate(CATEGORIES):
        category = Category(
            campaign=campaign.id,
            key=key,
            title=title,
            kind=kind.value,
            quota=quota,
            county_cap=3,
            votes_per_day=3,
            public_counts=True,
            position=position,
        )
        await category.save().run()
        categories[key] = category
    scene = HonoursScene(campaign, categories)

    admin = await _user("admin")
    reviewer = await _user("reviewer")  # of 通渭县: may score both counties
    clerks = {
        "anding": await _user("clerk"),
        "weiyuan": await load_staff(
            (await create_staff("clerk-weiyuan", PASSWORD, "county_clerk", "渭源县")).id
        ),
    }
    for category in categories.values():
        rows = [{"title": t, "guidance": "", "max_points": p} for t, p in CRITERIA]
        await review.save_criteria(actor_for(admin), campaign, category, rows)
    await review.set_panel(actor_for(admin), campaign, [reviewer.id])

    for spec in SPECS:
        clerk = clerks[spec.clerk]
        category = categories[spec.category]
        if category.kind == CategoryKind.mediator.value:
            data = person(spec)
        else:
            data = {**UNIT, "name": spec.name, "township": spec.place}
        files = services.Files(
            photo=media.save_photo(photo_bytes(), folder),
            documents=[(media.save_pdf(minimal_pdf(), folder), "推荐表.pdf", 400)],
        )
        draft = await services.create_draft(actor_for(clerk), clerk, category, data, files)
        await services.submit(actor_for(clerk), clerk, await services.load(clerk, draft.id))
        await services.decide(actor_for(admin), await services.load(admin, draft.id), "shortlist")
        await review.add_assignment(actor_for(admin), campaign, draft.id, reviewer.id)
        scene.ids[spec.name] = draft.id

    campaign = await _set(
        SLUG,
        phase=Phase.reviewing.value,
        reviewing_opens_at=now - dt.timedelta(days=1),
        reviewing_closes_at=now + dt.timedelta(days=1),
    )
    for spec in SPECS:
        found = (
            await Assignment.objects()
            .where(Assignment.nomination == scene.ids[spec.name])
            .first()
            .run()
        )
        assignment, _, _, category = await review.load_assignment(reviewer, found.id)
        criteria = await review.criteria_of(category.id)
        form = {f"c{criteria[0].id}": str(spec.review - 35), f"c{criteria[1].id}": "35"}
        await review.save_scores(
            actor_for(reviewer), reviewer, assignment, campaign, category, form, "", True
        )

    opens = now - dt.timedelta(days=3)
    campaign = await _set(
        SLUG,
        phase=Phase.voting.value,
        voting_opens_at=opens,
        voting_closes_at=now - dt.timedelta(hours=1),
    )
    votes = []
    for spec in SPECS:
        for _ in range(spec.votes):
            n = len(votes) + 1
            cast = opens + dt.timedelta(minutes=n)
            votes.append(
                PendingVote(
                    campaign_id=campaign.id,
                    category_id=categories[spec.category].id,
                    candidate_id=scene.ids[spec.name],
                    cast_at=cast.isoformat(timespec="milliseconds"),
                    cast_ts=cast,
                    day=cast.date().isoformat(),
                    voter_hash=f"{n:064x}",
                    receipt=f"HONOURS-{n}",
                    receipt_hash=receipt_hash(f"HONOURS-{n}"),
                    status="counted",
                    network="203.0.113.20",
                )
            )
    await commit(votes)

    actor = actor_for(admin)
    await results.tally(actor, SLUG)
    await results.exclude(actor, await get_campaign(SLUG), scene.ids[EXCLUDED], EXCLUDED_REASON)
    if stage in (Phase.notice, Phase.published):
        await results.open_notice(actor, SLUG, 5, now=NOTICE_STARTS)
    if stage is Phase.published:
        await results.designate(actor, SLUG, DOCUMENT_NO, now=DESIGNATED)
    scene.campaign = await get_campaign(SLUG)
    assert scene.campaign.phase == stage.value
    return scene


async def _user(username: str):  # type: ignore[no-untyped-def]
    row = await Staff.objects().where(Staff.username == username).first().run()
    return await load_staff(row.id)


@pytest.fixture
def honours_folder(settings):  # type: ignore[no-untyped-def]
    """The app's upload folder (the test settings' own var dir)."""
    return media.upload_dir(settings.var_dir)


@pytest.fixture
def honours_build(staff, honours_folder):  # type: ignore[no-untyped-def]
    async def make(stage: Phase = Phase.published) -> HonoursScene:
        return await build(honours_folder, stage)

    return make


def section(page: str, key: str) -> str:
    """The honour list's section of one category."""
    start = page.index(f'id="cat-{key}"')
    end = page.find('class="honours-category"', start + 1)
    return page[start : end if end > 0 else len(page)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the honour list ------------------------------------------------------------------------


async def test_honour_list_shows_exactly_the_designees_in_rank_order(client, honours_build):
    scene = await honours_build()
    response = await client.get(f"/campaigns/{SLUG}/honours")
    assert response.status_code == 200, response.text[:500]
    page = response.text
    for key, names in DESIGNEES.items():
        part = section(page, key)
        shown = re.findall(r'class="honour-name">([^<]+)<', part)
        assert shown == names, (key, shown)
        for name in names:
            assert f'href="/campaigns/{SLUG}/candidates/{scene.ids[name]}"' in part
    for name in OTHERS:
        assert name not in page
    # Ranks after the exclusion: 清源 moved up to second.
    office = section(page, "judicial-office")
    assert re.findall(r'class="honour-rank"[^>]*>(\d+)<', office) == ["1", "2"]
    # Organisation and county of each designee.
    mediators = text_of(section(page, "mediator"))
    assert "安定区香泉镇香泉村人民调解委员会" in mediators and "渭源县" in mediators
    assert "中华路街道" in text_of(office)
    # Photos: each designee's public thumbnail, at the size the tile shows (96 px on
    # phones and tablets: the small copy; the 480 px one for the desk's wide tiles).
    for names in DESIGNEES.values():
        for name in names:
            base = f"/media/candidates/{scene.ids[name]}"
            assert (
                f'src="{base}/thumbnail-small.jpg" srcset="{base}/thumbnail-small.jpg 208w, '
                f'{base}/thumbnail.jpg 480w" sizes="(min-width: 960px) 320px, 96px"'
            ) in page
    sizes = {}
    for variant in ("thumbnail.jpg", "thumbnail-small.jpg"):
        image = await client.get(f"/media/candidates/{scene.ids['王芳']}/{variant}")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        sizes[variant] = Image.open(io.BytesIO(image.content)).size
    assert max(sizes["thumbnail-small.jpg"]) == 208 < max(sizes["thumbnail.jpg"]) <= 480
    # The designation's facts and the links to the decision and the workbook.
    assert "2023年12月5日" in page and DOCUMENT_NO in page and "定西市司法局" in page
    assert f'href="/campaigns/{SLUG}/announcement"' in page
    assert f'href="/campaigns/{SLUG}/results.xlsx"' in page
    assert f'<link rel="stylesheet" href="{static_url("css/honours.css")}">' in page
    assert (await client.get("/static/css/honours.css")).status_code == 200


@pytest.mark.parametrize("stage", [Phase.tallying, Phase.notice])
async def test_honour_list_and_decision_are_404_before_the_designation(
    client, honours_build, stage
):
    await honours_build(stage)
    for path in ("honours", "announcement"):
        response = await client.get(f"/campaigns/{SLUG}/{path}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "尚未正式命名" in response.text
        assert "安定区中华路司法所" not in response.text
    campaign_page = await client.get(f"/campaigns/{SLUG}")
    assert f"/campaigns/{SLUG}/honours" not in campaign_page.text


async def test_unknown_and_draft_campaigns_have_no_honours(client, staff):
    await Campaign(slug="draft-2025", title="筹备中的评选", year=2025).save().run()
    for slug in ("no-such-campaign", "draft-2025"):
        for path in ("honours", "announcement", "results.xlsx"):
            response = await client.get(f"/campaigns/{slug}/{path}")
            assert response.status_code == 404, (slug, path)


async def test_campaign_page_links_the_honour_list_once_published(client, honours_build):
    await honours_build()
    page = (await client.get(f"/campaigns/{SLUG}")).text
    assert f'href="/campaigns/{SLUG}/honours"' in page


# --- the printable decision -----------------------------------------------------------------


async def test_announcement_is_the_decision_in_official_style(client, honours_build):
    await honours_build()
    response = await client.get(f"/campaigns/{SLUG}/announcement")
    assert response.status_code == 200, response.text[:500]
    page = response.text
    title = "关于命名2023年度“枫桥式”司法所、人民调解委员会和人民调解员的决定"
    assert f'<h1 class="doc-title" id="doc-title">{title}</h1>' in page
    assert f"<title>{title}" in page
    assert DOCUMENT_NO in page
    body = text_of(page[page.index('class="document"') :])
    assert "各县区司法局：" in body
    for step in ("推荐", "审核", "专家评审", "网络投票", "公示"):
        assert step in body
    assert "2023年11月28日至2023年12月5日" in body
    assert "安定区中华路司法所等2个单位为“枫桥式”司法所" in body
    assert "安定区福台路街道人民调解委员会为“枫桥式”人民调解委员会" in body
    assert "李志国等2名同志为“枫桥式”人民调解员" in body
    assert "（名单附后）" in body
    assert "附件：2023年度“枫桥式”司法所、人民调解委员会和人民调解员名单" in body
    # The attached list by division in the bureaus' order, then by category with
    # counts, in rank order, each with its county (tests/results/test_documents.py
    # moves the divisions).
    headings = re.findall(r"<h[34]>([^<]+)</h[34]>", page)
    assert headings == [
        "一、安定区",
        "（一）“枫桥式”司法所（1个）",
        "（二）“枫桥式”人民调解委员会（1个）",
        "（三）“枫桥式”人民调解员（1名）",
        "二、渭源县",
        "（一）“枫桥式”司法所（1个）",
        "（二）“枫桥式”人民调解员（1名）",
    ]
    listed = re.findall(r'<span class="doc-no">\d+\.</span> ([^<]+)</li>', page)
    assert listed == [
        "安定区中华路司法所",
        "安定区福台路街道人民调解委员会",
        "李志国（安定区香泉镇香泉村人民调解委员会）",
        "渭源县清源司法所",
        "王芳（渭源县清源镇人民调解委员会）",
    ]
    for name in OTHERS:
        assert name not in page
    assert "希望受到命名的单位和个人" in body
    # Issued by the city bureau, dated in Chinese, with room for the seal, before the
    # attached list; the 版记 closes the document.
    sign = page[page.index('class="doc-sign"') :]
    assert "定西市司法局" in sign and "2023年12月5日" in sign and 'class="doc-seal"' in sign
    assert page.index('class="doc-sign"') < page.index("王芳（")
    imprint = text_of(page[page.index('class="doc-imprint"') :])
    # This campaign predates organisers: its issuer is the bare fallback (see
    # test_documents for a city's 抄送 and office).
    assert "司法局办公室 2023年12月5日印发" in imprint


async def test_announcement_prints_on_a4_without_inline_script(client, honours_build):
    await honours_build()
    response = await client.get(f"/campaigns/{SLUG}/announcement")
    page = response.text
    assert f'<link rel="stylesheet" href="{static_url("css/announcement.css")}">' in page
    assert f'<script src="{static_url("js/print.js")}" defer></script>' in page
    # The CSP allows no inline script or style: every script has a src, no style attributes.
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert " style=" not in page and "<style" not in page
    assert re.search(r"<button[^>]*data-print[^>]*>打印</button>", page)
    assert "Ctrl+P" in page  # the instructions where scripts do not run
    css = await client.get("/static/css/announcement.css")
    assert css.status_code == 200
    sheet = css.text
    assert re.search(r"@page\s*\{\s*size:\s*A4;\s*margin:", sheet)
    printed = sheet[sheet.index("@media print") :]
    assert ".site-header" in printed and ".site-footer" in printed and "display: none" in printed
    assert "仿宋" in sheet and "宋体" in sheet and "text-align: center" in sheet
    script = await client.get("/static/js/print.js")
    assert script.status_code == 200 and "window.print()" in script.text


# --- the workbook ---------------------------------------------------------------------------


def workbook_rows(ws) -> list[list[Any]]:  # type: ignore[no-untyped-def]
    return [list(row) for row in ws.iter_rows(min_row=2, values_only=True)]


@pytest.mark.parametrize("stage", [Phase.notice, Phase.published])
async def test_workbook_matches_the_published_results(client, honours_build, stage):
    scene = await honours_build(stage)
    response = await client.get(f"/campaigns/{SLUG}/results.xlsx")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"{SLUG}-results.xlsx" in disposition
    wb = load_workbook(io.BytesIO(response.content))
    payload = await results.results_payload(scene.campaign)
    assert wb.sheetnames == ["评选概况", *[c["title"] for c in payload["categories"]]]
    named = "是否命名" if stage is Phase.published else "是否拟命名"
    for category in payload["categories"]:
        ws = wb[category["title"]]
        header = [cell.value for cell in ws[1]]
        assert header == [
            "排名",
            "名称",
            "单位 / 所属组织",
            "推荐单位",
            "专家评审得分",
            "有效票数",
            "投票得分",
            "综合得分",
            named,
            "取消资格",
        ]
        expected = [
            [
                r["rank"],
                r["name"],
                r["organisation"],
                r["county"],
                r["review_score"],
                r["votes"],
                r["vote_score"],
                r["final_score"],
                "是" if r["designated"] else "否",
                "已取消资格" if r["excluded"] else None,
            ]
            for r in category["ranking"]
        ]
        assert workbook_rows(ws) == expected
    office = workbook_rows(wb["“枫桥式”司法所"])
    assert [row[1] for row in office if row[8] == "是"] == DESIGNEES["judicial-office"]
    assert office[-1][:2] == [None, EXCLUDED] and office[-1][9] == "已取消资格"
    assert office[0][7] == 93.0 and office[1][7] == 72.5

    facts = {row[0]: row[1] for row in wb["评选概况"].iter_rows(values_only=True) if row[0]}
    assert facts["评选活动"] == scene.campaign.title
    assert facts["专家评审权重"] == 0.7 and facts["网络投票权重"] == 0.3
    assert facts["计算方法"] == Method().formula_zh
    assert facts["公示开始"] == "2023-11-28 10:00" and facts["公示结束"] == "2023-12-05 18:00"
    if stage is Phase.published:
        assert facts["命名日期"] == "2023年12月5日" and facts["文号"] == DOCUMENT_NO
    else:
        assert facts["命名日期"] == "尚未命名"


async def test_workbook_is_404_before_the_notice(client, honours_build):
    await honours_build(Phase.tallying)
    response = await client.get(f"/campaigns/{SLUG}/results.xlsx")
    assert response.status_code == 404
    assert "尚未公示" in response.text


# --- the archive on the home page -----------------------------------------------------------


async def test_home_archive_lists_published_campaigns_by_year(client, honours_build):
    await honours_build()
    # An older campaign marked published without a tally (before this portal kept one),
    # and a current one, which is not in the archive.
    await (
        Campaign(slug="old-2019", title="2019年度评选", year=2019, phase=Phase.published.value)
        .save()
        .run()
    )
    await (
        Campaign(slug="now-2024", title="2024年度评选", year=2024, phase=Phase.voting.value)
        .save()
        .run()
    )
    page = (await client.get("/")).text
    archive = page[page.index('id="past-heading"') :]
    years = re.findall(r'class="archive-year-label">(\d+)<', archive)
    assert years == ["2023", "2019"]
    assert "2024年度评选" not in archive
    first = archive[: archive.index('class="archive-year-label">2019')]
    assert f'href="/campaigns/{SLUG}/honours"' in first
    assert f'href="/campaigns/{SLUG}/announcement"' in first
    assert "2023年12月5日" in first
    counts = re.findall(r"<li>([^<]+) <strong>(\d+)</strong> (\S)</li>", first)
    assert counts == [
        ("“枫桥式”司法所", "2", "个"),
        ("“枫桥式”人民调解委员会", "1", "个"),
        ("“枫桥式”人民调解员", "2", "名"),
    ]
    older = archive[archive.index('class="archive-year-label">2019') :]
    assert 'href="/campaigns/old-2019"' in older and "/campaigns/old-2019/honours" not in older


async def test_home_archive_is_empty_without_published_campaigns(client, staff):
    page = (await client.get("/")).text
    assert "暂无往年命名记录" in page


# --- the wording rules ----------------------------------------------------------------------


def test_titles_are_joined_with_a_shared_quotation_written_once() -> None:
    assert (
        honours.joined(["“枫桥式”司法所", "“枫桥式”人民调解委员会", "“枫桥式”人民调解员"])
        == "“枫桥式”司法所、人民调解委员会和人民调解员"
    )
    assert honours.joined(["“枫桥式”司法所", "“枫桥式”人民调解员"]) == "“枫桥式”司法所和人民调解员"
    assert honours.joined(["“枫桥式”司法所"]) == "“枫桥式”司法所"
    # No shared quotation: nothing is factored out, not even a shared first character.
    assert honours.joined(["优秀司法所", "优秀调解员"]) == "优秀司法所和优秀调解员"
    assert honours.joined(["“枫桥式”司法所", "模范调解员"]) == "“枫桥式”司法所和模范调解员"
    assert honours.joined([]) == ""


def test_dates_are_written_as_in_official_documents() -> None:
    # 17:00 UTC on 4 December is already 5 December in Beijing.
    assert honours.chinese_date(dt.datetime(2023, 12, 4, 17, 0, tzinfo=dt.UTC)) == "2023年12月5日"
    assert honours.chinese_date(dt.date(2024, 1, 9)) == "2024年1月9日"
    assert [honours.ordinal(i) for i in (1, 3, 10, 12)] == ["一", "三", "十", "十二"]


def test_listing_names_the_county_once() -> None:
    def row(name: str, organisation: str, county: str) -> Row:
        return Row(1, name, organisation, county, False, *([0] * 4), 1, True, "")

    office = Category(campaign=1, kind=CategoryKind.judicial_office.value)
    mediator = Category(campaign=1, kind=CategoryKind.mediator.value)
    assert honours.listing(row("安定区中华路司法所", "中华路街道", "安定区"), office) == (
        "安定区中华路司法所"
    )
    assert honours.listing(row("清源司法所", "清源镇", "渭源县"), office) == "清源司法所（渭源县）"
    assert honours.listing(row("王芳", "清源镇人民调解委员会", "渭源县"), mediator) == (
        "王芳（渭源县清源镇人民调解委员会）"
    )
    assert honours.listing(row("李志国", "安定区香泉村人民调解委员会", "安定区"), mediator) == (
        "李志国（安定区香泉村人民调解委员会）"
    )
