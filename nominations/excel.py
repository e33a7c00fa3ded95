"""Excel (.xlsx) templates, imports and exports of nominations.

Pure functions on bytes and plain data — no database access. They are CPU-bound and
blocking, so callers run them in a worker thread (``anyio.to_thread.run_sync``).

The columns of every sheet come from ``nominations.fields``: a column's header is the
field's Chinese label, so templates, imports and exports never disagree with the forms.

Template layout (sheet “推荐对象”):

* row 1 — the title (category and kind);
* row 2 — the headers; a required field (needed to *submit*) ends with ``*`` and has an
  orange fill, an optional one a blue fill;
* row 3 — one grey example row whose name starts with “（示例）”; it is never imported;
* rows 4… — the county's data, at most ``MAX_ROWS`` rows.

``parse_workbook`` finds the header row itself (any of the first rows), so a sheet that
was copied elsewhere still imports; error row numbers are the row numbers Excel shows.
Row 0 stands for the file as a whole.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from nominations import conditions, fields
from nominations.fields import Field
from portal import sheets
from portal.tables import CategoryKind

__all__ = [
    "EXAMPLE_PREFIX",
    "MAX_ROWS",
    "NOTES_SHEET",
    "SHEET",
    "ImportFailed",
    "RowError",
    "export_columns",
    "export_workbook",
    "parse_workbook",
    "template_workbook",
]

SHEET = "推荐对象"
NOTES_SHEET = "填写说明"
MAX_ROWS = 200
EXAMPLE_PREFIX = "（示例）"
TITLE_ROW, HEADER_ROW, EXAMPLE_ROW = 1, 2, 3
FILE = "文件"  # the column of errors about the file as a whole (row 0)
REQUIRED_MARK = "*"
# How far down parse_workbook looks for the header row.
HEADER_SEARCH_ROWS = 10
# Kept in the workbook's core properties to recognise a template of another kind.
KEYWORD_PREFIX = "fengqiao-nominations:"

UNREADABLE = "无法读取该文件，请上传由本平台下载的 .xlsx 模板。"
FORMULA_REFUSED = "不能使用公式，请直接填写内容（可复制后“选择性粘贴”为“值”）。"

_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_EXAMPLE_FILL = PatternFill("solid", fgColor="E7E6E6")
_HEADER_FONT = Font(bold=True)
_EXAMPLE_FONT = Font(italic=True, color="7F7F7F")
_TITLE_FONT = Font(bold=True, size=14)
_THIN = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")


@dataclass(frozen=True)
class RowError:
    """One problem of an import: Excel's row number (0 = the file), column label, message."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row == 0:
            return f"{self.column}：{self.message}"
        return f"第 {self.row} 行“{self.column}”：{self.message}"


class ImportFailed(ValueError):
    """The workbook was refused; ``errors`` lists every problem found. Nothing is imported."""

    errors: list[RowError]

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = list(errors)
        super().__init__(f"导入失败，共 {len(self.errors)} 处错误。")


class _Formula:
    """A formula cell of an imported sheet. Refused whatever it computes: the import takes
    what was typed, never what a formula (perhaps one reading hidden cells) shows."""

    def __str__(self) -> str:
        return "（公式）"


FORMULA = _Formula()


# --------------------------------------------------------------------------- helpers


def _kind(kind: CategoryKind | str) -> CategoryKind:
    return CategoryKind(kind)


def _normalise_header(text: Any) -> str:
    """A header cell as compared with the labels: no spaces, no required marker, full-width
    brackets (“调解成功(件) *” matches “调解成功（件）”)."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFKC", str(text))  # full-width ＊ and spaces → ASCII
    value = re.sub(r"[\s*]+", "", value)
    return value.replace("(", "（").replace(")", "）")


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _header_text(field: Field) -> str:
    return f"{field.label}{REQUIRED_MARK}" if field.required else field.label


def _format_text(field: Field) -> str:
    """The format and limits of a column, in words."""
    if field.kind == "int":
        return f"整数，{field.minimum} 至 {field.maximum}"
    if field.kind == "choice":
        assert field.choices is not None
        return "从下拉列表中选择：" + "、".join(field.choices.values())
    if field.kind == "phone":
        return "11 位手机号或带区号的固定电话（如 0932-8212345），按文字填写"
    if field.kind == "markdown":
        return (
            f"文字，不超过 {field.max_length} 字；支持 Markdown（标题、列表、加粗、链接）；"
            "单元格内换行按 Alt+Enter"
        )
    if field.kind == "textarea":
        return f"文字，不超过 {field.max_length} 字；可分行，单元格内换行按 Alt+Enter"
    if field.kind == "date":
        return "日期，如 2026-03-15（也可填 2026/3/15 或 2026年3月15日）"
    return f"文字，不超过 {field.max_length} 字"


def _column_width(field: Field) -> float:
    minimum = {
        "markdown": 60,
        "textarea": 40,
        "int": 12,
        "choice": 14,
        "phone": 16,
        "date": 14,
    }.get(field.kind)
    if minimum is None:  # text
        minimum = 30 if (field.max_length or 0) >= 100 else 18
    return float(min(max(minimum, _display_width(_header_text(field)) + 4), 70))


def _validation(field: Field, column: int, max_rows: int) -> DataValidation:
    """The data validation of a template column: drop-down, whole number or text length,
    with the field's help as the input message."""
    dv: DataValidation
    if field.kind == "choice":
        assert field.choices is not None
        labels = list(field.choices.values())
        dv = DataValidation(type="list", formula1='"' + ",".join(labels) + '"', allow_blank=True)
        dv.error = "请从下拉列表中选择：" + "、".join(labels) + "。"
    elif field.kind == "int":
        dv = DataValidation(
            type="whole",
            operator="between",
            formula1=str(field.minimum),
            formula2=str(field.maximum),
            allow_blank=True,
        )
        dv.error = f"请填写 {field.minimum} 至 {field.maximum} 之间的整数。"
    elif field.kind == "date":
        dv = DataValidation(
            type="date", operator="greaterThanOrEqual", formula1="DATE(2000,1,1)", allow_blank=True
        )
        dv.error = "请填写日期，如 2026-03-15。"
    else:
        dv = DataValidation(
            type="textLength",
            operator="lessThanOrEqual",
            formula1=str(field.max_length),
            allow_blank=True,
        )
        dv.error = f"不能超过 {field.max_length} 个字。"
    dv.errorTitle = field.label[:32]
    dv.showErrorMessage = True
    dv.promptTitle = field.label[:32]
    dv.prompt = (field.help or _format_text(field))[:255]
    dv.showInputMessage = True
    letter = get_column_letter(column)
    dv.add(f"{letter}{EXAMPLE_ROW}:{letter}{EXAMPLE_ROW + max_rows}")
    return dv


_EXAMPLES: dict[CategoryKind, dict[str, Any]] = {
    CategoryKind.judicial_office: {
        "name": "XX县中华路司法所",
        "township": "中华路街道",
        "unit_type": "township",
        "address": "XX省XX市XX县中华路 88 号",
        "summary": "坚持“小事不出村、大事不出镇、矛盾不上交”，年内调处纠纷 326 件。",
        "deeds": "## 主要做法\n\n- 建立“一村一法律顾问”制度\n- 推行“随手调”工作法",
    },
    CategoryKind.mediation_committee: {
        "name": "XX县福台路街道人民调解委员会",
        "township": "福台路街道",
        "unit_type": "township",
        "address": "XX省XX市XX县福台路 16 号",
        "summary": "扎根社区一线，邻里、家庭纠纷随到随调，调解成功率 99%以上。",
        "deeds": "## 主要做法\n\n- 设立“老娘舅”调解室\n- 与派出所、法庭建立诉调、警调对接",
    },
    CategoryKind.mediator: {
        "name": "张建国",
        "township": "香泉镇",
        "gender": "male",
        "birth_year": 1968,
        "committee": "XX县香泉镇香泉村人民调解委员会",
        "position": "调委会主任",
        "years_of_service": 18,
        "political_status": "cpc",
        "ethnicity": "汉族",
        "education": "high_school",
        "honours": "2019年 被县司法局评为优秀人民调解员\n2022年 被市司法局评为“金牌调解员”",
        "summary": "从事人民调解 18 年，被群众称为“村里的和事佬”。",
        "deeds": "## 主要事迹\n\n- 年均调处邻里、婚姻家庭纠纷 60 余件\n- 化解多起信访积案",
    },
}
_EXAMPLE_FIGURES = {
    CategoryKind.mediator: (68, 67, 5, 30, (4, 2, 3, 1, 1)),
    CategoryKind.judicial_office: (326, 325, 18, 150, (40, 12, 9, 3, 4)),
    CategoryKind.mediation_committee: (212, 211, 11, 97, (25, 8, 6, 2, 3)),
}


def _this_year() -> int:
    return dt.date.today().year


def _example(kind: CategoryKind) -> dict[str, Any]:
    """A plausible, valid example nomination of this kind (its name is prefixed on output)."""
    mediated, resolved, confirmations, on_the_spot, entrusted = _EXAMPLE_FIGURES[kind]
    return {
        **_EXAMPLES[kind],
        "disputes_mediated": mediated,
        "disputes_resolved": resolved,
        "judicial_confirmations": confirmations,
        "on_the_spot": on_the_spot,
        **dict(zip(fields.ENTRUSTED, entrusted, strict=True)),
        "recommender_opinion": "该同志事迹突出，群众认可，经研究同意推荐。",
        "opinion_date": dt.date(_this_year(), 3, 15),
        "contact_name": "王晓梅",
        "contact_phone": "13912345678",
    }


# --------------------------------------------------------------------------- template

# The figures rules of ``fields.consistency_errors``, told at the columns they concern.
_RULES = {
    "judicial_confirmations": "不能多于调解成功数。",
    "on_the_spot": "不能多于排查调处数。",
    **{key: "五类委托移送合计不能多于排查调处数。" for key in fields.ENTRUSTED},
    "years_of_service": "须与出生年份相符。",
}


def _named(category_title: str, kind: CategoryKind) -> str:
    """The category as named in the template: its title, plus the kind when the title
    does not say it (“‘枫桥式’司法所”, “2023 年度推荐（人民调解员）”)."""
    label = kind.label
    return category_title if label in category_title else f"{category_title}（{label}）"


def template_workbook(
    kind: CategoryKind | str, category_title: str, *, max_rows: int = MAX_ROWS
) -> bytes:
    """The import template of a category: sheet “推荐对象” and sheet “填写说明”."""
    kind = _kind(kind)
    columns = fields.fields_for(kind)
    position = {f.key: i for i, f in enumerate(columns, start=1)}
    kind_label = kind.label

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = SHEET
    wb.properties.title = f"{category_title} 推荐对象导入模板"
    wb.properties.subject = kind_label
    wb.properties.keywords = f"{KEYWORD_PREFIX}{kind.value}"
    wb.properties.creator = "枫桥式评选平台"

    # Row 1: the title.
    title = sheets.write(ws.cell(TITLE_ROW, 1), f"{_named(category_title, kind)}推荐对象导入模板")
    title.font = _TITLE_FONT
    title.alignment = Alignment(vertical="center")
    ws.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=len(columns))
    ws.row_dimensions[TITLE_ROW].height = 28

    # Row 2: the headers.
    for field in columns:
        cell = sheets.write(ws.cell(HEADER_ROW, position[field.key]), _header_text(field))
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if field.required else _OPTIONAL_FILL
        cell.alignment = _HEADER_ALIGN
        cell.border = _BORDER
        letter = get_column_letter(position[field.key])
        ws.column_dimensions[letter].width = _column_width(field)
        if field.kind in ("phone", "text", "markdown", "textarea", "choice"):
            # Text format: phone numbers keep their digits and leading zeros.
            ws.column_dimensions[letter].number_format = "@"
        elif field.kind == "date":
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
    ws.row_dimensions[HEADER_ROW].height = 36
    ws.freeze_panes = ws.cell(EXAMPLE_ROW, 2)

    # Row 3: the example (grey, italic, name prefixed) — never imported.
    example = _example(kind)
    for field in columns:
        value = example.get(field.key)
        if field.key == "name":
            value = f"{EXAMPLE_PREFIX}{value}"
        elif field.kind == "choice" and value is not None:
            assert field.choices is not None
            value = field.choices[value]
        cell = ws.cell(EXAMPLE_ROW, position[field.key])
        sheets.write(cell, value)
        cell.fill = _EXAMPLE_FILL
        cell.font = _EXAMPLE_FONT
        cell.border = _BORDER
        if field.kind in ("phone", "text", "markdown", "textarea", "choice"):
            cell.number_format = "@"
        elif field.kind == "date":
            cell.number_format = "yyyy-mm-dd"
        if field.kind in ("markdown", "textarea"):
            cell.alignment = Alignment(vertical="top")

    # Drop-downs, whole numbers and text lengths for the example row and the data rows.
    for field in columns:
        ws.add_data_validation(_validation(field, position[field.key], max_rows))

    _notes_sheet(wb.create_sheet(NOTES_SHEET), kind, category_title, columns, max_rows)
    wb.active = 0
    return sheets.to_bytes(wb)


def _notes_sheet(
    ws: Worksheet,
    kind: CategoryKind,
    category_title: str,
    columns: list[Field],
    max_rows: int,
) -> None:
    first_data_row = EXAMPLE_ROW + 1
    general = [
        f"本模板用于批量导入{_named(category_title, kind)}的推荐对象，"
        f"请在“{SHEET}”工作表中每行填写一个推荐对象。",
        f"第 {HEADER_ROW} 行为列名，请勿修改或删除列名；列的顺序可以调整。",
        f"第 {EXAMPLE_ROW} 行（灰色、名称以“{EXAMPLE_PREFIX}”开头）是示例，导入时自动忽略，"
        f"可保留也可删除；请从第 {first_data_row} 行起填写。",
        f"列名带“{REQUIRED_MARK}”且底色为橙色的是报送时的必填项；底色为蓝色的为选填项。"
        "导入时只要求填写“名称”，其余内容可导入后在平台上补充，导入的推荐对象均为草稿。",
        f"每个文件最多导入 {max_rows} 行；超过请分成多个文件。",
        "导入时逐行检查，任何一行有错误则整个文件都不导入，并列出全部错误的行号和列名；"
        "改正后重新上传即可。",
        "数字须符合逻辑：调解成功、随手调均不能多于排查调处数；司法确认不能多于调解成功数；"
        "各类委托移送（法院、公安、乡镇（街道）、信访部门、其他单位）合计不能多于排查调处数。"
        "调解成功率由平台自动计算，无需填写。",
        "联系人、联系电话仅供审核联系，任何时候都不会公开；联系电话请按文字填写，"
        "手机号 11 位，固定电话带区号（如 0932-8212345）。",
        "照片和 PDF 证明材料不能通过表格导入，请在导入后到平台上逐个推荐对象上传。",
    ]
    if kind == CategoryKind.mediator:
        general.append("从事调解工作年限须与出生年份相符（不超过当前年份减出生年份再减 16）。")

    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 48
    ws.column_dimensions["D"].width = 60

    sheets.write(ws.cell(1, 1), f"填写说明：{_named(category_title, kind)}").font = _TITLE_FONT
    row = 3
    for number, text in enumerate(general, start=1):
        number_cell = sheets.write(ws.cell(row, 1), f"{number}.")
        number_cell.alignment = Alignment(horizontal="right", vertical="top")
        cell = sheets.write(ws.cell(row, 2), text)
        cell.alignment = _WRAP
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        ws.row_dimensions[row].height = 15 * max(1, -(-_display_width(text) // 120))
        row += 1

    row += 1
    for column, text in enumerate(("列名", "是否必填", "格式与限制", "说明"), start=1):
        cell = sheets.write(ws.cell(row, column), text)
        cell.font = _HEADER_FONT
        cell.fill = _OPTIONAL_FILL
        cell.border = _BORDER
    for field in columns:
        row += 1
        if field.key == "name":
            required = "是（导入时必填）"
        else:
            required = "是（报送时）" if field.required else "否"
        note = " ".join(filter(None, (field.help, _RULES.get(field.key))))
        if field.group == "contact" and "不公开" not in note:
            note = (note + " 仅供审核联系，不公开。").strip()
        for column, text in enumerate(
            (_header_text(field), required, _format_text(field), note), start=1
        ):
            cell = sheets.write(ws.cell(row, column), text)
            cell.alignment = _WRAP
            cell.border = _BORDER
            if column == 1:
                cell.fill = _REQUIRED_FILL if field.required else _OPTIONAL_FILL


# --------------------------------------------------------------------------- import


def _open(data: bytes) -> Any:
    """The workbook, or ImportFailed(row 0) when the bytes are not a readable .xlsx."""
    if not data:
        raise ImportFailed([RowError(0, FILE, "文件为空，请上传填写好的 .xlsx 模板。")])
    try:
        return sheets.open_workbook(data, UNREADABLE)
    except sheets.UnreadableWorkbook as exc:
        message = "文件内容过大，请使用本平台下载的模板填写。" if exc.too_large else exc.message
        raise ImportFailed([RowError(0, FILE, message)]) from None


def _read_rows(wb: Any, limit: int) -> tuple[list[tuple[Any, ...]], bool, str | None]:
    """The rows of the data sheet as value tuples (index 0 = Excel row 1; blank rows as
    ``()``; formula cells as ``FORMULA``), whether reading stopped after ``limit``
    non-blank rows, and the kind the template was made for (from its properties), if
    known."""
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # some writers record wrong dimensions
    rows: list[tuple[Any, ...]] = []
    filled = 0
    truncated = False
    for cells in ws.iter_rows():
        row = tuple(FORMULA if cell.data_type == "f" else cell.value for cell in cells)
        if all(_is_blank(v) for v in row):
            rows.append(())
            continue
        filled += 1
        if filled > limit:
            truncated = True
            break
        rows.append(row)
    keywords = getattr(wb.properties, "keywords", None) or ""
    made_for = keywords[len(KEYWORD_PREFIX) :] if keywords.startswith(KEYWORD_PREFIX) else None
    return rows, truncated, made_for


def _cell_raw(field: Field, value: Any) -> Any:
    """A spreadsheet value as ``fields.clean`` expects it: whole-number floats become ints
    (or their digits, for text: 13912345678.0 → "13912345678"); text stays text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value if field.kind == "int" else str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if field.kind == "int":
        return value
    if field.kind == "date" and isinstance(value, dt.date):
        return value  # a date cell (read back as a datetime at midnight)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M" if value.second == 0 else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_example(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith((EXAMPLE_PREFIX, "(示例)", "【示例】", "示例："))


def _condition_errors(
    rules: Iterable[conditions.Condition], excel_row: int, values: dict[str, Any]
) -> list[RowError]:
    """A row's figures that fail the category's recommendation conditions, each at the
    column it concerns (the success rate at 调解成功). Declarations are answered on the
    form and a figure left empty may be filled in later: neither is an import error."""
    errors = []
    for outcome in conditions.evaluate([r for r in rules if not r.is_declaration], values, {}):
        if outcome.state != conditions.FAILED:
            continue
        field = outcome.condition.field
        key = "disputes_resolved" if field == conditions.SUCCESS_RATE else field
        errors.append(
            RowError(
                excel_row,
                fields.FIELDS_BY_KEY[key].label,
                f"不符合推荐条件“{outcome.condition.wording}”：{outcome.message}",
            )
        )
    return errors


def parse_workbook(
    data: bytes,
    kind: CategoryKind | str,
    max_rows: int = MAX_ROWS,
    rules: Iterable[conditions.Condition] = (),
) -> list[dict[str, Any]]:
    """The nominations of a filled template, cleaned by ``fields.clean`` (keys = field keys,
    choices as keys, figures as ints), in sheet order.

    All rows or none: every problem found is raised at once as ``ImportFailed``. Rows need a
    name (drafts may otherwise be incomplete); empty rows and the example row are skipped.
    A formula cell is refused at its row and column, as is text ``fields.clean`` refuses
    (a name starting like a formula, invisible characters). A figure that fails one of
    ``rules`` (the category's recommendation conditions, when its campaign refuses such
    nominations) is refused at its row and column too.
    """
    rules = list(rules)
    kind = _kind(kind)
    columns = fields.fields_for(kind)
    wb = _open(data)
    try:
        try:
            # Enough rows to tell a file of too many rows; no more (memory).
            rows, truncated, made_for = _read_rows(wb, HEADER_SEARCH_ROWS + 10 * max_rows + 100)
        except ImportFailed:
            raise
        except Exception:  # damaged sheet XML surfaces only while reading the rows
            raise ImportFailed([RowError(0, FILE, UNREADABLE)]) from None
    finally:
        wb.close()

    if made_for and made_for != kind.value and made_for in CategoryKind.__members__:
        other = CategoryKind(made_for).label
        raise ImportFailed(
            [
                RowError(
                    0,
                    FILE,
                    f"该文件是“{other}”类别的模板，不能导入“{CategoryKind(kind).label}”类别，"
                    "请下载本类别的模板。",
                )
            ]
        )

    # The header row: the first row with a “名称” cell.
    by_label = {_normalise_header(f.label): f for f in columns}
    all_labels = {_normalise_header(f.label): f for f in fields.FIELDS}
    name_label = _normalise_header(fields.FIELDS_BY_KEY["name"].label)
    header_index = next(
        (
            i
            for i, row in enumerate(rows[:HEADER_SEARCH_ROWS])
            if any(_normalise_header(v) == name_label for v in row)
        ),
        None,
    )
    if header_index is None:
        raise ImportFailed(
            [RowError(0, FILE, "未找到列名行（应有“名称”列），请使用本平台下载的模板。")]
        )
    header_row = header_index + 1

    errors: list[RowError] = []
    position: dict[str, int] = {}  # field key → index in the row tuple
    for index, value in enumerate(rows[header_index]):
        label = _normalise_header(value)
        if not label:
            continue
        field = by_label.get(label)
        if field is None:
            shown = str(value).strip()
            if label in all_labels:
                message = (
                    f"“{shown}”不属于{CategoryKind(kind).label}类别，请删除该列或下载本类别的模板。"
                )
            else:
                message = f"无法识别的列“{shown}”，请勿修改模板的列名。"
            errors.append(RowError(header_row, shown, message))
        elif field.key in position:
            errors.append(RowError(header_row, field.label, f"“{field.label}”列重复。"))
        else:
            position[field.key] = index
    errors.extend(
        RowError(header_row, f.label, f"缺少“{f.label}”列，请勿删除模板的列。")
        for f in columns
        if f.key not in position
    )

    # The data rows: skip empty rows and the example row; count before checking.
    def too_many(first_excess_row: int) -> ImportFailed:
        return ImportFailed(
            [
                RowError(
                    0,
                    FILE,
                    f"每个文件最多导入 {max_rows} 行，本文件超过 {max_rows} 行"
                    f"（第 {first_excess_row} 行起），请分成多个文件导入。",
                )
            ]
        )

    # (Excel row, raw values, phone typed as a number, keys of formula cells)
    data_rows: list[tuple[int, dict[str, Any], bool, list[str]]] = []
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        cells = {key: row[i] if i < len(row) else None for key, i in position.items()}
        if all(_is_blank(v) for v in cells.values()) or _is_example(cells["name"]):
            continue
        if len(data_rows) >= max_rows:
            raise too_many(index + 1)
        formulas = [key for key, value in cells.items() if value is FORMULA]
        raw = {
            f.key: _cell_raw(f, cells[f.key])
            for f in columns
            if f.key in position and f.key not in formulas
        }
        numeric_phone = any(
            f.kind == "phone" and isinstance(cells.get(f.key), int | float) for f in columns
        )
        data_rows.append((index + 1, raw, numeric_phone, formulas))

    if truncated:  # thousands of rows outside the columns: not a template filled in
        raise too_many(len(rows) + 1)
    if not data_rows and not errors:
        raise ImportFailed(
            [RowError(0, FILE, f"没有可导入的数据，请从第 {header_row + 2} 行起填写推荐对象。")]
        )

    results: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for excel_row, raw, numeric_phone, formulas in data_rows:
        values, row_errors = fields.clean(kind, raw)
        row_errors.update(dict.fromkeys(formulas, FORMULA_REFUSED))
        if values.get("name") is None and "name" not in row_errors:
            row_errors["name"] = "请填写名称。"
        for key, message in row_errors.items():
            field = fields.FIELDS_BY_KEY[key]
            if field.kind == "phone" and numeric_phone:
                message += "（该单元格是数字格式，开头的 0 会丢失，请改为文字格式后重新填写。）"
            errors.append(RowError(excel_row, field.label, message))
        # The same unit (or the same mediator of the same committee) twice in one file.
        if values.get("name"):
            identity = (values["name"], values.get("committee") or "")
            if identity in seen:
                errors.append(
                    RowError(
                        excel_row,
                        fields.FIELDS_BY_KEY["name"].label,
                        f"与第 {seen[identity]} 行重复：同一推荐对象只能填写一行。",
                    )
                )
            else:
                seen[identity] = excel_row
        if not row_errors:
            errors.extend(_condition_errors(rules, excel_row, values))
        results.append(values)

    if errors:
        labels = {f.label: i for i, f in enumerate(columns)}
        errors.sort(key=lambda e: (e.row, labels.get(e.column, len(labels))))
        raise ImportFailed(errors)
    return results


# --------------------------------------------------------------------------- export

_EXTRA_BEFORE = (("county", "推荐单位"), ("category", "类别"), ("status", "状态"))
_SUCCESS_RATE = ("success_rate", "调解成功率")
_SUBMITTED_AT = ("submitted_at", "报送时间")


def export_columns(kind: CategoryKind | str) -> list[tuple[str, str]]:
    """(key, Chinese header) of an export sheet of this kind, in order."""
    result: list[tuple[str, str]] = list(_EXTRA_BEFORE)
    for field in fields.fields_for(kind):
        result.append((field.key, field.label))
        if field.key == "disputes_resolved":
            result.append(_SUCCESS_RATE)
    result.append(_SUBMITTED_AT)
    return result


def _export_value(key: str, value: Any, tz: dt.tzinfo) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, dt.date):
        return value
    field = fields.FIELDS_BY_KEY.get(key)
    if field is not None and field.kind == "choice" and field.choices:
        return field.choices.get(value, value)
    return value


def export_workbook(
    rows: list[dict[str, Any]],
    kinds: CategoryKind | str | Mapping[str, CategoryKind | str],
    *,
    timezone: str | dt.tzinfo = "Asia/Shanghai",
) -> bytes:
    """Nominations for staff, one sheet per category kind (“司法所”, “人民调解委员会”,
    “人民调解员”, in that order), each with only its kind's columns.

    ``rows`` are dicts with the field keys plus ``county``, ``category`` (its title),
    ``status`` (Chinese label), ``success_rate`` (“99.8%”) and ``submitted_at`` (datetime or
    None). ``kinds`` is the kind of every row, or a mapping of category title → kind. Row
    order is kept within each sheet. With no rows, each kind named in ``kinds`` still gets
    a sheet with its headers.

    Contact columns are included: exports are for staff only. Reading the export back gives
    the values passed in, except that choices are written as their Chinese labels (“男”, the
    import accepts both), empty strings become empty cells (read back as None), text loses
    control characters .xlsx cannot hold, and ``submitted_at`` is written to the second in
    local time (``timezone``, the campaign's) as a naive datetime. Text is never written as
    a formula.
    """
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    if isinstance(kinds, str):  # CategoryKind is a str too
        fixed: CategoryKind | None = _kind(kinds)
        by_title: dict[str, CategoryKind] = {}
    else:
        fixed = None
        by_title = {title: _kind(k) for title, k in kinds.items()}

    groups: dict[CategoryKind, list[dict[str, Any]]] = {}
    for row in rows:
        if fixed is not None:
            kind = fixed
        else:
            title = row.get("category")
            if title not in by_title:
                raise ValueError(f"unknown category {title!r}: not in kinds")
            kind = by_title[title]
        groups.setdefault(kind, []).append(row)
    if not rows:
        for kind in [fixed] if fixed is not None else by_title.values():
            groups.setdefault(kind, [])

    wb = Workbook()
    default = wb.active
    for kind in CategoryKind:
        if kind not in groups:
            continue
        ws = wb.create_sheet(kind.label)
        _fill_export_sheet(ws, kind, groups[kind], tz)
    if len(wb.worksheets) > 1:
        wb.remove(default)
    else:
        assert isinstance(default, Worksheet)
        default.title = SHEET
    wb.active = 0
    return sheets.to_bytes(wb)


def _fill_export_sheet(
    ws: Worksheet, kind: CategoryKind, rows: list[dict[str, Any]], tz: dt.tzinfo
) -> None:
    columns = export_columns(kind)
    for col, (key, label) in enumerate(columns, start=1):
        cell = sheets.write(ws.cell(1, col), label)
        cell.font = _HEADER_FONT
        cell.fill = _OPTIONAL_FILL
        cell.alignment = _HEADER_ALIGN
        cell.border = _BORDER
        field = fields.FIELDS_BY_KEY.get(key)
        if field is not None:
            width = _column_width(field)
        elif key == "submitted_at":
            width = 18.0
        else:
            width = float(max(_display_width(label) + 4, 12))
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[1].height = 32
    for r, row in enumerate(rows, start=2):
        for col, (key, _label) in enumerate(columns, start=1):
            cell = ws.cell(r, col)
            value = _export_value(key, row.get(key), tz)
            sheets.write(cell, value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, str):
                cell.number_format = "@"
    ws.freeze_panes = "E2"  # 推荐单位、类别、状态、名称 stay visible
    last = get_column_letter(len(columns))
    ws.auto_filter.ref = f"A1:{last}{max(len(rows) + 1, 1)}"
