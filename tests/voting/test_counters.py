"""`portal counters SLUG [--repair]`: the live counters in Redis against the ledger.

The command runs in-process through click's ``CliRunner`` on the suite's database, in a
thread of its own (it runs its own event loop, as the real command does). The campaign
gets a random id, so its counter keys (``portal:votes:<campaign id>:…``, the names
``create_stores`` gives them) cannot meet another run's on a shared Redis; they are
deleted afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from portal.cli import main
from portal.settings import get_settings
from portal.stores import RedisStateStore
from tests.voting.conftest import make_voting_campaign
from voting.ledger import PendingVote, commit
from voting.services import format_cast_at, local_day, receipt_hash
from voting.tables import VoteStatus

SLUG = "counters-2024"


def invoke(*args: str, redis_url: str | None) -> Result:
    """``portal ARGS`` with ``REDIS_URL`` set or unset (settings are read afresh)."""

    def call() -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(main, list(args), env={"REDIS_URL": redis_url})
        finally:
            get_settings.cache_clear()

    return call()


async def cli(*args: str, redis_url: str | None) -> Result:
    return await asyncio.to_thread(invoke, *args, redis_url=redis_url)


async def record_votes(made: dict[str, Any], plan: dict[int, int], held: int) -> None:
    """``plan``: candidate id → counted votes; plus ``held`` held votes for the first."""
    campaign = made["campaign"]
    now = dt.datetime.now(dt.UTC)
    categories = {
        cid: made["categories"][key].id for key, ids in made["candidates"].items() for cid in ids
    }
    votes = []
    for candidate_id, count in plan.items():
        statuses = [VoteStatus.counted] * count
        if candidate_id == next(iter(plan)):
            statuses += [VoteStatus.held] * held
        for status in statuses:
            n = len(votes)
            receipt = f"TEST-{campaign.id:X}-{n:05d}"
            votes.append(
                PendingVote(
                    campaign_id=campaign.id,
                    category_id=categories[candidate_id],
                    candidate_id=candidate_id,
                    cast_at=format_cast_at(now, campaign.timezone),
                    cast_ts=now,
                    day=local_day(now, campaign.timezone)[0],
                    voter_hash=hashlib.sha256(f"voter{n}".encode()).hexdigest(),
                    receipt=receipt,
                    receipt_hash=receipt_hash(receipt),
                    status=status.value,
                    flags="network_burst" if status is VoteStatus.held else "",
                )
            )
    await commit(votes)


@pytest.fixture
async def campaign(bureaus: None) -> dict[str, Any]:
    made = await make_voting_campaign(SLUG, id=random.randrange(10**8, 2 * 10**9))
    units, mediators = made["candidates"]["judicial-office"], made["candidates"]["mediator"]
    await record_votes(made, {units[0]: 5, units[1]: 3, mediators[2]: 7}, held=4)
    return made


@pytest.fixture
async def live(redis_url: str, campaign: dict[str, Any]) -> AsyncIterator[RedisStateStore]:
    """The server's store on Redis (as ``create_stores`` makes it); cleaned up after."""
    store = RedisStateStore.from_url(redis_url)
    yield store
    prefix = f"votes:{campaign['campaign'].id}:"
    keys = [key async for key in store._redis.scan_iter(match=f"portal:{prefix}*")]
    if keys:
        await store._redis.delete(*keys)
    await store.close()


async def test_equal_counters_exit_0(
    redis_url: str, campaign: dict[str, Any], live: RedisStateStore
) -> None:
    cid = campaign["campaign"].id
    # Not built yet: nothing to compare (the server builds them on first display).
    result = await cli("counters", SLUG, redis_url=redis_url)
    assert result.exit_code == 0, result.output
    assert "尚未建立" in result.output
    assert not await live.exists(f"votes:{cid}:ready")

    # --repair builds them from the ledger; then they agree (held votes do not count).
    result = await cli("counters", SLUG, "--repair", redis_url=redis_url)
    assert result.exit_code == 0, result.output
    units, mediators = campaign["candidates"]["judicial-office"], campaign["candidates"]["mediator"]
    assert await live.get(f"votes:{cid}:{units[0]}") == b"5"
    assert await live.get(f"votes:{cid}:{mediators[2]}") == b"7"
    assert await live.get(f"votes:{cid}:{units[4]}") == b"0"
    result = await cli("counters", SLUG, redis_url=redis_url)
    assert result.exit_code == 0, result.output
    assert "一致" in result.output and "不一致" not in result.output


async def test_a_tampered_counter_exits_1_naming_the_candidate_and_repair_fixes_it(
    redis_url: str, campaign: dict[str, Any], live: RedisStateStore
) -> None:
    cid = campaign["campaign"].id
    assert (await cli("counters", SLUG, "--repair", redis_url=redis_url)).exit_code == 0
    mediator = campaign["candidates"]["mediator"][2]
    unit = campaign["candidates"]["judicial-office"][3]
    await live.set(f"votes:{cid}:{mediator}", "9")  # drifted up
    await live.set(f"votes:{cid}:{unit}", "2")  # a vote the ledger does not have

    result = await cli("counters", SLUG, redis_url=redis_url)
    assert result.exit_code == 1, result.output
    output = result.output
    assert "不一致" in output and "--repair" in output
    assert str(mediator) in output and "mediator候选3" in output
    assert str(unit) in output and "judicial-office候选4" in output
    row = next(line for line in output.splitlines() if "mediator候选3" in line)
    assert [cell.strip() for cell in row.split("│")[1:5]] == [
        str(mediator),
        "mediator候选3",
        "9",
        "7",
    ]

    result = await cli("counters", SLUG, "--repair", redis_url=redis_url)
    assert result.exit_code == 0, result.output
    assert "已按投票账本修正 2 个候选对象" in result.output
    assert await live.get(f"votes:{cid}:{mediator}") == b"7"
    assert await live.get(f"votes:{cid}:{unit}") == b"0"
    result = await cli("counters", SLUG, redis_url=redis_url)
    assert result.exit_code == 0, result.output


async def test_without_redis_nothing_is_compared(campaign: dict[str, Any]) -> None:
    for args in (("counters", SLUG), ("counters", SLUG, "--repair")):
        result = await cli(*args, redis_url=None)
        assert result.exit_code == 0, result.output
        assert "REDIS_URL" in result.output and "服务进程" in result.output
        assert "未作比较" in result.output


async def test_an_unknown_campaign_is_an_error(campaign: dict[str, Any]) -> None:
    result = await cli("counters", "no-such-campaign", redis_url=None)
    assert result.exit_code == 1
    assert "no-such-campaign" in result.output


def test_help_is_in_english() -> None:
    result = CliRunner().invoke(main, ["counters", "--help"])
    assert result.exit_code == 0
    assert "Compare a campaign's live vote counters" in result.output
    assert "--repair" in result.output
    listing = CliRunner().invoke(main, ["--help"]).output
    assert "\n  counters " in listing
