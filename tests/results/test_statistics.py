"""The public statistics (数据) of the demo's campaigns, recomputed from the records.

Each figure the page and its workbook show is counted here again with queries of its
own (rows read and counted in Python, not the service's GROUP BYs), then compared with
the tables under the charts and with the workbook's sheets. Phase rules: what is not
public yet reads 未公布, a county's drafts are never counted, a draft campaign is 404.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

from openpyxl import load_workbook

from nominations.tables import Nomination
from portal import visits
from portal.tables import Bureau, Campaign, Category, Phase, VisitDay
from results.tables import Standing
from voting.tables import Vote

ENTRUSTED = (
    "entrusted_court",
    "entrusted_police",
    "entrusted_government",
    "entrusted_petition",
    "entrusted_other",
)
PUT_FORWARD = {"submitted", "returned", "shortlisted", "rejected"}


class Tables(HTMLParser):
    """The page's tables by caption: header row and body/total rows as cell texts; and
    how many SVG charts it draws."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.charts = 0
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._name = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "svg" and ("role", "img") in attrs:
            self.charts += 1
        elif tag == "table":
            self._rows = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None:
            self._name, self._caption = "".join(self._caption).strip(), None
        elif tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._name] = self._rows
            self._rows = None

    def handle_data(self, data: str) -> None:
        if self._caption is not None:
            self._caption.append(data)
        elif self._cell is not None:
            self._cell.append(data)


def headings(page: str) -> list[str]:
    return re.findall(r'<h2 id="h-o\d+">([^<]+)</h2>', page)


def text(value: object) -> str:
    """A figure as the page writes it."""
    if value is None:
        return "未公布"
    if isinstance(value, Decimal):
        return f"{value}%"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


async def campaign(slug: str) -> Campaign:
    return await Campaign.objects().where(Campaign.slug == slug).first().run()


async def expected(slug: str) -> dict:
    """Every figure of the campaign's page, counted from the rows."""
    found = await campaign(slug)
    categories = (
        await Category.objects()
        .where(Category.campaign == found.id)
        .order_by(Category.position)
        .order_by(Category.id)
        .run()
    )
    nominations = await Nomination.select().where(Nomination.campaign == found.id).run()
    put_forward = [n for n in nominations if n["status"] in PUT_FORWARD]
    designated_ids = {
        s["candidate"]
        for s in await Standing.select(Standing.candidate, Standing.designated)
        .where(Standing.campaign == found.id)
        .run()
        if s["designated"]
    }
    by_id = {n["id"]: n for n in nominations}
    designees = [by_id[i] for i in designated_ids]
    votes = await Vote.select(Vote.day, Vote.status).where(Vote.campaign == found.id).run()
    per_day: dict[str, Counter] = defaultdict(Counter)
    for vote in votes:
        per_day[vote["day"]][vote["status"]] += 1
    bureaus = {b["id"]: b["name"] for b in await Bureau.select(Bureau.id, Bureau.name).run()}
    return {
        "campaign": found,
        "categories": categories,
        "put_forward": put_forward,
        "shortlisted": [n for n in nominations if n["status"] == "shortlisted"],
        "designees": designees,
        "per_day": per_day,
        "bureaus": bureaus,
    }


def category_rows(facts: dict, nominated: bool, designated: bool) -> list[list[str]]:
    def count(key: str, category: Category) -> int:
        return sum(n["category"] == category.id for n in facts[key])

    return [
        [
            c.title,
            text(c.quota),
            text(count("put_forward", c) if nominated else None),
            text(count("shortlisted", c)),
            text(count("designees", c) if designated else None),
        ]
        for c in facts["categories"]
    ]


def work_row(title: str, designees: list[dict]) -> list[str]:
    sums = {
        key: sum(d[key] or 0 for d in designees)
        for key in (
            "disputes_mediated",
            "disputes_resolved",
            "judicial_confirmations",
            "on_the_spot",
            *ENTRUSTED,
        )
    }
    mediated = sums["disputes_mediated"]
    return [
        title,
        text(len(designees)),
        text(mediated),
        text(sums["disputes_resolved"]),
        text(rate(sums["disputes_resolved"], mediated)),
        text(sums["judicial_confirmations"]),
        text(sums["on_the_spot"]),
        text(rate(sums["on_the_spot"], mediated)),
        *(text(sums[key]) for key in ENTRUSTED),
        text(sum(sums[key] for key in ENTRUSTED)),
    ]


async def page_tables(client, slug: str) -> Tables:  # type: ignore[no-untyped-def]
    response = await client.get(f"/campaigns/{slug}/statistics")
    assert response.status_code == 200, response.text[:500]
    return Tables(response.text)


async def test_the_published_campaign_shows_every_figure_of_its_records(
    demo_loaded: Path, client
) -> None:
    facts = await expected("dingxi-2022")
    found = facts["campaign"]
    response = await client.get("/campaigns/dingxi-2022/statistics")
    assert response.status_code == 200
    page = Tables(response.text)
    # Charts of categories, bureaus, votes per day, entrusted cases and the years.
    assert page.charts == 5
    tables = page.tables

    # By category: nominated (put forward), shortlisted, designated.
    rows = tables["各类别推荐、入围和命名数量"]
    assert rows[0] == ["类别", "命名名额", "推荐", "入围", "命名"]
    assert rows[1:-1] == category_rows(facts, True, True)
    assert rows[-1][2:] == [
        text(len(facts["put_forward"])),
        text(len(facts["shortlisted"])),
        text(len(facts["designees"])),
    ]
    assert rows[-1][2:] == ["53", "52", "29"]

    # By nominating bureau: each county's totals, in the bureaus' order.
    rows = tables["各推荐单位推荐、入围和命名数量"]
    got = {row[0]: row[-3:] for row in rows[1:-1]}
    want: dict[str, list[str]] = {}
    for bureau_id in {n["bureau"] for n in facts["put_forward"]}:
        name = facts["bureaus"][bureau_id]
        want[name] = [
            text(sum(n["bureau"] == bureau_id for n in facts["put_forward"])),
            text(sum(n["bureau"] == bureau_id for n in facts["shortlisted"])),
            text(sum(n["bureau"] == bureau_id for n in facts["designees"])),
        ]
    assert {name: got[name] for name in want} == want
    assert all(got[name] == ["0", "0", "0"] for name in set(got) - set(want))

    # Votes per day by status, every day of the ledger.
    rows = tables["每日投票数"]
    per_day = facts["per_day"]
    assert [r[0] for r in rows[1:-1]] == sorted(per_day)
    for row in rows[1:-1]:
        day = per_day[row[0]]
        assert row[1:] == [
            text(day["counted"]),
            text(day["held"]),
            text(day["excluded"]),
            text(sum(day.values())),
        ]
    assert rows[-1][4] == text(sum(sum(d.values()) for d in per_day.values()))

    # Visits: the total, and no per-day record before per-day counting began.
    assert f"累计访问 {found.visits:,} 次" in response.text
    assert "每日访问量" not in tables and "暂无按日记录的访问量" in response.text

    # The designees' work figures per category and combined.
    rows = tables["命名对象年度工作数据"]
    for category, row in zip(facts["categories"], rows[1:-1], strict=True):
        mine = [d for d in facts["designees"] if d["category"] == category.id]
        assert row == work_row(category.title, mine)
    assert rows[-1] == work_row("合计", facts["designees"])

    # Year over year: the 2022 campaign designated, the 2023 one not yet.
    rows = tables["历年对比"]
    years = {row[0]: row for row in rows[1:]}
    assert years["2022年"][2:5] == ["53", "52", "29"]
    assert years["2023年"][4] == "未公布"
    assert years["2022年"][5] == text(sum(d["counted"] for d in per_day.values()))


async def test_the_workbook_holds_the_same_numbers(demo_loaded: Path, client) -> None:
    facts = await expected("dingxi-2022")
    response = await client.get("/campaigns/dingxi-2022/statistics.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    page = await page_tables(client, "dingxi-2022")
    for caption, rows in page.tables.items():
        sheet = wb[caption[:28]]
        cells = [list(row) for row in sheet.iter_rows()]
        assert [str(c.value) for c in cells[0]] == rows[0]
        for html_row, sheet_row in zip(rows[1:], cells[1:], strict=False):
            for shown, cell in zip(html_row, sheet_row, strict=True):
                stored = cell.value
                if "%" in cell.number_format:  # a per cent (100 % reads back as int 1)
                    percent = Decimal(str(float(stored) * 100)).quantize(Decimal("0.1"))
                    assert shown == f"{percent}%"
                elif isinstance(stored, int):
                    assert shown == f"{stored:,}"
                else:
                    assert shown == stored
    summary = {row[0]: row[1] for row in wb["概况"].iter_rows(min_row=3, values_only=True)}
    assert summary["推荐"] == len(facts["put_forward"])
    assert summary["命名"] == len(facts["designees"])
    assert summary["有效票"] == sum(d["counted"] for d in facts["per_day"].values())


async def test_a_campaign_in_its_vote_shows_no_designations_yet(demo_loaded: Path, client) -> None:
    facts = await expected("dingxi-2023")
    assert facts["campaign"].phase == Phase.voting.value
    page = await page_tables(client, "dingxi-2023")
    rows = page.tables["各类别推荐、入围和命名数量"]
    assert rows[1:-1] == category_rows(facts, True, False)
    assert "命名对象年度工作数据" not in page.tables
    text_ = (await client.get("/campaigns/dingxi-2023/statistics")).text
    assert "正式命名后公布命名对象的工作数据" in text_
    votes = page.tables["每日投票数"]
    assert [r[0] for r in votes[1:-1]] == sorted(facts["per_day"])


async def test_phase_rules_hide_what_is_not_public(demo_loaded: Path, client) -> None:
    # While nominations are open (the province's demo campaign), how many were put
    # forward is not public, and a bureau's draft is never counted, in any phase.
    province = await campaign("gansu-2024")
    assert province.phase == Phase.nominating.value
    page = await page_tables(client, "gansu-2024")
    rows = page.tables["各类别推荐、入围和命名数量"]
    assert {row[2] for row in rows[1:]} == {"未公布"}
    assert "每日投票数" not in page.tables  # no vote yet: no table, a sentence

    await (
        Campaign.update({Campaign.phase: Phase.vetting.value})
        .where(Campaign.id == province.id)
        .run()
    )
    client.app.state.page_cache.clear()
    facts = await expected("gansu-2024")
    page = await page_tables(client, "gansu-2024")
    assert page.tables["各类别推荐、入围和命名数量"][1:-1] == category_rows(facts, True, False)
    drafts = await Nomination.count().where(
        (Nomination.campaign == province.id) & (Nomination.status == "draft")
    )
    assert drafts  # ... which the total leaves out
    assert page.tables["各类别推荐、入围和命名数量"][-1][2] == text(len(facts["put_forward"]))

    # A draft campaign has no statistics.
    await (
        Campaign.update({Campaign.phase: Phase.draft.value}).where(Campaign.id == province.id).run()
    )
    client.app.state.page_cache.clear()
    assert (await client.get("/campaigns/gansu-2024/statistics")).status_code == 404
    assert (await client.get("/campaigns/gansu-2024/statistics.xlsx")).status_code == 404


async def test_visits_are_recorded_per_day_from_now_on(demo_loaded: Path, client) -> None:
    found = await campaign("dingxi-2022")
    store = client.app.state.stores.state
    for _ in range(3):
        await client.get("/campaigns/dingxi-2022")
    assert await visits.flush(store) >= 3
    rows = await VisitDay.select().where(VisitDay.campaign == found.id).run()
    assert len(rows) == 1 and rows[0]["visits"] >= 3
    # A later flush the same day adds to the day's row.
    await client.get("/campaigns/dingxi-2022")
    assert await visits.flush(store) == 1
    again = await VisitDay.select().where(VisitDay.campaign == found.id).run()
    assert [(r["day"], r["visits"]) for r in again] == [(rows[0]["day"], rows[0]["visits"] + 1)]
    rows = again
    client.app.state.page_cache.clear()
    page = await page_tables(client, "dingxi-2022")
    day_rows = page.tables["每日访问量"]
    assert day_rows[1] == [rows[0]["day"], text(rows[0]["visits"])]
    assert page.charts == 6  # the visits per day are drawn too
    total = (await campaign("dingxi-2022")).visits
    assert sum(r["visits"] for r in rows) <= total


async def test_the_overview_lists_each_organisers_years(demo_loaded: Path, client) -> None:
    response = await client.get("/statistics")
    assert response.status_code == 200
    page = Tables(response.text)
    assert headings(response.text) == ["定西市司法局", "甘肃省司法厅"]
    assert "/campaigns/dingxi-2022/statistics" in response.text
    assert "/campaigns/gansu-2024/statistics" in response.text
    assert page.charts == 1  # Dingxi's two years; the province has one
    only = await client.get("/statistics?year=2024")
    assert headings(only.text) == ["甘肃省司法厅"]
    # Linked from the campaign page and the honour list.
    assert "/campaigns/dingxi-2022/statistics" in (await client.get("/campaigns/dingxi-2022")).text
    honours = await client.get("/campaigns/dingxi-2022/honours")
    assert "/campaigns/dingxi-2022/statistics" in honours.text
