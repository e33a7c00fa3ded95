"""The provincial demo campaign (`gansu-2024`): 甘肃省司法厅's designation, nominated to by
its cities, its nominating window still open.

定西市 puts forward units and mediators it designated itself in 2022 (`dingxi-2022`),
picked the way a clerk picks them on the form (``nominations.designees``: name,
organisation and figures copied from the earlier nomination); its committees must be
such designees, the category says so. 兰州市 and 天水市, whose own designations are not
in this installation, nominate judicial offices and mediators written by the demo's
generator. The province vets as nominations come in: some are shortlisted, two were
returned to be mended, some await its decision, and each city's clerk still has a
draft to finish before the window closes. The province has set its rubric and panel
early and assigned what it has shortlisted so far: the demo reviewers see their
candidates waiting for the review to open. Towns are real; people, figures and texts are invented.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nominations import review
from nominations.demo.builder import Builder
from nominations.demo.corpus import COMMITTEE, CST, JUDICIAL_OFFICE, MEDIATOR, _t
from nominations.demo.plans import Plan, caption_of, check, nominating_window, schedule
from nominations.demo.review import REVIEWERS, rubric_rows
from nominations.demo.writer import ACTOR, storage_of, store_plans
from nominations.designees import copied, designees
from nominations.tables import HOLDS_PLACE, Nomination, PanelMember, Status
from portal.demo import CITY, CITY_BUREAU, OTHER_CITIES, PROVINCE
from portal.tables import Bureau, BureauLevel, Campaign, Category, Staff

SEED = 20240618
S, U, R, D = Status.shortlisted, Status.submitted, Status.returned, Status.draft
RETURNED = "请补充本年度典型案例的调解协议书扫描件，并核对委托移送案件数。"
# Dingxi's picks from its designees: the statuses, in the order the designees come.
DINGXI = {
    JUDICIAL_OFFICE: (S, U),
    COMMITTEE: (S, S, U, R),
    MEDIATOR: (S, S, U, D),
}
# The other cities: a district seat and two of its streets (real names), and what each
# city nominates (judicial offices, mediators) with their statuses.
CITIES = {
    "兰州市": (
        "城关区",
        (
            _t("张掖路街道", "", "张掖路社区 箭道巷社区 金塔巷社区", "张掖路"),
            _t("酒泉路街道", "", "静宁路社区 南关社区 中山路社区", "酒泉路"),
        ),
        {JUDICIAL_OFFICE: (S, U), MEDIATOR: (S, U, D)},
    ),
    "天水市": (
        "秦州区",
        (
            _t("大城街道", "", "双桥社区 光明巷社区 尚义巷社区", "民主路"),
            _t("七里墩街道", "", "七里墩社区 东团庄社区 坚家河社区", "羲皇大道"),
        ),
        {JUDICIAL_OFFICE: (S, D), MEDIATOR: (S, R)},
    ),
}


async def _has_nominations(campaign: Campaign) -> bool:
    return await Nomination.exists().where(Nomination.campaign == campaign.id).run()


def _held(plans: list[Plan], status: Status, key: str, city: str, values: dict) -> Plan:
    """A plan holding the next place of its city in its category (a draft holds none)."""
    held = sum(1 for p in plans if p.key == key and p.county == city and p.place is not None)
    place = 1 + held if status in HOLDS_PLACE else None
    return Plan(
        key=key,
        county=city,
        status=status,
        values=values,
        place=place,
        reason=RETURNED if status is R else "",
        caption=caption_of(city, values["name"], key),
        # A draft's approval form is not signed and scanned yet.
        document=status is not D,
    )


async def _dingxi_plans(campaign: Campaign, categories: dict[str, Category]) -> list[Plan]:
    city = await Bureau.select(Bureau.id).where(Bureau.name == CITY_BUREAU).first().run()
    plans: list[Plan] = []
    for key, statuses in DINGXI.items():
        category = categories[key]
        offered = await designees(city["id"], category, campaign)
        if len(offered) < len(statuses):
            raise RuntimeError(f"{PROVINCE} demo: {CITY} lacks designees in {key}: {offered}")
        for status, designee in zip(statuses, offered, strict=False):
            plan = _held(plans, status, key, CITY, await copied(designee, category.kind))
            plan.designation = designee.nomination_id
            plans.append(plan)
    return plans


def _city_plans(city: str) -> list[Plan]:
    district, towns, wanted = CITIES[city]
    gen = Builder(2024, city=city, seed=SEED + len(city) + ord(city[0]))
    plans: list[Plan] = []
    for key, statuses in wanted.items():
        for index, status in enumerate(statuses):
            town = towns[index % len(towns)]
            if key == JUDICIAL_OFFICE:
                values = gen.office(district, town)
            else:
                spot = town.communities[index % len(town.communities)]
                committee = f"{district}{town.name}{spot}人民调解委员会"
                values = gen.mediator(district, committee=(committee, town, "community"))
            plans.append(_held(plans, status, key, city, values))
    return plans


async def ensure_province_nominations(campaign: Campaign, var_dir: Path) -> None:
    """The cities' nominations to the provincial campaign (idempotent)."""
    if await _has_nominations(campaign):
        return
    cities = [CITY, *(city for city, _ in OTHER_CITIES)]
    storage = await storage_of(campaign, DINGXI, cities, BureauLevel.city)
    categories = {
        c.key: c for c in await Category.objects().where(Category.campaign == campaign.id).run()
    }
    plans = await _dingxi_plans(campaign, categories)
    for city, _ in OTHER_CITIES:
        plans += _city_plans(city)
    for plan in plans:
        check(storage.categories[plan.key]["kind"], plan)
        assert (plan.place is None) == (plan.status is D)
        assert plan.place is None or plan.place <= storage.categories[plan.key]["county_cap"]
    # The window is still open: everything so far happened between its opening and now.
    opens, closes = nominating_window(campaign)
    schedule(plans, opens, min(closes, dt.datetime.now(CST)))
    await store_plans(campaign, plans, storage, var_dir, palette_offset=3, form=(PROVINCE, "市州"))


async def ensure_province_panel(campaign: Campaign) -> None:
    """The province's rubric, its panel (the demo reviewers) and the assignments of the
    candidates shortlisted so far, made through the review services as the province's
    administrator makes them, before the review opens (idempotent)."""
    if await PanelMember.exists().where(PanelMember.campaign == campaign.id).run():
        return
    for category in await Category.objects().where(Category.campaign == campaign.id).run():
        await review.save_criteria(ACTOR, campaign, category, rubric_rows(category.key))
    panel = await Staff.select(Staff.id).where(Staff.username.is_in(list(REVIEWERS))).run()
    await review.set_panel(ACTOR, campaign, [row["id"] for row in panel])
    await review.auto_assign(ACTOR, campaign)
