"""To-dos (待办) on the staff home page: each role sees what waits for it, within its scope
(a clerk never sees another county's nominations), with the deadline and the working
days left."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nominations import todo as nomination_todo
from nominations.tables import Assignment, Nomination, Status
from portal import todo
from portal.tables import Bureau, Campaign, CategoryKind, Phase, Role
from tests import factories
from tests.helpers import login

BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Scene:
    campaign: Campaign
    anding: int
    longxi: int


async def make_scene(phase: Phase = Phase.nominating) -> Scene:
    """A campaign organised by the city (its counties nominate) with drafts, a returned
    and a submitted nomination of 安定区 and a draft of 陇西县; clerks of both counties."""
    await factories.accounts(("clerk2", Role.county_clerk.value, "陇西县"))
    city = await Bureau.objects().where(Bureau.name == "定西市司法局").first().run()
    now = dt.datetime.now(dt.UTC)
    campaign, categories = await factories.campaign(
        [
            {
                "key": "judicial-office",
                "title": "“枫桥式”司法所",
                "kind": CategoryKind.judicial_office.value,
                "quota": 3,
                "county_cap": 3,
            }
        ],
        slug="todo-2025",
        title="2025年度待办测试评选",
        year=2025,
        organiser=city.id,
        phase=phase.value,
        nominating_opens_at=now - dt.timedelta(days=2),
        nominating_closes_at=now + dt.timedelta(days=12),
        reviewing_opens_at=now + dt.timedelta(days=20),
        reviewing_closes_at=now + dt.timedelta(days=30),
    )
    category = categories["judicial-office"]
    anding = (await factories.user("clerk")).bureau_id
    longxi = (await factories.user("clerk2")).bureau_id

    def nomination(bureau: int, name: str, status: Status, **extra: object) -> Nomination:
        return Nomination(
            campaign=campaign.id,
            category=category.id,
            bureau=bureau,
            status=status.value,
            name=name,
            **extra,
        )

    await factories.save(
        nomination(anding, "安定区草稿司法所", Status.draft),
        nomination(anding, "安定区退回司法所", Status.returned, decision_reason="缺少调解卷宗"),
        nomination(anding, "安定区报送司法所", Status.submitted, place=1),
        nomination(longxi, "陇西县草稿司法所", Status.draft),
        nomination(longxi, "陇西县退回司法所", Status.returned, decision_reason="陇西县的理由"),
    )
    return Scene(campaign, anding, longxi)


# --- how long is left -------------------------------------------------------------------


def test_working_days_left_skip_the_national_day_holiday() -> None:
    # 2025: 10月1日–8日 off, Saturday 10月11日 worked (调休).
    now = dt.datetime(2025, 9, 30, 10, 0, tzinfo=BEIJING)
    deadline = dt.datetime(2025, 10, 11, 18, 0, tzinfo=BEIJING)
    left = todo.time_left(deadline, "Asia/Shanghai", now)
    # 10月9日 (Thu), 10日 (Fri) and the 调休 Saturday 11日.
    assert left.text == "还剩 3 个工作日"
    assert left.soon and not left.overdue


def test_time_left_today_overdue_and_unknown_year() -> None:
    now = dt.datetime(2025, 11, 3, 9, 0, tzinfo=BEIJING)
    assert todo.time_left(now + dt.timedelta(hours=8), "Asia/Shanghai", now).text == "今天截止"
    late = todo.time_left(now - dt.timedelta(days=2), "Asia/Shanghai", now)
    assert late.overdue and late.text == "已逾期 2 天"
    far = dt.datetime(2199, 1, 10, 18, 0, tzinfo=BEIJING)
    beyond = todo.time_left(far, "Asia/Shanghai", dt.datetime(2199, 1, 1, tzinfo=BEIJING))
    assert beyond.text == "还剩 9 天（2199年节假日安排未收录，按自然日计）"


def test_view_marks_an_overdue_item_urgent_and_names_beijing_time() -> None:
    now = dt.datetime(2025, 11, 3, 9, 0, tzinfo=BEIJING)
    item = todo.Todo("x", "/x", now - dt.timedelta(hours=1), "Asia/Shanghai", "推荐申报截止")
    shown = todo.view(item, now)
    assert shown["urgent"] and shown["left"] == "已过截止时间"
    assert "2025年11月03日 08:00" in shown["due"] and "北京时间" in shown["due"]


# --- per role and scope -----------------------------------------------------------------


async def test_a_clerk_sees_their_own_countys_drafts_and_returns_only(staff: dict) -> None:
    scene = await make_scene()
    items = await nomination_todo.reminders(await factories.user("clerk"))
    texts = " ".join(item.text for item in items)
    assert "草稿「安定区草稿司法所」" in texts
    assert "「安定区退回司法所」（“枫桥式”司法所）被退回修改，退回意见：缺少调解卷宗" in texts
    assert "陇西县" not in texts
    assert "安定区报送司法所" not in texts  # submitted: nothing for the clerk to do
    draft = next(item for item in items if "草稿" in item.text)
    assert draft.deadline == scene.campaign.nominating_closes_at
    assert draft.deadline_label == "推荐申报截止"
    other = " ".join(
        i.text for i in await nomination_todo.reminders(await factories.user("clerk2"))
    )
    assert "陇西县草稿司法所" in other and "安定区" not in other


async def test_drafts_are_no_to_do_once_the_window_has_closed(staff: dict) -> None:
    await make_scene(Phase.vetting)
    items = await nomination_todo.reminders(await factories.user("clerk"))
    assert [i for i in items if "退回" in i.text]
    assert not [i for i in items if "草稿" in i.text]


async def test_the_city_sees_its_vetting_queue_and_unscored_reviews(staff: dict) -> None:
    scene = await make_scene()
    items = await nomination_todo.reminders(await factories.user("admin"))
    assert [i.text for i in items] == ["2025年度待办测试评选：1 份已报送的推荐待审核"]
    assert items[0].href == "/staff/nominations?campaign=todo-2025&status=submitted"

    # The review: two unscored assignments (one waived does not count), one scored.
    await (
        Campaign.update({Campaign.phase: Phase.reviewing.value})
        .where(Campaign.id == scene.campaign.id)
        .run()
    )
    await (
        Nomination.update({Nomination.status: Status.shortlisted.value})
        .where(Nomination.name == "安定区报送司法所")
        .run()
    )
    candidate = await Nomination.objects().where(Nomination.name == "安定区报送司法所").first()
    reviewer = await factories.user("reviewer")
    await factories.accounts(("reviewer2", Role.reviewer.value, "临洮县"))
    reviewer2 = await factories.user("reviewer2")
    await factories.save(
        Assignment(nomination=candidate.id, reviewer=reviewer.id),
        Assignment(nomination=candidate.id, reviewer=reviewer2.id),
    )
    # Assigned before the review opens: a heads-up by the opening, not yet a score due.
    await (
        Campaign.update({Campaign.phase: Phase.vetting.value})
        .where(Campaign.id == scene.campaign.id)
        .run()
    )
    early = await nomination_todo.reminders(reviewer)
    assert [i.text for i in early] == [
        "2025年度待办测试评选：已分配给您 1 个候选对象，专家评审开始后评分，可先查阅推荐材料"
    ]
    assert (early[0].deadline, early[0].deadline_label) == (
        scene.campaign.reviewing_opens_at,
        "专家评审开始",
    )
    await (
        Campaign.update({Campaign.phase: Phase.reviewing.value})
        .where(Campaign.id == scene.campaign.id)
        .run()
    )
    admin_items = await nomination_todo.reminders(await factories.user("admin"))
    assert [i.text for i in admin_items] == [
        "2025年度待办测试评选：2 位评审专家尚有 2 份评分未提交"
    ]
    assert admin_items[0].deadline == scene.campaign.reviewing_closes_at

    mine = await nomination_todo.reminders(reviewer)
    assert [i.text for i in mine] == ["2025年度待办测试评选：1 个候选对象待您评分"]
    assert mine[0].deadline_label == "专家评审截止"
    await (
        Assignment.update({Assignment.submitted_at: dt.datetime.now(dt.UTC)})
        .where(Assignment.reviewer == reviewer.id)
        .run()
    )
    assert await nomination_todo.reminders(reviewer) == []
    assert (
        "1 位评审专家尚有 1 份"
        in (await nomination_todo.reminders(await factories.user("admin")))[0].text
    )


async def test_another_organisations_admin_sees_none_of_it(staff: dict) -> None:
    await make_scene()
    await factories.accounts(("other-admin", Role.city_admin.value, "安定区"))
    assert await nomination_todo.reminders(await factories.user("other-admin")) == []


async def test_the_home_page_lists_the_to_dos_with_working_days_left(client, staff: dict) -> None:
    await make_scene()
    await login(client, "clerk")
    page = (await client.get("/staff")).text
    assert "待办" in page and "安定区草稿司法所" in page and "缺少调解卷宗" in page
    assert "陇西县" not in page
    assert "推荐申报截止：" in page and "个工作日" in page and "北京时间" in page
