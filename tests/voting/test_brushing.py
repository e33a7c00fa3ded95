"""Brushing (刷票) rules, each on both store backends, and held votes through the API."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from portal.audit import AuditEntry
from portal.stores import MemoryStateStore, StateStore
from tests.voting.conftest import (
    issue_captchas,
    ledger_rows,
    make_voting_campaign,
    vote,
    voting_service,
)
from voting.brushing import (
    RING_RULES,
    RULE_LABELS,
    BrushingChecks,
    block_of,
    flag_labels,
    is_regular,
)
from voting.services import status_totals
from voting.tables import VoteStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = dt.timedelta(minutes=1)
TZ = "Asia/Shanghai"
# A weekday afternoon in Dingxi; the rules only look at the times they are given.
NOON = dt.datetime(2024, 6, 12, 14, 0, 5, tzinfo=SHANGHAI)
# Thresholds high enough that a test sees only the rule it is about.
QUIET = {
    "network_burst": 10_000,
    "agent_burst": 10_000,
    "regular_intervals": 10_000,
    "cookie_limit": 10_000,
    "night_floor": 10_000,
    "block_limit": 10_000,
    "agent_limit": 10_000,
}


def checks(store: StateStore, **thresholds: Any) -> BrushingChecks:
    return BrushingChecks(store, **{**QUIET, **thresholds})


_cookies = itertools.count()


async def assess(
    rules: BrushingChecks,
    *,
    candidate: int = 1,
    network: str = "203.0.113.7",
    agent: str = "a" * 16,
    cookie: str | None = None,
    now: dt.datetime = NOON,
) -> list[str]:
    return await rules.assess(
        campaign_id=1,
        candidate_id=candidate,
        network=network,
        agent_hash=agent,
        voter_cookie=cookie or f"cookie-{next(_cookies)}",
        now=now,
        timezone=TZ,
    )


# --- the rule set ------------------------------------------------------------------------


def test_every_rule_has_a_label_and_a_description() -> None:
    rules = BrushingChecks(MemoryStateStore())
    assert set(rules.describe()) == set(RULE_LABELS)
    assert all(RULE_LABELS.values())
    # Moderation selects a rule's votes with LIKE: no rule name may contain another.
    for a, b in itertools.permutations(RULE_LABELS, 2):
        assert a not in b
    assert flag_labels("network_burst,night_surge") == [
        RULE_LABELS["network_burst"],
        RULE_LABELS["night_surge"],
    ]
    assert flag_labels("") == []


def test_thresholds_are_overridable_and_checked() -> None:
    rules = BrushingChecks(MemoryStateStore(), network_burst=2)
    assert rules.network_burst == 2
    assert BrushingChecks.network_burst == 10
    with pytest.raises(TypeError):
        BrushingChecks(MemoryStateStore(), netwrok_burst=2)


async def test_a_quiet_vote_trips_nothing_with_the_real_thresholds(store: StateStore) -> None:
    rules = BrushingChecks(store)
    for hour in range(3):
        assert await assess(rules, now=NOON.replace(hour=1 + hour)) == []


# --- bursts ------------------------------------------------------------------------------


async def test_network_burst(store: StateStore) -> None:
    rules = checks(store, network_burst=3)
    results = [await assess(rules, now=NOON + dt.timedelta(seconds=i)) for i in range(5)]
    assert results == [[], [], [], ["network_burst"], ["network_burst"]]
    # Another network, another candidate: their own counters.
    assert await assess(rules, network="198.51.100.1") == []
    assert await assess(rules, candidate=2) == []
    # The next ten-minute window starts afresh.
    assert await assess(rules, now=NOON + dt.timedelta(minutes=10)) == []


async def test_agent_burst_across_networks(store: StateStore) -> None:
    rules = checks(store, agent_burst=3)
    results = [await assess(rules, network=f"198.51.100.{i}", agent="b" * 16) for i in range(1, 6)]
    assert results == [[], [], [], ["agent_burst"], ["agent_burst"]]
    assert await assess(rules, network="198.51.100.9", agent="c" * 16) == []
    assert await assess(rules, candidate=2, agent="b" * 16) == []


# --- machine-regular intervals -------------------------------------------------------------


def test_regularity_measure() -> None:
    assert is_regular([60.0, 60.2, 59.9, 60.1, 60.0], 0.05, 0.25)
    assert is_regular([0.1, 0.15, 0.12, 0.1, 0.11], 0.05, 0.25)  # a tight loop
    assert not is_regular([12.0, 95.0, 3.0, 40.0, 61.0], 0.05, 0.25)
    assert not is_regular([60.0, 60.0, 60.0, 60.0, 90.0], 0.05, 0.25)


async def test_votes_at_a_timer_s_pace_are_held(store: StateStore) -> None:
    rules = checks(store, regular_intervals=5)
    jitter = [0.0, 0.31, -0.22, 0.12, 0.4, -0.3, 0.05, 0.2]
    results = []
    for i, j in enumerate(jitter):
        at = NOON + dt.timedelta(seconds=45 * i + j)
        results.append(await assess(rules, now=at))
        # Votes of other networks and candidates in between change nothing.
        await assess(rules, network="198.51.100.1", now=at + dt.timedelta(seconds=7 * i))
        await assess(rules, candidate=2, now=at + dt.timedelta(seconds=3 * i * i))
    # Five intervals are needed: the sixth vote is the first one held.
    assert results == [[]] * 5 + [["regular_interval"]] * 3
    assert await assess(rules, network="198.51.100.1", now=NOON + dt.timedelta(hours=1)) == []


async def test_people_arriving_at_random_are_not_held(store: StateStore) -> None:
    rules = checks(store, regular_intervals=5)
    draw = random.Random(20240612)
    at = NOON
    for _ in range(60):
        at += dt.timedelta(seconds=draw.expovariate(1 / 40))
        assert await assess(rules, now=at) == []


async def test_a_slow_timer_is_not_judged(store: StateStore) -> None:
    """Intervals beyond the longest one looked at (a vote an hour) are left alone."""
    rules = checks(store, regular_intervals=3, regular_max_interval=1800)
    for i in range(6):
        assert await assess(rules, now=NOON + dt.timedelta(hours=i)) == []


# --- many cookies per network ---------------------------------------------------------------


async def test_many_cookies_from_one_network(store: StateStore) -> None:
    rules = checks(store, cookie_limit=3)
    results = [await assess(rules, cookie=f"voter-{i}") for i in range(3)]
    assert results == [[], [], []]
    # The same cookie again (a vote on the next day, say) is not a new identity.
    assert await assess(rules, cookie="voter-0") == []
    assert await assess(rules, cookie="voter-3") == ["cookie_churn"]
    assert await assess(rules, cookie="voter-0") == ["cookie_churn"]  # the network is over
    # Another network and another candidate count their own cookies.
    assert await assess(rules, network="198.51.100.1", cookie="voter-4") == []
    assert await assess(rules, candidate=2, cookie="voter-5") == []


async def test_many_cookies_are_counted_per_browser(store: StateStore) -> None:
    """A carrier gateway: many people behind one address, each on a phone of their own,
    are not one voter clearing cookies."""
    rules = checks(store, cookie_limit=3)
    phones = [await assess(rules, agent=f"{i:016x}", cookie=f"person-{i}") for i in range(12)]
    assert phones == [[]] * 12
    same = [await assess(rules, agent="e" * 16, cookie=f"bot-{i}") for i in range(5)]
    assert same == [[], [], [], ["cookie_churn"], ["cookie_churn"]]


async def test_cookie_keys_do_not_hold_the_cookie(store: StateStore) -> None:
    rules = checks(store, cookie_limit=3)
    await assess(rules, cookie="secret-cookie-value")
    if isinstance(store, MemoryStateStore):
        keys = list(store._data.items)
    else:
        keys = [k.decode() async for k in store._redis.scan_iter(match=f"{store.namespace}:*")]
    assert keys and not any("secret-cookie-value" in k for k in keys)


# --- night-time surges -----------------------------------------------------------------------


async def daytime_history(rules: BrushingChecks, per_hour: int, candidate: int = 1) -> None:
    """``per_hour`` votes in each hour from 08:00 to 23:59 of 11 June (16 hours)."""
    day = dt.datetime(2024, 6, 11, 8, 0, 0, tzinfo=SHANGHAI)
    for hour in range(16):
        for i in range(per_hour):
            at = day + dt.timedelta(hours=hour, minutes=i * 50 // max(1, per_hour))
            await assess(rules, candidate=candidate, network=f"10.0.{hour}.{i}", now=at)


async def test_night_surge_against_the_candidate_s_own_history(store: StateStore) -> None:
    rules = checks(store, night_floor=5, night_factor=3)
    await daytime_history(rules, per_hour=2)  # 32 votes over 18 earlier hours by 02:00
    night = dt.datetime(2024, 6, 12, 2, 0, 0, tzinfo=SHANGHAI)
    results = [
        await assess(rules, network=f"10.9.0.{i}", now=night + dt.timedelta(minutes=i))
        for i in range(8)
    ]
    # 3 × 32/18 ≈ 5.3 and the floor 5: the sixth vote of the hour is the first held.
    assert results == [[]] * 5 + [["night_surge"]] * 3
    # The next night hour starts its own count.
    later = night + dt.timedelta(hours=1)
    assert await assess(rules, network="10.9.1.1", now=later) == []


async def test_the_same_surge_by_day_is_not_a_night_surge(store: StateStore) -> None:
    rules = checks(store, night_floor=5, night_factor=3)
    await daytime_history(rules, per_hour=2)
    afternoon = dt.datetime(2024, 6, 12, 15, 0, 0, tzinfo=SHANGHAI)
    for i in range(10):
        at = afternoon + dt.timedelta(minutes=i)
        assert await assess(rules, network=f"10.9.0.{i}", now=at) == []


async def test_a_busy_candidate_s_night_is_not_a_surge(store: StateStore) -> None:
    rules = checks(store, night_floor=5, night_factor=3)
    await daytime_history(rules, per_hour=12)  # 192 votes over 18 hours: 10.7 an hour
    night = dt.datetime(2024, 6, 12, 2, 0, 0, tzinfo=SHANGHAI)
    for i in range(12):
        at = night + dt.timedelta(minutes=i)
        assert await assess(rules, network=f"10.9.0.{i}", now=at) == []


async def test_little_history_is_protected_by_the_floor(store: StateStore) -> None:
    """A candidate's first votes at 03:00: three insomniacs are not a surge."""
    rules = BrushingChecks(store)  # the real floor
    night = dt.datetime(2024, 6, 12, 3, 0, 0, tzinfo=SHANGHAI)
    for i in range(3):
        at = night + dt.timedelta(minutes=5 * i)
        assert await assess(rules, network=f"10.9.0.{i}", now=at) == []
    small = checks(store, night_floor=3)
    flags = [await assess(small, candidate=7, network=f"10.8.0.{i}", now=night) for i in range(5)]
    assert flags == [[], [], [], ["night_surge"], ["night_surge"]]


async def test_night_is_the_campaign_s_local_night(store: StateStore) -> None:
    """02:00 in Shanghai is 18:00 UTC the day before: local hours decide."""
    rules = checks(store, night_floor=2)
    utc_evening = dt.datetime(2024, 6, 11, 18, 0, 0, tzinfo=dt.UTC)  # 02:00 in Shanghai
    flags = [
        await rules.assess(
            campaign_id=1,
            candidate_id=3,
            network=f"10.7.0.{i}",
            agent_hash="d" * 16,
            voter_cookie=f"c{i}",
            now=utc_evening,
            timezone=TZ,
        )
        for i in range(3)
    ]
    assert flags == [[], [], ["night_surge"]]
    london = [
        await rules.assess(
            campaign_id=1,
            candidate_id=4,
            network=f"10.6.0.{i}",
            agent_hash="d" * 16,
            voter_cookie=f"c{i}",
            now=utc_evening,
            timezone="Europe/London",  # 19:00 there
        )
        for i in range(3)
    ]
    assert london == [[], [], []]


# --- through the API ---------------------------------------------------------------------------


async def anonymous_votes(api, candidate_id: int, count: int) -> list:  # type: ignore[no-untyped-def]
    """``count`` votes from the test client's one network, each with fresh cookies."""
    responses = []
    for captcha in await issue_captchas(api, count):
        api.cookies.clear()
        responses.append(await vote(api, candidate_id, captcha=captcha))
    return responses


async def test_a_burst_from_one_network_is_held(api, bureaus) -> None:  # type: ignore[no-untyped-def]
    campaign = await make_voting_campaign(network_votes_per_minute=100)
    service = voting_service(api)
    service.brushing = BrushingChecks(service.store, network_burst=3)
    candidate = campaign["candidates"]["judicial-office"][0]
    responses = await anonymous_votes(api, candidate, 5)
    assert [r.status_code for r in responses] == [201] * 5
    statuses = [r.json()["status"] for r in responses]
    assert statuses == ["counted", "counted", "counted", "held", "held"]
    receipt = responses[-1].json()["receipt"]
    looked_up = await api.get(f"/api/v1/receipts/{receipt}")
    assert looked_up.status_code == 200 and looked_up.json()["status"] == "held"
    first = await api.get(f"/api/v1/receipts/{responses[0].json()['receipt']}")
    assert first.json()["status"] == "counted"
    rows = await ledger_rows(campaign["campaign"].id)
    assert [r["flags"] for r in rows] == ["", "", "", "network_burst", "network_burst"]
    assert all(r["network"] == "127.0.0.1" and len(r["agent_hash"]) == 16 for r in rows)
    totals = await status_totals(campaign["campaign"].id)
    assert totals == {"counted": 3, "held": 2, "excluded": 0}
    # Held votes do not count on the public counters.
    counts = await service.counts(campaign["campaign"].id, [candidate])
    assert counts == {candidate: 3}
    # Another candidate from the same network is not held.
    other = campaign["candidates"]["judicial-office"][1]
    (response,) = await anonymous_votes(api, other, 1)
    assert response.json()["status"] == "counted"


async def test_one_user_agent_across_votes_is_held(api, bureaus) -> None:  # type: ignore[no-untyped-def]
    campaign = await make_voting_campaign(network_votes_per_minute=100)
    service = voting_service(api)
    service.brushing = BrushingChecks(service.store, **{**QUIET, "agent_burst": 2})
    candidate = campaign["candidates"]["mediator"][0]
    statuses = []
    for captcha in await issue_captchas(api, 3):
        api.cookies.clear()
        response = await vote(
            api, candidate, captcha=captcha, headers={"user-agent": "python-requests/2.31"}
        )
        statuses.append(response.json()["status"])
    assert statuses == ["counted", "counted", "held"]
    rows = await ledger_rows(campaign["campaign"].id)
    assert rows[-1]["flags"] == "agent_burst"
    assert len({r["agent_hash"] for r in rows}) == 1


async def test_a_night_surge_through_the_api(api, bureaus) -> None:  # type: ignore[no-untyped-def]
    night = dt.datetime(2024, 6, 12, 3, 10, 0, tzinfo=SHANGHAI)
    campaign = await make_voting_campaign(
        network_votes_per_minute=100,
        voting_opens_at=night - dt.timedelta(days=1),
        voting_closes_at=night + dt.timedelta(days=1),
    )
    service = voting_service(api)
    service.brushing = BrushingChecks(service.store, **{**QUIET, "night_floor": 2})
    service.clock = lambda: night.astimezone(dt.UTC)
    candidate = campaign["candidates"]["judicial-office"][2]
    responses = await anonymous_votes(api, candidate, 3)
    assert [r.json()["status"] for r in responses] == ["counted", "counted", "held"]
    assert responses[-1].json()["cast_at"].startswith("2024-06-12T03:10:00")
    rows = await ledger_rows(campaign["campaign"].id)
    assert rows[-1]["status"] == VoteStatus.held.value and rows[-1]["flags"] == "night_surge"


# --- ring rules: a block, a browser ------------------------------------------------------------


def test_blocks_of_networks() -> None:
    assert block_of("203.0.113.7") == "203.0.113.0/24"
    assert block_of("2001:db8:0:12ab::/64") == "2001:db8:0:1200::/56"
    assert block_of("2001:db8:0:12ff::/64") == block_of("2001:db8:0:1200::/64")
    assert block_of("2001:db8:0:1300::/64") != block_of("2001:db8:0:12ab::/64")
    assert block_of("not a network") == "not a network"


async def test_block_focus_rotating_addresses_inside_a_24(store: StateStore) -> None:
    """Five bots in one /24, a fresh address, cookie and (here) User-Agent every vote."""
    rules = checks(store, block_limit=5)
    flags = [
        await assess(rules, network=f"203.0.113.{i}", agent=f"{i:016x}", now=NOON + i * MINUTE)
        for i in range(1, 9)
    ]
    assert flags == [[]] * 5 + [["block_focus"]] * 3
    # Another /24, another candidate: counters of their own.
    assert await assess(rules, network="203.0.114.1") == []
    assert await assess(rules, candidate=2, network="203.0.113.200") == []


async def test_block_focus_rotating_inside_an_ipv6_56(store: StateStore) -> None:
    rules = checks(store, block_limit=3)
    flags = [await assess(rules, network=f"2001:db8:0:12{i:02x}::/64") for i in range(5)]
    assert flags == [[], [], [], ["block_focus"], ["block_focus"]]
    assert await assess(rules, network="2001:db8:0:1300::/64") == []


async def test_a_gateway_voting_like_everybody_is_no_block_focus(store: StateStore) -> None:
    """Many real voters behind one address vote for many candidates: even the most
    popular one's many votes are not the block's focus."""
    rules = checks(store, block_limit=5)
    flags = []
    for i in range(40):
        candidate = (1, 1, 2, 3, 4)[i % 5]  # the first candidate gets 40 %
        flags += await assess(rules, candidate=candidate, network="198.51.100.9", agent=f"{i:016x}")
    assert flags == []


async def test_agent_focus_a_proxy_pool_with_one_user_agent(store: StateStore) -> None:
    """Every vote from another network, one User-Agent spent on one candidate."""
    rules = checks(store, agent_limit=5)
    flags = [await assess(rules, network=f"10.{i}.0.1", agent="f" * 16) for i in range(8)]
    assert flags == [[]] * 5 + [["agent_focus"]] * 3
    assert await assess(rules, candidate=2, network="10.99.0.1", agent="f" * 16) == []


async def test_a_shared_browser_build_voting_for_many_is_no_agent_focus(
    store: StateStore,
) -> None:
    """All iPhones on one iOS and WeChat build send one User-Agent; a WeChat share brings
    many of them to one candidate, but they spend their other votes too."""
    rules = checks(store, agent_limit=5)
    flags = []
    for i in range(30):
        flags += await assess(rules, candidate=1, network=f"10.{i}.1.1", agent="9" * 16)
        if i % 3 == 0:
            flags += await assess(rules, candidate=2 + i % 4, network=f"10.{i}.1.1", agent="9" * 16)
    assert flags == []


async def test_ring_rules_count_the_window_before_too(store: StateStore) -> None:
    """A ring that straddles two six-hour windows is seen whole, not started afresh."""
    rules = checks(store, agent_limit=5)
    window = int(rules.cookie_window)
    edge = dt.datetime.fromtimestamp((int(NOON.timestamp()) // window + 1) * window, dt.UTC)
    before = [
        await assess(rules, network=f"10.{i}.2.1", agent="7" * 16, now=edge - (4 - i) * MINUTE)
        for i in range(4)
    ]
    after = [
        await assess(rules, network=f"10.{i}.3.1", agent="7" * 16, now=edge + i * MINUTE)
        for i in range(3)
    ]
    assert before == [[]] * 4 and after == [[], ["agent_focus"], ["agent_focus"]]


def test_ring_rules_are_rules() -> None:
    assert set(RING_RULES) <= set(RULE_LABELS)


async def test_a_ring_s_earlier_votes_are_held_when_it_trips(api, bureaus) -> None:  # type: ignore[no-untyped-def]
    """The fourth vote from one block trips the rule; the three counted before it are
    held too, flagged, off the live count, with an audit entry of the rules."""
    campaign = await make_voting_campaign(network_votes_per_minute=100)
    service = voting_service(api)
    service.brushing = BrushingChecks(service.store, **{**QUIET, "block_limit": 3})
    candidate = campaign["candidates"]["mediator"][1]
    other = campaign["candidates"]["mediator"][2]
    await anonymous_votes(api, other, 1)
    responses = await anonymous_votes(api, candidate, 3)
    assert [r.json()["status"] for r in responses] == ["counted"] * 3
    assert (await service.counts(campaign["campaign"].id, [candidate]))[candidate] == 3
    (fourth,) = await anonymous_votes(api, candidate, 1)
    assert fourth.json()["status"] == "held"
    rows = await ledger_rows(campaign["campaign"].id)
    assert [(r["candidate"], r["status"], r["flags"]) for r in rows] == [
        (other, "counted", ""),  # the block's vote for another candidate is no part of it
        *[(candidate, "held", "block_focus")] * 4,
    ]
    assert (await service.counts(campaign["campaign"].id, [candidate]))[candidate] == 0
    (entry,) = (
        await AuditEntry.select()
        .where(AuditEntry.action == "vote.hold")
        .output(load_json=True)
        .run()
    )
    assert entry["actor"] is None and entry["object_id"] == str(candidate)
    assert entry["actor_name"] == "刷票核查规则" and entry["object_label"] == "mediator候选2"
    assert entry["before"] == {"status": {"counted": 3}} and entry["after"]["votes"] == 3
    assert entry["after"]["rule"] == "block_focus"
    assert "127.0.0.0/24" in entry["after"]["evidence"]
    receipt = await api.get(f"/api/v1/receipts/{responses[0].json()['receipt']}")
    assert receipt.json()["status"] == "held"
