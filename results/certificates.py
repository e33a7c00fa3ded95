"""The paper of a designation: the register workbook, and the plaque list (牌匾制作清单)
the organiser sends to the makers. The certificates themselves are a print page
(templates/results/certificates.html, A4 landscape). CPU-bound: run in a thread."""

from __future__ import annotations

import datetime as dt

from openpyxl import Workbook
from openpyxl.styles import Alignment

from portal import sheets
from portal.tables import Campaign, CategoryKind
from results.register import Entry

REGISTER_COLUMNS = (
    "证书编号",
    "名称",
    "所在单位",
    "县区",
    "类别",
    "命名单位",
    "评选活动",
    "年度",
    "命名日期",
    "有效期至",
    "状态",
    "撤销日期",
    "撤销理由",
)
PLAQUE_COLUMNS = (
    "序号",
    "证书编号",
    "牌匾文字（单位名称）",
    "牌匾文字（称号）",
    "落款",
    "县区",
    "命名日期",
    "备注",
)
# Plaques go to units; a mediator receives the certificate alone.
PLAQUE_KINDS = frozenset(
    {CategoryKind.judicial_office.value, CategoryKind.mediation_committee.value}
)
DIGITS = "〇一二三四五六七八九"


def upper_date(day: dt.date) -> str:
    """A date as plaques and seals write it: 二〇二三年十二月."""
    year = "".join(DIGITS[int(d)] for d in str(day.year))
    month = ("十" if day.month >= 10 else "") + (DIGITS[day.month % 10] if day.month % 10 else "")
    return f"{year}年{month}月"


def _widths(ws, widths: tuple[int, ...]) -> None:  # type: ignore[no-untyped-def]
    for index, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + index)].width = width


def register_workbook(entries: list[Entry]) -> bytes:
    """The register (or a filtered part of it) as .xlsx, one row per designation."""
    wb = Workbook()
    ws = wb.active
    ws.title = "命名名录"
    sheets.header(ws, REGISTER_COLUMNS)
    for e in entries:
        sheets.append(
            ws,
            [
                e.certificate_no,
                e.name,
                e.organisation,
                e.county,
                e.category,
                e.organiser,
                e.campaign_title,
                e.year,
                e.designated_on,
                e.valid_until,
                e.status_label,
                e.revoked_on or "",
                e.revocation_reason,
            ],
        )
        for col in (9, 10, 12):
            ws.cell(ws.max_row, col).number_format = "yyyy-mm-dd"
    _widths(ws, (26, 28, 30, 10, 26, 16, 30, 8, 12, 12, 8, 12, 40))
    return sheets.to_bytes(wb)


def plaque_workbook(campaign: Campaign, bureau: str, entries: list[Entry]) -> bytes:
    """The plaque list for the makers: one row per designated unit, with the words to
    engrave (unit, title, the issuing bureau and the month in Chinese numerals)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "牌匾制作清单"
    sheets.append(ws, [f"{campaign.title} 牌匾制作清单"])
    sheets.append(ws, [])
    sheets.header(ws, PLAQUE_COLUMNS)
    units = [e for e in entries if e.kind in PLAQUE_KINDS]
    for index, e in enumerate(units, start=1):
        sheets.append(
            ws,
            [
                index,
                e.certificate_no,
                e.name,
                e.title,
                f"{bureau}\n{upper_date(e.designated_on)}",
                e.county,
                e.designated_on,
                "已撤销命名，请勿制作" if e.status == "revoked" else "",
            ],
        )
        ws.cell(ws.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(ws.max_row, 7).number_format = "yyyy-mm-dd"
    _widths(ws, (6, 26, 30, 30, 24, 10, 12, 20))
    return sheets.to_bytes(wb)
