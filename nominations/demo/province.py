"""The provincial demo campaign (`gansu-2024`): 甘肃省司法厅's designation, nominated to by
its cities and now in vetting.

定西市 puts forward units and mediators it designated itself in 2022 (`dingxi-2022`),
picked the way a clerk picks them on the form (``nominations.designees``: name,
organisation and figures copied from the earlier nomination); its committees must be
such designees, the category says so. 兰州市 and 天水市, whose own designations are not
in this installation, nominate judicial offices and mediators written by the demo's
generator. Some nominations are shortlisted, one was returned, the rest await the
province's decision. Towns are real; people, figures and texts are invented.
"""

from __future__ import annotations

from pathlib import Path

from nominations.demo.builder import Builder
from nominations.demo.corpus import COMMITTEE, JUDICIAL_OFFICE, MEDIATOR, _t
from nominations.demo.plans import Plan, caption_of, check, nominating_window, schedule
from nominations.demo.writer import storage_of, store_plans
from nominations.designees import copied, designees
from nominations.tables import Nomination, Status
from portal.demo import CITY, CITY_BUREAU, OTHER_CITIES, PROVINCE
from portal.tables import Bureau, BureauLevel, Campaign, Category

SEED = 20240618
S, U, R = Status.shortlisted, Status.submitted, Status.returned
RETURNED = "请补充本年度典型案例的调解协议书扫描件，并核对委托移送案件数。"
# Dingxi's picks from its designees: the statuses, in the order the designees come.
DINGXI = {
    JUDICIAL_OFFICE: (S, U),
    COMMITTEE: (S, S, U, R),
    MEDIATOR: (S, S, U),
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
        {JUDICIAL_OFFICE: (S, U), MEDIATOR: (S, U)},
    ),
    "天水市": (
        "秦州区",
        (
            _t("大城街道", "", "双桥社区 光明巷社区 尚义巷社区", "民主路"),
            _t("七里墩街道", "", "七里墩社区 东团庄社区 坚家河社区", "羲皇大道"),
        ),
        {JUDICIAL_OFFICE: (S,), MEDIATOR: (S, R)},
    ),
}


async def _has_nominations(campaign: Campaign) -> bool:
    return await Nomination.exists().where(Nomination.campaign == campaign.id).run()


def _held(plans: list[Plan], status: Status, key: str, city: str, values: dict) -> Plan:
    """A plan holding the next place of its city in its category."""
    place = 1 + sum(1 for p in plans if p.key == key and p.county == city)
    return Plan(
        key=key,
        county=city,
        status=status,
        values=values,
        place=place,
        reason=RETURNED if status is R else "",
        caption=caption_of(city, values["name"], key),
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
        assert plan.place is not None and plan.place <= storage.categories[plan.key]["county_cap"]
    schedule(plans, *nominating_window(campaign))
    await store_plans(campaign, plans, storage, var_dir, palette_offset=3, form=(PROVINCE, "市州"))
