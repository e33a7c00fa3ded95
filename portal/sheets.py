"""The workbooks the portal writes: one cell writer that keeps people's text as text,
the header row and sheet names they share, and the download response.

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
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from litestar import Response
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "FORMULA_STARTS",
    "XLSX",
    "append",
    "header",
    "new_sheet",
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
