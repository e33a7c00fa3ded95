"""The demo's finished re-check: Dingxi's 2023 re-check of its 2022 designations.

Opened by the city on 8 January 2024 with a deadline of 28 February, it covers the 29
titles of `dingxi-2022`. Every county files its designees' reports (the year's figures a
little above those of their nomination, a statement); 岷县 files after the deadline, so
its reports are marked late. The city finds all 合格 but two: one judicial office is
given 限期整改 (its case files were not in order), puts it right by June and is found
合格; one mediator — one the province's demo does not draw on — is revoked for taking
money from a party, which the register, the certificate check and the 2022 honour list
then show.

Every step runs the real services (``results.rechecks``, ``recheck_reports``,
``recheck_verdicts``) with ``now=`` in the story's 2024 (moved as every demo date is:
``portal.demo.story_at``), acting as the demo city admin and the
county clerks; their audit entries are dated to the step. Idempotent and resumable: a
step already taken is not taken again.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from nominations.tables import Nomination
from portal.accounts import StaffUser, load_staff
from portal.audit import Actor
from portal.demo import CITY_BUREAU, DemoContext, DemoStep, story_at
from portal.tables import Bureau, Role, Staff
from results import recheck_reports, recheck_verdicts, rechecks
from results.demo import SLUG, _city_admin, _dated
from results.tables import Designation, Recheck, RecheckItem, RecheckVerdict

YEAR = 2023
CST = dt.timezone(dt.timedelta(hours=8))
OPENED_AT = story_at(dt.datetime(2024, 1, 8, 9, 30, tzinfo=CST))
DEADLINE = story_at(dt.date(2024, 2, 28))
DECIDED_AT = story_at(dt.datetime(2024, 3, 15, 10, 0, tzinfo=CST))
REVOKED_ON = story_at(dt.date(2024, 3, 20))
REVOKED_AT = story_at(dt.datetime(2024, 3, 20, 15, 0, tzinfo=CST))
RECTIFY_BY = story_at(dt.date(2024, 6, 30))
RECTIFIED_AT = story_at(dt.datetime(2024, 6, 24, 16, 30, tzinfo=CST))
LATE_COUNTY = "岷县司法局"
LATE_AT = story_at(dt.datetime(2024, 3, 4, 11, 20, tzinfo=CST))
SEED = 20240108

INSTRUCTIONS = (
    "根据《定西市“枫桥式”司法所、人民调解委员会和人民调解员动态管理办法》，请各县区司法局对"
    "本辖区2022年度命名的“枫桥式”司法所、人民调解委员会和人民调解员逐一开展复核，如实填报"
    "2023年度工作数据，说明是否存在不再符合命名条件的情形，并附相关证明材料。"
)
STATEMENTS = {
    "judicial_office": (
        "2023年，{name}坚持和发展新时代“枫桥经验”，健全矛盾纠纷多元化解机制，全年排查调处"
        "矛盾纠纷{m}件，调解成功{r}件，引导当事人申请司法确认{c}件，辖区未发生民转刑案件和"
        "群体性事件。所内人民调解卷宗规范归档，群众满意度较高，仍符合命名条件。"
    ),
    "mediation_committee": (
        "2023年，{name}坚持“小事不出村、大事不出镇、矛盾不上交”，全年排查调处矛盾纠纷{m}件，"
        "调解成功{r}件，司法确认{c}件，随手调{o}件。调委会组织健全、制度上墙、台账完整，"
        "无因调解不当引发的民转刑案件，仍符合命名条件。"
    ),
    "mediator": (
        "2023年，{name}同志扎根基层一线，全年参与排查调处矛盾纠纷{m}件，调解成功{r}件，"
        "引导当事人申请司法确认{c}件，无违法违纪情况和群众投诉，仍符合命名条件。"
    ),
}
RECTIFY = (
    "复核发现该所2023年度人民调解卷宗归档不规范：部分调解协议书未载明履行期限，"
    "司法确认衔接台账不完整。请于2024年6月30日前完成整改，并报送整改情况。"
)
RECTIFIED = (
    "经市司法局实地复查：该所已对2023年度全部调解卷宗重新整理归档，补齐司法确认衔接台账，"
    "建立卷宗季度自查制度，整改到位，复核合格。"
)
REVOCATION = (
    "经群众举报，市司法局会同{county}司法局调查核实：该同志2023年8月调解一起土地承包经营权"
    "纠纷时收受一方当事人财物，违反《中华人民共和国人民调解法》第十五条的规定，已被所在"
    "人民调解委员会解聘，不再符合“枫桥式”人民调解员命名条件。决定撤销其“枫桥式”人民调解员"
    "称号，收回荣誉证书。"
)
SCALED = ("disputes_mediated", "disputes_resolved", "judicial_confirmations", "on_the_spot")
NONE_IS_ZERO = ("criminal_escalations", "mass_incidents")


def figures_for(nomination: Nomination, kind: str, rng: random.Random) -> dict[str, Any]:
    """The 2023 figures: the nomination's, a little higher, still adding up."""
    factor = 1 + rng.randint(2, 15) / 100
    values: dict[str, Any] = {}
    for field in rechecks.record_fields(kind):
        value = getattr(nomination, field.key, None)
        if field.key in SCALED and value is not None:
            value = round(value * factor)
        if value is None and field.key in NONE_IS_ZERO:
            value = 0
        values[field.key] = value
    mediated = values.get("disputes_mediated") or 0
    values["disputes_resolved"] = min(values.get("disputes_resolved") or 0, mediated)
    values["on_the_spot"] = min(values.get("on_the_spot") or 0, mediated)
    values["judicial_confirmations"] = min(
        values.get("judicial_confirmations") or 0, values["disputes_resolved"]
    )
    return values


async def _clerk_of(bureau_id: int) -> StaffUser | None:
    row = (
        await Staff.select(Staff.id)
        .where((Staff.bureau == bureau_id) & (Staff.role == Role.county_clerk.value))
        .order_by(Staff.id)
        .first()
        .run()
    )
    return await load_staff(row["id"]) if row else None


async def _targets(recheck: Recheck) -> tuple[int | None, int | None]:
    """The items given 限期整改 (the campaign's last judicial office) and 撤销 (its last
    mediator that no later nomination puts forward: the province's demo draws on some)."""
    rows = (
        await RecheckItem.select(
            RecheckItem.id,
            RecheckItem.designation.candidate.as_alias("candidate"),
            RecheckItem.designation.category.kind.as_alias("kind"),
            RecheckItem.designation.serial.as_alias("serial"),
        )
        .where(
            (RecheckItem.recheck == recheck.id) & (RecheckItem.designation.campaign.slug == SLUG)
        )
        .run()
    )
    rows.sort(key=lambda r: r["serial"])
    drawn = {
        r["designation"]
        for r in await Nomination.select(Nomination.designation)
        .where(Nomination.designation.is_not_null())
        .run()
    }
    offices = [r["id"] for r in rows if r["kind"] == "judicial_office"]
    mediators = [r["id"] for r in rows if r["kind"] == "mediator" and r["candidate"] not in drawn]
    return (offices[-1] if offices else None), (mediators[-1] if mediators else None)


async def ensure_finished_recheck() -> None:
    """Dingxi's finished 2023 re-check of its 2022 designations (idempotent)."""
    city = await Bureau.select(Bureau.id).where(Bureau.name == CITY_BUREAU).first().run()
    if city is None or not await Designation.exists().where(Designation.campaign.slug == SLUG):
        return
    admin = await _city_admin()
    recheck = (
        await Recheck.objects()
        .where((Recheck.organiser == city["id"]) & (Recheck.year == YEAR))
        .first()
        .run()
    )
    if recheck is None:
        values = {
            "year": str(YEAR),
            "deadline": DEADLINE.isoformat(),
            "title": "定西市2023年度“枫桥式”命名复核",
            "instructions": INSTRUCTIONS,
        }
        async with _dated(admin, OPENED_AT):
            recheck = await rechecks.open_recheck(admin, city["id"], values, now=OPENED_AT)
    items = await rechecks.items_of(recheck)
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    for index, item in enumerate(items):
        figures_rng = random.Random(SEED + item.entry.candidate_id)  # noqa: S311
        if item.reported:
            continue
        clerk = await _clerk_of(item.row.bureau)
        if clerk is None:
            continue
        nomination = (
            await Nomination.objects().where(Nomination.id == item.entry.candidate_id).first()
        )
        values = figures_for(nomination, item.entry.kind, figures_rng)
        values["statement"] = STATEMENTS[item.entry.kind].format(
            name=item.entry.name,
            m=values["disputes_mediated"],
            r=values["disputes_resolved"],
            c=values["judicial_confirmations"],
            o=values["on_the_spot"],
        )
        late = item.bureau == LATE_COUNTY
        at = LATE_AT if late else OPENED_AT + dt.timedelta(days=14 + index, hours=rng.randint(0, 6))
        actor = Actor(staff_id=clerk.id, name=clerk.username, role=clerk.role.value)
        async with _dated(actor, at):
            await recheck_reports.file_report(actor, clerk, recheck.id, item.row.id, values, now=at)
    rectify, revoke = await _targets(recheck)
    for item in await rechecks.items_of(recheck):
        row = item.row
        if row.id == revoke and revoke is not None:
            if recheck_verdicts.revocable(row):
                county = item.entry.county
                async with _dated(admin, REVOKED_AT):
                    await recheck_verdicts.revoke_item(
                        admin, recheck.id, row.id, REVOCATION.format(county=county),
                        on=REVOKED_ON, now=REVOKED_AT,
                    )  # fmt: skip
            continue
        if row.verdict == RecheckVerdict.pending.value and item.reported:
            verdict = "rectify" if row.id == rectify else "passed"
            note = RECTIFY if verdict == "rectify" else ""
            async with _dated(admin, DECIDED_AT):
                row = await recheck_verdicts.decide(
                    admin, recheck.id, row.id, verdict, note, RECTIFY_BY.isoformat(),
                    now=DECIDED_AT,
                )  # fmt: skip
        if row.verdict == RecheckVerdict.rectify.value and not row.followup_verdict:
            async with _dated(admin, RECTIFIED_AT):
                await recheck_verdicts.follow_up(
                    admin, recheck.id, row.id, RECTIFIED, now=RECTIFIED_AT
                )


async def _load(context: DemoContext) -> None:
    await ensure_finished_recheck()


# After the province's nominations: the revoked mediator is one they do not draw on.
STEPS = (DemoStep("recheck-2022", _load, after=("finished-campaign", "province-nominations")),)
