"""Fixtures for the results: a campaign whose voting has closed, with scores and votes.

``make_results_campaign`` builds it straight through the tables (the review and voting
flows have their own tests): each candidate gets one submitted review total, and its
counted and held votes are appended to the real ledger.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from nominations.tables import Assignment
from portal.db import write_transaction
from portal.tables import Bureau, Campaign, Category, CategoryKind, Phase, Staff
from tests import factories
from voting.ledger import PendingVote, commit
from voting.services import receipt_hash

RESULTS_SLUG = "results-2024"
TITLES = {"office": "“枫桥式”司法所", "mediator": "“枫桥式”人民调解员"}


@dataclass
class Candidate:
    """A candidate to create: its review total (None: a score still missing), votes."""

    name: str
    review: str | None
    votes: int = 0
    held: int = 0
    # Minutes after the first shortlisting (the last tie-break).
    shortlisted: int = 0


@dataclass
class ResultsScene:
    campaign: Campaign
    categories: dict[str, Category] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


async def make_results_campaign(
    spec: dict[str, tuple[int, list[Candidate]]],
    *,
    slug: str = RESULTS_SLUG,
    phase: Phase = Phase.voting,
    reviewer: str = "reviewer",
    **fields: Any,
) -> ResultsScene:
    """A campaign whose voting window has closed: per category key, (quota, candidates)."""
    now = dt.datetime.now(dt.UTC)
    categories = [
        {
            "key": key,
            "title": TITLES.get(key, f"“枫桥式”{key}"),
            "kind": CategoryKind.mediator.value if "mediator" in key else "judicial_office",
            "quota": quota,
            "county_cap": 10,
            "votes_per_day": 1,
            "position": position,
        }
        for position, (key, (quota, _)) in enumerate(spec.items())
    ]
    async with write_transaction():  # one connection and one commit for the whole scene
        campaign, by_key = await factories.campaign(
            categories,
            slug=slug,
            title="2024年度“枫桥式”测试评选",
            year=2024,
            phase=phase.value,
            voting_opens_at=now - dt.timedelta(days=10),
            voting_closes_at=now - dt.timedelta(hours=1),
            **fields,
        )
        scene = ResultsScene(campaign, by_key)
        counties = (
            await Bureau.objects().where(Bureau.level == "county").order_by(Bureau.position).run()
        )
        scorer = await Staff.objects().where(Staff.username == reviewer).first().run()
        votes: list[PendingVote] = []
        first = now - dt.timedelta(days=20)
        for key, (_, candidates) in spec.items():
            category = by_key[key]
            for i, c in enumerate(candidates):
                nomination = factories.candidate(
                    category,
                    counties[i % len(counties)].id,
                    c.name,
                    township="中华路街道",
                    committee="香泉村人民调解委员会",
                    shortlisted_at=first + dt.timedelta(minutes=c.shortlisted),
                )
                await factories.save(nomination)
                scene.ids[c.name] = nomination.id
                await factories.save(
                    Assignment(
                        nomination=nomination.id,
                        reviewer=scorer.id,
                        scores={"1": c.review} if c.review is not None else {},
                        submitted_at=now if c.review is not None else None,
                    )
                )
                for status, count in (("counted", c.votes), ("held", c.held)):
                    for _ in range(count):
                        n = len(votes) + 1
                        cast = campaign.voting_opens_at + dt.timedelta(minutes=n)
                        votes.append(
                            PendingVote(
                                campaign_id=campaign.id,
                                category_id=category.id,
                                candidate_id=nomination.id,
                                cast_at=cast.isoformat(timespec="milliseconds"),
                                cast_ts=cast,
                                day=cast.date().isoformat(),
                                voter_hash=f"{n:064x}",
                                receipt=f"TEST-{campaign.id}-{n}",
                                receipt_hash=receipt_hash(f"TEST-{campaign.id}-{n}"),
                                status=status,
                                network="203.0.113.9",
                            )
                        )
        if votes:
            await commit(votes)
    return scene


@pytest.fixture
def results_campaign(staff: dict[str, str]):  # type: ignore[no-untyped-def]
    """The builder, once the staff (with the reviewer who scores) exist."""
    return make_results_campaign


# --- the public notice and objections (tests/results/test_notice.py, test_objections.py) ---

NOTICE_SLUG = "notice-2024"
# Office: 甲 and 乙 are proposed (quota 2), 丙 is next in line; mediator: 张 is proposed.
NOTICE_SPEC = {
    "office": (
        2,
        [
            Candidate("甲司法所", "90", votes=30),
            Candidate("乙司法所", "85", votes=20),
            Candidate("丙司法所", "80", votes=10),
        ],
    ),
    "mediator": (1, [Candidate("张调解员", "80", votes=5), Candidate("李调解员", "70", votes=1)]),
}


@pytest.fixture
async def notice_scene(results_campaign) -> ResultsScene:  # type: ignore[no-untyped-def]
    """A campaign in its public notice (7 working days from now): tallied, list published."""
    from portal.audit import Actor
    from portal.campaigns import get_campaign
    from results.services import tally

    scene = await results_campaign(NOTICE_SPEC, slug=NOTICE_SLUG)
    actor = Actor.command_line("测试")
    await tally(actor, NOTICE_SLUG)
    await open_notice_now(actor, NOTICE_SLUG, 7)
    scene.campaign = await get_campaign(NOTICE_SLUG)
    return scene


async def open_notice_now(actor, slug: str, days: int):  # type: ignore[no-untyped-def]
    """Open the notice now for ``days`` working days. Late in December the holiday
    calendar may not know next year yet: the notice then ends where the city admin
    would set it by hand (``days`` + 4 calendar days on), so the scene does not expire."""
    from portal.campaigns import get_campaign
    from portal.clock import utc_now
    from results.services import notice_projection, open_notice

    now = utc_now()
    known = notice_projection(now, days, await get_campaign(slug)).ends_at
    manual = None if known else now + dt.timedelta(days=days + 4)
    return await open_notice(actor, slug, days, now=now, ends_at=manual)
