"""Steps the browser tests share: each done through the pages, as its role would.

A campaign's set-up (create it, add a category, move its phases), a clerk's nomination,
the city's shortlisting, the review's criteria, panel and assignment, a reviewer's
scores and a voter's vote. Each step waits for the page to confirm it, so a test built
of them is as reliable on a slow machine as the pages are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from portal.demo import DEMO_PASSWORD
from tests.portal.test_media import minimal_pdf

ZONE = ZoneInfo("Asia/Shanghai")
CONTACT_PHONE = "13912345678"

# A judicial office's fields, by their (exact) labels on the form.
TEXTS = {
    "名称": "安定区流程测试司法所",
    "所在乡镇（街道）": "中华路街道",
    "地址": "定西市安定区中华路 1 号",
    "一句话简介": "扎根基层的调解能手。",
    "联系人": "王经办",
    "联系电话": CONTACT_PHONE,
}
FIGURES = {
    "排查调处矛盾纠纷（件）": "120",
    "调解成功（件）": "118",
    "司法确认（件）": "20",
    "随手调（件）": "30",
    "法院委托移送（件）": "5",
    "公安委托移送（件）": "4",
    "乡镇（街道）委托移送（件）": "3",
    "信访部门委托移送（件）": "2",
    "其他单位委托移送（件）": "1",
}


@dataclass(frozen=True)
class CategorySpec:
    """A category as the city admin enters it on the category form."""

    title: str = "“枫桥式”司法所"
    key: str = "judicial-office"
    subject: str = "judicial_office"
    quota: int = 7
    per_county: int = 2
    votes_per_day: int = 3


# --- files and fields ------------------------------------------------------------------


def jpeg(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (800, 600)) -> Path:
    """Write a real JPEG photo (the upload check reads the content) and return its path."""
    Image.new("RGB", size, colour).save(path, "JPEG")
    return path


def pdf(path: Path) -> Path:
    """Write a minimal PDF document and return its path."""
    path.write_bytes(minimal_pdf())
    return path


def field(page: Page, label: str) -> Locator:
    """The form control labelled exactly ``label`` (a required field's label ends in *)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\*?$"))


def minute(at: dt.datetime) -> str:
    """A time as a ``datetime-local`` input takes it."""
    return at.strftime("%Y-%m-%dT%H:%M")


def now() -> dt.datetime:
    """Now in the campaigns' time zone (the forms' default)."""
    return dt.datetime.now(ZONE)


# --- signing in and out ----------------------------------------------------------------


# Passwords set at a first login (an account `portal createuser` or an administrator made
# changes its password then), by server and username: later sign-ins use them.
CHANGED_PASSWORDS: dict[tuple[str, str], str] = {}


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in (with the demo password unless told) and wait for the dashboard; at an
    account's first login, change its password as its owner would."""
    page.goto("/login")
    server = page.url.split("/login")[0]
    password = CHANGED_PASSWORDS.get((server, username), password)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/staff(/account/password)?$"))
    if page.url.endswith("/account/password"):
        expect(page.get_by_text("这是您首次登录")).to_be_visible()
        chosen = f"{password}-Own"
        page.get_by_label("当前密码").fill(password)
        page.get_by_label("新密码", exact=True).fill(chosen)
        page.get_by_label("再次输入新密码").fill(chosen)
        page.get_by_role("button", name="修改密码").click()
        expect(page.get_by_text("密码已修改")).to_be_visible()
        CHANGED_PASSWORDS[(server, username)] = chosen
        page.goto("/staff")
    expect(page).to_have_url(re.compile(r"/staff$"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("退出")).click()
    expect(page).to_have_url(re.compile(r"/$"))


# --- the campaign ----------------------------------------------------------------------


def create_campaign(
    page: Page, slug: str, title: str, windows: dict[str, dt.datetime] | None = None
) -> None:
    """The city admin (signed in) creates a campaign; ``windows`` maps the form's labels
    (e.g. 推荐申报开始) to times. Nominations are open from yesterday for a week unless
    ``windows`` says otherwise."""
    start = now()
    times = {
        "推荐申报开始": start - dt.timedelta(days=1),
        "推荐申报结束": start + dt.timedelta(days=7),
        **(windows or {}),
    }
    page.goto("/staff/campaigns/new")
    page.get_by_label("活动名称").fill(title)
    page.get_by_label("网址标识").fill(slug)
    page.get_by_label("年度").fill(str(start.year))
    for label, at in times.items():
        page.get_by_label(label).fill(minute(at))
    page.get_by_role("button", name="创建活动").click()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{slug}$"))
    expect(page.get_by_role("status")).to_contain_text("已创建评选活动")


def edit_windows(page: Page, slug: str, windows: dict[str, dt.datetime]) -> None:
    """The city admin changes some of the campaign's times on its edit form."""
    page.goto(f"/staff/campaigns/{slug}/edit")
    for label, at in windows.items():
        page.get_by_label(label).fill(minute(at))
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{slug}$"))


def add_category(
    page: Page, slug: str, spec: CategorySpec = CategorySpec(), designees_only: bool = False
) -> None:
    """The city admin adds a category to a campaign that is still being set up (one that
    accepts only the nominating bureaus' designees if ``designees_only``)."""
    page.goto(f"/staff/campaigns/{slug}")
    page.get_by_role("link", name="增加类别").click()
    page.get_by_label("类别名称").fill(spec.title)
    page.get_by_label("类别标识").fill(spec.key)
    page.get_by_label("对象类型").select_option(spec.subject)
    page.get_by_label("命名名额").fill(str(spec.quota))
    page.get_by_label("每个推荐单位上限").fill(str(spec.per_county))
    page.get_by_label("每人每日可投票数").fill(str(spec.votes_per_day))
    if designees_only:
        page.get_by_label("只接受推荐单位已命名的对象").check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("已保存评选类别")


def open_voting_now(page: Page, slug: str) -> None:
    """The city admin moves the voting window to now (nominations closed a minute
    before) and opens voting."""
    opened = now() - dt.timedelta(minutes=2)
    edit_windows(
        page,
        slug,
        {
            "推荐申报结束": opened,
            "网络投票开始": opened,
            "网络投票结束": opened + dt.timedelta(days=7),
        },
    )
    move_phase(page, slug, "网络投票")


def move_phase(page: Page, slug: str, label: str) -> None:
    """The city admin moves the campaign on to the phase called ``label``."""
    if not page.url.endswith(f"/staff/campaigns/{slug}"):
        page.goto(f"/staff/campaigns/{slug}")
    page.get_by_role("button", name=f"进入下一阶段：{label}").click()
    expect(page.locator(".phase-bar .current")).to_have_text(label)


# --- nominations -----------------------------------------------------------------------


def fill_nomination(
    page: Page,
    name: str,
    deeds: str,
    photo: Path | None = None,
    evidence: Path | None = None,
    figures: dict[str, str] | None = None,
) -> None:
    """Fill a judicial office's nomination form (already open) without submitting it."""
    for label, value in {**TEXTS, "名称": name}.items():
        field(page, label).fill(value)
    field(page, "类型").select_option(label="乡镇（街道）")
    field(page, "事迹材料").fill(deeds)
    for label, value in {**FIGURES, **(figures or {})}.items():
        field(page, label).fill(value)
    if photo is not None:
        field(page, "照片").set_input_files(photo)
    if evidence is not None:
        page.get_by_label("证明材料（PDF）").set_input_files(evidence)


def submit_nomination(page: Page, organiser: str = "定西市司法局") -> int:
    """Press 保存并报送 on a filled form; return the nomination's id."""
    page.get_by_role("button", name="保存并报送").click()
    expect(page).to_have_url(re.compile(r"/staff/nominations/\d+$"))
    expect(page.get_by_role("status")).to_contain_text(f"已报送{organiser}审核")
    return int(page.url.rsplit("/", 1)[1])


def nominate(
    page: Page,
    slug: str,
    name: str,
    deeds: str,
    photo: Path | None = None,
    evidence: Path | None = None,
) -> int:
    """A clerk (signed in) creates a complete nomination and submits it; returns its id."""
    page.goto(f"/staff/nominations?campaign={slug}")
    page.get_by_role("link", name="新建推荐").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("新建推荐")
    fill_nomination(page, name, deeds, photo, evidence)
    return submit_nomination(page)


def shortlist(page: Page, nomination_id: int) -> None:
    """The city admin (signed in) shortlists a submitted nomination."""
    page.goto(f"/staff/nominations/{nomination_id}")
    page.get_by_role("button", name="确定入围").click()
    expect(page.get_by_role("status")).to_contain_text("已确定入围")
    expect(page.locator(".page-head .badge")).to_have_text("已入围")


# --- the review ------------------------------------------------------------------------


def fill_criteria(page: Page, criteria: list[tuple[str, str, str]]) -> None:
    """Fill the criteria form (title, maximum points, guidance per row)."""
    for i, (title, points, guidance) in enumerate(criteria):
        page.locator(f"#title-{i}").fill(title)
        page.locator(f"#max_points-{i}").fill(points)
        page.locator(f"#guidance-{i}").fill(guidance)


def set_criteria(
    page: Page, slug: str, category: CategorySpec, criteria: list[tuple[str, str, str]]
) -> None:
    """The city admin sets a category's scoring criteria (their points sum to 100)."""
    page.goto(f"/staff/review/campaigns/{slug}/criteria/{category.key}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"评分标准：{category.title}")
    fill_criteria(page, criteria)
    save_criteria(page, slug, category)


def save_criteria(page: Page, slug: str, category: CategorySpec) -> None:
    page.get_by_role("button", name="保存评分标准").click()
    expect(page).to_have_url(re.compile(rf"/staff/review/campaigns/{slug}$"))
    expect(page.get_by_role("status")).to_contain_text(f"已保存「{category.title}」的评分标准")


def choose_panel(page: Page, slug: str, reviewers: list[str]) -> None:
    """The city admin chooses the panel by the checkboxes' labels (e.g.
    评审专家（通渭县）（通渭县司法局）)."""
    page.goto(f"/staff/review/campaigns/{slug}")
    for label in reviewers:
        page.get_by_label(label).check()
    page.get_by_role("button", name="保存专家名单").click()
    expect(page.get_by_role("status")).to_contain_text("已保存评审专家名单")
    for label in reviewers:
        expect(page.get_by_label(label)).to_be_checked()


def assign(page: Page, slug: str) -> None:
    """The city admin assigns the candidates to the panel by the conflict rules."""
    page.goto(f"/staff/review/campaigns/{slug}")
    page.get_by_role("button", name="按回避规则自动分配").click()
    expect(page.get_by_role("status")).to_contain_text("已按回避规则自动分配评审任务")


def open_task(page: Page, name: str) -> None:
    """A reviewer (signed in) opens the task of the candidate ``name`` from 我的评审任务."""
    page.goto("/staff/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的评审任务")
    page.get_by_role("row", name=re.compile(re.escape(name))).get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(r"/staff/review/assignments/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def criterion(page: Page, title: str) -> Locator:
    """The score input of the criterion ``title`` on the scoring form."""
    return page.get_by_label(re.compile(rf"^{re.escape(title)}（满分"))


def score(page: Page, name: str, points: dict[str, str], comment: str = "") -> None:
    """A reviewer (signed in) scores a candidate by criterion title and submits."""
    open_task(page, name)
    for title, value in points.items():
        criterion(page, title).fill(value)
    if comment:
        page.get_by_label("评语").fill(comment)
    page.get_by_role("button", name="提交评分").click()
    expect(page.get_by_role("status")).to_contain_text("评分已提交并锁定")


# --- voting ----------------------------------------------------------------------------


def vote(page: Page, slug: str, candidate_id: int, captcha_answer: str) -> str:
    """A voter votes on the plain vote form of a candidate (answering the CAPTCHA, unless
    an earlier vote's pass spares it); returns the receipt code."""
    page.goto(f"/campaigns/{slug}/candidates/{candidate_id}/vote")
    expect(page.locator("form.vote-form")).to_be_visible()
    if page.locator("img.captcha-image").count():
        page.get_by_label("请输入图中的验证码").fill(captcha_answer)
    page.get_by_role("button", name="确认投票").click()
    expect(page.get_by_role("status").first).to_contain_text("投票成功")
    return page.locator("#receipt-code").inner_text().strip()


def publish_notice(page: Page, days: int) -> None:
    """On the results page: publish the notice for ``days`` working days. Where the
    holiday calendar does not know the year the period reaches into (late December,
    before the next year's 调休 are published), the form says so and asks for the end:
    it is given ``days`` + 7 calendar days on, at 18:00."""
    page.get_by_label("公示期（工作日）").fill(str(days))
    help_text = page.locator("#notice-end-help")
    if page.locator("#ends_at").count():
        expect(help_text).to_contain_text("尚未收录")
        ends = (now() + dt.timedelta(days=days + 7)).replace(hour=18, minute=0)
        page.locator("#ends_at").fill(minute(ends))
    else:
        expect(help_text).to_contain_text("个工作日 18:00 截止")
    page.get_by_role("button", name="发布公示").click()
    expect(page.locator(".flash-success")).to_contain_text("拟命名名单已发布公示")
