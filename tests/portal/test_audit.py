"""The audit log page: order, filters, Shanghai calendar days, paging, who may read it."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal import audit
from portal.audit import Actor
from portal.tables import AuditEntry
from tests.helpers import login, post_form

pytestmark = pytest.mark.usefixtures("staff")

UTC = dt.UTC


def entry(
    label: str,
    *,
    action: str = "campaign.update",
    actor_name: str = "admin",
    object_type: str = "campaign",
    at: dt.datetime | None = None,
) -> AuditEntry:
    row = AuditEntry(
        actor=None,
        actor_name=actor_name,
        actor_role="city_admin",
        action=action,
        object_type=object_type,
        object_id="1",
        object_label=label,
        before=None,
        after=None,
        network="192.0.2.1",
    )
    if at is not None:
        row.at = at
    return row


async def add(*rows: AuditEntry) -> None:
    await AuditEntry.insert(*rows).run()


def labels(page: str) -> list[str]:
    """The object labels of the listed entries, in page order."""
    return re.findall(r"<small>(条目[^<]*)</small>", page)


async def audit_page(client, **params: str | int) -> str:  # type: ignore[no-untyped-def]
    response = await client.get("/staff/audit", params=params)
    assert response.status_code == 200, response.text[:500]
    return response.text


async def test_entries_are_listed_newest_first(client) -> None:
    actor = Actor(staff_id=None, name="admin", role="city_admin", network="198.51.100.7")
    for label in ("条目-一", "条目-二", "条目-三"):
        await audit.record(actor, "campaign.update", ("campaign", 1), label=label)
    await login(client, "admin")
    page = await audit_page(client, action="campaign")
    assert labels(page) == ["条目-三", "条目-二", "条目-一"]
    assert "共 3 条记录" in page
    assert "198.51.100.7" in page


async def test_filter_by_action_prefix(client) -> None:
    await add(
        entry("条目-创建", action="campaign.create"),
        entry("条目-阶段", action="campaign.phase"),
        entry("条目-类别", action="category.create"),
        entry("条目-账号", action="staff.create", object_type="staff"),
    )
    await login(client, "admin")
    page = await audit_page(client, action="campaign")
    assert labels(page) == ["条目-阶段", "条目-创建"]
    assert "共 2 条记录" in page
    assert labels(await audit_page(client, action="campaign.phase")) == ["条目-阶段"]
    assert labels(await audit_page(client, action="category")) == ["条目-类别"]
    # Without a filter everything is listed, the sign-in included.
    page = await audit_page(client)
    assert labels(page) == ["条目-账号", "条目-类别", "条目-阶段", "条目-创建"]
    assert "staff.login" in page and "共 5 条记录" in page
    # The chosen action stays selected in the filter form.
    assert '<option value="campaign.phase" selected>' in await audit_page(
        client, action="campaign.phase"
    )


async def test_filter_by_actor(client) -> None:
    await add(
        entry("条目-管理员", actor_name="admin"),
        entry("条目-经办人", actor_name="clerk"),
        entry("条目-命令行", actor_name="命令行"),
    )
    await login(client, "auditor")
    assert labels(await audit_page(client, actor="clerk")) == ["条目-经办人"]
    assert labels(await audit_page(client, actor="命令行")) == ["条目-命令行"]
    page = await audit_page(client, actor="nobody")
    assert labels(page) == [] and "没有符合条件的记录。" in page
    # The actor filter is exact: "admin" is not "administrator".
    await add(entry("条目-别人", actor_name="administrator"))
    assert labels(await audit_page(client, actor="admin")) == ["条目-管理员"]


async def test_filter_by_object_type(client) -> None:
    await add(
        entry("条目-活动", object_type="campaign"),
        entry("条目-类别", object_type="category", action="category.create"),
    )
    await login(client, "admin")
    assert labels(await audit_page(client, object_type="category")) == ["条目-类别"]
    assert labels(await audit_page(client, object_type="campaign")) == ["条目-活动"]
    # Filters combine.
    assert labels(await audit_page(client, object_type="category", action="campaign")) == []


async def test_date_range_uses_shanghai_calendar_days(client) -> None:
    await add(
        # 2024-03-01 23:59:59 in Shanghai
        entry("条目-1日深夜", at=dt.datetime(2024, 3, 1, 15, 59, 59, tzinfo=UTC)),
        # 2024-03-02 00:00:00 in Shanghai, still 1 March in UTC
        entry("条目-2日零点", at=dt.datetime(2024, 3, 1, 16, 0, tzinfo=UTC)),
        # 2024-03-02 23:59:00 in Shanghai
        entry("条目-2日深夜", at=dt.datetime(2024, 3, 2, 15, 59, tzinfo=UTC)),
        # 2024-03-03 00:00:00 in Shanghai
        entry("条目-3日零点", at=dt.datetime(2024, 3, 2, 16, 0, tzinfo=UTC)),
    )
    await login(client, "admin")
    one_day = await audit_page(client, date_from="2024-03-02", date_to="2024-03-02")
    assert labels(one_day) == ["条目-2日深夜", "条目-2日零点"]
    # Times are shown in Shanghai time too.
    assert "2024-03-02 00:00:00" in one_day and "2024-03-02 23:59:00" in one_day

    assert labels(await audit_page(client, date_to="2024-03-01")) == ["条目-1日深夜"]
    since = await audit_page(client, date_from="2024-03-03", action="campaign")
    assert labels(since) == ["条目-3日零点"]
    until = await audit_page(client, date_from="2024-03-01", date_to="2024-03-02")
    assert labels(until) == ["条目-2日深夜", "条目-2日零点", "条目-1日深夜"]
    # An unreadable date is ignored rather than failing the page.
    assert len(labels(await audit_page(client, date_from="2024-13-45"))) == 4


async def test_pages_of_fifty(client) -> None:
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    await add(
        *(
            entry(f"条目{i:03d}", action="test.bulk", at=base + dt.timedelta(minutes=i))
            for i in range(1, 121)
        )
    )
    await login(client, "admin")

    first = await audit_page(client, action="test.bulk")
    assert "共 120 条记录" in first and "第 1 / 3 页" in first
    assert labels(first) == [f"条目{i:03d}" for i in range(120, 70, -1)]
    # The pager keeps the filter.
    links = [html.unescape(h) for h in re.findall(r'<a href="(\?[^"]*)">下一页</a>', first)]
    assert len(links) == 1 and "action=test.bulk" in links[0] and links[0].endswith("page=2")
    assert "上一页" not in first

    second = await client.get("/staff/audit" + links[0])
    assert second.status_code == 200
    assert labels(second.text) == [f"条目{i:03d}" for i in range(70, 20, -1)]
    assert "第 2 / 3 页" in second.text and "上一页" in second.text

    third = await audit_page(client, action="test.bulk", page=3)
    assert labels(third) == [f"条目{i:03d}" for i in range(20, 0, -1)]
    assert "下一页" not in third

    beyond = await audit_page(client, action="test.bulk", page=4)
    assert labels(beyond) == [] and "没有符合条件的记录。" in beyond
    assert (await client.get("/staff/audit", params={"page": 0})).status_code == 400


async def test_a_single_page_has_no_pager(client) -> None:
    await add(*(entry(f"条目{i:03d}", action="test.bulk") for i in range(50)))
    await login(client, "admin")
    page = await audit_page(client, action="test.bulk")
    assert len(labels(page)) == 50
    assert "下一页" not in page and "第 1 /" not in page


async def test_chinese_before_and_after_stay_chinese(client) -> None:
    actor = Actor(staff_id=None, name="命令行", network="")
    await audit.record(
        actor,
        "campaign.update",
        ("campaign", 7),
        before={"title": "定西市“枫桥式”评选", "notice_days": 7},
        after={"title": "定西市“枫桥式”评选（修订）", "notice_days": 5},
        label="条目-中文",
    )
    await login(client, "admin")
    page = await audit_page(client, action="campaign.update")
    text = html.unescape(page)
    assert 'title: "定西市“枫桥式”评选"' in text
    assert 'title: "定西市“枫桥式”评选（修订）"' in text
    assert "notice_days: 5" in text
    assert "\\u" not in page
    # An entry without a staff member still says who acted.
    assert "命令行" in page


async def test_city_admin_and_auditor_may_read_the_log(client) -> None:
    for username in ("admin", "auditor"):
        await login(client, username)
        page = await audit_page(client)
        assert "操作日志" in page and "staff.login" in page
        await post_form(client, "/logout")


@pytest.mark.parametrize("username", ["clerk", "reviewer"])
async def test_other_roles_may_not_read_the_log(client, username: str) -> None:
    await add(entry("条目-机密"))
    await login(client, username)
    response = await client.get("/staff/audit")
    assert response.status_code == 403
    assert "条目-机密" not in response.text


async def test_signed_out_visitors_are_sent_to_login(client) -> None:
    response = await client.get("/staff/audit")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")
