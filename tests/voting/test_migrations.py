"""Voting's hand-written migrations, run on a database that already holds votes."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest

from portal.db import is_unique_violation
from voting.tables import Vote

pytestmark = pytest.mark.usefixtures("bureaus")

IDEMPOTENCY_BY_NETWORK = importlib.import_module(
    "voting.piccolo_migrations.voting_2026_12_03t07_55_00_000000"
)


def ledger_row(campaign: dict[str, Any], seq: int, voter: str, network: str, key: str | None):
    return Vote(
        campaign=campaign["campaign"].id,
        seq=seq,
        category=campaign["categories"]["mediator"].id,
        candidate=campaign["candidates"]["mediator"][0],
        cast_at="2024-05-01T10:00:00.000+08:00",
        cast_ts=dt.datetime(2024, 5, 1, 2, tzinfo=dt.UTC),
        day="2024-05-01",
        voter_hash=voter * 64,
        receipt=f"RECEIPT-{seq}",
        receipt_hash=str(seq) * 64,
        chain_hash=str(seq) * 64,
        network=network,
        idempotency_key=key,
    )


async def test_retries_counted_twice_lose_their_key_and_the_key_becomes_unique_per_network(
    voting_campaign,
) -> None:
    """Rows written under the old (voter, key) rule: of the rows sharing a key from one
    network, the first keeps it and the later ones (the double counts) keep their vote
    but not the key; afterwards the database refuses a second row with that key."""
    manager = await IDEMPOTENCY_BY_NETWORK.forwards()
    await manager.run(backwards=True)  # the old index, which let the double count in
    try:
        await Vote.insert(
            ledger_row(voting_campaign, 1, "a", "203.0.113.7", "retry"),
            ledger_row(voting_campaign, 2, "b", "203.0.113.7", "retry"),  # lost its cookie
            ledger_row(voting_campaign, 3, "c", "203.0.113.7", "retry"),  # and again
            ledger_row(voting_campaign, 4, "d", "198.51.100.7", "retry"),  # another network
            ledger_row(voting_campaign, 5, "e", "203.0.113.7", None),
            ledger_row(voting_campaign, 6, "f", "203.0.113.7", None),
        ).run()
    finally:
        await manager.run()
    rows = await Vote.select(Vote.seq, Vote.idempotency_key).order_by(Vote.seq).run()
    assert [(row["seq"], row["idempotency_key"]) for row in rows] == [
        (1, "retry"),
        (2, None),
        (3, None),
        (4, "retry"),
        (5, None),
        (6, None),
    ]
    with pytest.raises(Exception) as refused:
        await Vote.insert(ledger_row(voting_campaign, 7, "g", "203.0.113.7", "retry")).run()
    assert is_unique_violation(refused.value)
