"""The organisation tree: importing it all or nothing, and the bureaus API."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from portal.audit import Actor
from portal.bureaus import ImportRefused, import_bureaus
from portal.tables import AuditEntry, Bureau

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
