"""The kernel's demo: the bureaus, demo staff and logins, the demo campaigns
(`dingxi-2023`; the province's `gansu-2024`) and their categories, and the runner of
the steps the apps register.

The kernel never imports an app: each app's demo module exposes its ``STEPS`` (what it
loads, and after which other steps), and the caller hands them to ``load_demo``, which
creates the kernel's own data first and then runs the steps in dependency order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from portal import accounts
from portal.db import write_transaction
from portal.tables import Bureau, BureauLevel, Campaign, Category, CategoryKind, Phase, Role, Staff

CITY = "定西市"
CITY_BUREAU = f"{CITY}司法局"
# The seven county-level bureaus of Dingxi, with the pinyin used in demo logins.
COUNTIES = (
    ("安定区", "anding"),
    ("通渭县", "tongwei"),
    ("陇西县", "longxi"),
    ("渭源县", "weiyuan"),
    ("临洮县", "lintao"),
    ("漳县", "zhangxian"),
    ("岷县", "minxian"),
)
DEMO_SLUG = "dingxi-2023"
# The province above the demo city, and two more of its cities (short name, login).
PROVINCE = "甘肃省"
PROVINCE_BUREAU = "甘肃省司法厅"
OTHER_CITIES = (("兰州市", "lanzhou"), ("天水市", "tianshui"))
PROVINCE_SLUG = "gansu-2024"
# Demo accounts share one password, printed at start; `portal demo` refuses production.
DEMO_PASSWORD = "dingxi-demo-2023"  # noqa: S105 - public by design, demo only

DEMO_CATEGORIES = (
    # key, title, kind, quota, per-county cap, votes per voter per day
    ("judicial-office", "“枫桥式”司法所", CategoryKind.judicial_office, 7, 2, 3),
    ("mediation-committee", "“枫桥式”人民调解委员会", CategoryKind.mediation_committee, 14, 5, 5),
    ("mediator", "“枫桥式”人民调解员", CategoryKind.mediator, 21, 6, 5),
)
# The recommendation conditions (推荐条件) of every demo campaign's categories, by kind,
# in the words such notices use (the rules: nominations.conditions).
DEMO_CONDITIONS: dict[CategoryKind, list[dict]] = {
    CategoryKind.judicial_office: [
        {
            "field": "success_rate",
            "op": ">=",
            "value": 97,
            "wording": "年度矛盾纠纷调解成功率不低于97%",
        },
        {
            "field": "criminal_escalations",
            "op": "=",
            "value": 0,
            "wording": "本年度辖区内未发生因矛盾纠纷排查化解不力引发的民转刑案件",
        },
        {"field": "staff_count", "op": ">=", "value": 3, "wording": "司法所在编工作人员不少于3人"},
        {"declaration": "d1", "wording": "本年度辖区内未发生因调解不当引发的群体性事件"},
    ],
    CategoryKind.mediation_committee: [
        {
            "field": "success_rate",
            "op": ">=",
            "value": 97,
            "wording": "年度矛盾纠纷调解成功率不低于97%",
        },
        {
            "field": "criminal_escalations",
            "op": "=",
            "value": 0,
            "wording": "本年度未发生因矛盾纠纷调处不当引发的民转刑案件",
        },
        {"declaration": "d1", "wording": "调委会组织健全、制度完善，人民调解员均经过业务培训"},
    ],
    CategoryKind.mediator: [
        {
            "field": "success_rate",
            "op": ">=",
            "value": 97,
            "wording": "个人年度调解成功率不低于97%",
        },
        {"field": "years_of_service", "op": ">=", "value": 3, "wording": "从事人民调解工作3年以上"},
        {
            "field": "mass_incidents",
            "op": "=",
            "value": 0,
            "wording": "所调解的纠纷未引发群体性事件",
        },
        {"declaration": "d1", "wording": "遵纪守法、公道正派，热心人民调解工作，群众公认"},
    ],
}
PROVINCE_CATEGORIES = (
    # ... and whether nominees must hold a current designation of their city
    ("judicial-office", "“枫桥式”司法所", CategoryKind.judicial_office, 10, 3, 3, False),
    (
        "mediation-committee",
        "“枫桥式”人民调解委员会",
        CategoryKind.mediation_committee,
        15,
        4,
        5,
        True,
    ),
    ("mediator", "“枫桥式”人民调解员", CategoryKind.mediator, 20, 4, 5, False),
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    bureau: str
    display_name: str


def demo_logins() -> list[DemoLogin]:
    """The demo staff: a city admin, a clerk per county, five reviewers, an auditor."""
    logins = [DemoLogin("city-admin", Role.city_admin, CITY_BUREAU, "市局管理员")]
    logins += [
        DemoLogin(f"clerk-{pinyin}", Role.county_clerk, f"{county}司法局", f"{county}经办人")
        for county, pinyin in COUNTIES
    ]
    # Five reviewers from five different counties (conflicts of interest are by bureau).
    logins += [
        DemoLogin(f"reviewer-{pinyin}", Role.reviewer, f"{county}司法局", f"评审专家（{county}）")
        for county, pinyin in COUNTIES[:5]
    ]
    logins.append(DemoLogin("auditor", Role.auditor, CITY_BUREAU, "审计员"))
    # The provincial campaign: the province's administrator, a clerk per city.
    logins.append(DemoLogin("province-admin", Role.city_admin, PROVINCE_BUREAU, "省厅管理员"))
    logins += [
        DemoLogin(f"clerk-{pinyin}", Role.county_clerk, f"{city}司法局", f"{city}经办人")
        for city, pinyin in ((CITY, "dingxi"), *OTHER_CITIES)
    ]
    return logins


async def _ensure_tree(
    top: str, short: str, levels: tuple[BureauLevel, BureauLevel], below: Sequence[str]
) -> int:
    """The bureau ``top`` (a root if new) and bureaus named after the short names
    ``below`` under it, those missing added; ``levels``: theirs. Returns ``top``'s id."""
    parent = await Bureau.objects().where(Bureau.name == top).first().run()
    if parent is None:
        parent = Bureau(name=top, short_name=short, level=levels[0].value, position=0)
        await parent.save().run()
    existing = {row["name"] for row in await Bureau.select(Bureau.name).run()}
    new = [
        Bureau(
            name=f"{name}司法局",
            short_name=name,
            level=levels[1].value,
            parent=parent.id,
            position=i,
        )
        for i, name in enumerate(below, start=1)
        if f"{name}司法局" not in existing
    ]
    if new:
        await Bureau.insert(*new).run()
    return parent.id


async def ensure_bureaus() -> None:
    """The city bureau and its seven county bureaus below it (idempotent)."""
    async with write_transaction():
        levels = (BureauLevel.city, BureauLevel.county)
        await _ensure_tree(CITY_BUREAU, CITY, levels, [county for county, _ in COUNTIES])


async def ensure_province() -> None:
    """The province's bureau above the demo city, and two more cities (idempotent)."""
    await ensure_bureaus()
    async with write_transaction():
        cities = [city for city, _ in OTHER_CITIES]
        levels = (BureauLevel.province, BureauLevel.city)
        province = await _ensure_tree(PROVINCE_BUREAU, PROVINCE, levels, cities)
        await (
            Bureau.update({Bureau.parent: province, Bureau.position: 0})
            .where((Bureau.name == CITY_BUREAU) & Bureau.parent.is_null())
            .run()
        )


async def city_id() -> int:
    """The demo city bureau's id (made if need be): it runs the Dingxi campaigns."""
    await ensure_bureaus()
    return (await Bureau.select(Bureau.id).where(Bureau.name == CITY_BUREAU).first().run())["id"]


async def ensure_staff() -> list[DemoLogin]:
    """Create the demo bureaus and accounts that do not exist yet; return all demo logins."""
    await ensure_province()
    logins = demo_logins()
    for login in logins:
        if not await Staff.exists().where(Staff.username == login.username).run():
            await accounts.create_staff(
                login.username, DEMO_PASSWORD, login.role, login.bureau, login.display_name
            )
    return logins


# The demo tells one story, set between July 2024 and June 2025: Dingxi designated its
# 2022 models in December 2022 and re-checked them in the first half of 2024; its 2023
# campaign is in its public vote, the province's 2024 campaign takes nominations. So
# that the vote is open whenever the demo is run, every date of the demo is moved by the
# same whole number of years from the story's (``story_years``): the campaigns that
# follow today are placed by today, the finished ones by ``story_at``, and every gap
# between two events stays as it was. Numbers with a year in them (文号, certificate
# numbers) and the campaigns' years keep the story's; the demo banner says so.
STORY_FROM = dt.date(2024, 7, 1)  # the story's "today" falls in the year from this day
When = TypeVar("When", bound=dt.date)  # a date or a datetime


def story_years(today: dt.date | None = None) -> int:
    """How many years the demo's dates lie after the story's: today, less that many
    years, falls in the year from ``STORY_FROM``."""
    today = today or dt.date.today()
    years = today.year - STORY_FROM.year
    return years if (today.month, today.day) >= (STORY_FROM.month, STORY_FROM.day) else years - 1


def story_at(value: When) -> When:
    """A date or time of the story as the demo shows it, ``story_years`` later (the
    story has no 29 February)."""
    return value.replace(year=value.year + story_years())


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.timezone(dt.timedelta(hours=8)))


async def ensure_demo_campaign(today: dt.date | None = None) -> Campaign:
    """The 2023 Dingxi campaign, in its voting phase with voting open now (idempotent)."""
    today = today or dt.date.today()
    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    if campaign is not None:
        return campaign
    organiser = await city_id()
    async with write_transaction():
        campaign = Campaign(
            slug=DEMO_SLUG,
            organiser=organiser,
            title="2023年度定西市“枫桥式”司法所、人民调解委员会、人民调解员评选",
            year=2023,
            description=(
                "为深入学习贯彻新时代“枫桥经验”，定西市司法局在全市开展“枫桥式”司法所、"
                "人民调解委员会和人民调解员评选命名活动。各县区司法局择优推荐，市司法局严格审核，"
                "经专家评审、网络投票、综合评定和公示后正式命名。"
            ),
            timezone="Asia/Shanghai",
            phase=Phase.voting.value,
            nominating_opens_at=_at(today - dt.timedelta(days=60), 9),
            nominating_closes_at=_at(today - dt.timedelta(days=40), 18),
            reviewing_opens_at=_at(today - dt.timedelta(days=30), 9),
            reviewing_closes_at=_at(today - dt.timedelta(days=10), 18),
            # Opened six days ago, so the demo has a week of votes (the voting demo).
            voting_opens_at=_at(today - dt.timedelta(days=6), 9),
            voting_closes_at=_at(today + dt.timedelta(days=14), 18),
            notice_days=7,
            # A nomination failing a condition was let through, flagged to the city
            # (which returned one: see nominations.demo.plans).
            conditions_mode="flag",
            # Where objections by telephone, letter or visit go (the notice names them).
            objection_contact="市司法局人民参与和促进法治科",
            objection_phone="0932-8212345",
            objection_address="定西市安定区××路×号 定西市司法局（743000）",
        )
        await campaign.save().run()
        await insert_categories(campaign, DEMO_CATEGORIES)
    return campaign


async def ensure_province_campaign(today: dt.date | None = None) -> Campaign:
    """The province's 2024 campaign, its nominating window open for a few more days
    (idempotent): the cities' clerks have drafts to finish and returned nominations to
    mend, the province a vetting queue of what was submitted (it vets as they come in)."""
    today = today or dt.date.today()
    campaign = await Campaign.objects().where(Campaign.slug == PROVINCE_SLUG).first().run()
    if campaign is not None:
        return campaign
    await ensure_province()
    organiser = await Bureau.select(Bureau.id).where(Bureau.name == PROVINCE_BUREAU).first().run()
    async with write_transaction():
        campaign = Campaign(
            slug=PROVINCE_SLUG,
            organiser=organiser["id"],
            title="2024年度甘肃省“枫桥式”司法所、人民调解委员会、人民调解员评选",
            year=2024,
            description=(
                "为推广新时代“枫桥经验”，甘肃省司法厅在全省开展“枫桥式”司法所、人民调解委员会"
                "和人民调解员评选命名活动。各市州司法局从本地区择优推荐，其中人民调解委员会须为"
                "市州命名且在有效期内的“枫桥式”人民调解委员会；省司法厅审核后组织专家评审和网络投票。"
            ),
            timezone="Asia/Shanghai",
            phase=Phase.nominating.value,
            nominating_opens_at=_at(today - dt.timedelta(days=12), 9),
            nominating_closes_at=_at(today + dt.timedelta(days=9), 18),
            reviewing_opens_at=_at(today + dt.timedelta(days=16), 9),
            reviewing_closes_at=_at(today + dt.timedelta(days=30), 18),
            voting_opens_at=_at(today + dt.timedelta(days=33), 9),
            voting_closes_at=_at(today + dt.timedelta(days=47), 18),
            notice_days=7,
            objection_contact="省司法厅人民参与和促进法治处",
            objection_phone="0931-8912345",
            objection_address="兰州市城关区××路×号 甘肃省司法厅（730000）",
        )
        await campaign.save().run()
        await insert_categories(campaign, PROVINCE_CATEGORIES)
    return campaign


async def insert_categories(campaign: Campaign, rows: Sequence[tuple]) -> None:
    """A demo campaign's categories: (key, title, kind, quota, cap per nominating bureau,
    votes a day[, whether nominees must hold a designation of their bureau]), each with
    the demo's recommendation conditions of its kind."""
    await Category.insert(
        *[
            Category(
                campaign=campaign.id,
                key=key,
                title=title,
                kind=kind.value,
                quota=quota,
                county_cap=cap,
                votes_per_day=per_day,
                public_counts=True,
                position=position,
                requires_designation=any(designees_only),
                conditions=DEMO_CONDITIONS[kind],
            )
            for position, (key, title, kind, quota, cap, per_day, *designees_only) in enumerate(
                rows
            )
        ]
    ).run()


@dataclass(frozen=True)
class DemoContext:
    """What a demo step is given: ``var_dir`` holds the uploaded files (its ``uploads``
    folder), as in the running site."""

    var_dir: Path


@dataclass(frozen=True)
class DemoStep:
    """One step of an app's demo: loads its data, idempotently (run again, it changes
    nothing), after the steps named in ``after``."""

    name: str
    run: Callable[[DemoContext], Awaitable[None]]
    after: tuple[str, ...] = ()


def order_steps(steps: Iterable[DemoStep]) -> list[DemoStep]:
    """The steps in an order that runs each after those it names, otherwise as given.

    Raises ``ValueError`` for a duplicate name, an unknown ``after`` or a cycle.
    """
    pending = list(steps)
    names = [step.name for step in pending]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate demo steps: {names}")
    unknown = {dep for step in pending for dep in step.after} - set(names)
    if unknown:
        raise ValueError(f"demo steps run after unknown steps: {sorted(unknown)}")
    ordered: list[DemoStep] = []
    done: set[str] = set()
    while pending:
        ready = next((step for step in pending if set(step.after) <= done), None)
        if ready is None:
            raise ValueError(f"demo steps wait on each other: {[s.name for s in pending]}")
        pending.remove(ready)
        ordered.append(ready)
        done.add(ready.name)
    return ordered


async def load_demo(var_dir: Path, steps: Iterable[DemoStep]) -> list[DemoLogin]:
    """Everything `portal demo` loads; safe to run again on an existing demo database.

    The bureaus, the demo staff and the demo campaign first, then ``steps`` (the apps'
    demos) in dependency order; ``var_dir`` is where their photos and documents go.
    Returns the demo logins.
    """
    ordered = order_steps(steps)
    logins = await ensure_staff()
    await ensure_demo_campaign()
    await ensure_province_campaign()
    context = DemoContext(var_dir)
    for step in ordered:
        await step.run(context)
    return logins
