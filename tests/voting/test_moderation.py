"""Brushing review: releasing and excluding held votes, and the dashboard pages."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from portal.accounts import load_staff
from portal.assets import static_url
from portal.tables import AuditEntry, Campaign, Phase, Staff
from tests.factories import actor_for
from tests.helpers import login, post_form
from tests.voting.conftest import (
    SLUG,
    issue_captchas,
    make_voting_campaign,
    vote,
    voting_service,
)
from voting import moderation, rings
from voting.brushing import RULE_LABELS, BrushingChecks
from voting.ledger import PendingVote, commit
from voting.moderation import ModerationError, Selection
from voting.services import ledger_counts, receipt_hash, status_totals
from voting.tables import Vote

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = dt.datetime(2024, 6, 12, 3, 20, 0, tzinfo=SHANGHAI)
BASE = f"/staff/voting/{SLUG}"


@pytest.fixture
async def scene(staff: dict[str, str]) -> dict[str, Any]:
    """A voting campaign; the first judicial office has 3 counted votes and 4 held ones
    (3 of a network burst from one network, 1 of a night surge from another)."""
    campaign = await make_voting_campaign(units=2, mediators=1)
    category = campaign["categories"]["judicial-office"]
    candidate = campaign["candidates"]["judicial-office"][0]
    counted = await record(campaign, candidate, "", "198.51.100.1", 3, NIGHT.replace(hour=15))
    burst = await record(campaign, candidate, "network_burst", "203.0.113.7", 3, NIGHT)
    night = await record(campaign, candidate, "night_surge", "192.0.2.44", 1, NIGHT)
    admin = await user(staff["city_admin"])
    return {
        **campaign,
        "category": category,
        "candidate": candidate,
        "counted": counted,
        "burst": burst,
        "night": night,
        "admin": admin,
        "actor": actor_for(admin),
    }


async def user(username: str):  # type: ignore[no-untyped-def]
    row = await Staff.objects().where(Staff.username == username).first().run()
    return await load_staff(row.id)


async def record(
    campaign: dict[str, Any], candidate: int, flags: str, network: str, n: int, at: dt.datetime
) -> list[int]:
    """``n`` votes straight into the ledger (held when flagged), a minute apart."""
    category = next(
        c.id
        for key, c in campaign["categories"].items()
        if candidate in campaign["candidates"][key]
    )
    votes = []
    for i in range(n):
        when = at + dt.timedelta(minutes=i)
        receipt = secrets.token_hex(10)
        votes.append(
            PendingVote(
                campaign_id=campaign["campaign"].id,
                category_id=category,
                candidate_id=candidate,
                cast_at=when.isoformat(timespec="milliseconds"),
                cast_ts=when,
                day=when.date().isoformat(),
                voter_hash=secrets.token_hex(32),
                receipt=receipt,
                receipt_hash=receipt_hash(receipt),
                status="held" if flags else "counted",
                network=network,
                agent_hash="f" * 16,
                flags=flags,
            )
        )
    await commit(votes)
    rows = await Vote.select(Vote.id).where(Vote.receipt.is_in([v.receipt for v in votes])).run()
    return sorted(r["id"] for r in rows)


async def statuses(ids: list[int]) -> list[str]:
    rows = await Vote.select(Vote.id, Vote.status).where(Vote.id.is_in(ids)).run()
    return [r["status"] for r in sorted(rows, key=lambda r: r["id"])]


async def audit_entries(action: str) -> list[dict]:
    return (
        await AuditEntry.select()
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id)
        .output(load_json=True)
        .run()
    )


# --- the service ---------------------------------------------------------------------------


async def test_release_all_held_votes(app, scene) -> None:  # type: ignore[no-untyped-def]
    service = app.state.voting
    campaign, candidate = scene["campaign"], scene["candidate"]
    assert await service.counts(campaign.id, [candidate]) == {candidate: 3}  # counters built
    decision = await moderation.release(
        service, scene["actor"], campaign, Selection(candidate), "  核实为同一单位职工投票  "
    )
    assert decision.total == 4 and decision.count_delta == 4
    assert await statuses(scene["burst"] + scene["night"]) == ["counted"] * 4
    row = await Vote.objects().where(Vote.id == scene["burst"][0]).first().run()
    assert row.decided_by == scene["admin"].id
    assert row.decision_reason == "核实为同一单位职工投票"
    assert abs(row.decided_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert row.flags == "network_burst"  # the evidence stays
    assert await status_totals(campaign.id) == {"counted": 7, "held": 0, "excluded": 0}
    assert (await ledger_counts(campaign.id))[candidate] == 7
    assert await service.counts(campaign.id, [candidate]) == {candidate: 7}
    assert await service.check_counts(campaign.id) == {}
    (entry,) = await audit_entries("vote.release")
    assert entry["object_type"] == "nomination" and entry["object_id"] == str(candidate)
    assert entry["object_label"] == "judicial-office候选1"
    assert entry["before"] == {"status": {"held": 4}}
    assert entry["after"]["votes"] == 4 and entry["after"]["status"] == "counted"
    assert entry["after"]["reason"] == "核实为同一单位职工投票"
    assert entry["actor_name"] == "admin"


async def test_exclude_held_votes_of_one_rule_or_network(app, scene) -> None:  # type: ignore[no-untyped-def]
    service = app.state.voting
    campaign, candidate = scene["campaign"], scene["candidate"]
    await service.rebuild_counts(campaign.id)
    decision = await moderation.exclude(
        service,
        scene["actor"],
        campaign,
        Selection(candidate, rule="network_burst"),
        "同一地址十分钟内连续投票",
    )
    assert decision.moved == {"held": 3} and decision.count_delta == 0
    assert await statuses(scene["burst"]) == ["excluded"] * 3
    assert await statuses(scene["night"]) == ["held"]
    assert await statuses(scene["counted"]) == ["counted"] * 3
    assert await status_totals(campaign.id) == {"counted": 3, "held": 1, "excluded": 3}
    assert await service.counts(campaign.id, [candidate]) == {candidate: 3}
    # By network: only that network's held votes.
    decision = await moderation.exclude(
        service, scene["actor"], campaign, Selection(candidate, network="192.0.2.44"), "夜间异常"
    )
    assert decision.total == 1
    assert await statuses(scene["night"]) == ["excluded"]
    # Nothing held is left: a further bulk decision is refused, and not audited.
    with pytest.raises(ModerationError, match="没有可放行"):
        await moderation.release(service, scene["actor"], campaign, Selection(candidate), "再放行")
    assert len(await audit_entries("vote.exclude")) == 2
    assert await audit_entries("vote.release") == []
    # Excluded votes never count again: a release does not touch them.
    with pytest.raises(ModerationError):
        await moderation.release(
            service, scene["actor"], campaign, Selection(candidate, tuple(scene["burst"])), "恢复"
        )
    assert (await ledger_counts(campaign.id))[candidate] == 3


async def test_exclude_chosen_votes_including_counted_ones(app, scene) -> None:  # type: ignore[no-untyped-def]
    service = app.state.voting
    campaign, candidate = scene["campaign"], scene["candidate"]
    await service.rebuild_counts(campaign.id)
    chosen = (scene["counted"][0], scene["burst"][0])
    decision = await moderation.exclude(
        service, scene["actor"], campaign, Selection(candidate, chosen), "经核查为代投"
    )
    assert decision.moved == {"held": 1, "counted": 1} and decision.count_delta == -1
    assert await service.counts(campaign.id, [candidate]) == {candidate: 2}
    assert await service.check_counts(campaign.id) == {}
    assert await status_totals(campaign.id) == {"counted": 2, "held": 3, "excluded": 2}
    (entry,) = await audit_entries("vote.exclude")
    assert entry["after"]["vote_ids"] == sorted(chosen)
    assert entry["before"] == {"status": {"held": 1, "counted": 1}}
    # Releasing chosen votes takes only the held ones among them.
    decision = await moderation.release(
        service,
        scene["actor"],
        campaign,
        Selection(candidate, (scene["counted"][1], scene["burst"][1])),
        "核实无误",
    )
    assert decision.moved == {"held": 1}
    assert await service.counts(campaign.id, [candidate]) == {candidate: 3}


async def test_a_reason_is_required(app, scene) -> None:  # type: ignore[no-untyped-def]
    service = app.state.voting
    for reason in ("", "   "):
        with pytest.raises(ModerationError, match="请填写处理理由"):
            await moderation.release(
                service, scene["actor"], scene["campaign"], Selection(scene["candidate"]), reason
            )
    with pytest.raises(ModerationError, match="不能超过 500 字"):
        await moderation.exclude(
            service, scene["actor"], scene["campaign"], Selection(scene["candidate"]), "长" * 501
        )
    assert await status_totals(scene["campaign"].id) == {"counted": 3, "held": 4, "excluded": 0}
    assert await AuditEntry.count().where(AuditEntry.action.like("vote.%")).run() == 0


async def test_other_candidates_and_campaigns_are_untouched(app, scene) -> None:  # type: ignore[no-untyped-def]
    service = app.state.voting
    other = scene["candidates"]["judicial-office"][1]
    held_other = await record(scene, other, "network_burst", "203.0.113.7", 2, NIGHT)
    await moderation.exclude(
        service, scene["actor"], scene["campaign"], Selection(scene["candidate"]), "批量剔除"
    )
    assert await statuses(held_other) == ["held", "held"]
    # A vote id of another candidate is not reachable through this candidate.
    with pytest.raises(ModerationError):
        await moderation.release(
            service,
            scene["actor"],
            scene["campaign"],
            Selection(scene["candidate"], tuple(held_other)),
            "跨对象",
        )
    with pytest.raises(LookupError):
        await moderation.release(
            service, scene["actor"], scene["campaign"], Selection(999_999), "不存在"
        )
    with pytest.raises(ModerationError, match="未知的核查规则"):
        await moderation.release(
            service, scene["actor"], scene["campaign"], Selection(other, rule="x"), "规则"
        )


async def test_no_decisions_once_the_result_is_in_notice(app, scene) -> None:  # type: ignore[no-untyped-def]
    campaign = scene["campaign"]
    await Campaign.update({Campaign.phase: Phase.notice.value}).where(Campaign.id == campaign.id)
    campaign.phase = Phase.notice.value
    with pytest.raises(ModerationError, match="公示"):
        await moderation.release(
            app.state.voting, scene["actor"], campaign, Selection(scene["candidate"]), "公示后"
        )


# --- the pages ----------------------------------------------------------------------------


async def test_overview_for_admin_and_auditor(client, staff, scene) -> None:  # type: ignore[no-untyped-def]
    for role in ("city_admin", "auditor"):
        client.cookies.clear()
        await login(client, staff[role])
        page = await client.get(BASE)
        assert page.status_code == 200, page.text[:300]
        text = page.text
        assert "刷票监测" in text and "judicial-office候选1" in text
        assert f'href="{BASE}/candidates/{scene["candidate"]}"' in text
        assert RULE_LABELS["network_burst"] in text
        # counted 3, held 4, excluded 0; 4 of 7 flagged
        assert re.search(r"<td class=\"num\">3</td>\s*<td class=\"num\"><strong[^>]*>4<", text)
        assert "57.1%" in text
        dashboard = await client.get("/staff")
        assert f'href="{BASE}"' in dashboard.text


async def test_candidate_page_with_chart_and_forms(client, staff, scene) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["city_admin"])
    url = f"{BASE}/candidates/{scene['candidate']}"
    page = await client.get(url)
    assert page.status_code == 200, page.text[:500]
    text = page.text
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert 'role="img"' in svg and '<title id="chart-title">' in svg and "<desc" in svg
    assert 'class="seg seg-held"' in svg and 'fill="url(#p-held)"' in svg
    assert 'class="seg seg-counted"' in svg
    # Local hours: the held votes at 03:20 Shanghai, the counted ones at 15:20.
    assert "6月12日 03:00–04:00：有效 0 票，待核查 4 票，已剔除 0 票" in svg
    assert "6月12日 15:00–16:00：有效 3 票，待核查 0 票，已剔除 0 票" in svg
    # The chart needs no script: the page's only one is the staff session's idle warning.
    assert re.findall(r"<script[^>]*>", text) == [
        f'<script src="{static_url("js/session-timeout.js")}" defer>'
    ]
    # Top networks, held votes with rule labels, the forms with CSRF and a reason.
    assert "203.0.113.7" in text and "192.0.2.44" in text
    assert RULE_LABELS["night_surge"] in text
    assert text.count('name="votes"') == 4
    assert f'formaction="{url}/release"' in text and f'formaction="{url}/exclude"' in text
    assert 'name="_csrf_token"' in text and 'name="reason"' in text
    # A network's view lists all of its votes, counted ones too.
    page = await client.get(url, params={"network": "198.51.100.1"})
    assert page.status_code == 200
    assert page.text.count('name="votes"') == 3 and "有效" in page.text
    # An earlier day's chart.
    page = await client.get(url, params={"until": "2024-06-11"})
    assert page.status_code == 200 and "6月11日" in page.text


async def test_a_ring_is_decided_in_one_action(app, scene) -> None:  # type: ignore[no-untyped-def]
    """Held votes grouped by the evidence linking them: the burst's /24, and the one
    User-Agent hash every held vote here carries; a group is released or excluded at once."""
    service, campaign, candidate = app.state.voting, scene["campaign"], scene["candidate"]
    groups = await rings.ring_groups(candidate)
    assert [(g.kind, g.value, g.votes) for g in groups] == [
        ("agent", "f" * 16, 4),
        ("block", "203.0.113.0/24", 3),
    ]
    assert groups[1].rules == ("network_burst",)
    decision = await moderation.exclude(
        service, scene["actor"], campaign, Selection(candidate, block="203.0.113.0/24"), "同一网段"
    )
    assert decision.moved == {"held": 3}
    assert await statuses(scene["burst"]) == ["excluded"] * 3
    assert await statuses(scene["night"]) == ["held"]
    (entry,) = await audit_entries("vote.exclude")
    assert entry["after"]["block"] == "203.0.113.0/24" and entry["after"]["votes"] == 3
    decision = await moderation.release(
        service, scene["actor"], campaign, Selection(candidate, agent="f" * 16), "核实为本人投票"
    )
    assert decision.moved == {"held": 1}
    (entry,) = await audit_entries("vote.release")
    assert entry["after"]["agent"] == "f" * 16
    assert await rings.ring_groups(candidate) == []
    with pytest.raises(ModerationError):
        await moderation.exclude(
            service, scene["actor"], campaign, Selection(candidate, block="10.0.0.0/24"), "无"
        )


async def test_held_votes_are_listed_a_page_at_a_time(client, staff, scene, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Many held votes are paged (oldest first), not one page thousands of pixels long;
    a page past the end shows the last one, and a network's view pages alike."""
    monkeypatch.setattr(moderation, "VOTES_PER_PAGE", 3)
    await login(client, staff["city_admin"])
    url = f"{BASE}/candidates/{scene['candidate']}"
    # The 4 held votes by time: the burst's first and the night's one at the same minute.
    burst, night = scene["burst"], scene["night"]
    held = [burst[0], night[0], burst[1], burst[2]]

    def listed(text: str) -> list[int]:
        return [int(v) for v in re.findall(r'name="votes" value="(\d+)"', text)]

    first = (await client.get(url)).text
    assert listed(first) == held[:3]
    assert "第 1 / 2 页" in first and "共 4 票，按投票时间分 2 页列出" in first
    assert f'href="{url}?page=2#votes-heading">下一页' in first and "上一页" not in first
    second = (await client.get(url, params={"page": "2"})).text
    assert listed(second) == held[3:]
    assert f'href="{url}?page=1#votes-heading">‹ 上一页' in second and "下一页" not in second
    assert listed((await client.get(url, params={"page": "99"})).text) == held[3:]
    assert listed((await client.get(url, params={"page": "0"})).text) == held[:3]
    assert (await client.get(url, params={"page": "x"})).status_code == 400
    network = await client.get(url, params={"network": "203.0.113.7"})
    assert listed(network.text) == scene["burst"] and "第 1 / 2 页" not in network.text
    # One page only: no pager.
    monkeypatch.setattr(moderation, "VOTES_PER_PAGE", 50)
    assert "页</span>" not in (await client.get(url)).text


async def test_the_candidate_page_offers_each_ring(client, staff, scene) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["city_admin"])
    url = f"{BASE}/candidates/{scene['candidate']}"
    text = (await client.get(url)).text
    assert "按关联证据分组的待核查票" in text
    assert 'name="block" value="203.0.113.0/24"' in text
    assert f'name="agent" value="{"f" * 16}"' in text
    response = await post_form(
        client, f"{url}/exclude", {"block": "203.0.113.0/24", "reason": "同一网段集中投票"}
    )
    assert response.status_code in (302, 303)
    assert await statuses(scene["burst"]) == ["excluded"] * 3
    assert await statuses(scene["night"]) == ["held"]


async def test_auditor_reads_but_is_offered_no_decision(client, staff, scene) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["auditor"])
    url = f"{BASE}/candidates/{scene['candidate']}"
    page = await client.get(url)
    assert page.status_code == 200
    assert "<svg" in page.text and "seg-held" in page.text
    assert "/release" not in page.text and 'name="votes"' not in page.text
    response = await post_form(client, f"{url}/release", {"reason": "审计员试图放行"})
    assert response.status_code == 403
    assert await statuses(scene["burst"]) == ["held"] * 3


@pytest.mark.parametrize("role", ["county_clerk", "reviewer"])
async def test_other_staff_are_refused(client, staff, scene, role: str) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff[role])
    url = f"{BASE}/candidates/{scene['candidate']}"
    for path in (BASE, url):
        assert (await client.get(path)).status_code == 403
    for action in ("release", "exclude"):
        response = await post_form(client, f"{url}/{action}", {"reason": "越权"})
        assert response.status_code == 403
    assert await status_totals(scene["campaign"].id) == {"counted": 3, "held": 4, "excluded": 0}


async def test_anonymous_is_sent_to_login(client, scene) -> None:  # type: ignore[no-untyped-def]
    response = await client.get(BASE)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")


async def test_release_and_exclude_through_the_pages(client, staff, scene) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["city_admin"])
    service = client.app.state.voting
    campaign, candidate = scene["campaign"], scene["candidate"]
    await service.rebuild_counts(campaign.id)
    url = f"{BASE}/candidates/{candidate}"
    # Without a reason: nothing changes, the admin is told why.
    response = await post_form(client, f"{url}/release", {"reason": ""})
    assert response.status_code in (302, 303) and response.headers["location"] == url
    page = await client.get(url)
    assert "请填写处理理由" in page.text
    assert await status_totals(campaign.id) == {"counted": 3, "held": 4, "excluded": 0}
    # Exclude the burst, release the rest.
    response = await post_form(
        client, f"{url}/exclude", {"rule": "network_burst", "reason": "同一地址集中投票"}
    )
    assert response.status_code in (302, 303)
    assert "已剔除 3 票" in (await client.get(url)).text
    response = await post_form(
        client, f"{url}/release", {"votes": [str(scene["night"][0])], "reason": "核实为真实投票"}
    )
    assert response.status_code in (302, 303)
    assert "已放行 1 票" in (await client.get(url)).text
    assert await status_totals(campaign.id) == {"counted": 4, "held": 0, "excluded": 3}
    assert await service.counts(campaign.id, [candidate]) == {candidate: 4}
    # Exclude a counted vote from a network's view; back to that view.
    response = await post_form(
        client,
        f"{url}/exclude",
        {
            "votes": [str(scene["counted"][0])],
            "reason": "代投",
            "view_network": "198.51.100.1",
        },
    )
    assert response.headers["location"] == f"{url}?network=198.51.100.1"
    assert "其中 1 票原为有效票" in (await client.get(response.headers["location"])).text
    assert await service.counts(campaign.id, [candidate]) == {candidate: 3}
    assert await service.check_counts(campaign.id) == {}
    actions = [e["action"] for e in await AuditEntry.select().order_by(AuditEntry.id).run()]
    assert actions[-3:] == ["vote.exclude", "vote.release", "vote.exclude"]
    log = await client.get("/staff/audit")
    assert "剔除投票" in log.text and "放行待核查投票" in log.text
    # An unknown candidate is 404.
    assert (
        await post_form(client, f"{BASE}/candidates/999999/release", {"reason": "x"})
    ).status_code == 404
    assert (await client.get(f"{BASE}/candidates/999999")).status_code == 404
    assert (await client.get("/staff/voting/no-such-campaign")).status_code == 404


async def test_held_votes_from_the_api_released_on_the_dashboard(client, staff, bureaus) -> None:  # type: ignore[no-untyped-def]
    """End to end: a burst is held at the vote, the admin releases it, the receipt says so."""
    campaign = await make_voting_campaign(network_votes_per_minute=100)
    service = voting_service(client)
    service.brushing = BrushingChecks(service.store, network_burst=1)
    candidate = campaign["candidates"]["mediator"][0]
    receipts = []
    for captcha in await issue_captchas(client, 3):
        client.cookies.clear()
        response = await vote(client, candidate, captcha=captcha)
        assert response.status_code == 201
        receipts.append((response.json()["receipt"], response.json()["status"]))
    assert [s for _, s in receipts] == ["counted", "held", "held"]
    assert await service.counts(campaign["campaign"].id, [candidate]) == {candidate: 1}
    await login(client, staff["city_admin"])
    page = await client.get(f"{BASE}/candidates/{candidate}")
    assert page.text.count('name="votes"') == 2
    response = await post_form(
        client, f"{BASE}/candidates/{candidate}/release", {"reason": "核实为家庭成员分别投票"}
    )
    assert response.status_code in (302, 303)
    for receipt, _ in receipts:
        looked_up = await client.get(f"/api/v1/receipts/{receipt}")
        assert looked_up.json()["status"] == "counted"
    assert await service.counts(campaign["campaign"].id, [candidate]) == {candidate: 3}
