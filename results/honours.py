"""The designation's public face: the honour list (光荣榜), the printable decision
(关于命名……的决定), the results workbook and the yearly archive of honour lists.

Everything here reads what ``results.services`` stored; nothing is recomputed.
The honour list and the decision exist once the campaign is ``published`` (designated);
the workbook as soon as the ranking is public (notice or published).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from piccolo.query.functions.aggregate import Count

from portal import sheets
from portal.campaigns import organiser_of, zone
from portal.identity import WORDING, Wording
from portal.tables import Bureau, Campaign, Category, CategoryKind, Phase
from results.divisions import Division, DivisionOrder, by_division, division_order
from results.ranking import Method
from results.services import (
    PUBLIC_PHASES,
    CategoryRanking,
    Row,
    figure,
    method_of,
    ranking,
    tally_of,
)
from results.tables import Designation, Standing, Tally

# The issuer of a campaign made before campaigns had an organiser and never linked.
FALLBACK_BUREAU = "司法局"
CHINESE_NUMERALS = "一二三四五六七八九十"


# --- small formatting rules ---------------------------------------------------------------


def chinese_date(value: dt.datetime | dt.date, tz: str = "Asia/Shanghai") -> str:
    """A date as an official document writes it: 2023年12月5日 (no leading zeros),
    in the campaign's time zone."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(zone(tz)).date()
    return f"{value.year}年{value.month}月{value.day}日"


def ordinal(index: int) -> str:
    """一, 二, … 十九 for the list's headings (1-based); Arabic numerals beyond."""
    if 1 <= index <= len(CHINESE_NUMERALS):
        return CHINESE_NUMERALS[index - 1]
    if 11 <= index <= 19:
        return "十" + CHINESE_NUMERALS[index - 11]
    return str(index)


def is_person(category: Category) -> bool:
    return category.kind == CategoryKind.mediator.value


def measure(category: Category) -> str:
    """The measure word of a category's designees: 名 for people, 个 for units."""
    return "名" if is_person(category) else "个"


def joined(titles: list[str]) -> str:
    """Titles joined the Chinese way: A、B和C. A shared leading quotation (“枫桥式”) is
    written once: “枫桥式”司法所、人民调解委员会和人民调解员."""
    titles = [t for t in titles if t]
    if not titles:
        return ""
    prefix = ""
    if len(titles) > 1:
        common = titles[0]
        for title in titles[1:]:
            while not title.startswith(common):
                common = common[:-1]
        # Only a complete quotation is factored out, never half a word.
        cut = common.rfind("”")
        if cut >= 0 and all(len(t) > cut + 1 for t in titles):
            prefix = common[: cut + 1]
    rests = [t[len(prefix) :] for t in titles]
    body = rests[0] if len(rests) == 1 else "、".join(rests[:-1]) + "和" + rests[-1]
    return prefix + body


def decision_title(campaign: Campaign, categories: list[Category]) -> str:
    """关于命名2023年度“枫桥式”司法所、人民调解委员会和人民调解员的决定."""
    return f"关于命名{campaign.year}年度{joined([c.title for c in categories])}的决定"


def name_list_title(campaign: Campaign, categories: list[Category], proposed: bool = False) -> str:
    """The attachment's title: 2023年度“枫桥式”司法所、人民调解委员会和人民调解员名单
    (拟命名名单 for the notice)."""
    what = "拟命名名单" if proposed else "名单"
    return f"{campaign.year}年度{joined([c.title for c in categories])}{what}"


def listing(row: Row, category: Category) -> str:
    """One designee as the decision lists it: a unit with its county when its name does
    not already say it; a person with their organisation (and county)."""
    if is_person(category):
        where = row.organisation or ""
        if row.county and not where.startswith(row.county):
            where = f"{row.county}{where}"
        return f"{row.name}（{where}）" if where else row.name
    if row.county and not row.name.startswith(row.county):
        return f"{row.name}（{row.county}）"
    return row.name


def thumbnail_url(row: Row) -> str | None:
    """The public thumbnail of a designee's photo (served by nominations' PublicMedia)."""
    return f"/media/candidates/{row.candidate_id}/thumbnail.jpg" if row.photo else None


async def issuing_bureau(campaign: Campaign) -> str:
    """The organiser's name as it was at the designation: it issues the decision."""
    organiser = await organiser_of(campaign)
    return organiser.name if organiser else FALLBACK_BUREAU


@dataclass(frozen=True)
class Issuer:
    """Who issues a campaign's documents and to whom they go: the organiser's name, the
    words for it and its nominating bureaus, and the bureau above it (for 抄送)."""

    name: str
    words: Wording
    superior: str = ""

    @property
    def office(self) -> str:
        """The printing office of the 版记: 某市司法局办公室."""
        return f"{self.name}办公室"

    def copies_to(self, nominators: bool = False) -> str:
        """The 抄送 line's addressees: the bureau above the organiser, and (for the notice,
        which is not addressed to them) the nominating bureaus; empty for none."""
        names = [self.superior] if self.superior else []
        if nominators:
            names.append(f"各{self.words.nominators}")
        return "，".join(names)


async def issuer_of(campaign: Campaign) -> Issuer:
    """The campaign's issuer (see ``Issuer``); a campaign without an organiser speaks
    as a city bureau with no bureau above it."""
    organiser = await organiser_of(campaign)
    if organiser is None:
        return Issuer(FALLBACK_BUREAU, WORDING["city"])
    superior = ""
    if organiser.parent is not None:
        parent = await Bureau.objects().where(Bureau.id == organiser.parent).first().run()
        superior = parent.name if parent is not None else ""
    return Issuer(organiser.name, WORDING.get(organiser.level, WORDING["city"]), superior)


# --- the honour list and the decision -----------------------------------------------------


@dataclass
class HonourList:
    """A published campaign's designees per category, with the designation's facts."""

    campaign: Campaign
    tally: Tally
    categories: list[CategoryRanking]
    bureau: str
    # Candidate id → (date, reason) of a title revoked since (撤销命名): the list keeps
    # the designee and says so, never erases it.
    revoked: dict[int, tuple[dt.date, str]] = field(default_factory=dict)
    # The organiser's order of the nominating bureaus: the decision lists by division.
    order: DivisionOrder = field(default_factory=lambda: DivisionOrder({}, {}))
    issuer: Issuer | None = None

    def revocation(self, row: Row) -> str:
        """（已于2024年3月20日撤销命名） for a title revoked since, else empty."""
        found = self.revoked.get(row.candidate_id)
        return f"（已于{chinese_date(found[0])}撤销命名）" if found else ""

    @property
    def named(self) -> list[CategoryRanking]:
        """The categories that have designees, in order."""
        return [item for item in self.categories if item.designated]

    @property
    def designated_on(self) -> str:
        return chinese_date(self.tally.designated_at, self.campaign.timezone)

    @property
    def notice_from(self) -> str:
        return chinese_date(self.tally.notice_starts_at, self.campaign.timezone)

    @property
    def notice_to(self) -> str:
        return chinese_date(self.tally.notice_ends_at, self.campaign.timezone)

    @property
    def title(self) -> str:
        named = self.named or self.categories
        return decision_title(self.campaign, [item.category for item in named])

    @property
    def list_title(self) -> str:
        """The title of the attached name list (附件)."""
        named = self.named or self.categories
        return name_list_title(self.campaign, [item.category for item in named])

    @property
    def divisions(self) -> list[Division]:
        """The designees by administrative division in the organiser's order, then by
        category: the attached name list."""
        return by_division(self.categories, self.order)

    def in_division_order(self, item: CategoryRanking) -> list[Row]:
        """A category's designees by division in the organiser's order (rank within)."""
        return sorted(item.designated, key=self.order.key)

    def decision_clauses(self) -> list[str]:
        """The decision's naming clauses: 安定区中华路司法所等7个单位为“枫桥式”司法所,
        naming first the first of the list (by division)."""
        clauses = []
        for item in self.named:
            first, count = self.in_division_order(item)[0].name, len(item.designated)
            if is_person(item.category):
                who = f"{first}等{count}名同志" if count > 1 else f"{first}同志"
            else:
                who = f"{first}等{count}个单位" if count > 1 else first
            clauses.append(f"{who}为{item.category.title}")
        return clauses


async def honour_list(campaign: Campaign) -> HonourList | None:
    """The honour list of a designated campaign, or None before its designation."""
    if campaign.phase != Phase.published.value:
        return None
    row = await tally_of(campaign.id)
    if row is None or row.designated_at is None:
        return None
    revoked = {
        r["candidate"]: (_day(r["revoked_on"]), r["revocation_reason"])
        for r in await Designation.select(
            Designation.candidate, Designation.revoked_on, Designation.revocation_reason
        )
        .where((Designation.campaign == campaign.id) & Designation.revoked_on.is_not_null())
        .run()
    }
    issuer = await issuer_of(campaign)
    return HonourList(
        campaign,
        row,
        await ranking(campaign),
        issuer.name,
        revoked,
        await division_order(campaign),
        issuer,
    )


def _day(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


# --- the yearly archive -------------------------------------------------------------------


@dataclass
class ArchivedCategory:
    title: str
    count: int
    measure: str


@dataclass
class ArchivedCampaign:
    campaign: Campaign
    designated_at: dt.datetime | None
    categories: list[ArchivedCategory] = field(default_factory=list)

    @property
    def designated(self) -> bool:
        """Designated through the results (so the honour list and decision exist)."""
        return self.designated_at is not None

    @property
    def designated_on(self) -> str:
        if self.designated_at is None:
            return ""
        return chinese_date(self.designated_at, self.campaign.timezone)


@dataclass
class ArchiveYear:
    year: int
    campaigns: list[ArchivedCampaign]


async def archive() -> list[ArchiveYear]:
    """Published campaigns by year, newest first, with their designees per category."""
    campaigns = (
        await Campaign.objects()
        .where(Campaign.phase == Phase.published.value)
        .order_by(Campaign.year, ascending=False)
        .order_by(Campaign.id, ascending=False)
        .run()
    )
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    designated_at = {
        r["campaign"]: r["designated_at"]
        for r in await Tally.select(Tally.campaign, Tally.designated_at)
        .where(Tally.campaign.is_in(ids))
        .run()
    }
    counts = {
        r["category"]: r["n"]
        for r in await Standing.select(Standing.category, Count(alias="n"))
        .where(Standing.campaign.is_in(ids) & (Standing.designated == True))  # noqa: E712
        .group_by(Standing.category)
        .run()
    }
    by_campaign: dict[int, list[Category]] = defaultdict(list)
    for category in (
        await Category.objects()
        .where(Category.campaign.is_in(ids))
        .order_by(Category.position)
        .order_by(Category.id)
        .run()
    ):
        by_campaign[category.campaign].append(category)
    years: dict[int, list[ArchivedCampaign]] = {}
    for campaign in campaigns:
        entry = ArchivedCampaign(campaign, designated_at.get(campaign.id))
        if entry.designated:
            entry.categories = [
                ArchivedCategory(c.title, counts.get(c.id, 0), measure(c))
                for c in by_campaign[campaign.id]
            ]
        years.setdefault(campaign.year, []).append(entry)
    return [ArchiveYear(year, items) for year, items in years.items()]


# --- the workbook -------------------------------------------------------------------------

SUMMARY_SHEET = "评选概况"
RANK_HEADERS = (
    "排名",
    "名称",
    "单位 / 所属组织",
    "推荐单位",
    "专家评审得分",
    "有效票数",
    "投票得分",
    "综合得分",
    "{named}",
    "取消资格",
)


@dataclass
class WorkbookData:
    """What the workbook shows, read from the database before building it in a thread."""

    campaign: Campaign
    tally: Tally
    method: Method
    categories: list[CategoryRanking]
    exported_at: dt.datetime


async def workbook_data(campaign: Campaign) -> WorkbookData | None:
    """The workbook's content once the ranking is public (notice or published), else None."""
    if campaign.phase not in PUBLIC_PHASES:
        return None
    row = await tally_of(campaign.id)
    if row is None:
        return None
    return WorkbookData(
        campaign, row, method_of(row), await ranking(campaign), dt.datetime.now(dt.UTC)
    )


def _when(value: dt.datetime | None, tz: str) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


def _figures(r: Row) -> tuple[float, int, float, float]:
    return (figure(r.review_score), r.votes, figure(r.vote_score), figure(r.final_score))


def results_workbook(data: WorkbookData) -> bytes:
    """The results as .xlsx: a summary sheet (campaign, method, notice, designation), then
    one sheet per category with every component; names and titles are written as text,
    never as formulas. CPU-bound: run it in a worker thread."""
    campaign, tally, method = data.campaign, data.tally, data.method
    tz = campaign.timezone
    published = campaign.phase == Phase.published.value
    # As on the notice and in the API: the organiser may publish the names only.
    shown = campaign.notice_shows_scores
    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY_SHEET
    used = {SUMMARY_SHEET}
    sheets.append(ws, [campaign.title])
    ws["A1"].font = Font(bold=True, size=14)
    sheets.append(ws, [])
    facts = [
        ("评选活动", campaign.title),
        ("年度", campaign.year),
        ("活动标识", campaign.slug),
        ("当前阶段", Phase.label_of(campaign.phase)),
        ("专家评审权重", figure(method.review_weight)),
        ("网络投票权重", figure(method.vote_weight)),
        ("计算方法", method.formula_zh),
        ("综合评定时间", _when(tally.tallied_at, tz)),
        ("公示开始", _when(tally.notice_starts_at, tz)),
        ("公示结束", _when(tally.notice_ends_at, tz)),
        ("命名日期", chinese_date(tally.designated_at, tz) if tally.designated_at else "尚未命名"),
        ("文号", tally.document_no or "—"),
        ("公示内容", "名单及分数、票数" if shown else "仅名单（不公布分数和票数）"),
        ("时区", tz),
        ("导出时间", _when(data.exported_at, tz)),
    ]
    for label, value in facts:
        sheets.append(ws, [label, value])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        ws.cell(ws.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
    sheets.append(ws, [])
    sheets.header(
        ws,
        ["类别", "命名名额", "候选对象", "命名" if published else "拟命名", "取消资格"],
        freeze=False,
    )
    for item in data.categories:
        sheets.append(
            ws,
            [
                item.category.title,
                item.category.quota,
                len(item.rows),
                len(item.designated),
                sum(1 for r in item.rows if r.excluded_reason),
            ],
        )
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 80
    named = "是否命名" if published else "是否拟命名"
    for item in data.categories:
        sheet = sheets.new_sheet(wb, item.category.title, used, "类别")
        sheets.header(sheet, [h.format(named=named) for h in RANK_HEADERS])
        for r in item.rows:
            sheets.append(
                sheet,
                [
                    r.rank,
                    r.name,
                    r.organisation,
                    r.county,
                    *(_figures(r) if shown else (None, None, None, None)),
                    "是" if r.designated else "否",
                    "已取消资格" if r.excluded_reason else "",
                ],
            )
        for letter, width in zip(
            "ABCDEFGHIJ", (7, 36, 30, 10, 13, 10, 11, 11, 11, 11), strict=True
        ):
            sheet.column_dimensions[letter].width = width
        for column in "EGH":
            for cell in sheet[column][1:]:
                cell.number_format = "0.00"
    return sheets.to_bytes(wb)
