"""A separate installation for 白银市, set up as its bureau would: `portal migrate`,
`portal bureaus import`, the first administrator by `portal createuser`, then the rest
in the browser — bureaus added, renamed and imported on the staff pages, the site's
identity (name, filing numbers, logo) set on its page. No page it serves names Dingxi.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e import steps
from tests.e2e.conftest import installation, shot

BUREAUS = (
    "name,short_name,level,parent\n"
    "白银市司法局,白银市,city,\n"
    "会宁县司法局,会宁县,county,白银市司法局\n"
)
PASSWORD = "Baiyin-city-2026"
PUBLIC = ["/", "/login", "/stories", "/no-such-page"]
STAFF = ["/staff", "/staff/bureaus", "/staff/accounts", "/staff/identity", "/staff/campaigns"]


@pytest.fixture(scope="module")
def baiyin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The new installation's server (base URL) and its folder."""
    folder = tmp_path_factory.mktemp("baiyin")
    with installation(folder, BUREAUS, "admin", PASSWORD) as (base, _):
        yield base, folder


@pytest.fixture
def tab(browser, baiyin: tuple[str, Path], request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=baiyin[0], locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    shot(page, request.node.name)
    context.close()


def no_dingxi(page: Page, paths: list[str]) -> None:
    for path in paths:
        page.goto(path)
        assert "定西" not in page.content(), path


def test_a_new_city_sets_itself_up_and_shows_no_trace_of_dingxi(
    tab: Page, baiyin: tuple[str, Path]
) -> None:
    page, folder = tab, baiyin[1]
    no_dingxi(page, PUBLIC)
    # The first administrator, made by `portal createuser`, changes the password first.
    steps.sign_in(page, "admin", PASSWORD)

    # A bureau added below the city, then renamed: the old name stays on record.
    page.goto("/staff/bureaus")
    page.get_by_role("link", name="添加下级单位").first.click()
    page.get_by_label("层级").select_option("county")
    page.get_by_label("名称").fill("平川区司法局")
    page.get_by_label("简称").fill("平川区")
    page.get_by_role("button", name="添加").click()
    expect(page.get_by_role("status")).to_contain_text("已添加单位「平川区司法局」")
    page.get_by_role("row", name=re.compile("平川区司法局")).get_by_role(
        "link", name="改名"
    ).click()
    page.get_by_label("名称").fill("白银市平川区司法局")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("table")).to_contain_text("曾用名：平川区司法局")

    # A file of bureaus, and a bad one that imports nothing and names its row.
    good, bad = folder / "more.csv", folder / "bad.csv"
    good.write_text("name,short_name,level,parent\n景泰县司法局,景泰县,county,白银市司法局\n")
    bad.write_text("name,short_name,level,parent\n靖远县司法局,,county,白银市司法局\n")
    page.set_input_files("#f-file", str(bad))
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("alert")).to_contain_text("第 2 行「简称」：不能为空。")
    page.set_input_files("#f-file", str(good))
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("status")).to_contain_text("新增 1 个单位")
    expect(page.locator("table")).to_contain_text("景泰县司法局")
    expect(page.locator("table")).not_to_contain_text("靖远县")

    # The site's identity, with a logo.
    logo = folder / "logo.png"
    picture = io.BytesIO()
    Image.new("RGB", (300, 300), (180, 20, 20)).save(picture, "PNG")
    logo.write_bytes(picture.getvalue())
    page.goto("/staff/identity")
    page.get_by_label("网站名称").fill("白银市“枫桥式”评选")
    page.get_by_label("ICP备案号").fill("陇ICP备12345678号-1")
    page.get_by_label("公安机关备案号").fill("甘公网安备 62040202000123号")
    page.get_by_label("网站标识码").fill("6204000001")
    page.set_input_files("#f-logo", str(logo))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("已保存网站信息")
    footer = page.locator("footer")
    expect(footer).to_contain_text("白银市司法局 主办")
    expect(footer.get_by_role("link", name="陇ICP备12345678号-1")).to_have_attribute(
        "href", "https://beian.miit.gov.cn/"
    )
    expect(footer.get_by_role("link", name=re.compile("甘公网安备"))).to_have_attribute(
        "href", re.compile("code=62040202000123$")
    )
    expect(page.locator("header.site-header .brand-logo")).to_be_visible()
    expect(page.locator("header.site-header")).to_contain_text("白银市“枫桥式”评选")
    shot(page, "identity-baiyin")

    no_dingxi(page, PUBLIC + STAFF)
