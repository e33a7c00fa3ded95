"""The organisation tree: importing it all or nothing, the bureaus API, and the staff
pages where an administrator manages the bureaus below their own."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from portal.accounts import load_staff
from portal.audit import Actor
from portal.bureaus import (
    BureauRefused,
    ImportRefused,
    active_tree,
    add_bureau,
    delete_bureau,
    import_bureaus,
    rename_bureau,
    retire_bureau,
    subtree,
)
from portal.campaigns import organiser_of
from portal.errors import Invalid
from portal.tables import AuditEntry, Bureau, Staff
from tests import factories
from tests.helpers import PASSWORD, csrf_token, login, post_form

ACTOR = Actor.command_line()
HEADER = "name,short_name,level,parent\n"
# A province above two cities, one of them with two counties (listed children first, to
# show that the order of the file does not matter).
GANSU = (
    HEADER
    + "安定区司法局,安定区,county,定西市司法局\n"
    + "临洮县司法局,临洮县,county,定西市司法局\n"
    + "定西市司法局,定西市,city,甘肃省司法厅\n"
    + "白银市司法局,白银市,city,甘肃省司法厅\n"
    + "甘肃省司法厅,甘肃省,province,\n"
)


async def tree() -> dict[str, tuple[str, str, str | None]]:
    rows = await Bureau.select(
        Bureau.name, Bureau.short_name, Bureau.level, Bureau.parent.name.as_alias("parent")
    ).run()
    return {r["name"]: (r["short_name"], r["level"], r["parent"]) for r in rows}


async def refused(csv_text: str | bytes) -> list[str]:
    """What a refused import says, row by row; the tree must be left as it was."""
    before = await tree()
    data = csv_text.encode() if isinstance(csv_text, str) else csv_text
    with pytest.raises(ImportRefused) as caught:
        await import_bureaus(ACTOR, data)
    assert await tree() == before
    return [str(p) for p in caught.value.problems]


async def test_a_file_builds_the_tree_and_a_second_one_updates_it(db) -> None:
    done = await import_bureaus(ACTOR, GANSU.encode())
    assert (done.added, done.updated) == (5, 0)
    assert await tree() == {
        "甘肃省司法厅": ("甘肃省", "province", None),
        "定西市司法局": ("定西市", "city", "甘肃省司法厅"),
        "白银市司法局": ("白银市", "city", "甘肃省司法厅"),
        "安定区司法局": ("安定区", "county", "定西市司法局"),
        "临洮县司法局": ("临洮县", "county", "定西市司法局"),
    }
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).run()]
    assert actions.count("bureau.create") == 5
    again = (
        HEADER + "临洮县司法局,临洮,county,定西市司法局\n会宁县司法局,会宁县,county,白银市司法局\n"
    )
    done = await import_bureaus(ACTOR, again.encode())
    assert (done.added, done.updated) == (1, 1)
    found = await tree()
    assert found["临洮县司法局"] == ("临洮", "county", "定西市司法局")
    assert found["会宁县司法局"] == ("会宁县", "county", "白银市司法局")
    assert len(found) == 6


async def test_an_xlsx_is_read_by_its_content_and_formulas_are_refused(db) -> None:
    wb = Workbook()
    ws = wb.active
    for line in GANSU.strip().splitlines():
        ws.append(line.split(","))
    buffer = io.BytesIO()
    wb.save(buffer)
    done = await import_bureaus(ACTOR, buffer.getvalue())
    assert done.added == 5
    ws.append(['=HYPERLINK("http://evil.example")', "x", "county", "定西市司法局"])
    buffer = io.BytesIO()
    wb.save(buffer)
    assert await refused(buffer.getvalue()) == ["第 7 行：不能使用公式，请直接填写内容。"]


async def test_every_bad_row_is_named_and_nothing_is_imported(db) -> None:
    problems = await refused(
        HEADER
        + "甘肃省司法厅,甘肃省,province,\n"
        + ",定西市,city,甘肃省司法厅\n"
        + "兰州市司法局,兰州市,town,甘肃省司法厅\n"
        + "甘肃省司法厅,甘肃,province,\n"
        + "天水市司法局,天水市,city,天水市司法局\n"
    )
    assert problems == [
        "第 3 行「名称」：不能为空。",
        "第 4 行「层级」：须为 province、city、county、township 之一。",
        "第 5 行「名称」：与第 2 行重复。",
        "第 6 行「上级单位」：不能是本单位自己。",
    ]


async def test_the_tree_must_hold_together(db) -> None:
    await import_bureaus(ACTOR, GANSU.encode())
    problems = await refused(
        HEADER
        + "兰州市司法局,兰州市,city,四川省司法厅\n"  # no such parent
        + "城关区司法局,城关区,city,兰州市司法局\n"  # not below its parent's level
        + "甘肃省司法厅,甘肃省,county,\n"  # its cities would sit above it
    )
    assert problems == [
        "第 2 行「上级单位」：找不到上级单位「四川省司法厅」。",
        "第 3 行「层级」：须低于上级单位「兰州市司法局」的层级（city）。",
        "第 4 行「层级」：下级单位「定西市司法局」的层级须低于本单位。",
        "第 4 行「层级」：下级单位「白银市司法局」的层级须低于本单位。",
    ]


UNREADABLE = "无法读取该文件：请上传 UTF-8 编码的 CSV 文件或 .xlsx 工作簿。"
WRONG_HEADER = (
    "第 1 行：表头须为 name,short_name,level,parent（依次为名称、简称、层级、上级单位）。"
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "文件为空。"),
        (b"\xff\xfe\x00n\x00a", UNREADABLE),
        (b"PK\x03\x04 not really a workbook", UNREADABLE),
        ("名称,简称,层级,上级\n甲,甲,city,\n".encode(), WRONG_HEADER),
        (HEADER.encode(), "文件中没有单位。"),
    ],
)
async def test_a_file_that_is_not_a_bureau_list_is_refused(db, data: bytes, message: str) -> None:
    assert await refused(data) == [message]


async def test_the_bureaus_api_lists_active_bureaus_parents_first(client, db) -> None:
    await import_bureaus(ACTOR, GANSU.encode())
    response = await client.get("/api/v1/bureaus")
    assert response.status_code == 200
    body = response.json()
    assert all(set(item) == {"id", "name", "short_name", "level", "parent_id"} for item in body)
    names = [item["name"] for item in body]
    assert names[0] == "甘肃省司法厅" and set(names[1:3]) == {"定西市司法局", "白银市司法局"}
    ids = {item["name"]: item["id"] for item in body}
    seen: set[int] = set()
    for item in body:
        assert item["parent_id"] is None or item["parent_id"] in seen, item
        seen.add(item["id"])
    assert next(i for i in body if i["name"] == "安定区司法局")["parent_id"] == ids["定西市司法局"]
    assert {i["level"] for i in body} == {"province", "city", "county"}


# --- the staff pages: the tree below an administrator's bureau ------------------------------


async def two_cities() -> dict[str, int]:
    """The province above 定西 (two counties) and 白银; an administrator of each city and
    of the province, a clerk of 安定区. Returns the bureaus' ids by name."""
    await import_bureaus(ACTOR, GANSU.encode())
    await factories.accounts(
        ("dingxi-admin", "city_admin", "定西市司法局"),
        ("baiyin-admin", "city_admin", "白银市司法局"),
        ("anding-clerk", "county_clerk", "安定区司法局"),
    )
    return {r["name"]: r["id"] for r in await Bureau.select(Bureau.id, Bureau.name).run()}


async def test_an_administrator_sees_and_changes_only_the_tree_below_their_bureau(
    client, db
) -> None:
    ids = await two_cities()
    await login(client, "dingxi-admin")
    page = await client.get("/staff/bureaus")
    assert page.status_code == 200
    # The tree (the site's header names the installation's host, the province).
    listed = page.text[page.text.index("<table") : page.text.index("</table>")]
    assert "定西市司法局" in listed and "安定区司法局" in listed and "临洮县司法局" in listed
    assert "白银市司法局" not in listed and "甘肃省司法厅" not in listed
    # The other city's bureaus, and the province above, do not exist for this administrator.
    for name in ("白银市司法局", "甘肃省司法厅"):
        assert (await client.get(f"/staff/bureaus/{ids[name]}/edit")).status_code == 404
        before = await tree()
        for action, data in (
            ("edit", {"name": "改名", "short_name": "改名"}),
            ("retire", {"retire": "1"}),
            ("delete", {}),
        ):
            answer = await post_form(client, f"/staff/bureaus/{ids[name]}/{action}", data)
            assert answer.status_code == 404, (name, action)
        assert await tree() == before
    added = await post_form(
        client,
        "/staff/bureaus/new",
        {
            "parent": str(ids["白银市司法局"]),
            "name": "会宁县司法局",
            "short_name": "会宁县",
            "level": "county",
        },
    )
    assert added.status_code == 404
    assert "会宁县司法局" not in await tree()


async def test_adding_a_bureau_checks_its_names_and_level(client, db) -> None:
    ids = await two_cities()
    await login(client, "dingxi-admin")
    form = {"parent": str(ids["定西市司法局"]), "short_name": "渭源县", "level": "county"}
    before = await tree()
    for data, field_error in (
        ({**form, "name": ""}, "请填写名称"),
        ({**form, "name": "安定区司法局"}, "已有同名单位"),
        ({**form, "name": "白银市司法局"}, "已有同名单位"),
        ({**form, "name": "渭源县司法局", "level": "city"}, "须低于上级单位的层级"),
        ({**form, "name": "渭源\u200b县司法局"}, "不可见字符"),
        ({**form, "name": "渭源县司法局", "parent": "x"}, "请选择上级单位"),
    ):
        page = await post_form(client, "/staff/bureaus/new", data)
        assert page.status_code == 400, data
        assert field_error in page.text, (data, page.text[:2000])
        assert "Traceback" not in page.text
    assert await tree() == before
    done = await post_form(client, "/staff/bureaus/new", {**form, "name": "渭源县司法局"})
    assert done.status_code in (302, 303)
    assert (await tree())["渭源县司法局"] == ("渭源县", "county", "定西市司法局")
    audit = await AuditEntry.select(AuditEntry.action, AuditEntry.actor_name).run()
    assert {"action": "bureau.create", "actor_name": "dingxi-admin"} in audit


async def test_a_renamed_bureau_keeps_its_old_name_for_finished_campaigns(db) -> None:
    ids = await two_cities()
    admin = await factories.user("dingxi-admin")
    actor = factories.actor_for(admin)
    finished, _ = await factories.campaign(
        [],
        slug="dingxi-2022",
        title="2022年度评选",
        year=2022,
        phase="published",
        organiser=ids["定西市司法局"],
        finished_at=dt.datetime(2022, 12, 30, tzinfo=dt.UTC),
    )
    running, _ = await factories.campaign(
        [], slug="dingxi-2024", title="2024年度评选", year=2024, organiser=ids["定西市司法局"]
    )
    await rename_bureau(actor, admin.bureau_id, ids["定西市司法局"], "定西市司法局（新）", "定西市")
    assert (await organiser_of(finished)).name == "定西市司法局"  # type: ignore[union-attr]
    assert (await organiser_of(running)).name == "定西市司法局（新）"  # type: ignore[union-attr]
    (node,) = [n for n in await subtree(admin.bureau_id) if n.id == ids["定西市司法局"]]
    assert node.former_names == ("定西市司法局",)
    # Renamed twice: each finished campaign keeps the name of its own time.
    await rename_bureau(actor, admin.bureau_id, ids["定西市司法局"], "定西市司法局", "定西市")
    assert (await organiser_of(finished)).name == "定西市司法局"  # type: ignore[union-attr]
    entries = await AuditEntry.select(AuditEntry.before, AuditEntry.after).where(
        AuditEntry.action == "bureau.rename"
    )
    assert len(entries) == 2


async def test_retiring_a_bureau_closes_its_accounts_and_keeps_its_history(client, db) -> None:
    ids = await two_cities()
    admin = await factories.user("dingxi-admin")
    actor = factories.actor_for(admin)
    clerk = await factories.user("anding-clerk")
    with pytest.raises(BureauRefused, match="不能撤销本单位"):
        await retire_bureau(actor, admin.bureau_id, admin.bureau_id, True)
    await retire_bureau(actor, admin.bureau_id, ids["安定区司法局"], True)
    # The clerk's session ends and the password no longer signs in.
    assert await load_staff(clerk.id) is None
    refused_login = await post_form(
        client, "/login", {"username": "anding-clerk", "password": PASSWORD}
    )
    assert refused_login.status_code == 400
    # It cannot be deleted (it has an account), and a new bureau cannot go below it.
    with pytest.raises(BureauRefused, match="工作人员账号"):
        await delete_bureau(actor, admin.bureau_id, ids["安定区司法局"])
    with pytest.raises(Invalid) as caught:
        await add_bureau(
            actor, admin.bureau_id, ids["安定区司法局"], "某司法所", "某镇", "township"
        )
    assert "已撤销" in caught.value.errors["parent"]
    assert "安定区司法局" not in {b["name"] for b in await active_tree()}
    await retire_bureau(actor, admin.bureau_id, ids["安定区司法局"], False)
    assert await load_staff(clerk.id) is not None


async def test_a_bureau_with_active_children_or_history_is_not_retired_or_deleted(db) -> None:
    ids = await two_cities()
    province = Actor.command_line()
    top = ids["甘肃省司法厅"]
    with pytest.raises(BureauRefused, match="未撤销的下级单位"):
        await retire_bureau(province, top, ids["定西市司法局"], True)
    with pytest.raises(BureauRefused, match="下级单位、工作人员账号"):
        await delete_bureau(province, top, ids["定西市司法局"])
    await factories.campaign(
        [], slug="baiyin-2024", title="评选", year=2024, organiser=ids["白银市司法局"]
    )
    with pytest.raises(BureauRefused, match="评选活动"):
        await delete_bureau(province, top, ids["白银市司法局"])
    # A bureau added by mistake, with nothing recorded, can go.
    assert await delete_bureau(province, top, ids["临洮县司法局"]) == "临洮县司法局"
    assert "临洮县司法局" not in await tree()


async def test_an_administrators_import_stays_below_their_bureau(client, db) -> None:
    await two_cities()
    await login(client, "dingxi-admin")
    before = await tree()
    outside = (
        HEADER
        + "渭源县司法局,渭源县,county,定西市司法局\n会宁县司法局,会宁县,county,白银市司法局\n"
    )
    page = await client.post(
        "/staff/bureaus/import",
        data={"_csrf_token": await csrf_token(client)},
        files={"file": ("单位.csv", outside.encode(), "text/csv")},
    )
    assert page.status_code == 400
    assert "未导入任何单位" in page.text
    assert "第 3 行「上级单位」：须是定西市司法局或其下级单位。" in page.text
    assert await tree() == before
    inside = HEADER + "渭源县司法局,渭源县,county,定西市司法局\n"
    done = await client.post(
        "/staff/bureaus/import",
        data={"_csrf_token": await csrf_token(client)},
        files={"file": ("单位.csv", inside.encode(), "text/csv")},
    )
    assert done.status_code in (302, 303)
    assert (await tree())["渭源县司法局"] == ("渭源县", "county", "定西市司法局")
    not_a_sheet = await client.post(
        "/staff/bureaus/import",
        data={"_csrf_token": await csrf_token(client)},
        files={"file": ("单位.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv")},
    )
    assert not_a_sheet.status_code == 400 and "无法读取该文件" in not_a_sheet.text


async def test_accounts_are_managed_within_the_administrators_tree(client, db) -> None:
    await two_cities()
    await factories.accounts(("province-admin", "city_admin", "甘肃省司法厅"))
    await login(client, "dingxi-admin")
    listed = (await client.get("/staff/accounts")).text
    assert "anding-clerk" in listed and "dingxi-admin" in listed
    assert "baiyin-admin" not in listed and "province-admin" not in listed
    form = (await client.get("/staff/accounts/new")).text
    assert "临洮县司法局" in form and "白银市司法局" not in form
    before = await Staff.select(Staff.username, Staff.active).order_by(Staff.id).run()
    other = await post_form(client, "/staff/accounts/baiyin-admin/active", {"active": "0"})
    assert other.status_code == 404
    outside = {
        "username": "baiyin-clerk",
        "role": "county_clerk",
        "bureau": "白银市司法局",
        "password": "A-new-password",
        "password2": "A-new-password",
    }
    refused = await post_form(client, "/staff/accounts/new", outside)
    assert refused.status_code == 400 and "找不到单位「白银市司法局」" in refused.text
    assert await Staff.select(Staff.username, Staff.active).order_by(Staff.id).run() == before
    # The province's administrator sees both cities' accounts; a county may have one too.
    await post_form(client, "/logout")
    await login(client, "province-admin")
    listed = (await client.get("/staff/accounts")).text
    assert "baiyin-admin" in listed and "anding-clerk" in listed
    county_admin = {**outside, "username": "anding-admin", "role": "city_admin"}
    made = await post_form(
        client, "/staff/accounts/new", {**county_admin, "bureau": "安定区司法局"}
    )
    assert made.status_code in (302, 303), made.text[:2000]
    top_clerk = {**outside, "username": "province-clerk", "bureau": "甘肃省司法厅"}
    refused = await post_form(client, "/staff/accounts/new", top_clerk)
    assert refused.status_code == 400 and "向上级单位主办的活动推荐" in refused.text
