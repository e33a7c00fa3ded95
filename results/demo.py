"""The demo's finished campaign: Dingxi's 2022 designation (`dingxi-2022`), published.

Beside the 2023 campaign (voting open), ``portal demo`` loads the year before, carried
through every step so a newcomer sees the whole cycle at once: nominations shortlisted
by the seven counties (10 judicial offices, 18 mediation committees, 24 mediators,
none of them a 2023 candidate), the expert review scored, twelve days of public votes
in the real ledger with one brushing burst excluded at review, the tally, one candidate
excluded by the city (its figures did not match the county's register) so the next in
line moves up, the public notice with one objection received and dismissed, the
designation under document 定司发〔2022〕45号, and a dozen stories of the series.

Every step after the nominations goes through the real services (``voting.ledger``,
``voting.moderation``, ``results.services``, ``results.objections``,
``stories.demo``) with ``now=`` in 2022, acting as the demo city admin, so the
figures, the chain, the audit log and the objection are what a real campaign leaves
behind. The audit entries these steps write are dated to the step (the services stamp
them with the present).

The nominations reuse the 2023 demo's generator (``nominations.demo.corpus`` and
``.plans``) with a seed of their own, and are stored through its ``writer``, so both
years' candidates are written the same way. Towns are the real towns of the seven
counties; villages, people, figures, the objection and its objector are invented.

``ensure_finished_campaign`` is idempotent and resumable: each step is taken only if
the campaign has not passed it, so a second ``portal demo`` changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from piccolo.query.functions.aggregate import Max

from nominations.demo.builder import Builder
from nominations.demo.corpus import COMMITTEE, JUDICIAL_OFFICE, MEDIATOR, TOWNS, Town
from nominations.demo.plans import Plan, build_plans, caption_of, check, nominating_window, schedule
from nominations.demo.review import ensure_demo_review
from nominations.demo.writer import storage_of, store_plans
from nominations.tables import Nomination, Status
from portal import audit
from portal.audit import Actor
from portal.db import write_transaction
from portal.demo import (
    CITY_BUREAU,
    DemoContext,
    DemoStep,
    city_id,
    insert_categories,
    story_at,
)
from portal.settings import get_settings
from portal.stores import MemoryStateStore
from portal.tables import (
    AuditEntry,
    Campaign,
    CategoryKind,
    Phase,
    Role,
    Staff,
)
from results import objections
from results import services as results
from results.tables import Objection, ObjectionStatus, Standing
from stories.demo import ensure_demo_stories
from voting import moderation
from voting.captcha import CaptchaService
from voting.demo import ensure_demo_votes
from voting.services import VotingService
from voting.tables import Vote, VoteStatus

SLUG = "dingxi-2022"
YEAR = 2022
TITLE = "2022年度定西市“枫桥式”司法所、人民调解委员会和人民调解员评选"
DESCRIPTION = (
    "为坚持和发展新时代“枫桥经验”，推动矛盾纠纷源头预防、前端化解、关口把控，定西市司法局"
    "在全市开展“枫桥式”司法所、人民调解委员会和人民调解员评选命名活动。经各县区司法局推荐、"
    "市司法局审核、专家评审、网络投票、综合评定和公示，已正式命名。"
)
SEED = 20220815
VISITS = 217_463  # 累计访问量 of the year's public pages
DOCUMENT_NO = "定司发〔2022〕45号"
CST = dt.timezone(dt.timedelta(hours=8))

CATEGORIES = (
    # key, title, kind, quota, per-county cap, votes per voter per day
    (JUDICIAL_OFFICE, "“枫桥式”司法所", CategoryKind.judicial_office, 5, 2, 3),
    (COMMITTEE, "“枫桥式”人民调解委员会", CategoryKind.mediation_committee, 10, 4, 5),
    (MEDIATOR, "“枫桥式”人民调解员", CategoryKind.mediator, 14, 5, 5),
)
# Shortlisted per county, in the order of portal.demo.COUNTIES: 10 / 18 / 24.
SHORTLISTED = {
    JUDICIAL_OFFICE: (2, 1, 2, 1, 2, 1, 1),
    COMMITTEE: (3, 3, 3, 2, 3, 2, 2),
    MEDIATOR: (4, 3, 4, 3, 4, 3, 3),
}
# The kinds of committee each county shortlists, rotated county by county.
COMMITTEE_TYPES = ("village", "trade", "township", "community")


def _at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time of the year's story, as the demo shows it (``portal.demo.story_at``)."""
    return story_at(dt.datetime(YEAR, month, day, hour, minute, tzinfo=CST))


# The year's calendar (Beijing time).
CREATED_AT = _at(8, 1, 10)
NOMINATING = (_at(8, 15, 9), _at(9, 15, 18))
REVIEWING = (_at(10, 10, 9), _at(10, 28, 18))
VOTING = (_at(11, 7, 9), _at(11, 18, 18))
TALLY_AT = _at(11, 21, 10, 30)
EXCLUDED_AT = _at(11, 21, 16, 10)
NOTICE_AT = _at(11, 23, 9)
# Five working days (Thursday 24 to Wednesday 30 November), ending at 18:00 on the 30th.
NOTICE_DAYS = 5
OBJECTION_AT = _at(11, 25, 20, 14)
INVESTIGATING_AT = _at(11, 28, 9, 35)
DISMISSED_AT = _at(11, 29, 16, 20)
DESIGNATED_AT = _at(12, 2, 10)
BRUSHING_REVIEWED = dt.time(9, 40)  # the morning after the burst

EXCLUSION = (
    "推荐材料中调解数据与台账不符：经市司法局会同县区司法局核查，该调委会所报2022年度"
    "调处矛盾纠纷数与乡镇人民调解工作台账及卷宗登记数相差较大，且无法提供相应卷宗，"
    "取消其候选资格。"
)
BRUSHING = (
    "同一网络地址、同一浏览器标识在深夜十分钟内以等间隔连续投票，每票均使用新的浏览器标识，"
    "系程序刷票，经核查予以剔除。"
)
OBJECTOR = {"real_name": "马建新", "phone": "13993217406", "relation": "同村村民"}
OBJECTION = (
    "{name}在调解我们村一起宅基地纠纷时偏向一方，调解协议签了以后对方一直没有履行，"
    "群众有意见。我认为{pron}不应被命名为“枫桥式”人民调解员，请组织核实。"
)
VILLAGE = "村人民调解委员会"
OBJECTION_NETWORK = "118.182.64.37"
RESOLUTION = (
    "经市司法局会同{county}司法局调阅调解卷宗、走访双方当事人和村委会核实：该宅基地纠纷于"
    "2022年5月经调解达成协议，双方当事人签字确认，协议约定的界墙已于同年6月重新砌筑，"
    "协议已履行完毕，调解过程中不存在偏袒一方的情况。异议反映的问题与事实不符，异议不成立。"
    "已电话告知异议人核查结果。"
)


# --- the nominations --------------------------------------------------------------------


def build_2022_plans() -> list[Plan]:
    """The 2022 nominations, in a fixed order, none of them a 2023 candidate.

    The 2023 demo's generator writes them (its texts, figures and places); a seed of
    their own and the 2023 names kept out make them a different year's candidates.
    """
    earlier = build_plans(2023, list(TOWNS))
    gen = Builder(YEAR)
    gen.rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    gen.people |= {p.values["name"] for p in earlier if p.key == MEDIATOR}
    taken = {p.values["name"] for p in earlier if p.key != MEDIATOR}
    gen.unit_names |= {name.removesuffix("人民调解委员会") for name in taken}
    rng = gen.rng
    plans: list[Plan] = []

    def add(key: str, county: str, values: dict[str, Any], place: int | None) -> Plan:
        status = Status.shortlisted if place is not None else Status.rejected
        plan = Plan(key, county, status, values, place=place)
        plan.caption = caption_of(county, values["name"], key)
        plans.append(plan)
        return plan

    def free_spots(county: str, town: Town, unit_type: str) -> list[str]:
        spots = town.communities if unit_type == "community" else town.villages
        return [s for s in spots if f"{county}{town.name}{s}" not in gen.unit_names]

    for index, county in enumerate(TOWNS):
        towns = TOWNS[county]
        offices = [t for t in towns if f"{county}{t.short}司法所" not in taken]
        for place, town in enumerate(rng.sample(offices, SHORTLISTED[JUDICIAL_OFFICE][index]), 1):
            add(JUDICIAL_OFFICE, county, gen.office(county, town), place)

        shift = index % len(COMMITTEE_TYPES)
        types = (COMMITTEE_TYPES[shift:] + COMMITTEE_TYPES[:shift])[: SHORTLISTED[COMMITTEE][index]]
        for place, unit_type in enumerate(types, start=1):
            if unit_type == "trade":
                # 2023 shortlisted each county's first trade committee: now its second.
                values = gen.committee(county, "trade", towns[0], trade=1)
            elif unit_type == "township":
                town = rng.choice(
                    [
                        t
                        for t in towns
                        if f"{county}{t.name}" not in gen.unit_names
                        and (t.villages or t.communities)
                    ]
                )
                values = gen.committee(county, "township", town)
            else:
                town = rng.choice([t for t in towns if free_spots(county, t, unit_type)])
                values = gen.committee(county, unit_type, town)
            add(COMMITTEE, county, values, place)

        for place in range(1, SHORTLISTED[MEDIATOR][index] + 1):
            add(MEDIATOR, county, gen.mediator(county), place)

    rejected = add(MEDIATOR, "陇西县", gen.mediator("陇西县"), None)
    rejected.reason = (
        "经核查，该同志所在调委会2022年度调解卷宗不完整，部分案件无当事人签字，"
        "所报调处数据无法核实，不符合推荐条件。"
    )
    return plans


async def _ensure_nominations(campaign: Campaign, var_dir: Path) -> None:
    """Shortlist the 2022 candidates (nothing if the campaign has nominations)."""
    if await Nomination.exists().where(Nomination.campaign == campaign.id).run():
        return
    storage = await storage_of(campaign, SHORTLISTED)
    plans = build_2022_plans()
    for plan in plans:
        category = storage.categories[plan.key]
        check(category["kind"], plan)
        if plan.place is not None:
            assert 1 <= plan.place <= category["county_cap"], plan
    schedule(plans, *nominating_window(campaign))
    await store_plans(campaign, plans, storage, var_dir, palette_offset=3)


# --- the campaign -----------------------------------------------------------------------


async def _campaign() -> Campaign | None:
    return await Campaign.objects().where(Campaign.slug == SLUG).first().run()


async def _ensure_campaign() -> Campaign:
    """The 2022 campaign and its categories, created in its (closed) voting phase."""
    campaign = await _campaign()
    if campaign is not None:
        return campaign
    organiser = await city_id()
    async with write_transaction():
        campaign = await _campaign()
        if campaign is not None:
            return campaign
        campaign = Campaign(
            slug=SLUG,
            organiser=organiser,
            title=TITLE,
            year=YEAR,
            description=DESCRIPTION,
            timezone="Asia/Shanghai",
            phase=Phase.voting.value,
            nominating_opens_at=NOMINATING[0],
            nominating_closes_at=NOMINATING[1],
            reviewing_opens_at=REVIEWING[0],
            reviewing_closes_at=REVIEWING[1],
            voting_opens_at=VOTING[0],
            voting_closes_at=VOTING[1],
            notice_days=NOTICE_DAYS,
            objection_contact="市司法局人民参与和促进法治科",
            objection_phone="0932-8212345",
            objection_address="定西市安定区××路×号 定西市司法局（743000）",
            visits=VISITS,
            created_at=CREATED_AT,
            updated_at=VOTING[1],
        )
        await campaign.save().run()
        await insert_categories(campaign, CATEGORIES)
    return campaign


async def _city_admin() -> Actor:
    """The demo city admin, who takes the city's steps (the command line without one)."""
    row = (
        await Staff.select(Staff.id, Staff.username)
        .where((Staff.role == Role.city_admin.value) & (Staff.bureau.name == CITY_BUREAU))
        .order_by(Staff.id)
        .first()
        .run()
    )
    if row is None:
        return Actor.command_line("演示数据")
    return Actor(staff_id=row["id"], name=row["username"], role=Role.city_admin.value)


@contextlib.asynccontextmanager
async def _dated(actor: Actor, at: dt.datetime) -> AsyncIterator[None]:
    """Date the audit entries ``actor`` writes inside the block to ``at`` (the services
    stamp them with the present; the demo's steps happened in 2022)."""
    row = await AuditEntry.select(Max(AuditEntry.id, alias="last")).first().run()
    last = (row or {}).get("last") or 0
    yield
    await (
        AuditEntry.update({AuditEntry.at: at})
        .where((AuditEntry.id > last) & (AuditEntry.actor_name == actor.name))
        .run()
    )
    await audit.rechain(last)


async def _phase(campaign: Campaign) -> Phase:
    fresh = await Campaign.select(Campaign.phase).where(Campaign.id == campaign.id).first().run()
    return Phase(fresh["phase"])


# --- the steps after the vote -----------------------------------------------------------


async def _review_brushing(actor: Actor, campaign: Campaign) -> None:
    """Exclude the held brushing burst, as the review desk did the morning after."""
    held = (
        await Vote.select(Vote.candidate, Vote.network, Max(Vote.cast_ts, alias="last"))
        .where((Vote.campaign == campaign.id) & (Vote.status == VoteStatus.held.value))
        .group_by(Vote.candidate, Vote.network)
        .run()
    )
    if not held:
        return
    secret = get_settings().secret_key
    # The live counters are the server's; a held vote never counted, so nothing moves.
    store = MemoryStateStore()
    voting = VotingService(store, CaptchaService(store, secret), secret)
    for row in held:
        last = row["last"]
        if isinstance(last, str):  # SQLite returns MAX() of a timestamp as text
            last = dt.datetime.fromisoformat(last)
        local = (last if last.tzinfo else last.replace(tzinfo=dt.UTC)).astimezone(CST)
        at = dt.datetime.combine(local.date(), BRUSHING_REVIEWED, CST)
        if at <= local:
            at += dt.timedelta(days=1)
        selection = moderation.Selection(row["candidate"], network=row["network"])
        async with _dated(actor, at):
            await moderation.exclude(voting, actor, campaign, selection, BRUSHING)
        await (
            Vote.update({Vote.decided_at: at})
            .where(
                (Vote.campaign == campaign.id)
                & (Vote.candidate == row["candidate"])
                & (Vote.network == row["network"])
                & (Vote.status == VoteStatus.excluded.value)
            )
            .run()
        )


async def _exclude_one(actor: Actor, campaign: Campaign) -> None:
    """The city's exclusion during the tally: a proposed committee whose figures did not
    match the county's register; the next in line moves up."""
    if await Standing.exists().where(
        (Standing.campaign == campaign.id) & (Standing.excluded_reason != "")
    ):
        return
    ranking = {item.category.key: item for item in await results.ranking(campaign)}
    item = ranking.get(COMMITTEE)
    if item is None or not item.designated:
        return
    target = item.designated[min(3, len(item.designated)) - 1]
    async with _dated(actor, EXCLUDED_AT):
        await results.exclude(actor, campaign, target.candidate_id, EXCLUSION)
    await (
        Standing.update({Standing.excluded_at: EXCLUDED_AT})
        .where((Standing.campaign == campaign.id) & (Standing.candidate == target.candidate_id))
        .run()
    )


async def _objection(actor: Actor, campaign: Campaign) -> None:
    """One objection during the notice, to a proposed mediator, investigated and dismissed."""
    row = await Objection.objects().where(Objection.campaign == campaign.id).first().run()
    if row is None:
        ranking = {item.category.key: item for item in await results.ranking(campaign)}
        mediators = ranking[MEDIATOR].designated
        # A village mediator: the objection is about a dispute in the objector's village.
        target = next((r for r in mediators if r.organisation.endswith(VILLAGE)), mediators[0])
        nomination = await Nomination.objects().where(Nomination.id == target.candidate_id).first()
        pron = "她" if nomination.gender == "female" else "他"
        values = {
            **OBJECTOR,
            "candidate": str(target.candidate_id),
            "content": OBJECTION.format(name=target.name, pron=pron),
        }
        data = await objections.check_objection(campaign, values, now=OBJECTION_AT)
        row = await objections.record_objection(
            campaign, data, network=OBJECTION_NETWORK, now=OBJECTION_AT
        )
    if row.status == ObjectionStatus.received.value:
        async with _dated(actor, INVESTIGATING_AT):
            row = await objections.investigate(actor, campaign, row.id, now=INVESTIGATING_AT)
    if row.status == ObjectionStatus.investigating.value:
        county = (
            await Nomination.select(Nomination.bureau.short_name.as_alias("county"))
            .where(Nomination.id == row.candidate)
            .first()
            .run()
        )["county"]
        async with _dated(actor, DISMISSED_AT):
            await objections.dismiss(
                actor, campaign, row.id, RESOLUTION.format(county=county), now=DISMISSED_AT
            )


async def ensure_finished_campaign(var_dir: Path | None = None) -> None:
    """The demo's finished 2022 campaign, published (idempotent).

    Creates what is missing and takes each remaining step of the cycle in order:
    nominations, review, votes, brushing review, tally with one exclusion, notice with a
    dismissed objection, designation, then the story series. ``var_dir`` is where the
    candidates' photos and documents go (default: the configured ``PORTAL_VAR_DIR``).
    """
    if var_dir is None:
        var_dir = get_settings().var_dir
    campaign = await _ensure_campaign()
    await _ensure_nominations(campaign, var_dir)
    await ensure_demo_review(campaign)
    await _date_review(campaign)
    actor = await _city_admin()

    if await _phase(campaign) is Phase.voting:
        await ensure_demo_votes(campaign, now=VOTING[1])
        await _review_brushing(actor, campaign)
        async with _dated(actor, TALLY_AT):
            await results.tally(actor, SLUG, now=TALLY_AT)
    if await _phase(campaign) is Phase.tallying:
        await _exclude_one(actor, campaign)
        async with _dated(actor, NOTICE_AT):
            await results.open_notice(actor, SLUG, NOTICE_DAYS, now=NOTICE_AT)
    if await _phase(campaign) is Phase.notice:
        fresh = await _campaign()
        await _objection(actor, fresh)
        async with _dated(actor, DESIGNATED_AT):
            await results.designate(actor, SLUG, DOCUMENT_NO, now=DESIGNATED_AT)
    await ensure_demo_stories(campaign.id)


async def _date_review(campaign: Campaign) -> None:
    """The review's assignment entry, written with the present, dated to the review."""
    await (
        AuditEntry.update({AuditEntry.at: REVIEWING[0] - dt.timedelta(days=1)})
        .where(
            (AuditEntry.action == "review.assign")
            & (AuditEntry.object_type == Campaign._meta.tablename)
            & (AuditEntry.object_id == str(campaign.id))
        )
        .run()
    )
    await audit.rechain(0)


async def _load_finished_campaign(context: DemoContext) -> None:
    await ensure_finished_campaign(context.var_dir)


# What `portal demo` runs of this app: the finished 2022 campaign, after the 2023 demo
# (the order fixes both years' row ids, so every load is the same).
STEPS = (DemoStep("finished-campaign", _load_finished_campaign, after=("votes",)),)
