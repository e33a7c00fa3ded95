"""Rings: votes linked by the evidence the ledger keeps (network, block, User-Agent hash).

A ring rule (``voting.brushing.RING_RULES``) trips once a pattern has grown past its
threshold, so the ring's first votes were counted before the rule could see it. When a
vote trips one, ``hold_ring`` holds the candidate's earlier counted votes that carry the
same evidence within the rule's window: they wait for a staff decision like every held
vote (never excluded automatically; a vote staff released is left alone). Each such hold
is one write transaction with an audit entry.

The dashboard groups a candidate's held votes by the same evidence (``ring_groups``),
and a staff decision may select a whole group (``Selection.block`` / ``Selection.agent``
in ``voting.moderation``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from nominations.tables import Nomination
from portal import audit
from portal.audit import Actor
from portal.db import write_transaction
from voting.brushing import block_of
from voting.tables import Vote, VoteStatus

# Who holds a ring's earlier votes, in the audit log.
RULES_ACTOR = Actor.command_line("刷票核查规则")


@dataclass(frozen=True)
class Evidence:
    """What links a ring's votes: a network and browser, a block, or a browser alone."""

    network: str = ""
    agent: str = ""
    block: str = ""

    def links(self, network: str, agent: str) -> bool:
        """Does a vote from ``network`` with User-Agent hash ``agent`` carry it?"""
        if self.block and block_of(network) != self.block:
            return False
        if self.network and network != self.network:
            return False
        return not (self.agent and agent != self.agent)

    def describe(self) -> str:
        parts = []
        if self.block:
            parts.append(f"网段 {self.block}")
        if self.network:
            parts.append(f"网络 {self.network}")
        if self.agent:
            parts.append(f"浏览器标识 {self.agent}")
        return "，".join(parts)


def evidence_of(rule: str, network: str, agent: str) -> Evidence:
    """The evidence a ring rule links votes by."""
    if rule == "cookie_churn":
        return Evidence(network=network, agent=agent)
    if rule == "block_focus":
        return Evidence(block=block_of(network))
    return Evidence(agent=agent)


async def hold_ring(
    campaign_id: int,
    candidate_id: int,
    rule: str,
    evidence: Evidence,
    since: dt.datetime,
) -> int:
    """Hold the candidate's counted votes cast since ``since`` that carry ``evidence``
    and that no rule or person has judged yet; flag them with ``rule``. Return how many
    were held (the caller moves the live counter)."""
    rows = (
        await Vote.select(Vote.id, Vote.network, Vote.agent_hash)
        .where(
            (Vote.campaign == campaign_id)
            & (Vote.candidate == candidate_id)
            & (Vote.status == VoteStatus.counted.value)
            & (Vote.flags == "")
            & Vote.decided_at.is_null()
            & (Vote.cast_ts >= since)
        )
        .run()
    )
    ids = [r["id"] for r in rows if evidence.links(r["network"], r["agent_hash"])]
    if not ids:
        return 0
    async with write_transaction():
        held = (
            await Vote.update({Vote.status: VoteStatus.held.value, Vote.flags: rule})
            .where(
                Vote.id.is_in(ids)
                & (Vote.status == VoteStatus.counted.value)
                & (Vote.flags == "")
                & Vote.decided_at.is_null()
            )
            .returning(Vote.id)
            .run()
        )
        if held:
            name = await Nomination.select(Nomination.name).where(Nomination.id == candidate_id)
            await audit.record(
                RULES_ACTOR,
                "vote.hold",
                ("nomination", candidate_id),
                before={"status": {VoteStatus.counted.value: len(held)}},
                after={
                    "status": VoteStatus.held.value,
                    "votes": len(held),
                    "rule": rule,
                    "evidence": evidence.describe(),
                    "vote_ids": sorted(r["id"] for r in held)[:50],
                },
                label=name[0]["name"] if name else "",
            )
    return len(held)


@dataclass(frozen=True)
class RingGroup:
    """Held votes of one candidate sharing one piece of evidence."""

    evidence: Evidence
    votes: int
    rules: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "block" if self.evidence.block else "agent"

    @property
    def value(self) -> str:
        return self.evidence.block or self.evidence.agent


async def ring_groups(candidate_id: int, *, minimum: int = 2, limit: int = 20) -> list[RingGroup]:
    """The candidate's held votes grouped by block and by User-Agent hash (groups of at
    least ``minimum`` votes, largest first): each a ring staff may decide at once."""
    rows = (
        await Vote.select(Vote.network, Vote.agent_hash, Vote.flags)
        .where((Vote.candidate == candidate_id) & (Vote.status == VoteStatus.held.value))
        .run()
    )
    counts: Counter[Evidence] = Counter()
    rules: dict[Evidence, set[str]] = {}
    for row in rows:
        block, agent = Evidence(block=block_of(row["network"])), Evidence(agent=row["agent_hash"])
        for evidence in (block, agent):
            counts[evidence] += 1
            rules.setdefault(evidence, set()).update(n for n in row["flags"].split(",") if n)
    ranked = sorted(
        (e for e, n in counts.items() if n >= minimum),
        key=lambda e: (-counts[e], e.block == "", e.block or e.agent),
    )
    return [RingGroup(e, counts[e], tuple(sorted(rules[e]))) for e in ranked[:limit]]
