"""The demo campaign opens with a week of votes: realistic, chained, one burst held."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nominations.tables import Nomination, Status
from portal.cli import demo_steps
from portal.demo import DEMO_SLUG, load_demo
from portal.stores import MemoryStateStore
from portal.tables import Campaign, Category
from tests.conftest import DemoTemplate
from tests.voting.conftest import make_voting_campaign
from voting.brushing import RULE_LABELS, BrushingChecks
from voting.captcha import CaptchaService
from voting.demo import BURST_NETWORK, burst_rules, ensure_demo_votes, plan_votes
from voting.ledger import first_break
from voting.services import VotingService, format_cast_at, local_day
from voting.tables import Vote

ZONE = ZoneInfo("Asia/Shanghai")


def service() -> VotingService:
    store = MemoryStateStore()
    secret = os.environ["PORTAL_SECRET_KEY"]
    return VotingService(store, CaptchaService(store, secret), secret)


def verify_chain(rows: list[dict]) -> None:
    """The public chain holds over the rows in ``seq`` order (no gap, no bad link)."""
    broken = first_break(rows)
    assert broken is None, f"the chain breaks at seq {rows[broken]['seq']}"


async def ledger(campaign_id: int) -> list[dict]:
    return await Vote.select().where(Vote.campaign == campaign_id).order_by(Vote.seq).run()


@pytest.fixture
async def demo(demo_loaded: Path) -> Campaign:
    return await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()


async def test_the_demo_opens_with_a_week_of_chained_votes(
    demo: Campaign, demo_template: DemoTemplate
) -> None:
    # The votes run up to the demo's load, which may be on the day before the test's.
    now = demo_template.loaded_at
    opens = demo.voting_opens_at
    assert opens.astimezone(ZONE).time() == dt.time(9)
    assert 5 < (now - opens).total_seconds() / 86400 < 7
    assert demo.voting_closes_at > now

    rows = await ledger(demo.id)
    assert 3000 <= len(rows) <= 5000
    verify_chain(rows)
    checker = service()
    for row in rows:
        assert opens <= row["cast_ts"] <= now
        assert row["cast_at"] == format_cast_at(row["cast_ts"], "Asia/Shanghai")
        assert row["day"] == local_day(row["cast_ts"], "Asia/Shanghai")[0]
        assert row["receipt_hash"] == hashlib.sha256(row["receipt"].encode()).hexdigest()
        # Genuine receipts: the server (same PORTAL_SECRET_KEY) recognises them.
        assert checker.normalise_receipt(row["receipt"]) == row["receipt"]
    assert len({row["receipt"] for row in rows}) == len(rows)

    # Every day of the window has votes; days are busier than nights.
    days = Counter(row["day"] for row in rows)
    first, last = opens.astimezone(ZONE).date(), now.astimezone(ZONE).date()
    expected = [str(first + dt.timedelta(days=n)) for n in range((last - first).days + 1)]
    if now.astimezone(ZONE).hour == 0:  # a load just after midnight: today may be empty
        assert sorted(days) in (expected, expected[:-1])
    else:
        assert sorted(days) == expected
    counted = [row for row in rows if row["status"] == "counted"]
    hours = Counter(row["cast_ts"].astimezone(ZONE).hour for row in counted)
    assert sum(hours[h] for h in (19, 20, 21)) > 5 * sum(hours[h] for h in (2, 3, 4))

    # Some candidates are much more popular than others; every one has votes.
    shortlisted = await Nomination.count().where(
        (Nomination.campaign == demo.id) & (Nomination.status == Status.shortlisted.value)
    )
    per_candidate = Counter(row["candidate"] for row in counted)
    assert len(per_candidate) == shortlisted == 81
    ranked = sorted(per_candidate.values())
    assert ranked[-1] >= 4 * ranked[len(ranked) // 2]

    # Distinct voters, most on their own network, and within the live rules.
    assert len({row["voter_hash"] for row in counted}) > 1000
    assert len({row["network"] for row in counted}) > 1000
    allowance = {
        row["id"]: row["votes_per_day"]
        for row in await Category.select().where(Category.campaign == demo.id).run()
    }
    per_voter: Counter = Counter((r["day"], r["voter_hash"], r["category"]) for r in rows)
    assert all(n <= allowance[key[2]] for key, n in per_voter.items())
    per_network = Counter((row["day"], row["network"]) for row in rows)
    assert max(per_network.values()) <= demo.network_votes_per_day

    # One brushing burst, held: one mediator, one network, one User-Agent, at night,
    # within ten minutes, each vote from a fresh cookie.
    held = [row for row in rows if row["status"] == "held"]
    assert 90 <= len(held) <= 150
    assert len(counted) + len(held) == len(rows)
    assert {row["network"] for row in held} == {BURST_NETWORK}
    assert len({row["agent_hash"] for row in held}) == 1
    assert len({row["candidate"] for row in held}) == 1
    assert len({row["voter_hash"] for row in held}) == len(held)
    mediator = await Nomination.objects().get(Nomination.id == held[0]["candidate"]).run()
    category = await Category.objects().get(Category.id == mediator.category).run()
    assert category.key == "mediator"
    assert held[-1]["cast_ts"] - held[0]["cast_ts"] < dt.timedelta(minutes=10)
    assert 0 <= held[0]["cast_ts"].astimezone(ZONE).hour < 6
    flags = {row["flags"] for row in held}
    assert len(flags) == 1
    names = flags.pop().split(",")
    assert "network_burst" in names and set(names) <= set(RULE_LABELS)
    assert all(row["flags"] == "" for row in counted)

    # The live counters are built from the ledger on first use.
    voting = service()
    ids = sorted(per_candidate)
    assert await voting.counts(demo.id, ids) == {c: per_candidate[c] for c in ids}
    assert await voting.check_counts(demo.id) == {}

    # Loading the demo again adds no vote.
    await load_demo(Path(os.environ["PORTAL_VAR_DIR"]), demo_steps())
    assert await ensure_demo_votes(demo) == 0
    assert await Vote.count().where(Vote.campaign == demo.id) == len(rows)
    assert [row["receipt"] for row in await ledger(demo.id)] == [row["receipt"] for row in rows]

    # Written again from nothing, the week is a whole chain of the same size.
    await Vote.delete().where(Vote.campaign == demo.id)
    written = await ensure_demo_votes(demo)
    assert 3000 <= written <= 5000
    verify_chain(await ledger(demo.id))


def synthetic_candidates() -> list[dict]:
    """The demo's shape: 14 + 29 + 38 candidates, 3 / 5 / 5 votes a day."""
    candidates, next_id = [], 1
    kinds = [("judicial-office", 14, 3), ("mediation-committee", 29, 5), ("mediator", 38, 5)]
    for position, (key, count, per_day) in enumerate(kinds):
        for n in range(count):
            candidates.append(
                {
                    "id": next_id,
                    "name": f"{key}-{n}",
                    "category": 100 + position,
                    "key": key,
                    "votes_per_day": per_day,
                    "position": position,
                }
            )
            next_id += 1
    return candidates


async def test_the_plan_is_deterministic_and_only_the_burst_trips_the_live_rules() -> None:
    opens = dt.datetime(2023, 8, 1, 9, tzinfo=ZONE)
    now = dt.datetime(2023, 8, 7, 15, 30, tzinfo=ZONE)
    candidates = synthetic_candidates()
    plan = plan_votes(candidates, opens, now, "Asia/Shanghai")
    assert plan == plan_votes(list(reversed(candidates)), opens, now, "Asia/Shanghai")
    assert [v.cast_ts for v in plan] == sorted(v.cast_ts for v in plan)
    assert all(opens <= v.cast_ts < now for v in plan)

    # Replay every vote through the live brushing rules, in time order.
    checks = BrushingChecks(MemoryStateStore())
    tripped: dict[bool, set[str]] = defaultdict(set)
    for vote in plan:
        flags = await checks.assess(
            campaign_id=1,
            candidate_id=vote.candidate_id,
            network=vote.network,
            agent_hash=hashlib.sha256(vote.user_agent.encode()).hexdigest()[:16],
            voter_cookie=vote.voter_cookie,
            now=vote.cast_ts,
            timezone="Asia/Shanghai",
        )
        tripped[bool(vote.flags)].update(flags)
    assert tripped[False] == set()  # no ordinary demo vote looks like brushing
    assert tripped[True] == set(burst_rules())  # the burst trips every rule it names


async def test_no_votes_before_voting_opens_or_without_candidates(bureaus: None) -> None:
    now = dt.datetime.now(dt.UTC)
    made = await make_voting_campaign(
        voting_opens_at=now + dt.timedelta(days=1), voting_closes_at=now + dt.timedelta(days=9)
    )
    assert await ensure_demo_votes(made["campaign"]) == 0
    empty = Campaign(slug="empty-2024", title="空", year=2024, phase="voting")
    empty.voting_opens_at = now - dt.timedelta(days=2)
    await empty.save()
    assert await ensure_demo_votes(empty) == 0
    assert await Vote.count() == 0


async def test_the_vote_in_progress_has_been_visited_in_step_with_its_votes(demo_loaded) -> None:  # type: ignore[no-untyped-def]
    """The campaign page of the open vote shows views, and the statistics page's views
    per day add up to them, on every day that had votes and more than its votes."""
    from portal.tables import VisitDay
    from results.statistics import visits_by_day, votes_by_day
    from voting.demo import ensure_demo_visits

    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first()
    assert campaign.phase == "voting"
    by_day = dict(await visits_by_day(campaign.id))
    votes = {day.day: day.total for day in await votes_by_day(campaign.id)}
    assert votes and set(by_day) == set(votes)
    assert campaign.visits == sum(by_day.values()) > 5 * sum(votes.values())
    assert all(by_day[day] > votes[day] for day in votes)
    # Loading again adds nothing.
    assert await ensure_demo_visits(campaign) == 0
    assert await VisitDay.count().where(VisitDay.campaign == campaign.id).run() == len(votes)
