"""The statistics as tables: one definition for the tables under the page's charts and
for the sheets of the workbook, so both always show the same numbers.

A cell is an ``int``, a ``Decimal`` per cent, text, or ``None`` for a figure that is
not public yet (the page says 未公布, the workbook too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from nominations.fields import ENTRUSTED
from portal import sheets
from portal.campaigns import zone
from portal.tables import Phase
from results.statistics import CampaignStatistics, WorkFigures, YearPoint, field_label

NOT_PUBLIC = "未公布"
SUMMARY_SHEET = "概况"


@dataclass
class FigureTable:
    """A titled table: its header row, its body rows and an optional total row."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]]
    total: list[Any] | None = None
    notes: list[str] = field(default_factory=list)


def _counts_cells(counts: Any) -> list[Any]:
    return [counts.nominated, counts.shortlisted, counts.designated]


def category_table(stats: CampaignStatistics) -> FigureTable:
    return FigureTable(
        "categories",
        "各类别推荐、入围和命名数量",
        ["类别", "命名名额", "推荐", "入围", "命名"],
        [[r.category.title, r.category.quota, *_counts_cells(r.counts)] for r in stats.categories],
        ["合计", sum(r.category.quota for r in stats.categories), *_counts_cells(stats.total)],
    )


def bureau_table(stats: CampaignStatistics) -> FigureTable:
    headers = ["推荐单位"]
    for row in stats.categories:
        short = row.category.title.replace("“枫桥式”", "") or row.category.title
        headers += [f"{short}推荐", f"{short}入围", f"{short}命名"]
    headers += ["推荐合计", "入围合计", "命名合计"]
    rows = []
    for bureau in stats.bureaus:
        cells: list[Any] = [bureau.name]
        for row in stats.categories:
            cells += _counts_cells(bureau.by_category[row.category.id])
        rows.append([*cells, *_counts_cells(bureau.total)])
    total: list[Any] = ["合计"]
    for row in stats.categories:
        total += _counts_cells(row.counts)
    return FigureTable(
        "bureaus",
        "各推荐单位推荐、入围和命名数量",
        headers,
        rows,
        [*total, *_counts_cells(stats.total)],
    )


def votes_table(stats: CampaignStatistics) -> FigureTable:
    rows = [[d.day, d.counted, d.held, d.excluded, d.total] for d in stats.votes or []]
    totals = stats.vote_totals
    return FigureTable(
        "votes",
        "每日投票数",
        ["日期", "有效票", "待核查", "已剔除", "合计"],
        rows,
        ["合计", totals.counted, totals.held, totals.excluded, totals.total] if totals else None,
        [] if stats.votes is not None else ["网络投票开始后公布每日票数。"],
    )


def visits_table(stats: CampaignStatistics) -> FigureTable:
    notes = []
    if stats.visits_unattributed:
        notes.append(
            f"累计访问量 {stats.visits:,} 次中，有 {stats.visits_unattributed:,} 次无法按日拆分："
            "按日统计启用之前的访问只计入总数，最近几秒内的访问尚待入账。"
        )
    return FigureTable(
        "visits",
        "每日访问量",
        ["日期", "访问量"],
        [[day, n] for day, n in stats.visit_days],
        ["按日合计", stats.visits_by_day_total],
        notes,
    )


ENTRUSTED_HEADERS = [f"{field_label(key)}（件）" for key in ENTRUSTED]
WORK_HEADERS = [
    "命名对象",
    "排查调处矛盾纠纷（件）",
    "调解成功（件）",
    "调解成功率",
    "司法确认（件）",
    "随手调（件）",
    "随手调占比",
]


def work_cells(work: WorkFigures | None) -> list[Any]:
    """A row of work figures (None in each cell when they are not public)."""
    if work is None:
        return [None] * (len(WORK_HEADERS) + len(ENTRUSTED_HEADERS) + 1)
    return [
        work.designees,
        work.mediated,
        work.resolved,
        work.success_rate,
        work.sums["judicial_confirmations"],
        work.sums["on_the_spot"],
        work.on_the_spot_share,
        *(n for _, _, n in work.entrusted),
        work.entrusted_total,
    ]


def work_table(stats: CampaignStatistics) -> FigureTable:
    return FigureTable(
        "work",
        "命名对象年度工作数据",
        ["类别", *WORK_HEADERS, *ENTRUSTED_HEADERS, "委托移送合计（件）"],
        [[r.category.title, *work_cells(r.work)] for r in stats.categories],
        ["合计", *work_cells(stats.work)],
        [] if stats.work is not None else ["正式命名后公布命名对象的工作数据。"],
    )


def series_table(points: list[YearPoint]) -> FigureTable:
    return FigureTable(
        "series",
        "历年对比",
        [
            "年度",
            "评选活动",
            "推荐",
            "入围",
            "命名",
            "有效票",
            "累计访问量",
            "排查调处（件）",
            "调解成功率",
        ],
        [
            [
                f"{p.year}年",
                p.title,
                p.nominated,
                p.shortlisted,
                p.designated,
                p.votes,
                p.visits,
                p.mediated,
                p.success_rate,
            ]
            for p in points
        ],
    )


def figure_tables(stats: CampaignStatistics) -> dict[str, FigureTable]:
    """Every table of the page, by key."""
    tables = [
        category_table(stats),
        bureau_table(stats),
        votes_table(stats),
        visits_table(stats),
        work_table(stats),
        series_table(stats.series),
    ]
    return {t.key: t for t in tables}


# --- the workbook -----------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return NOT_PUBLIC
    if isinstance(value, Decimal):
        return float(value) / 100
    return value


def statistics_workbook(stats: CampaignStatistics, exported_at: dt.datetime) -> bytes:
    """The page's tables as .xlsx: a summary sheet, then one sheet per table. Per cents are
    numbers formatted as per cents. CPU-bound: run it in a worker thread."""
    campaign = stats.campaign
    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY_SHEET
    used = {SUMMARY_SHEET}
    sheets.append(ws, [f"{campaign.title} · 数据统计"])
    ws["A1"].font = Font(bold=True, size=14)
    sheets.append(ws, [])
    totals = stats.vote_totals
    facts: list[tuple[str, Any]] = [
        ("评选活动", campaign.title),
        ("年度", campaign.year),
        ("主办单位", stats.organiser or "—"),
        ("当前阶段", Phase.label_of(campaign.phase)),
        ("推荐", stats.total.nominated),
        ("入围", stats.total.shortlisted),
        ("命名", stats.total.designated),
        ("累计访问量", stats.visits),
        ("有效票", totals.counted if totals else None),
        ("待核查票", totals.held if totals else None),
        ("已剔除票", totals.excluded if totals else None),
        ("导出时间", exported_at.astimezone(zone(campaign.timezone)).strftime("%Y-%m-%d %H:%M")),
    ]
    for label, value in facts:
        sheets.append(ws, [label, _cell(value)])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.cell(ws.max_row, 2).alignment = Alignment(horizontal="left")
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 60
    for table in figure_tables(stats).values():
        sheet = sheets.new_sheet(wb, table.title, used)
        sheets.header(sheet, table.headers)
        for row in [*table.rows, *([table.total] if table.total else [])]:
            sheets.append(sheet, [_cell(v) for v in row])
            for cell, value in zip(sheet[sheet.max_row], row, strict=True):
                if isinstance(value, Decimal):
                    cell.number_format = "0.0%"
        if table.total:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        for note in table.notes:
            sheets.append(sheet, [])
            sheets.append(sheet, [note])
        sheet.column_dimensions["A"].width = 26
        for index in range(2, len(table.headers) + 1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = 14
    return sheets.to_bytes(wb)
