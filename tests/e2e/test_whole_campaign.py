"""A whole campaign in the browser, each role in its own browser context.

The city admin creates a small campaign (one category, two places) and moves it through
every phase on the staff pages; the clerk of 安定区 nominates three judicial offices with
a photo and a PDF; the city vets and shortlists them, sets the criteria and the panel
(two reviewers from other counties) and assigns; both reviewers score; the city opens
voting (moving the windows to now); three voters on phones vote with the CAPTCHA test
answer; the city closes voting, tallies and publishes the notice; a citizen objects and
gets a receipt; the city dismisses the objection; the notice period ends (a prepare
step: time passes); the city designates; the honour list and the announcement show the
designees; the clerk writes a story about one of them and submits it, the city publishes
it, and it shows on the honouree's page and in /stories. A screenshot of each major
page is kept under test-artifacts/screenshots/whole-*.png.

The votes change the order the review gave: 陈家沟 is third by review but second by
the composite score, so the designees are the first and the third by review.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e import steps
from tests.e2e.conftest import CAPTCHA_TEST_ANSWER, on_server_database, shot
from tests.e2e.steps import CategorySpec, publish_notice, sign_in
from tests.e2e.test_voting_flow import RECEIPT as VOTE_RECEIPT
from tests.e2e.test_voting_flow import phone_context

SLUG = "e2e-whole"
TITLE = "全流程测试“枫桥式”司法所评选"
CATEGORY = CategorySpec(
    title="“枫桥式”司法所", key="office", quota=2, per_county=3, votes_per_day=3
)
FIRST, SECOND, THIRD = "安定区凤凰山司法所", "安定区香泉司法所", "安定区陈家沟司法所"
CRITERIA = [
    ("先进事迹", "60", "事迹是否突出、真实可信"),
    ("工作成效", "40", "调解成功率与群众满意度"),
]
# Per reviewer and candidate: (先进事迹, 工作成效). Review means: 89, 81, 71.
SCORES = {
    "reviewer-tongwei": {FIRST: ("54", "36"), SECOND: ("48", "32"), THIRD: ("42", "28")},
    "reviewer-longxi": {FIRST: ("52", "36"), SECOND: ("50", "32"), THIRD: ("44", "28")},
}
PANEL = ["评审专家（通渭县）（通渭县司法局）", "评审专家（陇西县）（陇西县司法局）"]
# Each voter's ballots: 凤凰山 3 votes, 陈家沟 2, 香泉 1.
BALLOTS = [[FIRST, SECOND, THIRD], [FIRST, THIRD], [FIRST]]
OBJECTION_RECEIPT = re.compile(r"^YY-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")
DOCUMENT_NO = "定司发〔2026〕3号"
STORY_TITLE = "凤凰山司法所：把矛盾化解在家门口"
STORY_BODY = "凤凰山司法所坚持“四前”工作法，**全年调解纠纷 118 件**。\n\n群众说：有事找司法所。"


def staff_context(browser, server: str) -> BrowserContext:  # type: ignore[no-untyped-def]
    """A desktop browser of its own (no shared cookies), as each staff member has."""
    context = browser.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(30_000)
    return context


@pytest.fixture
def contexts(browser, server: str) -> Iterator[list[BrowserContext]]:  # type: ignore[no-untyped-def]
    """The browser contexts the test opens, closed whatever happens."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


def test_a_campaign_from_creation_to_a_published_story(  # type: ignore[no-untyped-def]
    page: Page, browser, server: str, server_env, contexts, tmp_path: Path
) -> None:
    def staff(username: str) -> Page:
        context = staff_context(browser, server)
        contexts.append(context)
        tab = context.new_page()
        sign_in(tab, username)
        return tab

    def handset() -> Page:
        context = phone_context(browser, server)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    admin = page
    admin.context.set_default_timeout(30_000)
    sign_in(admin, "city-admin")

    # --- The city sets the campaign up and opens nominations. ---
    now = steps.now()
    steps.create_campaign(
        admin,
        SLUG,
        TITLE,
        {"专家评审开始": now - dt.timedelta(hours=1), "专家评审结束": now + dt.timedelta(days=14)},
    )
    steps.add_category(admin, SLUG, CATEGORY)
    steps.move_phase(admin, SLUG, "推荐申报")
    expect(admin.locator("table.data")).to_contain_text("office")
    shot(admin, "whole-01-campaign")

    # --- The clerk of 安定区 nominates three offices, each with a photo and a PDF. ---
    clerk = staff("clerk-anding")
    ids: dict[str, int] = {}
    colours = [(180, 40, 40), (40, 120, 60), (40, 80, 160)]
    for name, colour in zip((FIRST, SECOND, THIRD), colours, strict=True):
        photo = steps.jpeg(tmp_path / f"{len(ids)}.jpg", colour)
        evidence = steps.pdf(tmp_path / f"{name}-台账.pdf")
        ids[name] = steps.nominate(clerk, SLUG, name, f"{name}坚持“枫桥经验”。", photo, evidence)
    expect(clerk.locator("img.photo")).to_have_js_property("naturalWidth", 800)
    clerk.goto(f"/staff/nominations?campaign={SLUG}")
    expect(clerk.locator(".category")).to_contain_text("已报送 3 / 上限 3 个")
    shot(clerk, "whole-02-clerk-nominations")

    # --- The city vets: 资格审核, every nomination shortlisted. ---
    steps.move_phase(admin, SLUG, "资格审核")
    admin.goto(f"/staff/nominations?campaign={SLUG}")
    for name in ids:
        expect(admin.get_by_role("link", name=name)).to_be_visible()
    shot(admin, "whole-03-city-vetting")
    for nomination_id in ids.values():
        steps.shortlist(admin, nomination_id)
    shot(admin, "whole-04-shortlisted")

    # --- The review: criteria, a panel from other counties, 专家评审, assignment. ---
    steps.set_criteria(admin, SLUG, CATEGORY, CRITERIA)
    steps.choose_panel(admin, SLUG, PANEL)
    steps.move_phase(admin, SLUG, "专家评审")
    steps.assign(admin, SLUG)
    for name in ids:
        expect(admin.get_by_role("row", name=re.compile(name))).to_contain_text("0 / 2")
    shot(admin, "whole-05-review-assigned")

    for username, marks in SCORES.items():
        reviewer = staff(username)
        for name, (deeds, results) in marks.items():
            steps.score(reviewer, name, {CRITERIA[0][0]: deeds, CRITERIA[1][0]: results})
        reviewer.goto("/staff/review")
        for name in marks:
            expect(reviewer.get_by_role("row", name=re.compile(name))).to_contain_text("已提交")
        shot(reviewer, f"whole-06-{username}-tasks")

    admin.goto(f"/staff/review/campaigns/{SLUG}")
    for name, mean in ((FIRST, "89.00"), (SECOND, "81.00"), (THIRD, "71.00")):
        row = admin.get_by_role("row", name=re.compile(name))
        expect(row).to_contain_text("2 / 2")
        expect(row).to_contain_text(mean)
    shot(admin, "whole-07-review-done")

    # --- Voting: the window is moved to now (nominations closed a minute ago). ---
    steps.open_voting_now(admin, SLUG)
    shot(admin, "whole-08-voting-open")

    receipts: list[str] = []
    for number, ballot in enumerate(BALLOTS, start=1):
        voter = handset()
        if number == 1:
            voter.goto(f"/campaigns/{SLUG}/vote")
            expect(voter.get_by_role("heading", level=1)).to_have_text("网络投票")
            expect(voter.locator(".vote-card")).to_have_count(3)
            shot(voter, "whole-09-vote-page")
        for name in ballot:
            receipt = steps.vote(voter, SLUG, ids[name], CAPTCHA_TEST_ANSWER)
            assert VOTE_RECEIPT.match(receipt), receipt
            receipts.append(receipt)
        if number == 1:
            shot(voter, "whole-10-vote-receipt")
    assert len(set(receipts)) == 6
    voter.goto(f"/receipts/{receipts[-1]}")
    expect(voter.locator(".receipt-status .badge")).to_have_text("有效")
    expect(voter.locator("main")).to_contain_text(FIRST)

    # --- The city closes voting and tallies: the votes lift 陈家沟 above 香泉. ---
    steps.move_phase(admin, SLUG, "综合评定")
    admin.goto(f"/staff/results/{SLUG}")
    admin.get_by_role("button", name="计算综合排名").click()
    expect(admin.locator(".flash-success")).to_contain_text("已计算综合排名")
    rows = admin.locator("table.ranking tbody tr")
    expect(rows).to_have_count(3)
    # 凤凰山 0.7×89 + 0.3×100 = 92.30; 陈家沟 49.70 + 0.3×66.67 = 69.70;
    # 香泉 56.70 + 0.3×33.33 = 66.70.
    for position, (name, votes, final, result) in enumerate(
        [
            (FIRST, "3", "92.30", "拟命名"),
            (THIRD, "2", "69.70", "拟命名"),
            (SECOND, "1", "66.70", "未进入名额"),
        ]
    ):
        row = rows.nth(position)
        expect(row).to_have_id(f"candidate-{ids[name]}")
        expect(row.locator("td").nth(4)).to_have_text(votes)
        expect(row.locator("td").nth(6)).to_have_text(final)
        expect(row).to_contain_text(result)
    shot(admin, "whole-11-tally")

    publish_notice(admin, 7)
    expect(admin.locator(".badge.phase-notice").first).to_be_visible()

    # --- A citizen reads the notice on a phone and objects to 陈家沟. ---
    citizen = handset()
    citizen.goto(f"/campaigns/{SLUG}/notice")
    expect(citizen.get_by_role("heading", level=1)).to_contain_text("拟命名名单公示")
    expect(citizen.locator("main")).to_contain_text(FIRST)
    expect(citizen.locator("main")).to_contain_text(THIRD)
    shot(citizen, "whole-12-notice-phone")
    citizen.get_by_role("link", name="提出异议").first.click()
    citizen.locator("#f-candidate").select_option(str(ids[THIRD]))
    citizen.get_by_label("真实姓名").fill("李秀兰")
    citizen.get_by_label("联系电话").fill("13919321234")
    citizen.get_by_label("与被异议对象的关系").fill("辖区居民")
    citizen.get_by_label("异议内容").fill("该所调解的一起邻里纠纷至今未结，请核实其调解数据。")
    citizen.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
    citizen.get_by_role("button", name="提交异议").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("您的异议已受理")
    objection = citizen.locator(".receipt-code").inner_text().strip()
    assert OBJECTION_RECEIPT.match(objection), objection
    shot(citizen, "whole-13-objection-receipt")

    # --- The city dismisses it; the citizen sees the outcome. ---
    admin.goto(f"/staff/results/{SLUG}/objections")
    card = admin.locator(".objection").filter(has_text="李秀兰")
    expect(card).to_contain_text("邻里纠纷")
    card.get_by_label("异议不成立：办理结果").fill(
        "经核实，该纠纷已调解结案并履行完毕，异议不成立。"
    )
    card.get_by_role("button", name="认定异议不成立").click()
    expect(admin.locator(".objection").filter(has_text="李秀兰")).to_contain_text("异议不成立")
    shot(admin, "whole-14-objection-dismissed")
    citizen.goto(f"/objections/{objection}")
    expect(citizen.locator(".objection-resolution")).to_contain_text("履行完毕")

    # --- The notice period ends (time passes); the city designates. ---
    admin.goto(f"/staff/results/{SLUG}")
    expect(admin.locator(".blockers")).to_contain_text("公示期尚未结束")
    on_server_database(server_env, "end-notice", SLUG)
    admin.reload()
    admin.get_by_label("文号（可选）").fill(DOCUMENT_NO)
    admin.get_by_role("button", name="正式命名并发布").click()
    expect(admin.locator(".flash-success")).to_contain_text("已正式命名")
    shot(admin, "whole-15-designated")

    admin.goto(f"/campaigns/{SLUG}/honours")
    expect(admin.locator(".honour-name")).to_have_text([FIRST, THIRD])
    expect(admin.locator("main")).to_contain_text(DOCUMENT_NO)
    shot(admin, "whole-16-honour-list")
    admin.get_by_role("link", name="命名决定（可打印）").click()
    listing = admin.locator("main ol li")
    expect(listing).to_have_count(2)
    expect(listing.nth(0)).to_contain_text(FIRST)
    expect(listing.nth(1)).to_contain_text(THIRD)
    expect(admin.locator("main")).not_to_contain_text(SECOND)
    shot(admin, "whole-17-announcement")

    # --- The clerk writes a story about 凤凰山 and submits it; the city publishes it. ---
    clerk.goto(f"/staff/stories/new?campaign={SLUG}")
    expect(clerk.get_by_role("heading", level=1)).to_have_text("新建稿件")
    clerk.locator("#f-kind").select_option(label="先进事迹")
    clerk.locator("#f-title").fill(STORY_TITLE)
    clerk.locator("#f-body").fill(STORY_BODY)
    clerk.locator("#f-cover").set_input_files(steps.jpeg(tmp_path / "cover.jpg", (200, 160, 60)))
    clerk.locator(f"#f-cand-{ids[FIRST]}").check()
    shot(clerk, "whole-18-story-form")
    clerk.get_by_role("button", name="保存并报送").click()
    expect(clerk).to_have_url(re.compile(r"/staff/stories/\d+$"))
    expect(clerk.get_by_role("status")).to_contain_text("已报送")
    story_id = int(clerk.url.rsplit("/", 1)[1])
    expect(clerk.locator(".facts")).to_contain_text(FIRST)

    admin.goto(f"/staff/stories/{story_id}")
    admin.get_by_role("button", name=re.compile("^发布")).click()
    expect(admin.get_by_role("status")).to_contain_text(re.compile(r"已发布，为第 \d+ 期"))
    shot(admin, "whole-19-story-published")

    # --- The public: the story in /stories, on its page, and on the honouree's page. ---
    reader = handset()
    reader.goto("/stories")
    card = reader.locator(".story-card").filter(has_text=STORY_TITLE)
    expect(card).to_be_visible()
    shot(reader, "whole-20-stories")
    card.get_by_role("link").click()
    expect(reader).to_have_url(re.compile(rf"/stories/{story_id}$"))
    expect(reader.get_by_role("heading", level=1)).to_have_text(STORY_TITLE)
    expect(reader.locator("main")).to_contain_text("有事找司法所")
    expect(reader.locator(".story-body strong")).to_have_text("全年调解纠纷 118 件")
    reader.goto(f"/campaigns/{SLUG}/candidates/{ids[FIRST]}")
    expect(reader.get_by_role("heading", level=1)).to_have_text(FIRST)
    related = reader.locator(
        "section", has=reader.get_by_role("heading", name="相关典型案例与先进事迹")
    )
    expect(related.locator(".story-card")).to_contain_text(STORY_TITLE)
    shot(reader, "whole-21-honouree")
