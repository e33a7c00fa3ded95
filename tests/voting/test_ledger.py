"""The vote ledger: gap-free sequence and hash chain per campaign, group commit.

The chain is recomputed here from the contract's definition (the previous row's
``chain_hash``, ``|``, then ``seq,cast_at,candidate_id,voter_hash,receipt_hash``),
independently of ``voting.ledger``, and compared with ``chain_link`` too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from typing import Any

import pytest

import voting.ledger
from portal.db import is_unique_violation
from tests.voting.conftest import (
    SLUG,
    issue_captchas,
    ledger_rows,
    make_voting_campaign,
    open_connections,
    vote,
    voting_service,
)
from voting.ledger import GENESIS, LedgerWriter, PendingVote, chain_link, first_break
from voting.services import format_cast_at, receipt_hash

pytestmark = pytest.mark.usefixtures("bureaus")


def assert_chained(rows: list[dict[str, Any]]) -> None:
    """seq 1..n without gaps; each chain_hash recomputed; receipt_hash = sha256(receipt)."""
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
    previous = "0" * 64
    assert previous == GENESIS
    for row in rows:
        text = (
            f"{previous}|{row['seq']},{row['cast_at']},{row['candidate']},"
            f"{row['voter_hash']},{row['receipt_hash']}"
        )
        expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert row["chain_hash"] == expected, row["seq"]
        assert expected == chain_link(
            previous,
            row["seq"],
            row["cast_at"],
            row["candidate"],
            row["voter_hash"],
            row["receipt_hash"],
        )
        assert row["receipt_hash"] == hashlib.sha256(row["receipt"].encode()).hexdigest()
        previous = row["chain_hash"]
    assert first_break(rows) is None


def chain_of(count: int) -> list[dict[str, Any]]:
    """``count`` rows chained as the ledger writes them."""
    rows, previous = [], GENESIS
    for seq in range(1, count + 1):
        row = {
            "seq": seq,
            "cast_at": f"2024-06-1{seq % 10}T09:00:00.000+08:00",
            "candidate_id": 100 + seq % 3,
            "voter_hash": f"{seq:064x}",
            "receipt_hash": hashlib.sha256(str(seq).encode()).hexdigest(),
        }
        row["chain_hash"] = previous = chain_link(
            previous,
            seq,
            row["cast_at"],
            row["candidate_id"],
            row["voter_hash"],
            row["receipt_hash"],
        )
        rows.append(row)
    return rows


def test_first_break_names_the_first_bad_row() -> None:
    """An altered, a deleted or two swapped rows break the chain at the first bad row."""
    assert first_break(chain_of(6)) is None
    altered = chain_of(6)
    altered[3]["candidate_id"] = 999
    assert first_break(altered) == 3
    deleted = chain_of(6)
    del deleted[2]
    assert first_break(deleted) == 2
    swapped = chain_of(6)
    swapped[1], swapped[4] = swapped[4], swapped[1]
    assert first_break(swapped) == 1
    assert first_break([]) is None


def voter(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers of a voter of its own (a signed cookie of its own)."""
    return {"Cookie": f"portal_voter={voting_service(client).new_voter_cookie()}"}


# --- through the API, on both stores ----------------------------------------------------


async def test_each_campaign_has_its_own_gap_free_chain(api) -> None:
    """Votes in two campaigns, interleaved: each ledger is seq 1..n with a valid chain."""
    one = await make_voting_campaign()
    two = await make_voting_campaign("second-2024")
    voters = [voter(api) for _ in range(3)]
    receipts: dict[str, list[str]] = {SLUG: [], "second-2024": []}
    for headers in voters:
        for slug, campaign in ((SLUG, one), ("second-2024", two)):
            for candidate in campaign["candidates"]["mediator"][:2]:
                response = await vote(api, candidate, slug=slug, headers=headers)
                assert response.status_code == 201, response.text
                receipts[slug].append(response.json()["receipt"])
    for slug, campaign in ((SLUG, one), ("second-2024", two)):
        rows = await ledger_rows(campaign["campaign"].id)
        assert [row["receipt"] for row in rows] == receipts[slug]  # in recording order
        assert_chained(rows)
        assert len({row["voter_hash"] for row in rows}) == 3


async def test_concurrent_votes_are_group_committed_into_one_chain(api) -> None:
    """30 concurrent voters: fewer commits than votes, and still one gap-free chain."""
    campaign = await make_voting_campaign(network_votes_per_day=1000, network_votes_per_minute=1000)
    candidates = campaign["candidates"]["judicial-office"] + campaign["candidates"]["mediator"]
    captchas = await issue_captchas(api, 30)
    service = voting_service(api)
    await service.rules(SLUG)
    await open_connections(api)
    batches = service.ledger.batches
    responses = await asyncio.gather(
        *(
            vote(api, candidates[i % len(candidates)], headers=voter(api), captcha=captcha)
            for i, captcha in enumerate(captchas)
        )
    )
    assert [r.status_code for r in responses] == [201] * 30
    commits = service.ledger.batches - batches
    assert 1 <= commits < 30
    rows = await ledger_rows(campaign["campaign"].id)
    assert sorted(row["receipt"] for row in rows) == sorted(r.json()["receipt"] for r in responses)
    assert_chained(rows)


# --- the writer itself ------------------------------------------------------------------


def pending(
    campaign: dict[str, Any], candidate: int, voter_hash: str, *, day: str = "2024-06-30"
) -> PendingVote:
    now = dt.datetime.now(dt.UTC)
    receipt = secrets.token_hex(10).upper()
    return PendingVote(
        campaign_id=campaign["campaign"].id,
        category_id=campaign["categories"]["mediator"].id,
        candidate_id=candidate,
        cast_at=format_cast_at(now, "Asia/Shanghai"),
        cast_ts=now,
        day=day,
        voter_hash=voter_hash,
        receipt=receipt,
        receipt_hash=receipt_hash(receipt),
        status="counted",
    )


@pytest.fixture
async def writer(db: None) -> LedgerWriter:  # type: ignore[misc]
    ledger = LedgerWriter()
    ledger.start()
    yield ledger
    await ledger.stop()


async def test_queued_votes_are_committed_in_one_transaction(voting_campaign, writer) -> None:
    """Ten votes handed to the writer at once are one commit, chained in queue order."""
    candidates = voting_campaign["candidates"]["mediator"]
    votes = [pending(voting_campaign, candidates[i % 8], f"{i:064x}") for i in range(10)]
    recorded = await asyncio.gather(*(writer.record(v) for v in votes))
    assert writer.batches == 1
    assert [v.seq for v in recorded] == list(range(1, 11))
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert [row["receipt"] for row in rows] == [v.receipt for v in votes]
    assert [row["chain_hash"] for row in rows] == [v.chain_hash for v in recorded]
    assert_chained(rows)


async def test_a_unique_violation_in_a_batch_fails_only_the_offending_vote(
    voting_campaign, writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A duplicate (voter, candidate, day) in a batch fails alone; the others are chained."""
    candidates = voting_campaign["candidates"]["mediator"]
    await writer.record(pending(voting_campaign, candidates[0], "a" * 64))
    attempts: list[int] = []
    commit = voting.ledger.commit

    async def counted_commit(votes: list[PendingVote], at: dt.datetime | None = None) -> set[int]:
        attempts.append(len(votes))
        return await commit(votes, at)

    monkeypatch.setattr(voting.ledger, "commit", counted_commit)
    batch = [pending(voting_campaign, candidates[i], f"{i:064x}") for i in range(1, 6)]
    duplicate = pending(voting_campaign, candidates[0], "a" * 64)
    batch.insert(2, duplicate)
    results = await asyncio.gather(*(writer.record(v) for v in batch), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1
    assert is_unique_violation(failed[0])
    assert results[2] is failed[0]
    assert attempts == [6, 1, 1, 1, 1, 1, 1]  # the batch, then each vote of it alone
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert len(rows) == 6
    assert duplicate.receipt not in {row["receipt"] for row in rows}
    assert [row["receipt"] for row in rows[1:]] == [v.receipt for v in batch if v is not duplicate]
    assert_chained(rows)
    # The same voter may vote for the same candidate on another day.
    await writer.record(pending(voting_campaign, candidates[0], "a" * 64, day="2024-07-01"))
    assert_chained(await ledger_rows(voting_campaign["campaign"].id))
