"""One installation for a whole province, set up as its bureaus would: the tree by
`portal bureaus import`, the province's first administrator by `portal createuser`, the
rest in the browser. 定西市 runs its own campaign to the end (nominate, vet, review,
vote, tally, notice, designate); the province then runs one that accepts only units its
cities designated, and 定西市's clerk nominates the city's new designee, picked from the
list. Each campaign's pages and documents name its own organiser, every page carries the
installation's identity, and 白银市's administrator sees none of 定西市's campaigns,
bureaus or accounts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from results.register import today_in
from tests.e2e import steps
from tests.e2e.conftest import CAPTCHA_TEST_ANSWER, installation, on_server_database, shot
from tests.e2e.steps import CategorySpec, publish_notice
from tests.e2e.test_voting_flow import phone_context
from tests.portal.test_organisations import GANSU

PASSWORD = "gansu-e2e-password"
CITY_SLUG, PROVINCE_SLUG = "dingxi-e2e", "gansu-e2e"
OFFICE = CategorySpec(title="“枫桥式”司法所", key="office", quota=1, per_county=2)
FIRST, SECOND = "安定区凤凰山司法所", "安定区香泉司法所"
CRITERIA = [("工作实绩", "60", "调解成效"), ("示范作用", "40", "群众评价")]
SCORES = {FIRST: ("55", "36"), SECOND: ("48", "30")}
DOCUMENT_NO = "定司发〔2026〕8号"
ICP = "陇ICP备20260001号-1"


@pytest.fixture(scope="module")
def gansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The province's installation: its server's base URL and environment."""
    with installation(
        tmp_path_factory.mktemp("gansu"), GANSU, "province-admin", PASSWORD, "甘肃省司法厅"
    ) as served:
        yield served


@pytest.fixture
def opened(browser, gansu) -> Iterator[list[BrowserContext]]:  # type: ignore[no-untyped-def]
    contexts: list[BrowserContext] = []
    yield contexts
    for context in contexts:
        context.close()


def test_a_province_above_two_cities(browser, gansu, opened, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, env = gansu

    def signed_in(username: str) -> Page:
        context = browser.new_context(
            base_url=base, locale="zh-CN", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(30_000)
        opened.append(context)
        tab = context.new_page()
        steps.sign_in(tab, username, PASSWORD)
        return tab

    def account(page: Page, username: str, role: str, bureau: str, name: str = "") -> None:
        page.goto("/staff/accounts/new")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("姓名").fill(name or username)
        page.get_by_label("角色").select_option(role)
        page.get_by_label("所属单位").select_option(bureau)
        page.get_by_label("初始密码").fill(PASSWORD)
        page.get_by_label("再次输入密码").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("创建")).click()
        expect(page.get_by_role("status")).to_contain_text(username)

    # --- The province sets up the site and the two cities' administrators. ---
    province = signed_in("province-admin")
    account(province, "dingxi-admin", "city_admin", "定西市司法局")
    account(province, "baiyin-admin", "city_admin", "白银市司法局")
    account(province, "dingxi-clerk", "county_clerk", "定西市司法局")
    province.goto("/staff/identity")
    province.get_by_label("网站名称").fill("甘肃省“枫桥式”评选")
    province.get_by_label("ICP备案号").fill(ICP)
    province.get_by_role("button", name="保存").click()
    expect(province.get_by_role("status")).to_contain_text("已保存网站信息")

    # --- 定西市 adds a county on its page, and its clerk and reviewer. ---
    city = signed_in("dingxi-admin")
    city.goto("/staff/bureaus")
    city.get_by_role("link", name="添加下级单位").first.click()
    city.get_by_label("层级").select_option("county")
    city.get_by_label("名称").fill("通渭县司法局")
    city.get_by_label("简称").fill("通渭县")
    city.get_by_role("button", name="添加").click()
    expect(city.get_by_role("status")).to_contain_text("已添加单位「通渭县司法局」")
    account(city, "anding-clerk", "county_clerk", "安定区司法局")
    account(city, "tongwei-reviewer", "reviewer", "通渭县司法局", "张专家")

    # --- 定西市's campaign, from nominations to its designation. ---
    steps.create_campaign(
        city,
        CITY_SLUG,
        "2026年度定西市“枫桥式”司法所评选",
        {
            "专家评审开始": steps.now() - dt.timedelta(hours=1),
            "专家评审结束": steps.now() + dt.timedelta(days=14),
        },
    )
    steps.add_category(city, CITY_SLUG, OFFICE)
    steps.move_phase(city, CITY_SLUG, "推荐申报")
    clerk = signed_in("anding-clerk")
    ids = {}
    for index, name in enumerate((FIRST, SECOND)):
        clerk.goto(f"/staff/nominations?campaign={CITY_SLUG}")
        clerk.get_by_role("link", name="新建推荐").click()
        steps.fill_nomination(
            clerk,
            name,
            f"{name}坚持“枫桥经验”。",
            steps.jpeg(tmp_path / f"{index}.jpg", (160, 40 * index, 40)),
            steps.pdf(tmp_path / f"{index}.pdf"),
        )
        ids[name] = steps.submit_nomination(clerk, "定西市司法局")
    steps.move_phase(city, CITY_SLUG, "资格审核")
    for nomination_id in ids.values():
        steps.shortlist(city, nomination_id)
    steps.set_criteria(city, CITY_SLUG, OFFICE, CRITERIA)
    steps.choose_panel(city, CITY_SLUG, ["张专家（通渭县司法局）"])
    steps.move_phase(city, CITY_SLUG, "专家评审")
    steps.assign(city, CITY_SLUG)
    reviewer = signed_in("tongwei-reviewer")
    for name, (work, example) in SCORES.items():
        steps.score(reviewer, name, {CRITERIA[0][0]: work, CRITERIA[1][0]: example})
    steps.open_voting_now(city, CITY_SLUG)
    voter = phone_context(browser, base)
    opened.append(voter)
    steps.vote(voter.new_page(), CITY_SLUG, ids[FIRST], CAPTCHA_TEST_ANSWER)
    steps.move_phase(city, CITY_SLUG, "综合评定")
    city.goto(f"/staff/results/{CITY_SLUG}")
    city.get_by_role("button", name="计算综合排名").click()
    expect(city.locator(".flash-success")).to_contain_text("已计算综合排名")
    publish_notice(city, 7)
    city.goto(f"/campaigns/{CITY_SLUG}/notice")
    expect(city.locator("main")).to_contain_text("定西市司法局")
    on_server_database(env, "end-notice", CITY_SLUG)
    city.goto(f"/staff/results/{CITY_SLUG}")
    city.get_by_label("文号（可选）").fill(DOCUMENT_NO)
    city.get_by_role("button", name="正式命名并发布").click()
    expect(city.locator(".flash-success")).to_contain_text("已正式命名")
    city.goto(f"/campaigns/{CITY_SLUG}/announcement")
    expect(city.locator("main ol li")).to_have_count(1)
    expect(city.locator("main")).to_contain_text("定西市司法局")
    # The city issues it; the province's bureau is only copied (版记: 抄送).
    for part in (".doc-head", ".doc-sign"):
        expect(city.locator(part)).not_to_contain_text("甘肃省司法厅")
    expect(city.locator(".doc-imprint")).to_contain_text("抄送：甘肃省司法厅。")
    shot(city, "province-01-city-decision")

    # --- The province's campaign accepts only units its cities designated. ---
    steps.create_campaign(province, PROVINCE_SLUG, "2026年度甘肃省“枫桥式”司法所评选")
    steps.add_category(province, PROVINCE_SLUG, OFFICE, designees_only=True)
    steps.move_phase(province, PROVINCE_SLUG, "推荐申报")
    nominator = signed_in("dingxi-clerk")
    nominator.goto(f"/staff/nominations?campaign={PROVINCE_SLUG}")
    nominator.get_by_role("link", name="新建推荐").click()
    offered = nominator.locator("#designees-title + p + .table-wrap table tbody tr")
    expect(offered).to_have_count(1)
    expect(offered).to_contain_text(FIRST)
    expect(offered).to_contain_text(DOCUMENT_NO)
    expect(nominator.locator("#f-deeds")).to_have_count(0)  # pick first
    shot(nominator, "province-02-designees")
    offered.get_by_role("link", name="选用").click()
    expect(steps.field(nominator, "名称")).to_have_value(FIRST)
    expect(steps.field(nominator, "排查调处矛盾纠纷（件）")).to_have_value("120")
    steps.field(nominator, "照片").set_input_files(steps.jpeg(tmp_path / "p.jpg", (20, 90, 160)))
    nominator.get_by_label("证明材料（PDF）").set_input_files(steps.pdf(tmp_path / "p.pdf"))
    picked = steps.submit_nomination(nominator, "甘肃省司法厅")
    steps.move_phase(province, PROVINCE_SLUG, "资格审核")
    province.goto(f"/staff/nominations/{picked}")
    expect(province.locator(".flash-info")).to_contain_text(f"经定西市司法局{today_in().year}年")
    expect(province.locator(".flash-info")).to_contain_text(DOCUMENT_NO)
    shot(province, "province-03-vetting")

    # --- Each campaign names its own organiser; every page the installation's identity. ---
    for slug, organiser, other in (
        (CITY_SLUG, "定西市司法局", "甘肃省司法厅"),
        (PROVINCE_SLUG, "甘肃省司法厅", "定西市司法局"),
    ):
        province.goto(f"/campaigns/{slug}")
        expect(province.locator("main")).to_contain_text(organiser)
        expect(province.locator("main")).not_to_contain_text(other)
        expect(province.locator("footer")).to_contain_text(ICP)
        expect(province.locator("header.site-header")).to_contain_text("甘肃省“枫桥式”评选")

    # --- 白银市 sees none of 定西市's campaigns, bureaus or accounts. ---
    other = signed_in("baiyin-admin")
    other.goto("/staff/campaigns")
    expect(other.locator("main")).not_to_contain_text(CITY_SLUG)
    expect(other.locator("main")).not_to_contain_text(PROVINCE_SLUG)
    for path in (f"/staff/campaigns/{CITY_SLUG}", f"/staff/results/{CITY_SLUG}"):
        assert other.goto(path).status == 404, path
    other.goto("/staff/bureaus")
    expect(other.locator("main")).to_contain_text("会宁县司法局")
    expect(other.locator("main")).not_to_contain_text("安定区")
    other.goto("/staff/accounts")
    expect(other.locator("main")).not_to_contain_text("anding-clerk")
    expect(other.locator("main")).not_to_contain_text("dingxi-admin")
    assert city.goto(f"/staff/campaigns/{PROVINCE_SLUG}").status == 404
