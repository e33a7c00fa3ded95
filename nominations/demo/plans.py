"""Who is nominated where: the 2023 demo's nominations (14 + 29 + 38 shortlisted within
each county's cap, including the three units the city named; two drafts, two returned
for revision, one rejected), checked as a clerk's submission is, and their times inside
the campaign's nominating window.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from nominations import fields
from nominations.demo.builder import Builder
from nominations.demo.corpus import (
    COMMITTEE,
    CST,
    JUDICIAL_OFFICE,
    MEDIATOR,
    NAMED_MEDIATOR,
    NAMED_MEDIATOR_COMMITTEE,
    SEED,
    TOWNS,
)
from nominations.demo.form_values import form_values
from nominations.tables import (
    Status,
)
from portal.tables import (
    Campaign,
)

# Shortlisted per county, in the order of portal.demo.COUNTIES: 14 / 29 / 38 in all,
# within the caps 2 / 5 / 6.
SHORTLISTED = {
    JUDICIAL_OFFICE: (2, 2, 2, 2, 2, 2, 2),
    COMMITTEE: (5, 4, 5, 4, 5, 3, 3),
    MEDIATOR: (6, 5, 6, 5, 6, 5, 5),
}

# --- one nomination -------------------------------------------------------------------


@dataclass
class Plan:
    """One demo nomination before it is stored."""

    key: str  # category key
    county: str
    status: Status
    values: dict[str, Any]
    place: int | None = None
    reason: str = ""
    photo: bool = True
    document: bool = True
    caption: str = ""  # the characters drawn large on the photo
    designation: int | None = None  # the earlier nomination it was picked from
    # Answers to the category's declarations; None: every one answered "yes" once
    # submitted (a draft has not answered yet).
    declarations: dict[str, str] | None = None
    times: dict[str, dt.datetime] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)  # names of the stored files


def caption_of(county: str, name: str, kind: str) -> str:
    """The characters drawn large on a photo: a mediator's surname, a unit's place."""
    if kind == MEDIATOR:
        return name[:1]
    return name.removeprefix(county)[:2]


def build_plans(year: int, counties: list[str]) -> list[Plan]:
    """Every demo nomination, in a fixed order, from the seeded generator."""
    gen = Builder(year)
    rng = gen.rng
    plans: list[Plan] = []

    def add(key: str, county: str, values: dict[str, Any], status: Status, **kw: Any) -> Plan:
        values = {**values, **form_values(key, year, values)}
        plan = Plan(key, county, status, values, caption=caption_of(county, values["name"], key))
        for name, value in kw.items():
            setattr(plan, name, value)
        plans.append(plan)
        return plan

    for index, county in enumerate(counties):
        towns = TOWNS[county]
        # Judicial offices: two per county (7 × 2 = 14, every place taken).
        picks = list(rng.sample(towns, SHORTLISTED[JUDICIAL_OFFICE][index]))
        if county == "安定区":
            zhonghua = next(t for t in towns if t.name == "中华路街道")
            others = [t for t in picks if t is not zhonghua]
            picks = [zhonghua, *others[: len(picks) - 1]]
        for place, town in enumerate(picks, start=1):
            add(JUDICIAL_OFFICE, county, gen.office(county, town), Status.shortlisted, place=place)

        # Committees: a township one, a trade one, then villages and communities.
        count = SHORTLISTED[COMMITTEE][index]
        types = ["township", "trade", "village", "community", "village"][:count]
        for place, unit_type in enumerate(types, start=1):
            if county == "安定区" and unit_type == "township":
                town = next(t for t in towns if t.name == "福台路街道")
            elif unit_type == "community":
                town = rng.choice([t for t in towns if t.communities])
            elif unit_type == "village":
                town = rng.choice([t for t in towns if t.villages])
            else:
                town = rng.choice(towns)
            values = gen.committee(county, unit_type, town)
            add(COMMITTEE, county, values, Status.shortlisted, place=place)

        # Mediators.
        for place in range(1, SHORTLISTED[MEDIATOR][index] + 1):
            if county == "安定区" and place == 1:
                xiangquan = next(t for t in towns if t.name == "香泉镇")
                values = gen.mediator(
                    county,
                    NAMED_MEDIATOR,
                    "male",
                    (NAMED_MEDIATOR_COMMITTEE, xiangquan, "village"),
                )
            else:
                values = gen.mediator(county)
            add(MEDIATOR, county, values, Status.shortlisted, place=place)

    # The workflow: returned (holding a free place), rejected, drafts (no place).
    def free_place(key: str, county: str) -> int:
        return SHORTLISTED[key][counties.index(county)] + 1

    zhangxian, tongwei, minxian, weiyuan = "漳县", "通渭县", "岷县", "渭源县"
    failing = gen.committee(zhangxian, "village", rng.choice(TOWNS[zhangxian][1:]))
    # It fails a recommendation condition: the campaign lets such a nomination be
    # submitted with the failure shown to the city, which returned it.
    failing["criminal_escalations"] = 1
    add(
        COMMITTEE,
        zhangxian,
        failing,
        Status.returned,
        place=free_place(COMMITTEE, zhangxian),
        reason=(
            "所报本年度民转刑案件 1 件，不符合推荐条件“本年度未发生因矛盾纠纷调处不当引发的"
            "民转刑案件”，请核实该案件情况后修改或撤回；"
            "事迹材料中的典型案例未写明调解结果和当事人履行情况，请补充。"
        ),
    )
    returned = gen.mediator(tongwei)
    add(
        MEDIATOR,
        tongwei,
        returned,
        Status.returned,
        place=free_place(MEDIATOR, tongwei),
        reason=(
            f"所报调解成功数与乡镇调解台账不一致（台账为 {returned['disputes_resolved'] - 6} 件），"
            "请核实后修改；照片请更换为近期工作照。"
        ),
    )
    add(
        MEDIATOR,
        minxian,
        gen.mediator(minxian),
        Status.rejected,
        reason=(
            "经核查，该同志所在调委会2023年度调解卷宗不完整，所报调处数据无法核实，不符合推荐条件。"
        ),
    )
    town = rng.choice([t for t in TOWNS[minxian] if t.villages])
    draft_committee = gen.committee(minxian, "village", town)
    # A draft still being written: the record and the deeds are not filled in yet.
    for key in (*fields.ENTRUSTED, "disputes_resolved", "judicial_confirmations", "on_the_spot"):
        draft_committee[key] = None
    draft_committee.update(
        deeds="",
        contact_name="",
        contact_phone="",
        summary="扎根田间地头，坚持“小事不出村”，用“院落会”化解邻里纠纷。（材料完善中）",
    )
    add(COMMITTEE, minxian, draft_committee, Status.draft, photo=False, document=False)
    draft_mediator = gen.mediator(weiyuan)
    draft_mediator["deeds"] = draft_mediator["deeds"].split("\n\n")[0]
    add(MEDIATOR, weiyuan, draft_mediator, Status.draft, document=False)
    return plans


# --- checks and columns ---------------------------------------------------------------


def columns(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every field as its column: fields of other kinds empty ("" or NULL)."""
    stored = {}
    for spec in fields.FIELDS:
        value = values.get(spec.key) if spec.applies_to(kind) else None
        stored[spec.key] = "" if value is None and spec.kind not in ("int", "date") else value
    return stored


def check(kind: str, plan: Plan) -> None:
    """The demo passes the same checks as a clerk's submission (drafts: format only)."""
    cleaned, errors = fields.clean(kind, plan.values)
    if plan.status is not Status.draft:
        errors.update(fields.missing(kind, cleaned))
    if errors:
        raise AssertionError(f"demo nomination {plan.values.get('name')}: {errors}")


# --- times ----------------------------------------------------------------------------


def aware(value: dt.datetime) -> dt.datetime:
    """``value`` with a time zone: UTC if it has none (SQLite returns naive times)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def past_window(
    opens: dt.datetime | None, closes: dt.datetime | None, days_ago: int
) -> tuple[dt.datetime, dt.datetime]:
    """A campaign's window in Beijing time; if unset, twenty days ending ``days_ago``."""
    if opens is None or closes is None or aware(closes) <= aware(opens):
        closes = dt.datetime.now(CST) - dt.timedelta(days=days_ago)
        opens = closes - dt.timedelta(days=20)
    return aware(opens).astimezone(CST), aware(closes).astimezone(CST)


def nominating_window(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    """The campaign's nominating window in Beijing time (a plausible past one if unset)."""
    return past_window(campaign.nominating_opens_at, campaign.nominating_closes_at, 40)


def office_hours(
    rng: random.Random, at: dt.datetime, lo: dt.datetime, hi: dt.datetime
) -> dt.datetime:
    """``at`` moved into office hours (09:00-18:00 Beijing time) and kept inside lo..hi."""
    local = at.astimezone(CST)
    if not 9 <= local.hour < 18:
        local = local.replace(hour=rng.randint(9, 17), minute=rng.randint(0, 59))
    local = local.replace(second=rng.randint(0, 59), microsecond=0)
    return min(max(local, lo), hi)


def schedule(plans: list[Plan], opens: dt.datetime, closes: dt.datetime) -> None:
    """Plausible times inside the nominating window, each shortlisting at a distinct time."""
    rng = random.Random(SEED + 1)  # noqa: S311 - demo data, not secrets
    span = closes - opens
    used: set[dt.datetime] = set()
    for plan in plans:
        if plan.status is Status.draft:
            created = office_hours(rng, closes - span * rng.uniform(0.05, 0.25), opens, closes)
            plan.times = {"created_at": created, "updated_at": created}
            continue
        submitted = office_hours(
            rng, opens + span * rng.uniform(0.15, 0.7), opens + dt.timedelta(hours=2), closes
        )
        created = office_hours(
            rng, submitted - dt.timedelta(days=rng.uniform(0.3, 4)), opens, submitted
        )
        if plan.status is Status.submitted:  # awaiting the organiser's decision
            plan.times = {
                "created_at": created,
                "submitted_at": submitted,
                "updated_at": submitted,
                "uploaded_at": created + (submitted - created) * rng.uniform(0.2, 0.9),
            }
            continue
        earliest = submitted + dt.timedelta(minutes=30)
        for _ in range(1000):
            decided = office_hours(
                rng, submitted + dt.timedelta(days=rng.uniform(0.5, 4)), earliest, closes
            )
            if decided not in used:
                break
        used.add(decided)
        plan.times = {
            "created_at": created,
            "submitted_at": submitted,
            "decided_at": decided,
            "updated_at": decided,
            "uploaded_at": created + (submitted - created) * rng.uniform(0.2, 0.9),
        }
        if plan.status is Status.shortlisted:
            plan.times["shortlisted_at"] = decided


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` in UTC, as the rows store it (None stays None)."""
    return value.astimezone(dt.UTC) if value is not None else None
