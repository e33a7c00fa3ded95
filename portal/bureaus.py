"""The organisation tree: the bureaus an installation knows, and importing them.

An installation starts with no bureau (``portal migrate`` creates none). Its first
administrator imports the tree from a CSV or XLSX file with the columns
``name,short_name,level,parent`` — ``portal bureaus import FILE`` — all or nothing: a
file with any bad row imports nothing, and every bad row is named with its column.
A row whose name is known updates that bureau; any other row adds one. Levels run
top down (province, city, county, township) and every bureau sits at a lower level than
its parent; the top bureau leaves ``parent`` empty.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from portal import audit, sheets
from portal.audit import Actor
from portal.db import unique_or, write_transaction
from portal.errors import Invalid
from portal.tables import Bureau, BureauLevel
from portal.text import line_error

COLUMNS = ("name", "short_name", "level", "parent")
COLUMN_LABELS = {"name": "名称", "short_name": "简称", "level": "层级", "parent": "上级单位"}
LEVELS = list(BureauLevel)
MAX_ROWS = 2000
MAX_NAME = 100
MAX_SHORT_NAME = 50
UNREADABLE = "无法读取该文件：请上传 UTF-8 编码的 CSV 文件或 .xlsx 工作簿。"


@dataclass(frozen=True)
class RowError:
    row: int  # the file's line (the header is line 1); 0 for the file as a whole
    column: str  # one of COLUMNS, or "" for the whole row or file
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        where = f"第 {self.row} 行"
        if self.column:
            where += f"「{COLUMN_LABELS[self.column]}」"
        return f"{where}：{self.message}"


class ImportRefused(Invalid):
    """The file imports nothing; ``problems`` name every bad row."""

    def __init__(self, problems: list[RowError]) -> None:
        self.problems = problems
        super().__init__("；".join(str(p) for p in problems[:20]))


@dataclass(frozen=True)
class BureauRow:
    line: int
    name: str
    short_name: str
    level: BureauLevel
    parent: str


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


# --- reading the tree -----------------------------------------------------------------


async def active_tree() -> list[dict[str, Any]]:
    """Every active bureau, parents before children (by depth, then position and id)."""
    rows = (
        await Bureau.select(Bureau.id, Bureau.name, Bureau.short_name, Bureau.level, Bureau.parent)
        .where(Bureau.retired_at.is_null())
        .order_by(Bureau.position)
        .order_by(Bureau.id)
        .run()
    )
    children: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)
    known = {row["id"] for row in rows}
    # Roots: no parent, or a parent that is retired (its active children still show).
    level = [row for row in rows if row["parent"] is None or row["parent"] not in known]
    ordered: list[dict[str, Any]] = []
    while level:
        ordered += level
        level = [child for row in level for child in children.get(row["id"], [])]
    return ordered


# --- reading a file ---------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(data: bytes) -> list[list[str]]:
    """The file's rows as text cells: an .xlsx by its content, else UTF-8 CSV."""
    if data.startswith(b"PK\x03\x04"):
        try:
            wb = sheets.open_workbook(data, UNREADABLE)
        except sheets.UnreadableWorkbook as exc:
            raise ImportRefused([RowError(0, "", exc.message)]) from None
        ws = wb.worksheets[0]
        table = []
        for cells in ws.iter_rows():
            if any(cell.data_type == "f" for cell in cells):
                line = cells[0].row
                raise ImportRefused([RowError(line, "", "不能使用公式，请直接填写内容。")])
            table.append([_text(cell.value) for cell in cells])
        wb.close()
        return table
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused([RowError(0, "", UNREADABLE)]) from None
    if "\x00" in text:
        raise ImportRefused([RowError(0, "", UNREADABLE)])
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]


def parse_rows(table: list[list[str]]) -> list[BureauRow]:
    """The file's bureau rows, each checked on its own; raise ``ImportRefused``."""
    while table and not any(table[-1]):
        table = table[:-1]
    if not table:
        raise ImportRefused([RowError(0, "", "文件为空。")])
    header = [cell.strip().lower() for cell in table[0]]
    while header and not header[-1]:
        header.pop()
    if tuple(header) != COLUMNS:
        raise ImportRefused(
            [RowError(1, "", f"表头须为 {','.join(COLUMNS)}（依次为名称、简称、层级、上级单位）。")]
        )
    body = table[1:]
    if len(body) > MAX_ROWS:
        raise ImportRefused([RowError(0, "", f"一次最多导入 {MAX_ROWS} 个单位。")])
    problems: list[RowError] = []
    rows: list[BureauRow] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(body, start=2):
        if not any(cells):
            continue
        values = dict(zip(COLUMNS, [*cells, "", "", "", ""][:4], strict=True))
        found = len(problems)
        for column, limit in (("name", MAX_NAME), ("short_name", MAX_SHORT_NAME)):
            value = values[column]
            if not value:
                problems.append(RowError(line, column, "不能为空。"))
            elif len(value) > limit:
                problems.append(RowError(line, column, f"不能超过 {limit} 个字。"))
            elif hidden := line_error(COLUMN_LABELS[column], value):
                problems.append(RowError(line, column, hidden))
        try:
            level = BureauLevel(values["level"])
        except ValueError:
            choices = "、".join(level.value for level in LEVELS)
            problems.append(RowError(line, "level", f"须为 {choices} 之一。"))
        name = values["name"]
        if name in seen:
            problems.append(RowError(line, "name", f"与第 {seen[name]} 行重复。"))
        seen.setdefault(name, line)
        if values["parent"] and values["parent"] == name:
            problems.append(RowError(line, "parent", "不能是本单位自己。"))
        if len(problems) == found:
            rows.append(BureauRow(line, name, values["short_name"], level, values["parent"]))
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused([RowError(0, "", "文件中没有单位。")])
    return rows


# --- importing --------------------------------------------------------------------------


def _check_tree(rows: list[BureauRow], existing: dict[str, Any]) -> list[RowError]:
    """The tree after the import: every parent known and active, levels going down, no
    loops. ``existing`` maps the names in the database to their rows."""
    problems: list[RowError] = []
    by_name = {row.name: row for row in rows}
    ids = {r["id"]: name for name, r in existing.items()}

    def level_of(name: str) -> BureauLevel:
        row = by_name.get(name)
        return row.level if row else BureauLevel(existing[name]["level"])

    def parent_of(name: str) -> str:
        row = by_name.get(name)
        if row:
            return row.parent
        parent_id = existing[name]["parent"]
        return ids.get(parent_id, "") if parent_id is not None else ""

    for row in rows:
        if not row.parent:
            continue
        if row.parent not in by_name and row.parent not in existing:
            problems.append(RowError(row.line, "parent", f"找不到上级单位「{row.parent}」。"))
            continue
        if row.parent not in by_name and existing[row.parent]["retired_at"] is not None:
            problems.append(RowError(row.line, "parent", f"上级单位「{row.parent}」已撤销。"))
            continue
        if LEVELS.index(level_of(row.parent)) >= LEVELS.index(row.level):
            problems.append(
                RowError(
                    row.line,
                    "level",
                    f"须低于上级单位「{row.parent}」的层级（{level_of(row.parent).value}）。",
                )
            )
    # Children already in the database must stay below a bureau whose level changes.
    for name, r in existing.items():
        parent = parent_of(name)
        if name in by_name or not parent or parent not in by_name:
            continue
        if LEVELS.index(by_name[parent].level) >= LEVELS.index(BureauLevel(r["level"])):
            problems.append(
                RowError(by_name[parent].line, "level", f"下级单位「{name}」的层级须低于本单位。")
            )
    if problems:
        return problems
    for row in rows:
        seen = {row.name}
        name = row.parent
        while name:
            if name in seen:
                return [RowError(row.line, "parent", "上下级关系形成了循环。")]
            seen.add(name)
            name = parent_of(name)
    return []


async def import_bureaus(actor: Actor, data: bytes) -> Imported:
    """Add or update the bureaus in the file, all or nothing (audited); raise
    ``ImportRefused``."""
    rows = parse_rows(read_table(data))
    taken = ImportRefused([RowError(0, "", "单位名称与同时进行的导入冲突，请重试。")])
    with unique_or(taken):
        async with write_transaction():
            existing = {
                r["name"]: r
                for r in await Bureau.select(
                    Bureau.id, Bureau.name, Bureau.level, Bureau.parent, Bureau.retired_at
                ).run()
            }
            problems = _check_tree(rows, existing)
            if problems:
                raise ImportRefused(problems)
            ids = {name: r["id"] for name, r in existing.items()}
            added = updated = 0
            # Parents first: each row's parent is saved before it (levels go down).
            for row in sorted(rows, key=lambda r: LEVELS.index(r.level)):
                values = {
                    Bureau.short_name: row.short_name,
                    Bureau.level: row.level.value,
                    Bureau.parent: ids[row.parent] if row.parent else None,
                }
                if row.name in ids:
                    await Bureau.update(values).where(Bureau.id == ids[row.name]).run()
                    updated += 1
                    await audit.record(
                        actor,
                        "bureau.update",
                        ("bureau", ids[row.name]),
                        after={"short_name": row.short_name, "level": row.level.value},
                        label=row.name,
                    )
                else:
                    bureau = Bureau(
                        name=row.name,
                        short_name=row.short_name,
                        level=row.level.value,
                        parent=values[Bureau.parent],
                        # Lists show bureaus in the file's order.
                        position=row.line,
                    )
                    await bureau.save().run()
                    ids[row.name] = bureau.id
                    added += 1
                    await audit.record(
                        actor,
                        "bureau.create",
                        bureau,
                        after={"short_name": row.short_name, "level": row.level.value},
                    )
    return Imported(added, updated)
