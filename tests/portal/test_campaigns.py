"""Campaign administration: creating, editing, categories and phase moves (all audited)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import asyncpg
import pytest

from portal import campaigns as svc
from portal import phases
from portal.audit import Actor
from portal.tables import AuditEntry, Campaign, Category, Phase
from tests.helpers import login, post_form

pytestmark = pytest.mark.usefixtures("staff")

UTC = dt.UTC
NETWORK = "127.0.0.1"  # the test client's address (see the ``client`` fixture)

WINDOW_FORM = {
    "nominating_opens_at": "2024-05-01T09:00",
    "nominating_closes_at": "2024-05-20T18:00",
    "reviewing_opens_at": "2024-05-25T09:00",
    "reviewing_closes_at": "2024-06-05T18:00",
    "voting_opens_at": "2024-06-10T09:00",
    "voting_closes_at": "2024-06-20T18:00",
}


def campaign_form(**overrides: str) -> dict[str, str]:
    form = {
        "slug": "dingxi-2024",
        "title": "2024年度定西市“枫桥式”评选",
        "year": "2024",
        "description": "各县区司法局择优推荐。",
        "timezone": "Asia/Shanghai",
        "notice_days": "7",
        **WINDOW_FORM,
    }
    form.update(overrides)
    return form


def category_form(**overrides: str) -> dict[str, str]:
    form = {
        "key": "judicial-office",
        "title": "“枫桥式”司法所",
        "kind": "judicial_office",
        "quota": "7",
        "county_cap": "2",
        "votes_per_day": "3",
        "position": "0",
        "public_counts": "1",
    }
    form.update(overrides)
    return form


async def counts() -> tuple[int, int, int]:
    return (
        await Campaign.count().run(),
        await Category.count().run(),
        await AuditEntry.count().run(),
    )


async def entries(prefix: str = "") -> list[dict]:
    """Audit entries (oldest first), optionally only those whose action starts with prefix."""
    rows = (
        await AuditEntry.select(*AuditEntry.all_columns())
        .output(load_json=True)
        .order_by(AuditEntry.id)
        .run()
    )
    return [r for r in rows if r["action"].startswith(prefix)]


async def create(client, **overrides: str):  # type: ignore[no-untyped-def]
    response = await post_form(client, "/staff/campaigns/new", campaign_form(**overrides))
    assert response.status_code in (302, 303), response.text[:800]
    return response


async def add_category(client, slug: str = "dingxi-2024", **overrides: str):  # type: ignore[no-untyped-def]
    response = await post_form(
        client, f"/staff/campaigns/{slug}/categories/new", category_form(**overrides)
    )
    assert response.status_code in (302, 303), response.text[:800]
    return response


async def campaign(slug: str = "dingxi-2024") -> Campaign:
    found = await svc.get_campaign(slug)
    assert found is not None
    return found


async def set_phase(slug: str, phase: Phase) -> None:
    await Campaign.update({Campaign.phase: phase.value}).where(Campaign.slug == slug).run()


async def move(client, target: str, slug: str = "dingxi-2024") -> str:  # type: ignore[no-untyped-def]
    """Move the phase through the page; return the detail page shown afterwards (with flash)."""
    response = await post_form(client, f"/staff/campaigns/{slug}/phase", {"phase": target})
    assert response.status_code in (302, 303)
    assert response.headers["location"] == f"/staff/campaigns/{slug}"
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    return page.text


# --- creating ----------------------------------------------------------------------------


async def test_city_admin_creates_a_campaign_through_the_pages(client) -> None:
    await login(client, "admin")
    form = await client.get("/staff/campaigns/new")
    assert form.status_code == 200 and "新建评选活动" in form.text

    response = await create(client)
    assert response.headers["location"] == "/staff/campaigns/dingxi-2024"
    detail = await client.get("/staff/campaigns/dingxi-2024")
    assert detail.status_code == 200
    assert "2024年度定西市“枫桥式”评选" in detail.text and "筹备中" in detail.text
    assert "已创建评选活动" in detail.text  # the flash message

    created = await campaign()
    assert created.phase == Phase.draft.value
    assert (created.year, created.notice_days, created.timezone) == (2024, 7, "Asia/Shanghai")
    assert created.description == "各县区司法局择优推荐。"

    [entry] = await entries("campaign.")
    assert entry["action"] == "campaign.create"
    assert entry["object_type"] == "campaign" and entry["object_id"] == str(created.id)
    assert entry["object_label"] == "2024年度定西市“枫桥式”评选"
    assert (entry["actor_name"], entry["actor_role"]) == ("admin", "city_admin")
    assert entry["actor"] is not None
    assert entry["network"] == NETWORK
    assert entry["before"] is None
    assert entry["after"]["slug"] == "dingxi-2024"
    assert entry["after"]["title"] == "2024年度定西市“枫桥式”评选"
    assert dt.datetime.fromisoformat(entry["after"]["voting_opens_at"]) == dt.datetime(
        2024, 6, 10, 1, 0, tzinfo=UTC
    )


async def test_window_times_are_read_in_the_campaign_time_zone(client) -> None:
    await login(client, "admin")
    await create(client, voting_opens_at="2024-06-10T09:00", voting_closes_at="2024-06-20T18:00")
    shanghai = await campaign()
    # 09:00 in Asia/Shanghai (UTC+8) is 01:00 UTC.
    assert shanghai.voting_opens_at == dt.datetime(2024, 6, 10, 1, 0, tzinfo=UTC)
    assert shanghai.voting_closes_at == dt.datetime(2024, 6, 20, 10, 0, tzinfo=UTC)
    assert shanghai.nominating_opens_at == dt.datetime(2024, 5, 1, 1, 0, tzinfo=UTC)

    # The same wall-clock time in another zone is another instant (Berlin is UTC+2 in June).
    await create(client, slug="berlin-2024", timezone="Europe/Berlin")
    berlin = await campaign("berlin-2024")
    assert berlin.voting_opens_at == dt.datetime(2024, 6, 10, 7, 0, tzinfo=UTC)

    # The edit form shows the times back as they were entered, in the campaign's zone.
    edit = await client.get("/staff/campaigns/dingxi-2024/edit")
    assert 'value="2024-06-10T09:00"' in edit.text
    assert 'value="2024-06-20T18:00"' in edit.text
    edit = await client.get("/staff/campaigns/berlin-2024/edit")
    assert 'value="2024-06-10T09:00"' in edit.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "请填写活动名称。"),
        ({"slug": "A b!"}, "slug", "网址标识须为 3–64 位小写字母"),
        ({"year": "二〇二四"}, "year", "年度须为整数。"),
        ({"year": "1999"}, "year", "年度须在 2000 到 2100 之间。"),
        ({"notice_days": "0"}, "notice_days", "公示期（工作日）须在 1 到 30 之间。"),
        ({"timezone": "Mars/Olympus"}, "timezone", "时区无效"),
        ({"voting_opens_at": "明天"}, "voting_opens_at", "时间格式无效。"),
        (
            {"voting_opens_at": "2024-06-20T09:00", "voting_closes_at": "2024-06-10T09:00"},
            "voting_closes_at",
            "网络投票的结束时间须晚于开始时间。",
        ),
        (
            {"voting_opens_at": "2024-06-10T09:00", "voting_closes_at": "2024-06-10T09:00"},
            "voting_closes_at",
            "网络投票的结束时间须晚于开始时间。",
        ),
        (
            {"voting_closes_at": ""},
            "voting_closes_at",
            "网络投票的开始和结束时间须同时填写。",
        ),
        (
            {"voting_opens_at": "2024-05-10T09:00"},
            "voting_opens_at",
            "网络投票不能早于推荐申报结束。",
        ),
    ],
)
async def test_invalid_campaign_is_refused_next_to_the_field_and_nothing_is_written(
    client, overrides: dict[str, str], field: str, message: str
) -> None:
    await login(client, "admin")
    before = await counts()
    response = await post_form(client, "/staff/campaigns/new", campaign_form(**overrides))
    assert response.status_code == 400
    # The message sits right under its field, and the field is marked invalid.
    assert f'<p class="error" id="e-{field}">{message}' in response.text
    assert f'id="f-{field}"' in response.text and 'aria-invalid="true"' in response.text
    assert "请修改以下" in response.text
    # What was typed is kept in the form.
    assert 'value="2024年度定西市“枫桥式”评选"' in response.text or field == "title"
    assert await counts() == before


async def test_several_errors_are_shown_together(client) -> None:
    await login(client, "admin")
    before = await counts()
    response = await post_form(
        client, "/staff/campaigns/new", campaign_form(title="", year="", notice_days="31")
    )
    assert response.status_code == 400
    assert "请修改以下 3 处问题后再提交。" in response.text
    assert '<p class="error" id="e-title">请填写活动名称。</p>' in response.text
    assert '<p class="error" id="e-year">请填写年度。</p>' in response.text
    assert (
        '<p class="error" id="e-notice_days">公示期（工作日）须在 1 到 30 之间。</p>'
        in response.text
    )
    assert await counts() == before


async def test_duplicate_slug_is_refused(client) -> None:
    await login(client, "admin")
    await create(client)
    before = await counts()
    response = await post_form(
        client, "/staff/campaigns/new", campaign_form(title="另一个活动", slug="Dingxi-2024")
    )
    assert response.status_code == 400
    assert '<p class="error" id="e-slug">该网址标识已被使用。</p>' in response.text
    assert await counts() == before
    assert [c["title"] for c in await Campaign.select(Campaign.title).run()] == [
        "2024年度定西市“枫桥式”评选"
    ]


async def test_only_city_admin_may_create(client) -> None:
    await login(client, "clerk")
    before = await counts()
    response = await post_form(client, "/staff/campaigns/new", campaign_form())
    assert response.status_code == 403
    assert await counts() == before


# --- editing -----------------------------------------------------------------------------


async def test_edit_records_only_what_changed(client) -> None:
    await login(client, "admin")
    await create(client)
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/edit",
        campaign_form(title="2024年度“枫桥式”评选（修订）", notice_days="5"),
    )
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/staff/campaigns/dingxi-2024"
    edited = await campaign()
    assert (edited.title, edited.notice_days) == ("2024年度“枫桥式”评选（修订）", 5)

    [entry] = await entries("campaign.update")
    assert entry["before"] == {"title": "2024年度定西市“枫桥式”评选", "notice_days": 7}
    assert entry["after"] == {"title": "2024年度“枫桥式”评选（修订）", "notice_days": 5}
    assert entry["network"] == NETWORK and entry["actor_name"] == "admin"
    assert entry["object_id"] == str(edited.id)


async def test_network_vote_caps_default_and_are_edited_with_audit(client) -> None:
    """Blank caps keep the defaults; edited caps are saved and audited; bad ones refused."""
    await login(client, "admin")
    await create(client)
    created = await campaign()
    assert (created.network_votes_per_day, created.network_votes_per_minute) == (100, 20)
    refused = await post_form(
        client, "/staff/campaigns/dingxi-2024/edit", campaign_form(network_votes_per_day="0")
    )
    assert refused.status_code == 400
    assert "每个网络每日票数上限" in refused.text
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/edit",
        campaign_form(network_votes_per_day="500", network_votes_per_minute="30"),
    )
    assert response.status_code in (302, 303)
    edited = await campaign()
    assert (edited.network_votes_per_day, edited.network_votes_per_minute) == (500, 30)
    [entry] = await entries("campaign.update")
    assert entry["after"] == {"network_votes_per_day": 500, "network_votes_per_minute": 30}


async def test_edit_of_a_window_is_recorded_in_utc(client) -> None:
    await login(client, "admin")
    await create(client)
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/edit",
        campaign_form(voting_closes_at="2024-06-21T08:30"),
    )
    assert response.status_code in (302, 303)
    assert (await campaign()).voting_closes_at == dt.datetime(2024, 6, 21, 0, 30, tzinfo=UTC)
    [entry] = await entries("campaign.update")
    assert list(entry["after"]) == ["voting_closes_at"]
    assert dt.datetime.fromisoformat(entry["before"]["voting_closes_at"]) == dt.datetime(
        2024, 6, 20, 10, 0, tzinfo=UTC
    )
    assert dt.datetime.fromisoformat(entry["after"]["voting_closes_at"]) == dt.datetime(
        2024, 6, 21, 0, 30, tzinfo=UTC
    )


async def test_saving_an_unchanged_form_writes_no_audit_entry(client) -> None:
    await login(client, "admin")
    await create(client)
    before = await counts()
    response = await post_form(client, "/staff/campaigns/dingxi-2024/edit", campaign_form())
    assert response.status_code in (302, 303)
    assert await counts() == before


async def test_invalid_edit_changes_nothing(client) -> None:
    await login(client, "admin")
    await create(client)
    before = await counts()
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/edit",
        campaign_form(title="改了名字", voting_opens_at="2024-06-30T09:00"),
    )
    assert response.status_code == 400
    assert (
        '<p class="error" id="e-voting_closes_at">网络投票的结束时间须晚于开始时间。'
        in response.text
    )
    assert await counts() == before
    assert (await campaign()).title == "2024年度定西市“枫桥式”评选"


async def test_slug_may_change_only_while_draft_and_never_to_a_taken_one(client) -> None:
    await login(client, "admin")
    await create(client)
    await create(client, slug="other-2024", title="另一个活动")

    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/edit", campaign_form(slug="other-2024")
    )
    assert response.status_code == 400
    assert '<p class="error" id="e-slug">该网址标识已被使用。</p>' in response.text

    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/edit", campaign_form(slug="dingxi-2024a")
    )
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/staff/campaigns/dingxi-2024a"
    assert await svc.get_campaign("dingxi-2024") is None

    await set_phase("dingxi-2024a", Phase.nominating)
    before = await counts()
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024a/edit", campaign_form(slug="dingxi-2024b")
    )
    assert response.status_code == 400
    assert "活动发布后网址标识不能再修改。" in response.text
    assert await counts() == before
    assert await svc.get_campaign("dingxi-2024a") is not None


async def test_published_campaign_cannot_be_edited(client) -> None:
    await login(client, "admin")
    await create(client)
    await set_phase("dingxi-2024", Phase.published)
    before = await counts()
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/edit", campaign_form(title="改名")
    )
    assert response.status_code == 400
    assert "已正式命名的活动不能再修改。" in response.text
    assert await counts() == before


# --- categories --------------------------------------------------------------------------


async def test_categories_are_added_edited_and_deleted_with_audit(client) -> None:
    await login(client, "admin")
    await create(client)
    new_form = await client.get("/staff/campaigns/dingxi-2024/categories/new")
    assert new_form.status_code == 200 and "增加评选类别" in new_form.text

    response = await add_category(client)
    assert response.headers["location"] == "/staff/campaigns/dingxi-2024"
    await add_category(
        client, key="mediator", title="“枫桥式”人民调解员", kind="mediator", quota="21"
    )
    detail = await client.get("/staff/campaigns/dingxi-2024")
    assert "“枫桥式”司法所" in detail.text and "“枫桥式”人民调解员" in detail.text

    office = await Category.objects().where(Category.key == "judicial-office").first().run()
    assert (office.quota, office.county_cap, office.votes_per_day) == (7, 2, 3)
    assert office.public_counts is True
    assert office.campaign == (await campaign()).id

    created = await entries("category.create")
    assert [e["after"]["key"] for e in created] == ["judicial-office", "mediator"]
    assert created[0]["object_type"] == "category" and created[0]["network"] == NETWORK
    assert created[0]["object_label"] == "“枫桥式”司法所"

    edit_form = await client.get("/staff/campaigns/dingxi-2024/categories/judicial-office/edit")
    assert edit_form.status_code == 200 and 'value="7"' in edit_form.text
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/categories/judicial-office/edit",
        category_form(quota="8"),
    )
    assert response.status_code in (302, 303)
    assert (await Category.objects().get(Category.id == office.id).run()).quota == 8
    [update] = await entries("category.update")
    assert (update["before"], update["after"]) == ({"quota": 7}, {"quota": 8})
    assert update["object_id"] == str(office.id)

    response = await post_form(client, "/staff/campaigns/dingxi-2024/categories/mediator/delete")
    assert response.status_code in (302, 303)
    assert [r["key"] for r in await Category.select(Category.key).run()] == ["judicial-office"]
    [deleted] = await entries("category.delete")
    assert deleted["before"]["key"] == "mediator" and deleted["before"]["quota"] == 21
    assert deleted["after"] is None and deleted["network"] == NETWORK

    assert [e["action"] for e in await entries("category.")] == [
        "category.create",
        "category.create",
        "category.update",
        "category.delete",
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"quota": "0"}, "quota", "命名名额须在 1 到 1000 之间。"),
        ({"quota": "-3"}, "quota", "命名名额须在 1 到 1000 之间。"),
        ({"quota": ""}, "quota", "请填写命名名额。"),
        ({"county_cap": "0"}, "county_cap", "每个推荐单位上限须在 1 到 1000 之间。"),
        ({"votes_per_day": "101"}, "votes_per_day", "每人每日投票数须在 1 到 100 之间。"),
        ({"key": "司法所"}, "key", "类别标识须为 1–50 位小写字母"),
        ({"title": " "}, "title", "请填写类别名称。"),
    ],
)
async def test_invalid_category_is_refused_and_nothing_is_written(
    client, overrides: dict[str, str], field: str, message: str
) -> None:
    await login(client, "admin")
    await create(client)
    before = await counts()
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/categories/new", category_form(**overrides)
    )
    assert response.status_code == 400
    assert f'<p class="error" id="e-{field}">{message}' in response.text
    assert await counts() == before


async def test_invalid_category_edit_keeps_the_old_values(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)
    before = await counts()
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/categories/judicial-office/edit",
        category_form(quota="0", title="新名称"),
    )
    assert response.status_code == 400
    assert '<p class="error" id="e-quota">命名名额须在 1 到 1000 之间。</p>' in response.text
    assert await counts() == before
    office = await Category.objects().first().run()
    assert (office.quota, office.title) == (7, "“枫桥式”司法所")


async def test_duplicate_category_key_is_refused(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)
    await add_category(client, key="mediator", title="调解员", kind="mediator")
    before = await counts()

    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/categories/new", category_form(title="重复")
    )
    assert response.status_code == 400
    assert '<p class="error" id="e-key">该类别标识已存在。</p>' in response.text

    # Renaming one category's key onto another's is refused too.
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/categories/mediator/edit",
        category_form(key="judicial-office", title="调解员", kind="mediator"),
    )
    assert response.status_code == 400
    assert "该类别标识已存在。" in response.text
    assert await counts() == before

    # The same key in another campaign is fine.
    await create(client, slug="other-2024", title="另一个活动")
    await add_category(client, slug="other-2024")
    assert await Category.count().where(Category.key == "judicial-office").run() == 2


async def test_categories_are_frozen_by_phase(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)
    await set_phase("dingxi-2024", Phase.nominating)
    before = await counts()

    # Deleting only while draft: refused with a flash, the row stays.
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/categories/judicial-office/delete"
    )
    assert response.status_code in (302, 303)
    page = await client.get(response.headers["location"])
    assert "只有筹备中的活动可以删除评选类别。" in page.text
    # Keys are part of links once the campaign is public.
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/categories/judicial-office/edit",
        category_form(key="office"),
    )
    assert response.status_code == 400
    assert "活动发布后类别标识不能再修改。" in response.text
    assert await counts() == before

    # No new categories once nominations have closed.
    await set_phase("dingxi-2024", Phase.vetting)
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/categories/new", category_form(key="mediator")
    )
    assert response.status_code == 400
    assert "推荐申报结束后不能再增加评选类别。" in response.text
    # No edits at all from tallying on.
    await set_phase("dingxi-2024", Phase.tallying)
    response = await post_form(
        client,
        "/staff/campaigns/dingxi-2024/categories/judicial-office/edit",
        category_form(quota="9"),
    )
    assert response.status_code == 400
    assert "综合评定开始后不能再修改评选类别。" in response.text
    assert await counts() == before
    assert (await Category.objects().first().run()).quota == 7


async def test_unknown_category_is_404(client) -> None:
    await login(client, "admin")
    await create(client)
    assert (
        await client.get("/staff/campaigns/dingxi-2024/categories/nope/edit")
    ).status_code == 404
    before = await counts()
    response = await post_form(client, "/staff/campaigns/dingxi-2024/categories/nope/delete")
    assert response.status_code == 404
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/categories/nope/edit", category_form()
    )
    assert response.status_code == 404
    assert await counts() == before


async def test_database_enforces_unique_category_key_per_campaign(db, bureaus) -> None:
    first = Campaign(slug="c-one", title="一", year=2024)
    second = Campaign(slug="c-two", title="二", year=2024)
    await first.save().run()
    await second.save().run()

    def row(campaign_id: int) -> Category:
        return Category(
            campaign=campaign_id,
            key="mediator",
            title="人民调解员",
            kind="mediator",
            quota=1,
            county_cap=1,
        )

    await Category.insert(row(first.id)).run()
    with pytest.raises((sqlite3.IntegrityError, asyncpg.exceptions.UniqueViolationError)):
        await Category.insert(row(first.id)).run()
    await Category.insert(row(second.id)).run()  # same key, other campaign: fine
    assert await Category.count().run() == 2


# --- phases ------------------------------------------------------------------------------


async def test_phase_moves_forward_one_step_at_a_time_through_the_pages(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)

    page = await move(client, "nominating")
    assert "活动已进入「推荐申报」阶段。" in page
    assert (await campaign()).phase == "nominating"
    [entry] = await entries("campaign.phase")
    assert (entry["before"], entry["after"]) == ({"phase": "draft"}, {"phase": "nominating"})
    assert (entry["actor_name"], entry["network"]) == ("admin", NETWORK)
    assert entry["object_id"] == str((await campaign()).id)

    for target in ("vetting", "reviewing", "voting", "tallying"):
        before = (await campaign()).phase
        await move(client, target)
        assert (await campaign()).phase == target
        last = (await entries("campaign.phase"))[-1]
        assert (last["before"], last["after"]) == ({"phase": before}, {"phase": target})
    assert len(await entries("campaign.phase")) == 5
    # The notice publishes a computed ranking: without a tally the move is refused.
    page = await move(client, "notice")
    assert "尚未计算综合排名" in page
    assert (await campaign()).phase == "tallying"
    assert len(await entries("campaign.phase")) == 5


async def test_skipping_a_phase_is_refused_with_the_reason(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)
    before = await counts()
    page = await move(client, "voting")
    assert "阶段须依次推进：下一阶段是「推荐申报」。" in page
    assert (await campaign()).phase == "draft"
    assert await counts() == before


async def test_draft_needs_a_category_before_nominating(client) -> None:
    await login(client, "admin")
    await create(client)
    before = await counts()
    page = await move(client, "nominating")
    assert "请先设置至少一个评选类别。" in page
    assert (await campaign()).phase == "draft"
    assert await counts() == before


async def test_voting_needs_a_voting_window(client) -> None:
    await login(client, "admin")
    await create(client, voting_opens_at="", voting_closes_at="")
    await add_category(client)
    await set_phase("dingxi-2024", Phase.reviewing)
    before = await counts()
    page = await move(client, "voting")
    assert "请先设置网络投票的开始和结束时间。" in page
    assert (await campaign()).phase == "reviewing"
    assert await counts() == before


async def test_a_published_campaign_stays_published(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)
    await set_phase("dingxi-2024", Phase.published)
    before = await counts()
    for target in ("notice", "draft", "voting"):
        page = await move(client, target)
        assert "活动已正式命名，不能再变更阶段。" in page
    assert (await campaign()).phase == "published"
    assert await counts() == before


async def test_moving_back_is_allowed_only_before_voting(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)

    await set_phase("dingxi-2024", Phase.vetting)
    page = await move(client, "nominating")
    assert "活动已进入「推荐申报」阶段。" in page
    last = (await entries("campaign.phase"))[-1]
    assert (last["before"], last["after"]) == ({"phase": "vetting"}, {"phase": "nominating"})

    # Two steps back are refused.
    await set_phase("dingxi-2024", Phase.reviewing)
    before = await counts()
    page = await move(client, "nominating")
    assert "只能在网络投票开始前退回上一阶段。" in page
    assert (await campaign()).phase == "reviewing"
    assert await counts() == before

    # Once voting has started there is no way back.
    for current, target in (
        ("voting", "reviewing"),
        ("tallying", "voting"),
        ("notice", "tallying"),
    ):
        await set_phase("dingxi-2024", Phase(current))
        page = await move(client, target)
        assert "只能在网络投票开始前退回上一阶段。" in page
        assert (await campaign()).phase == current
    assert await counts() == before


async def test_unknown_and_same_phase_are_refused(client) -> None:
    await login(client, "admin")
    await create(client)
    before = await counts()
    page = await move(client, "finished")
    assert "未知阶段「finished」" in page
    page = await move(client, "draft")
    assert "活动已处于「筹备中」阶段。" in page
    assert await counts() == before


async def test_auditor_reads_but_cannot_move_phases(client) -> None:
    await login(client, "admin")
    await create(client)
    await add_category(client)
    await post_form(client, "/logout")
    await login(client, "auditor")
    assert (await client.get("/staff/campaigns/dingxi-2024")).status_code == 200
    before = await counts()
    response = await post_form(
        client, "/staff/campaigns/dingxi-2024/phase", {"phase": "nominating"}
    )
    assert response.status_code == 403
    assert (await campaign()).phase == "draft"
    assert await counts() == before


async def test_unknown_campaign_is_404(client) -> None:
    await login(client, "admin")
    assert (await client.get("/staff/campaigns/nope")).status_code == 404
    response = await post_form(client, "/staff/campaigns/nope/phase", {"phase": "nominating"})
    assert response.status_code == 404


# --- the service layer -------------------------------------------------------------------


async def _draft_with_category() -> Campaign:
    actor = Actor.command_line()
    created = await svc.create_campaign(actor, svc.parse_campaign(campaign_form()))
    await svc.save_category(actor, created, svc.parse_category(category_form()))
    return created


async def test_move_phase_from_the_command_line_is_audited(db, bureaus) -> None:
    await _draft_with_category()
    actor = Actor.command_line()
    moved = await phases.move_phase(actor, "dingxi-2024", "nominating")
    assert moved.phase == "nominating"
    assert (await campaign()).phase == "nominating"
    [entry] = await entries("campaign.phase")
    assert entry["actor"] is None
    assert (entry["actor_name"], entry["actor_role"], entry["network"]) == ("命令行", "", "")
    assert (entry["before"], entry["after"]) == ({"phase": "draft"}, {"phase": "nominating"})

    await phases.move_phase(actor, "dingxi-2024", "draft")  # back one step before voting
    assert (await campaign()).phase == "draft"
    assert len(await entries("campaign.phase")) == 2


async def test_move_phase_refusals_in_the_service(db, bureaus) -> None:
    actor = Actor.command_line()
    await svc.create_campaign(actor, svc.parse_campaign(campaign_form()))
    audit_before = await AuditEntry.count().run()

    with pytest.raises(phases.PhaseRefused, match="请先设置至少一个评选类别"):
        await phases.move_phase(actor, "dingxi-2024", "nominating")
    await svc.save_category(actor, await campaign(), svc.parse_category(category_form()))
    audit_before += 1
    with pytest.raises(phases.PhaseRefused, match="下一阶段是「推荐申报」"):
        await phases.move_phase(actor, "dingxi-2024", "vetting")
    with pytest.raises(LookupError):
        await phases.move_phase(actor, "no-such-campaign", "nominating")

    await (
        Campaign.update(
            {
                Campaign.phase: "reviewing",
                Campaign.voting_opens_at: None,
                Campaign.voting_closes_at: None,
            }
        )
        .where(Campaign.slug == "dingxi-2024")
        .run()
    )
    with pytest.raises(phases.PhaseRefused, match="网络投票的开始和结束时间"):
        await phases.move_phase(actor, "dingxi-2024", "voting")

    await set_phase("dingxi-2024", Phase.voting)
    with pytest.raises(phases.PhaseRefused, match="只能在网络投票开始前退回上一阶段"):
        await phases.move_phase(actor, "dingxi-2024", "reviewing")

    await set_phase("dingxi-2024", Phase.published)
    with pytest.raises(phases.PhaseRefused, match="活动已正式命名"):
        await phases.move_phase(actor, "dingxi-2024", "notice")
    assert (await campaign()).phase == "published"
    assert await AuditEntry.count().run() == audit_before


async def test_parse_campaign_interprets_local_times_in_its_zone() -> None:
    data = svc.parse_campaign(campaign_form(voting_opens_at="2024-06-10T09:00"))
    assert data.windows["voting_opens_at"] == dt.datetime(2024, 6, 10, 1, 0, tzinfo=UTC)
    # An explicit offset wins over the campaign's zone.
    data = svc.parse_campaign(campaign_form(voting_opens_at="2024-06-10T09:00+00:00"))
    assert data.windows["voting_opens_at"] == dt.datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
