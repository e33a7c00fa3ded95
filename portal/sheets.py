"""The workbooks the portal writes and reads: one cell writer that keeps people's text
as text, the header row and sheet names they share, the download response, and one
careful opener for uploaded workbooks.

Every .xlsx the portal makes (nomination templates and exports, the expert scores, the
public results) writes its cells through ``write`` or ``append``. openpyxl stores a
string starting with ``=`` as a formula, and Excel re-reads a cell starting with
``= + - @`` (or a tab or carriage return before one) as a formula as soon as someone
edits it: a nominee named ``=HYPERLINK("http://…")`` would become a live link in every
reviewer's sheet. ``write`` stores such text as a string cell with Excel's quote prefix
(the cell shows and keeps the text, as if typed with a leading apostrophe).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from litestar import Response
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "FORMULA_STARTS",
    "XLSX",
    "UnreadableWorkbook",
    "append",
    "header",
    "new_sheet",
    "open_workbook",
    "to_bytes",
    "write",
    "xlsx_response",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The first characters that make a spreadsheet read a cell's text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER_FILL = PatternFill("solid", fgColor="F3E3E3")
# Sheet titles: at most 31 characters, none of []:*?/\
_FORBIDDEN_IN_TITLE = str.maketrans({c: "_" for c in "[]:*?/\\"})


def write(cell: Cell, value: Any) -> Cell:
    """Store a value in a cell: numbers and dates as they are; text always as text (never
    a formula or an error code, quote-prefixed when it starts like a formula), without
    the control characters .xlsx cannot hold."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        if cell.data_type in ("f", "e"):
            cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def append(ws: Worksheet, values: Iterable[Any]) -> None:
    """Add a row below the sheet's last one, every value through ``write``."""
    ws.append([write(Cell(ws), value) for value in values])


def header(ws: Worksheet, values: Iterable[str], *, freeze: bool = True) -> None:
    """Append a bold, shaded header row; ``freeze`` keeps it in view when scrolling."""
    append(ws, values)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    if freeze:
        # By name: ``ws.cell`` would create the row below, and rows appended later would
        # start after it, leaving an empty row under the header.
        ws.freeze_panes = f"A{ws.max_row + 1}"


def new_sheet(wb: Workbook, title: str, used: set[str], fallback: str = "表") -> Worksheet:
    """A new sheet named after ``title`` as Excel allows (no []:*?/\\, short enough),
    numbered when the name is already in ``used`` (which it joins)."""
    base = title.translate(_FORBIDDEN_IN_TITLE)[:28] or fallback
    name, n = base, 2
    while name in used:
        name, n = f"{base}{n}", n + 1
    used.add(name)
    return wb.create_sheet(name)


def to_bytes(wb: Workbook) -> bytes:
    """The workbook as the bytes of an .xlsx file."""
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_response(data: bytes, filename: str) -> Response:
    """An .xlsx download named ``filename`` (UTF-8), never kept by caches."""
    return Response(
        content=data,
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store",
        },
    )


# An uploaded workbook may unpack to at most this much (a zip bomb is refused unread).
MAX_UNPACKED_BYTES = 64 * 1024 * 1024


class UnreadableWorkbook(ValueError):
    """The upload is not a workbook the portal can read; ``message`` says why (zh-CN)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


def open_workbook(data: bytes, unreadable: str) -> Workbook:
    """An uploaded .xlsx, checked by content before openpyxl parses it, read-only and
    with formulas kept as formulas (never the value they last computed). Raises
    ``UnreadableWorkbook`` with ``unreadable`` (or a size message)."""
    if not data:
        raise UnreadableWorkbook("文件为空。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            unpacked = sum(info.file_size for info in infos)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise UnreadableWorkbook(unreadable) from None
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise UnreadableWorkbook(unreadable)
    if unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableWorkbook("文件内容过大。", too_large=True)
    try:
        return load_workbook(io.BytesIO(data), read_only=True)
    except Exception:  # any failure to parse the package means the file is unusable
        raise UnreadableWorkbook(unreadable) from None
