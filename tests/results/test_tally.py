"""The tally on a real database: components, quotas, held votes, refusals, exclusions,
the notice and the designation, the results API and `portal tally`."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from nominations.tables import Assignment
from portal.audit import Actor
from portal.campaigns import get_campaign
from portal.phases import PhaseRefused, move_phase
from portal.tables import AuditEntry, Campaign, Phase
from results import services as results
from results.services import ResultsRefused
from results.tables import Standing, Tally
from tests.helpers import login, post_form
from tests.results.conftest import RESULTS_SLUG, Candidate
from voting.tables import Vote

ADMIN = Actor(staff_id=None, name="测试管理员", role="city_admin")
D = Decimal

SPEC = {
    "office": (
        2,
        [
            Candidate("甲司法所", "90", votes=10),
            Candidate("乙司法所", "80", votes=40),
            Candidate("丙司法所", "85", votes=20, held=500),  # held votes never count
            Candidate("丁司法所", "60", votes=0),
        ],
    ),
    "mediator": (1, [Candidate("张调解员", "70", votes=5), Candidate("李调解员", "75", votes=0)]),
}


async def standings(slug: str = RESULTS_SLUG) -> dict[str, dict]:
    campaign = await get_campaign(slug)
    rows = (
        await Standing.select(
            Standing.candidate.name.as_alias("name"),
            Standing.review_score,
            Standing.votes,
            Standing.vote_score,
            Standing.final_score,
            Standing.rank,
            Standing.designated,
            Standing.excluded_reason,
        )
        .where(Standing.campaign == campaign.id)
        .run()
    )
    return {row.pop("name"): row for row in rows}


async def release_held(slug: str = RESULTS_SLUG) -> None:
    campaign = await get_campaign(slug)
    await (
        Vote.update({Vote.status: "excluded"})
        .where((Vote.campaign == campaign.id) & (Vote.status == "held"))
        .run()
    )


async def test_tally_ranks_by_the_method_and_fills_each_quota(results_campaign) -> None:
    scene = await results_campaign(SPEC)
    refused = pytest.raises(ResultsRefused)
    with refused:
        await results.tally(ADMIN, RESULTS_SLUG)
    await release_held()  # the brushing review excluded the 500 held votes

    await results.tally(ADMIN, RESULTS_SLUG)

    rows = await standings()
    # office: most votes 40. 甲 0.7×90 + 0.3×25 = 70.50; 乙 56 + 30 = 86.00;
    # 丙 59.5 + 0.3×50 = 74.50 (its 500 excluded votes ignored); 丁 42 + 0 = 42.00.
    assert {n: (r["vote_score"], r["final_score"], r["rank"]) for n, r in rows.items()} == {
        "乙司法所": (D("100.00"), D("86.00"), 1),
        "丙司法所": (D("50.00"), D("74.50"), 2),
        "甲司法所": (D("25.00"), D("70.50"), 3),
        "丁司法所": (D("0.00"), D("42.00"), 4),
        # mediator: 张 49 + 30 = 79.00; 李 52.5 + 0 = 52.50.
        "张调解员": (D("100.00"), D("79.00"), 1),
        "李调解员": (D("0.00"), D("52.50"), 2),
    }
    assert rows["丙司法所"]["votes"] == 20
    assert {n for n, r in rows.items() if r["designated"]} == {"乙司法所", "丙司法所", "张调解员"}
    campaign = await get_campaign(RESULTS_SLUG)
    assert campaign.phase == Phase.tallying.value
    tally = await results.tally_of(campaign.id)
    assert (tally.review_weight, tally.vote_weight) == (D("0.70"), D("0.30"))
    actions = [e["action"] for e in await AuditEntry.select(AuditEntry.action).run()]
    assert actions == ["campaign.phase", "results.tally"]
    assert scene.categories["office"].quota == 2


async def test_the_tally_refuses_and_lists_every_blocker(results_campaign) -> None:
    spec = {
        "office": (1, [Candidate("甲司法所", "90", votes=3, held=2), Candidate("乙司法所", None)]),
    }
    await results_campaign(spec)
    with pytest.raises(ResultsRefused) as refused:
        await results.tally(ADMIN, RESULTS_SLUG)
    reasons = refused.value.reasons
    assert len(reasons) == 2
    assert "2 张投票" in reasons[0] and "放行或剔除" in reasons[0]
    assert "乙司法所" in reasons[1] and "缺少专家评分" in reasons[1] and "reviewer" in reasons[1]
    # Nothing was written.
    assert await Standing.count() == 0 and await Tally.count() == 0
    assert (await get_campaign(RESULTS_SLUG)).phase == Phase.voting.value
    assert await AuditEntry.count() == 0

    # A waived score no longer blocks; the candidate without any score still does.
    await Assignment.update({Assignment.waived_reason: "专家因病无法评分"}, force=True).run()
    await release_held()
    with pytest.raises(ResultsRefused) as refused:
        await results.tally(ADMIN, RESULTS_SLUG)
    assert refused.value.reasons == [
        "“枫桥式”司法所「乙司法所」没有任何专家评分，无法计算综合得分。"
    ]


async def test_the_tally_waits_for_voting_to_close(results_campaign) -> None:
    await results_campaign({"office": (1, [Candidate("甲司法所", "90")])})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    await Campaign.update({Campaign.voting_closes_at: later}, force=True).run()
    with pytest.raises(ResultsRefused, match="网络投票尚未结束"):
        await results.tally(ADMIN, RESULTS_SLUG)
    # Moving the campaign to tallying closes voting early (the city's decision).
    await move_phase(ADMIN, RESULTS_SLUG, "tallying")
    await results.tally(ADMIN, RESULTS_SLUG)
    assert (await standings())["甲司法所"]["designated"]


async def test_exclusion_moves_the_next_in_line_up_and_is_audited(results_campaign) -> None:
    scene = await results_campaign(SPEC)
    await release_held()
    await results.tally(ADMIN, RESULTS_SLUG)
    campaign = await get_campaign(RESULTS_SLUG)

    with pytest.raises(ResultsRefused, match="请填写"):
        await results.exclude(ADMIN, campaign, scene.ids["乙司法所"], "  ")
    await results.exclude(ADMIN, campaign, scene.ids["乙司法所"], "经核实推荐材料失实")
    rows = await standings()
    assert rows["乙司法所"]["rank"] is None and not rows["乙司法所"]["designated"]
    assert rows["乙司法所"]["excluded_reason"] == "经核实推荐材料失实"
    assert [rows[n]["rank"] for n in ("丙司法所", "甲司法所", "丁司法所")] == [1, 2, 3]
    assert {n for n, r in rows.items() if r["designated"]} == {"丙司法所", "甲司法所", "张调解员"}
    # Scores are unchanged: the most votes are still the excluded candidate's 40.
    assert rows["甲司法所"]["final_score"] == D("70.50")
    entry = await AuditEntry.objects().where(AuditEntry.action == "results.exclude").first()
    assert entry.object_label == "乙司法所"
    assert json.loads(entry.after) == {"reason": "经核实推荐材料失实"}

    # A second tally keeps the exclusion.
    await results.tally(ADMIN, RESULTS_SLUG)
    assert (await standings())["乙司法所"]["excluded_reason"] == "经核实推荐材料失实"

    await results.reinstate(ADMIN, campaign, scene.ids["乙司法所"], "复核后材料属实")
    rows = await standings()
    assert rows["乙司法所"]["rank"] == 1 and rows["乙司法所"]["designated"]
    assert not rows["甲司法所"]["designated"]


async def test_notice_then_designation(results_campaign, client) -> None:
    scene = await results_campaign(SPEC)
    await release_held()
    response = await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")
    assert response.status_code == 404 and response.json()["error"] == "not_found"

    with pytest.raises(PhaseRefused, match="下一阶段是「综合评定」"):
        await move_phase(ADMIN, RESULTS_SLUG, "notice")
    await results.tally(ADMIN, RESULTS_SLUG)
    response = await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")
    assert response.status_code == 404  # tallied, not yet public

    # A vote decided after the tally makes it stale: the notice waits for a new tally.
    released = await Vote.select(Vote.id).where(Vote.status == "excluded").first()
    await Vote.update({Vote.status: "counted"}).where(Vote.id == released["id"]).run()
    with pytest.raises(ResultsRefused, match="重新计算"):
        await results.open_notice(ADMIN, RESULTS_SLUG, 5)
    await Vote.update({Vote.status: "excluded"}).where(Vote.id == released["id"]).run()

    # Friday 5 June 2026, 10:00 Beijing time: day 1 is Monday 8 June, the fifth working
    # day Friday 12 June, and the notice ends at 18:00 Beijing time that day.
    start = dt.datetime(2026, 6, 5, 2, tzinfo=dt.UTC)
    tally = await results.open_notice(ADMIN, RESULTS_SLUG, 5, now=start)
    ends = dt.datetime(2026, 6, 12, 10, tzinfo=dt.UTC)
    assert tally.notice_ends_at == ends
    campaign = await get_campaign(RESULTS_SLUG)
    assert campaign.phase == Phase.notice.value and campaign.notice_days == 5

    body = (await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")).json()
    assert body["phase"] == "notice"
    assert body["method"]["review_weight"] == 0.7 and body["method"]["vote_weight"] == 0.3
    assert "final_score" in body["method"]["formula"]
    office = body["categories"][0]
    assert (office["key"], office["quota"]) == ("office", 2)
    assert office["ranking"][0] == {
        "rank": 1,
        "candidate_id": scene.ids["乙司法所"],
        "name": "乙司法所",
        "organisation": "中华路街道",
        "county": office["ranking"][0]["county"],
        "review_score": 80.0,
        "votes": 40,
        "vote_score": 100.0,
        "final_score": 86.0,
        "designated": True,
        "excluded": False,
    }
    assert [r["designated"] for r in office["ranking"]] == [True, True, False, False]

    with pytest.raises(ResultsRefused, match="2026年06月12日 18:00（北京时间）"):
        await results.designate(ADMIN, RESULTS_SLUG, now=ends - dt.timedelta(minutes=1))
    after = ends + dt.timedelta(minutes=1)
    await results.designate(ADMIN, RESULTS_SLUG, "定司发〔2024〕9号", now=after)
    campaign = await get_campaign(RESULTS_SLUG)
    assert campaign.phase == Phase.published.value
    assert (await results.tally_of(campaign.id)).document_no == "定司发〔2024〕9号"
    body = (await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")).json()
    assert body["phase"] == "published"


async def test_the_method_is_locked_once_voting_opens(staff, client) -> None:
    await login(client, "admin")
    page = await client.get("/staff/campaigns/new")
    assert "专家评审权重" in page.text and 'value="0.70"' in page.text
    form = {
        "slug": "method-2025",
        "title": "2025年度评选",
        "year": "2025",
        "timezone": "Asia/Shanghai",
        "notice_days": "7",
        "review_weight": "0.6",
        "vote_weight": "0.5",
    }
    response = await post_form(client, "/staff/campaigns/new", form)
    assert response.status_code == 400 and "之和须为 1" in response.text
    assert await Campaign.count() == 0
    form["vote_weight"] = "0.4"
    response = await post_form(client, "/staff/campaigns/new", form)
    assert response.status_code in (302, 303), response.text[:500]
    campaign = await get_campaign("method-2025")
    assert (campaign.review_weight, campaign.vote_weight) == (D("0.60"), D("0.40"))

    now = dt.datetime.now(dt.UTC)
    await Campaign.update(
        {
            Campaign.phase: Phase.voting.value,
            Campaign.voting_opens_at: now - dt.timedelta(hours=1),
            Campaign.voting_closes_at: now + dt.timedelta(days=3),
        },
        force=True,
    ).run()
    edit = await client.get("/staff/campaigns/method-2025/edit")
    assert "评分方法已锁定" in edit.text and "readonly" in edit.text
    form.update(
        review_weight="0.8",
        vote_weight="0.2",
        voting_opens_at=(now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        voting_closes_at=(now + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    )
    form["timezone"] = "UTC"
    response = await post_form(client, "/staff/campaigns/method-2025/edit", form)
    assert response.status_code == 400 and "评分方法已锁定" in response.text
    campaign = await get_campaign("method-2025")
    assert (campaign.review_weight, campaign.vote_weight) == (D("0.60"), D("0.40"))


async def test_the_admin_page_tallies_excludes_and_publishes(results_campaign, client) -> None:
    scene = await results_campaign(SPEC)
    await login(client, "admin")
    page = await client.get(f"/staff/results/{RESULTS_SLUG}")
    assert "500 张投票" in page.text and "disabled" in page.text
    response = await post_form(client, f"/staff/results/{RESULTS_SLUG}/tally")
    page = await client.get(response.headers["location"])
    assert "暂不能进行综合评定" in page.text and await Standing.count() == 0

    await release_held()
    await post_form(client, f"/staff/results/{RESULTS_SLUG}/tally")
    page = await client.get(f"/staff/results/{RESULTS_SLUG}")
    assert "已计算综合排名" in page.text and "86.00" in page.text
    await post_form(
        client,
        f"/staff/results/{RESULTS_SLUG}/candidates/{scene.ids['乙司法所']}/exclude",
        {"reason": "材料失实"},
    )
    page = await client.get(f"/staff/results/{RESULTS_SLUG}")
    assert "已取消资格" in page.text and "材料失实" in page.text
    await post_form(
        client,
        f"/staff/results/{RESULTS_SLUG}/notice",
        {"days": "abc"},
    )
    assert (await get_campaign(RESULTS_SLUG)).phase == Phase.tallying.value
    await post_form(
        client,
        f"/staff/results/{RESULTS_SLUG}/notice",
        {"days": "7"},
    )
    assert (await get_campaign(RESULTS_SLUG)).phase == Phase.notice.value
    page = await client.get(f"/staff/results/{RESULTS_SLUG}")
    assert "公示期尚未结束" in page.text


def portal_cli(*args: str) -> subprocess.CompletedProcess:
    """``portal ARGS`` on this test run's database."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "portal"), *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


async def test_portal_tally_prints_the_ranking_or_the_blockers(results_campaign) -> None:
    await results_campaign(SPEC)
    refused = portal_cli("tally", RESULTS_SLUG)
    assert refused.returncode == 1
    assert "暂不能进行综合评定" in refused.stderr and "500 张投票" in refused.stderr
    assert "Traceback" not in refused.stderr

    await release_held()
    done = portal_cli("tally", RESULTS_SLUG)
    assert done.returncode == 0, done.stderr
    assert "乙司法所" in done.stdout and "86.00" in done.stdout and "拟命名" in done.stdout
    assert (await get_campaign(RESULTS_SLUG)).phase == Phase.tallying.value
    entry = await AuditEntry.objects().where(AuditEntry.action == "results.tally").first()
    assert entry.actor_name == "命令行"

    unknown = portal_cli("tally", "no-such-campaign")
    assert unknown.returncode == 1 and "no-such-campaign" in unknown.stderr
