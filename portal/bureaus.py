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
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count, Max

from portal import audit, sheets
from portal.audit import Actor
from portal.db import unique_or, write_transaction
from portal.errors import Invalid, NotFound, Refused
from portal.tables import Bureau, BureauLevel, BureauName, Campaign, Staff
from portal.text import line_error

COLUMNS = ("name", "short_name", "level", "parent")
COLUMN_LABELS = {"name": "名称", "short_name": "简称", "level": "层级", "parent": "上级单位"}
LEVELS = list(BureauLevel)
MAX_ROWS = 2000
MAX_NAME = 100
MAX_SHORT_NAME = 50
# A bureau's certificate series (荣誉证书编号): its pattern, or this default.
DEFAULT_CERTIFICATE_PATTERN = "{abbr}证〔{year}〕第{number:03d}号"
CERTIFICATE_FIELDS = frozenset({"abbr", "year", "number"})
MAX_CERTIFICATE_NUMBER = 60
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


async def _children(active_only: bool) -> tuple[list[dict[str, Any]], dict[Any, list]]:
    """The bureaus in list order (position, then id), and each one's children by id."""
    rows = (
        await Bureau.select(
            Bureau.id,
            Bureau.name,
            Bureau.short_name,
            Bureau.level,
            Bureau.parent,
            Bureau.retired_at,
        )
        .order_by(Bureau.position)
        .order_by(Bureau.id)
        .run()
    )
    if active_only:
        rows = [row for row in rows if row["retired_at"] is None]
    children: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent"], []).append(row)
    return rows, children


async def active_tree() -> list[dict[str, Any]]:
    """Every active bureau, parents before children (by depth, then position and id)."""
    rows, children = await _children(active_only=True)
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


def _check_scope(
    rows: list[BureauRow], existing: dict[str, Any], tree: list[Node]
) -> list[RowError]:
    """An administrator's file stays within their subtree ``tree`` (their bureau first):
    their own bureau keeps its place, every other row is or goes beneath it."""
    root, below = tree[0], {node.name for node in tree[1:]}
    ids = {r["id"]: name for name, r in existing.items()}
    in_file = {row.name for row in rows}
    problems: list[RowError] = []
    for row in rows:
        if row.name == root.name:
            if row.parent != ids.get(root.parent or 0, ""):
                problems.append(RowError(row.line, "parent", "不能更改本单位的上级单位。"))
        elif row.name in existing and row.name not in below:
            problems.append(
                RowError(row.line, "name", f"「{row.name}」不是{root.name}的下级单位。")
            )
        elif row.parent != root.name and row.parent not in below | in_file:
            problems.append(RowError(row.line, "parent", f"须是{root.name}或其下级单位。"))
    return problems


async def import_bureaus(actor: Actor, data: bytes, root_id: int | None = None) -> Imported:
    """Add or update the bureaus in the file, all or nothing (audited); raise
    ``ImportRefused``. With ``root_id`` (an administrator's bureau, on the staff page)
    every row must stay beneath that bureau."""
    rows = parse_rows(read_table(data))
    taken = ImportRefused([RowError(0, "", "单位名称与同时进行的导入冲突，请重试。")])
    with unique_or(taken):
        async with write_transaction():
            existing = {
                r["name"]: r
                # In the order they were made: problems are named in a stable order.
                for r in await Bureau.select(
                    Bureau.id, Bureau.name, Bureau.level, Bureau.parent, Bureau.retired_at
                )
                .order_by(Bureau.id)
                .run()
            }
            problems = _check_tree(rows, existing)
            if root_id is not None and not problems:
                problems = _check_scope(rows, existing, await subtree(root_id))
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


# --- managing the tree on the staff pages ------------------------------------------------
#
# An administrator manages the bureaus beneath their own: adds, renames, retires, restores
# and deletes them. Their own bureau they may rename and add beneath, never retire. A
# bureau outside that subtree does not exist for them (``NotFound``, a 404).


@dataclass(frozen=True)
class Node:
    """A bureau in the tree below an administrator's, with what the page needs."""

    id: int
    name: str
    short_name: str
    level: BureauLevel
    parent: int | None
    depth: int
    retired: bool
    accounts: int
    former_names: tuple[str, ...]


class BureauRefused(Refused):
    """The change is not allowed for this bureau (its history, its children)."""


async def subtree(root_id: int) -> list[Node]:
    """The bureau ``root_id`` and every bureau below it (retired ones too), each after
    its parent, children in list order: the order of an indented tree."""
    rows, children = await _children(active_only=False)
    root = next((row for row in rows if row["id"] == root_id), None)
    if root is None:
        return []
    accounts = {
        row["bureau"]: row["count"]
        for row in await Staff.select(Staff.bureau, Count(Staff.id, alias="count"))
        .group_by(Staff.bureau)
        .run()
    }
    former: dict[int, list[str]] = {}
    for row in (
        await BureauName.select(BureauName.bureau, BureauName.name).order_by(BureauName.until).run()
    ):
        former.setdefault(row["bureau"], []).append(row["name"])
    ordered: list[Node] = []
    for row, depth in _walk(root, children):
        ordered.append(
            Node(
                id=row["id"],
                name=row["name"],
                short_name=row["short_name"],
                level=BureauLevel(row["level"]),
                parent=row["parent"],
                depth=depth,
                retired=row["retired_at"] is not None,
                accounts=accounts.get(row["id"], 0),
                former_names=tuple(former.get(row["id"], ())),
            )
        )
    return ordered


async def parents() -> dict[int, int | None]:
    """Every bureau's parent by id (one query, for walks up the tree)."""
    return {r["id"]: r["parent"] for r in await Bureau.select(Bureau.id, Bureau.parent).run()}


def chain_up(parent_of: dict[int, int | None], bureau_id: int | None) -> list[int]:
    """The bureau's id and those of the bureaus above it, nearest first."""
    chain: list[int] = []
    while bureau_id is not None and bureau_id not in chain:
        chain.append(bureau_id)
        bureau_id = parent_of.get(bureau_id)
    return chain


async def lineage(bureau_id: int) -> list[int]:
    """The bureau's id and those of the bureaus above it, nearest first."""
    return chain_up(await parents(), bureau_id)


def _walk(root: dict[str, Any], children: dict[Any, list]) -> Iterator[tuple[dict, int]]:
    """``root`` and every row below it with its depth, each after its parent, children
    in list order: the order of an indented tree."""
    todo = [(root, 0)]
    while todo:
        row, depth = todo.pop()
        yield row, depth
        todo.extend((child, depth + 1) for child in reversed(children.get(row["id"], [])))


async def bureau_ids_within(root_id: int) -> set[int]:
    """The ids of the bureau ``root_id`` and of every bureau below it (retired too)."""
    rows, children = await _children(active_only=False)
    root = next((row for row in rows if row["id"] == root_id), None)
    return {row["id"] for row, _ in _walk(root, children)} if root else set()


async def node_within(root_id: int, bureau_id: int) -> Node:
    """The bureau, if it is ``root_id`` or below it; else ``NotFound``."""
    node = next((n for n in await subtree(root_id) if n.id == bureau_id), None)
    if node is None:
        raise NotFound("找不到该单位。")
    return node


def check_names(name: str, short_name: str) -> dict[str, str]:
    """The form errors of a bureau's full and short name (empty when both are fine)."""
    errors: dict[str, str] = {}
    for field, value, limit in (
        ("name", name, MAX_NAME),
        ("short_name", short_name, MAX_SHORT_NAME),
    ):
        label = COLUMN_LABELS[field]
        if not value:
            errors[field] = f"请填写{label}。"
        elif len(value) > limit:
            errors[field] = f"{label}不能超过 {limit} 个字。"
        elif hidden := line_error(label, value):
            errors[field] = hidden
    return errors


def abbreviation(bureau: Bureau) -> str:
    """The bureau's short form in document numbers: its short name's first character and
    司 (a city 某市 → 某司), as bureaus number their documents."""
    name = (bureau.short_name or bureau.name or "司").strip()
    return f"{name[0]}司"


def check_certificate_pattern(pattern: str) -> str:
    """A certificate pattern as typed (empty: the default), or ``Invalid`` saying what is
    wrong (zh-CN)."""
    pattern = (pattern or "").strip()
    if not pattern:
        return ""
    fields = set(re.findall(r"\{(\w*)[^}]*\}", pattern))
    if fields - CERTIFICATE_FIELDS or "number" not in fields:
        raise Invalid(
            "证书编号格式须包含 {number}（序号，如 {number:03d}），"
            "可用 {year}（年度）和 {abbr}（单位简称）。"
        )
    try:
        sample = pattern.format(abbr="某司", year=2023, number=1)
    except (ValueError, IndexError, KeyError):
        raise Invalid(
            f"证书编号格式无法识别，请参照“{DEFAULT_CERTIFICATE_PATTERN}”填写。"
        ) from None
    if len(sample) > MAX_CERTIFICATE_NUMBER:
        raise Invalid(f"证书编号不能超过 {MAX_CERTIFICATE_NUMBER} 个字符。")
    return pattern


def certificate_number(bureau: Bureau, year: int, number: int) -> str:
    """The ``number``-th certificate of ``year`` in the bureau's series."""
    pattern = bureau.certificate_pattern or DEFAULT_CERTIFICATE_PATTERN
    return pattern.format(abbr=abbreviation(bureau), year=year, number=number)


def _name_taken() -> Invalid:
    return Invalid("单位名称已被使用。", {"name": "已有同名单位（含已撤销的单位）。"})


async def add_bureau(
    actor: Actor, root_id: int, parent_id: int, name: str, short_name: str, level: str
) -> Bureau:
    """Add a bureau beneath ``parent_id`` (the administrator's bureau or one below it)."""
    name, short_name = name.strip(), short_name.strip()
    parent = await node_within(root_id, parent_id)
    errors = check_names(name, short_name)
    try:
        chosen = BureauLevel(level)
    except ValueError:
        errors["level"] = "请选择层级。"
    else:
        if LEVELS.index(chosen) <= LEVELS.index(parent.level):
            errors["level"] = f"须低于上级单位的层级（{parent.level.label}）。"
    if parent.retired:
        errors["parent"] = "上级单位已撤销。"
    if errors:
        raise Invalid("请修改标出的内容。", errors)
    with unique_or(_name_taken()):
        async with write_transaction():
            if await Bureau.exists().where(Bureau.name == name).run():
                raise _name_taken()
            last = await Bureau.select(Max(Bureau.position, alias="last")).first().run()
            bureau = Bureau(
                name=name,
                short_name=short_name,
                level=chosen.value,
                parent=parent.id,
                position=((last or {}).get("last") or 0) + 1,
            )
            await bureau.save().run()
            await audit.record(
                actor,
                "bureau.create",
                bureau,
                after={"short_name": short_name, "level": chosen.value, "parent": parent.name},
            )
    return bureau


async def rename_bureau(
    actor: Actor,
    root_id: int,
    bureau_id: int,
    name: str,
    short_name: str,
    certificate_pattern: str | None = None,
) -> Bureau:
    """Rename a bureau; the old names are kept for the documents of their time. With
    ``certificate_pattern`` also set the pattern of its certificate numbers (numbers
    already given keep theirs)."""
    name, short_name = name.strip(), short_name.strip()
    await node_within(root_id, bureau_id)
    errors = check_names(name, short_name)
    if certificate_pattern is not None:
        try:
            certificate_pattern = check_certificate_pattern(certificate_pattern)
        except Invalid as exc:
            errors["certificate_pattern"] = exc.message
    if errors:
        raise Invalid("请修改标出的内容。", errors)
    with unique_or(_name_taken()):
        async with write_transaction():
            bureau = await Bureau.objects().where(Bureau.id == bureau_id).first().run()
            if bureau is None:
                raise NotFound("找不到该单位。")
            if certificate_pattern is not None and certificate_pattern != (
                bureau.certificate_pattern
            ):
                before = {"certificate_pattern": bureau.certificate_pattern}
                bureau.certificate_pattern = certificate_pattern
                await bureau.save([Bureau.certificate_pattern]).run()
                await audit.record(
                    actor,
                    "bureau.certificate_pattern",
                    bureau,
                    before=before,
                    after={"certificate_pattern": certificate_pattern},
                )
            if (bureau.name, bureau.short_name) == (name, short_name):
                return bureau
            if name != bureau.name and await Bureau.exists().where(Bureau.name == name).run():
                raise _name_taken()
            before = {"name": bureau.name, "short_name": bureau.short_name}
            await (
                BureauName(
                    bureau=bureau.id,
                    name=bureau.name,
                    short_name=bureau.short_name,
                    until=dt.datetime.now(dt.UTC),
                )
                .save()
                .run()
            )
            bureau.name, bureau.short_name = name, short_name
            await bureau.save([Bureau.name, Bureau.short_name]).run()
            await audit.record(
                actor,
                "bureau.rename",
                bureau,
                before=before,
                after={"name": name, "short_name": short_name},
            )
    return bureau


async def retire_bureau(actor: Actor, root_id: int, bureau_id: int, retire: bool) -> Bureau:
    """Retire a bureau below the administrator's (kept for history; its accounts can no
    longer sign in), or restore a retired one."""
    if bureau_id == root_id:
        raise BureauRefused("不能撤销本单位。")
    await node_within(root_id, bureau_id)
    async with write_transaction():
        bureau = await Bureau.objects().where(Bureau.id == bureau_id).first().run()
        if bureau is None:
            raise NotFound("找不到该单位。")
        if retire:
            if await Bureau.exists().where(
                (Bureau.parent == bureau.id) & Bureau.retired_at.is_null()
            ):
                raise BureauRefused(f"「{bureau.name}」还有未撤销的下级单位，请先撤销下级单位。")
            bureau.retired_at = dt.datetime.now(dt.UTC)
        else:
            parent = await Bureau.objects().where(Bureau.id == bureau.parent).first().run()
            if parent is not None and parent.retired_at is not None:
                raise BureauRefused(f"上级单位「{parent.name}」已撤销，请先恢复上级单位。")
            bureau.retired_at = None
        await bureau.save([Bureau.retired_at]).run()
        await audit.record(actor, "bureau.retire" if retire else "bureau.restore", bureau)
    return bureau


async def move_bureau(actor: Actor, root_id: int, bureau_id: int, step: int) -> Bureau:
    """Move a bureau one place up (``step`` −1) or down (+1) among its siblings. This
    order is the order of the administrative divisions in lists and documents (the
    designation decision and the notice list the county bureaus' designees in it)."""
    if bureau_id == root_id:
        raise BureauRefused("不能移动本单位。")
    await node_within(root_id, bureau_id)
    async with write_transaction():
        bureau = await Bureau.objects().where(Bureau.id == bureau_id).first().run()
        if bureau is None:
            raise NotFound("找不到该单位。")
        same_parent = (
            Bureau.parent.is_null() if bureau.parent is None else Bureau.parent == bureau.parent
        )
        siblings = (
            await Bureau.objects()
            .where(same_parent)
            .order_by(Bureau.position)
            .order_by(Bureau.id)
            .run()
        )
        index = next(i for i, b in enumerate(siblings) if b.id == bureau_id)
        target = index + (1 if step > 0 else -1)
        if not 0 <= target < len(siblings):
            return bureau
        siblings[index], siblings[target] = siblings[target], siblings[index]
        # Renumber the siblings 1…n: positions left equal by an import become distinct.
        for place, sibling in enumerate(siblings, start=1):
            if sibling.position != place:
                sibling.position = place
                await sibling.save([Bureau.position]).run()
        await audit.record(
            actor,
            "bureau.move",
            bureau,
            before={"place": index + 1},
            after={"place": target + 1},
        )
    return bureau


# The apps' records that tie a bureau to its history: each app registers, under a label,
# a query "does this bureau have any?" (nominations, stories …), so the kernel need not
# know their tables.
HISTORY: dict[str, Callable[[int], Any]] = {}


async def delete_bureau(actor: Actor, root_id: int, bureau_id: int) -> str:
    """Delete a bureau added by mistake: one with no history (no sub-bureau, account,
    campaign or nomination). Returns its name; ``BureauRefused`` says why not."""
    if bureau_id == root_id:
        raise BureauRefused("不能删除本单位。")
    node = await node_within(root_id, bureau_id)
    async with write_transaction():
        reasons = [
            label
            for label, used in (
                ("下级单位", Bureau.exists().where(Bureau.parent == bureau_id)),
                ("工作人员账号", Staff.exists().where(Staff.bureau == bureau_id)),
                ("评选活动", Campaign.exists().where(Campaign.organiser == bureau_id)),
                *[(label, query(bureau_id)) for label, query in HISTORY.items()],
            )
            if await used
        ]
        if reasons:
            raise BureauRefused(
                f"「{node.name}」已有{'、'.join(reasons)}，不能删除；不再使用的单位请撤销。"
            )
        await audit.record(actor, "bureau.delete", ("bureau", bureau_id), label=node.name)
        await Bureau.delete().where(Bureau.id == bureau_id).run()
    return node.name


async def name_at(bureau: Bureau, when: dt.datetime) -> tuple[str, str]:
    """The bureau's (name, short name) as it was at ``when``."""
    former = (
        await BureauName.select(BureauName.name, BureauName.short_name)
        .where((BureauName.bureau == bureau.id) & (BureauName.until > when))
        .order_by(BureauName.until)
        .first()
        .run()
    )
    return (former["name"], former["short_name"]) if former else (bureau.name, bureau.short_name)
