"""Yearly re-checks: opened by the organiser on published designations only, reported
on by each designee's nominating bureau (late reports marked), decided 合格 / 限期整改 /
撤销 (revoking the designation), scoped by role and bureau, reminded on /staff."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.errors import Conflict, Invalid, NotFound, Refused
from portal.tables import AuditEntry, Campaign
from results import recheck_reports, recheck_verdicts, rechecks
from results.register import today_in
from results.tables import Designation, Recheck, RecheckEvidence, RecheckItem
from tests import factories
from tests.helpers import csrf_token, login
from tests.portal.test_media import minimal_pdf
from tests.results.recheck_scene import Published, other_city_admin, publish_scene

YEAR = 2025
FIGURES = {
    "disputes_mediated": "120",
    "disputes_resolved": "118",
    "judicial_confirmations": "9",
    "on_the_spot": "30",
    "entrusted_court": "4",
    "entrusted_police": "6",
    "entrusted_government": "10",
    "entrusted_petition": "2",
    "entrusted_other": "1",
}
STATEMENT = "全年排查化解矛盾纠纷120件，调解成功118件，无民转刑案件。"


@pytest.fixture
async def published(staff: dict[str, str]) -> Published:
    return await publish_scene()


async def actor(username: str):  # type: ignore[no-untyped-def]
    return factories.actor_for(await factories.user(username))


async def opened(published: Published, deadline: dt.date | None = None) -> Recheck:
    deadline = deadline or today_in() + dt.timedelta(days=30)
    return await rechecks.open_recheck(
        await actor("admin"), published.city, {"year": str(YEAR), "deadline": deadline.isoformat()}
    )


async def item_of(recheck: Recheck, name: str) -> RecheckItem:
    for item in await rechecks.items_of(recheck):
        if item.entry.name == name:
            return item.row
    raise AssertionError(name)


async def test_a_recheck_covers_the_active_designations_by_their_nominating_bureau(
    published,
) -> None:
    recheck = await opened(published)
    items = await rechecks.items_of(recheck)
    assert sorted(i.entry.name for i in items) == ["乙司法所", "张调解员", "甲司法所"]
    clerk = await factories.user("clerk")
    mine = await rechecks.items_of(recheck, clerk)
    assert {i.bureau for i in mine} == {"安定区司法局"}
    assert await AuditEntry.count().where(AuditEntry.action == "recheck.open") == 1
    with pytest.raises(Conflict, match="已经开启"):
        await opened(published)
    assert await Recheck.count() == 1


async def test_no_recheck_without_a_published_campaign(staff) -> None:
    from tests.results.conftest import Candidate, make_results_campaign

    await make_results_campaign({"office": (1, [Candidate("甲司法所", "90")])}, slug="open-2024")
    city = (await factories.user("admin")).bureau_id
    with pytest.raises(Refused, match="已正式命名"):
        await rechecks.open_recheck(
            await actor("admin"),
            city,
            {"year": str(YEAR), "deadline": (today_in() + dt.timedelta(days=9)).isoformat()},
        )
    assert await Recheck.count() == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"year": "", "deadline": "2030-01-01"}, "year"),
        ({"year": "二〇二五", "deadline": "2030-01-01"}, "year"),
        ({"year": "2025", "deadline": "2020-01-01"}, "deadline"),
        ({"year": "2025", "deadline": "not-a-date"}, "deadline"),
    ],
)
async def test_bad_opening_input_is_refused_by_field(published, values, field) -> None:
    with pytest.raises(Invalid) as refused:
        await rechecks.open_recheck(await actor("admin"), published.city, values)
    assert field in refused.value.errors
    assert await Recheck.count() == 0


async def test_reports_on_time_and_late_and_scope(published) -> None:
    recheck = await opened(published)
    clerk = await factories.user("clerk")
    mine = await item_of(recheck, "甲司法所")
    values = {**FIGURES, "statement": STATEMENT}
    with pytest.raises(Invalid) as refused:
        await recheck_reports.file_report(
            await actor("clerk"), clerk, recheck.id, mine.id, {**values, "disputes_resolved": "500"}
        )
    assert "disputes_resolved" in refused.value.errors
    item = await recheck_reports.file_report(
        await actor("clerk"), clerk, recheck.id, mine.id, values
    )
    assert item.late is False and item.reported_at is not None
    # Another county's designee is not the clerk's to report on.
    other = await item_of(recheck, "乙司法所")
    with pytest.raises(NotFound):
        await recheck_reports.file_report(await actor("clerk"), clerk, recheck.id, other.id, values)
    # After the deadline a first report is accepted and marked late.
    await Recheck.update({Recheck.deadline: today_in() - dt.timedelta(days=1)}).where(
        Recheck.id == recheck.id
    )
    person = await item_of(recheck, "张调解员")
    late = await recheck_reports.file_report(
        await actor("clerk"), clerk, recheck.id, person.id, values
    )
    assert late.late is True
    log = await AuditEntry.objects().where(AuditEntry.action == "recheck.report").run()
    assert len(log) == 2 and json.loads(log[-1].after)["late"] is True
    notes = await rechecks.reminders(clerk)
    assert notes == []  # everything of the clerk's is reported
    tongwei = await rechecks.reminders(await factories.user("admin"))
    assert any(r.urgent and "逾期未报送" in r.text for r in tongwei)


async def test_verdicts_rectify_follow_up_and_revoke(published) -> None:
    recheck = await opened(published)
    clerk, admin = await factories.user("clerk"), await actor("admin")
    values = {**FIGURES, "statement": STATEMENT}
    office, person = await item_of(recheck, "甲司法所"), await item_of(recheck, "张调解员")
    with pytest.raises(Refused, match="尚未报送"):
        await recheck_verdicts.decide(admin, recheck.id, office.id, "passed")
    for row in (office, person):
        await recheck_reports.file_report(await actor("clerk"), clerk, recheck.id, row.id, values)
    with pytest.raises(Invalid):
        await recheck_verdicts.decide(admin, recheck.id, office.id, "rectify", "", "")
    await recheck_verdicts.decide(
        admin, recheck.id, office.id, "rectify", "补齐调解卷宗。",
        (today_in() + dt.timedelta(days=60)).isoformat(),
    )  # fmt: skip
    with pytest.raises(Refused, match="已作出复核结论"):
        await recheck_reports.file_report(
            await actor("clerk"), clerk, recheck.id, office.id, values
        )
    await recheck_verdicts.follow_up(admin, recheck.id, office.id, "已补齐全部卷宗，经核查合格。")
    with pytest.raises(Conflict):
        await recheck_verdicts.follow_up(admin, recheck.id, office.id, "再登记一次。")
    reason = "经查实，该调解员2025年度多次违规收取当事人费用，已不符合命名条件。"
    with pytest.raises(NotFound):
        await recheck_verdicts.revoke_item(await actor("clerk"), recheck.id, person.id, reason)
    await recheck_verdicts.revoke_item(admin, recheck.id, person.id, reason)
    designation = (
        await Designation.objects().where(Designation.id == person.designation).first().run()
    )
    assert designation.revocation_reason == reason and designation.revoked_on == today_in()
    with pytest.raises(Conflict):
        await recheck_verdicts.revoke_item(admin, recheck.id, person.id, reason)
    items = {i.entry.name: i for i in await rechecks.items_of(recheck)}
    assert items["甲司法所"].verdict_label == "限期整改（整改后合格）"
    assert items["张调解员"].verdict_label == "撤销命名"
    summary = rechecks.summarise(recheck, list(items.values()), today_in())
    assert (summary.rectify, summary.revoked, summary.pending) == (1, 1, 1)
    revoke_log = await AuditEntry.objects().where(AuditEntry.action == "designation.revoke").run()
    assert json.loads(revoke_log[0].after)["via"]["recheck"] == recheck.id


async def test_pages_for_clerk_admin_auditor_and_other_city(client, published, staff) -> None:
    recheck = await opened(published, today_in() - dt.timedelta(days=0))
    mine, other = await item_of(recheck, "甲司法所"), await item_of(recheck, "乙司法所")
    await login(client, staff["county_clerk"])
    home = await client.get("/staff")
    assert "复核报告待报送" in home.text
    listing = await client.get(f"/staff/rechecks/{recheck.id}")
    assert "甲司法所" in listing.text and "乙司法所" not in listing.text
    assert (await client.get(f"/staff/rechecks/{recheck.id}/items/{other.id}")).status_code == 404
    token = await csrf_token(client)
    url = f"/staff/rechecks/{recheck.id}/items/{mine.id}/report"
    bad = await client.post(
        url,
        data={"_csrf_token": token, **FIGURES, "statement": STATEMENT},
        files={"evidence": ("说明.pdf", b"<html>not a pdf</html>", "application/pdf")},
    )
    assert bad.status_code == 400 and "不是 PDF" in bad.text
    assert await RecheckEvidence.count() == 0
    stored = await RecheckItem.objects().where(RecheckItem.id == mine.id).first()
    assert stored.reported_at is None
    good = await client.post(
        url,
        data={"_csrf_token": token, **FIGURES, "statement": STATEMENT},
        files={"evidence": ("说明.pdf", minimal_pdf(), "application/pdf")},
    )
    assert good.status_code in (302, 303), good.text[:500]
    page = await client.get(f"/staff/rechecks/{recheck.id}/items/{mine.id}")
    assert STATEMENT in page.text and "说明.pdf" in page.text
    evidence = await RecheckEvidence.objects().first()
    download = await client.get(
        f"/staff/rechecks/{recheck.id}/items/{mine.id}/evidence/{evidence.id}"
    )
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    other_post = await client.post(
        f"/staff/rechecks/{recheck.id}/items/{other.id}/report",
        data={"_csrf_token": token, **FIGURES, "statement": STATEMENT},
    )
    assert other_post.status_code == 404
    client.cookies.clear()
    await login(client, staff["city_admin"])
    confirm = await client.get(f"/staff/rechecks/{recheck.id}/items/{mine.id}/revoke")
    assert confirm.status_code == 200 and "确认撤销命名" in confirm.text
    token = await csrf_token(client)
    verdict = await client.post(
        f"/staff/rechecks/{recheck.id}/items/{mine.id}/verdict",
        data={"_csrf_token": token, "verdict": "passed"},
    )
    assert verdict.status_code in (302, 303)
    client.cookies.clear()
    await login(client, staff["auditor"])
    read = await client.get(f"/staff/rechecks/{recheck.id}")
    assert read.status_code == 200 and "乙司法所" in read.text and "甲司法所" in read.text
    assert "/verdict" not in read.text
    client.cookies.clear()
    await login(client, await other_city_admin())
    assert (await client.get(f"/staff/rechecks/{recheck.id}")).status_code == 404
    assert (await client.get("/staff/rechecks")).status_code == 200


async def test_campaign_left_unpublished_is_not_covered(published) -> None:
    await Campaign.update({Campaign.phase: "notice"}).where(Campaign.id == published.campaign_id)
    with pytest.raises(Refused):
        await opened(published)


# --- the demo ------------------------------------------------------------------------------


async def test_the_demo_has_a_finished_recheck_of_the_2022_designations(
    demo_loaded, client
) -> None:
    from nominations.tables import Nomination
    from results import recheck_demo

    recheck = await Recheck.objects().where(Recheck.year == 2023).first().run()
    items = await rechecks.items_of(recheck)
    summary = rechecks.summarise(recheck, items, today_in())
    assert summary.finished and summary.total == 29 and summary.reported == 29
    assert (summary.passed, summary.rectify, summary.revoked) == (27, 1, 1)
    assert {i.bureau for i in items if i.row.late} == {recheck_demo.LATE_COUNTY}
    revoked = next(i for i in items if i.row.verdict == "revoked")
    assert revoked.entry.kind == "mediator" and revoked.entry.status == "revoked"
    assert revoked.entry.revoked_on == recheck_demo.REVOKED_ON
    assert not await Nomination.exists().where(Nomination.designation == revoked.entry.candidate_id)
    rectified = next(i for i in items if i.row.verdict == "rectify")
    assert rectified.verdict_label == "限期整改（整改后合格）"
    honours = await client.get("/campaigns/dingxi-2022/honours")
    on = recheck_demo.REVOKED_ON
    assert f"（已于{on.year}年{on.month}月{on.day}日撤销命名）" in honours.text
    # Loading again changes nothing.
    before = await AuditEntry.count()
    await recheck_demo.ensure_finished_recheck()
    assert await AuditEntry.count() == before
    assert await Designation.count().where(Designation.revoked_on.is_not_null()) == 1
