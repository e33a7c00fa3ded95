"""Brushing review: the city admin releases or excludes held votes, and the figures
the brushing dashboard shows.

A decision changes only a vote's ``status`` and who decided it, when and why (the hash
chain does not cover them). ``release`` makes a held vote count; ``exclude`` takes a
held or counted vote out of the count for good. Each decision is one write
transaction: the status changes (each ``UPDATE`` re-checks the status it changes from,
so two admins deciding at once never move one vote twice) and one audit entry with the
counts. The live display counters follow after the commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count

from nominations.tables import Nomination, Status
from portal import audit
from portal.audit import Actor
from portal.db import write_transaction
from portal.errors import NotFound, Refused
from portal.tables import Campaign, Category, Phase
from voting.brushing import RULE_LABELS, flag_labels
from voting.rings import Evidence
from voting.services import VotingService
from voting.tables import Vote, VoteStatus

MAX_REASON = 500
# Once the result is in public notice, the votes behind it no longer change.
DECISION_CLOSED = frozenset({Phase.notice.value, Phase.published.value})
RELEASE, EXCLUDE = "release", "exclude"
ACTION_VERBS = {RELEASE: "放行", EXCLUDE: "剔除"}
# Votes listed on one page of a candidate's review (the bulk actions reach them all).
VOTES_PER_PAGE = 50
TOP_NETWORKS = 10


class ModerationError(Refused):
    """A decision that cannot be made as asked; nothing was changed."""


@dataclass(frozen=True)
class Selection:
    """Which votes of one candidate a decision is about.

    With ``vote_ids``: those votes (a release takes the held ones among them, an
    exclusion the held and counted ones). Without: every held vote of the candidate,
    optionally only those a rule flagged, only those from one network, or a ring: those
    from one block (IPv4 /24, IPv6 /56) or with one User-Agent hash (``voting.rings``).
    """

    candidate_id: int
    vote_ids: tuple[int, ...] = ()
    rule: str = ""
    network: str = ""
    block: str = ""
    agent: str = ""


@dataclass(frozen=True)
class Decision:
    action: str
    # status before → number of votes moved from it
    moved: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.moved.values())

    @property
    def count_delta(self) -> int:
        """How the candidate's counted votes changed."""
        if self.action == RELEASE:
            return self.moved.get(VoteStatus.held.value, 0)
        return -self.moved.get(VoteStatus.counted.value, 0)


def clean_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ModerationError("请填写处理理由，理由将记入操作日志。")
    if len(text) > MAX_REASON:
        raise ModerationError(f"处理理由不能超过 {MAX_REASON} 字。")
    return text


async def candidate_of(campaign: Campaign, candidate_id: int) -> dict | None:
    """The candidate (a nomination of this campaign) with its category, or ``None``."""
    return (
        await Nomination.select(
            Nomination.id,
            Nomination.name,
            Nomination.status,
            Nomination.category,
            Nomination.category.title.as_alias("category_title"),
            Nomination.bureau.short_name.as_alias("county"),
        )
        .where((Nomination.id == candidate_id) & (Nomination.campaign == campaign.id))
        .first()
        .run()
    )


async def release(
    voting: VotingService, actor: Actor, campaign: Campaign, selection: Selection, reason: str
) -> Decision:
    """Held → counted."""
    return await _decide(voting, actor, campaign, selection, reason, RELEASE)


async def exclude(
    voting: VotingService, actor: Actor, campaign: Campaign, selection: Selection, reason: str
) -> Decision:
    """Held (or, for chosen votes, counted) → excluded, for good."""
    return await _decide(voting, actor, campaign, selection, reason, EXCLUDE)


async def _decide(
    voting: VotingService,
    actor: Actor,
    campaign: Campaign,
    selection: Selection,
    reason: str,
    action: str,
) -> Decision:
    text = clean_reason(reason)
    if campaign.phase in DECISION_CLOSED:
        raise ModerationError("结果已进入公示，投票状态不能再更改。")
    if selection.rule and selection.rule not in RULE_LABELS:
        raise ModerationError("未知的核查规则。")
    candidate = await candidate_of(campaign, selection.candidate_id)
    if candidate is None:
        raise NotFound("找不到该候选对象。")

    where = (Vote.campaign == campaign.id) & (Vote.candidate == selection.candidate_id)
    if selection.vote_ids:
        where &= Vote.id.is_in(list(selection.vote_ids))
    if selection.rule:
        # Rule names are distinct words, none inside another (tested): LIKE is exact.
        where &= Vote.flags.like(f"%{selection.rule}%")
    if selection.network:
        where &= Vote.network == selection.network
    if selection.agent:
        where &= Vote.agent_hash == selection.agent
    if selection.block:
        # A block is no column: its votes are picked by their networks.
        evidence = Evidence(block=selection.block)
        rows = await Vote.select(Vote.id, Vote.network).where(where).run()
        where &= Vote.id.is_in([r["id"] for r in rows if evidence.links(r["network"], "")] or [0])
    if action == RELEASE:
        sources, target = [VoteStatus.held], VoteStatus.counted
    elif selection.vote_ids:
        sources, target = [VoteStatus.held, VoteStatus.counted], VoteStatus.excluded
    else:
        sources, target = [VoteStatus.held], VoteStatus.excluded

    now = dt.datetime.now(dt.UTC)
    moved: dict[str, int] = {}
    async with write_transaction():
        for source in sources:
            rows = (
                await Vote.update(
                    {
                        Vote.status: target.value,
                        Vote.decided_by: actor.staff_id,
                        Vote.decided_at: now,
                        Vote.decision_reason: text,
                    }
                )
                .where(where & (Vote.status == source.value))
                .returning(Vote.id)
                .run()
            )
            if rows:
                moved[source.value] = len(rows)
        decision = Decision(action, moved)
        if decision.total == 0:
            raise ModerationError(
                "没有可放行的待核查投票。"
                if action == RELEASE
                else "没有可剔除的投票（可能已被处理）。"
            )
        scope: dict[str, object] = {"status": target.value, "votes": decision.total}
        if selection.vote_ids:
            scope["vote_ids"] = sorted(selection.vote_ids)[:50]
        if selection.rule:
            scope["rule"] = selection.rule
        if selection.network:
            scope["network"] = selection.network
        if selection.block:
            scope["block"] = selection.block
        if selection.agent:
            scope["agent"] = selection.agent
        scope["reason"] = text
        await audit.record(
            actor,
            f"vote.{action}",
            ("nomination", selection.candidate_id),
            before={"status": moved},
            after=scope,
            label=candidate["name"],
        )
    if decision.count_delta:
        await voting.adjust_count(campaign.id, selection.candidate_id, decision.count_delta)
    return decision


# --- what the dashboard shows -----------------------------------------------------------


@dataclass
class Tally:
    counted: int = 0
    held: int = 0
    excluded: int = 0
    flagged: int = 0

    @property
    def total(self) -> int:
        return self.counted + self.held + self.excluded

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.total if self.total else 0.0

    def add(self, status: str, n: int) -> None:
        setattr(self, status, getattr(self, status) + n)


async def campaign_tallies(campaign_id: int) -> dict[int, Tally]:
    """Per candidate: votes by status, and how many any rule flagged."""
    tallies: dict[int, Tally] = {}
    rows = (
        await Vote.select(Vote.candidate, Vote.status, Count(alias="n"))
        .where(Vote.campaign == campaign_id)
        .group_by(Vote.candidate, Vote.status)
        .run()
    )
    for row in rows:
        tallies.setdefault(row["candidate"], Tally()).add(row["status"], row["n"])
    flagged = (
        await Vote.select(Vote.candidate, Count(alias="n"))
        .where((Vote.campaign == campaign_id) & (Vote.flags != ""))
        .group_by(Vote.candidate)
        .run()
    )
    for row in flagged:
        tallies.setdefault(row["candidate"], Tally()).flagged = row["n"]
    return tallies


async def rule_counts(campaign_id: int, candidate_id: int | None = None, held_only=False) -> dict:
    """How many votes each rule flagged (a vote may trip several), in rule order."""
    where = (Vote.campaign == campaign_id) & (Vote.flags != "")
    if candidate_id is not None:
        where &= Vote.candidate == candidate_id
    if held_only:
        where &= Vote.status == VoteStatus.held.value
    rows = await Vote.select(Vote.flags, Count(alias="n")).where(where).group_by(Vote.flags).run()
    counts = dict.fromkeys(RULE_LABELS, 0)
    for row in rows:
        for name in row["flags"].split(","):
            if name:
                counts[name] = counts.get(name, 0) + row["n"]
    return {name: n for name, n in counts.items() if n}


async def campaign_candidates(campaign: Campaign) -> list[tuple[Category, list[dict]]]:
    """Each category with its candidates: the shortlisted ones, and any other with votes."""
    categories = (
        await Category.objects()
        .where(Category.campaign == campaign.id)
        .order_by(Category.position)
        .order_by(Category.id)
        .run()
    )
    voted = [
        r["candidate"]
        for r in await Vote.select(Vote.candidate)
        .where(Vote.campaign == campaign.id)
        .distinct()
        .run()
    ]
    condition = Nomination.status == Status.shortlisted.value
    if voted:
        condition |= Nomination.id.is_in(voted)
    rows = (
        await Nomination.select(
            Nomination.id,
            Nomination.name,
            Nomination.category,
            Nomination.bureau.short_name.as_alias("county"),
        )
        .where((Nomination.campaign == campaign.id) & condition)
        .order_by(Nomination.id)
        .run()
    )
    by_category: dict[int, list[dict]] = {}
    for row in rows:
        by_category.setdefault(row["category"], []).append(row)
    return [(c, by_category.get(c.id, [])) for c in categories]


async def vote_span(candidate_id: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The first and last vote times of a candidate."""
    first = (
        await Vote.select(Vote.cast_ts)
        .where(Vote.candidate == candidate_id)
        .order_by(Vote.cast_ts)
        .first()
        .run()
    )
    if first is None:
        return None
    last = (
        await Vote.select(Vote.cast_ts)
        .where(Vote.candidate == candidate_id)
        .order_by(Vote.cast_ts, ascending=False)
        .first()
        .run()
    )
    return first["cast_ts"], last["cast_ts"]


async def hourly(
    candidate_id: int, start: dt.datetime, end: dt.datetime, timezone: str
) -> dict[dt.datetime, Tally]:
    """Votes per local hour (keyed by the hour's start, in the campaign's zone), by status."""
    rows = (
        await Vote.select(Vote.cast_ts, Vote.status)
        .where((Vote.candidate == candidate_id) & (Vote.cast_ts >= start) & (Vote.cast_ts < end))
        .run()
    )
    zone = ZoneInfo(timezone)
    hours: dict[dt.datetime, Tally] = {}
    for row in rows:
        at = row["cast_ts"]
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        hour = at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        hours.setdefault(hour, Tally()).add(row["status"], 1)
    return hours


async def daily(candidate_id: int) -> list[tuple[str, Tally]]:
    """Votes per campaign-local day, by status, oldest first."""
    rows = (
        await Vote.select(Vote.day, Vote.status, Count(alias="n"))
        .where(Vote.candidate == candidate_id)
        .group_by(Vote.day, Vote.status)
        .run()
    )
    days: dict[str, Tally] = {}
    for row in rows:
        days.setdefault(row["day"], Tally()).add(row["status"], row["n"])
    return sorted(days.items())


async def top_networks(candidate_id: int, limit: int = TOP_NETWORKS) -> list[dict]:
    """The networks that cast the most votes for a candidate, with their held and
    excluded votes."""
    rows = await Vote.raw(
        "SELECT network, COUNT(*) AS votes,"
        " SUM(CASE WHEN status = 'held' THEN 1 ELSE 0 END) AS held,"
        " SUM(CASE WHEN status = 'excluded' THEN 1 ELSE 0 END) AS excluded"
        " FROM vote WHERE candidate = {} GROUP BY network"
        " ORDER BY votes DESC, network LIMIT {}",
        candidate_id,
        limit,
    ).run()
    return [
        {
            "network": r["network"],
            "votes": int(r["votes"]),
            "held": int(r["held"] or 0),
            "excluded": int(r["excluded"] or 0),
        }
        for r in rows
    ]


async def held_networks(candidate_id: int, limit: int = 50) -> list[tuple[str, int]]:
    """Networks with held votes for a candidate, most first (for the bulk form)."""
    rows = (
        await Vote.select(Vote.network, Count(alias="n"))
        .where((Vote.candidate == candidate_id) & (Vote.status == VoteStatus.held.value))
        .group_by(Vote.network)
        .run()
    )
    ranked = sorted(((r["network"], r["n"]) for r in rows), key=lambda x: (-x[1], x[0]))
    return ranked[:limit]


def _listed(candidate_id: int, network: str, statuses: Sequence[str]):  # type: ignore[no-untyped-def]
    where = (Vote.candidate == candidate_id) & Vote.status.is_in(list(statuses))
    if network:
        where &= Vote.network == network
    return where


async def listed_count(
    candidate_id: int, *, network: str = "", statuses: Sequence[str] = (VoteStatus.held.value,)
) -> int:
    """How many votes ``listed_votes`` lists over all its pages."""
    return await Vote.count().where(_listed(candidate_id, network, statuses)).run()


async def listed_votes(
    candidate_id: int,
    *,
    network: str = "",
    statuses: Sequence[str] = (VoteStatus.held.value,),
    page: int = 1,
) -> list[dict]:
    """Votes of a candidate for review, oldest first: page ``page`` (from 1) of
    ``VOTES_PER_PAGE``."""
    where = _listed(candidate_id, network, statuses)
    rows = (
        await Vote.select(
            Vote.id,
            Vote.seq,
            Vote.cast_at,
            Vote.network,
            Vote.agent_hash,
            Vote.flags,
            Vote.status,
            Vote.decided_at,
            Vote.decision_reason,
            Vote.decided_by.username.as_alias("decided_by"),
        )
        .where(where)
        .order_by(Vote.cast_ts)
        .order_by(Vote.id)
        .limit(VOTES_PER_PAGE)
        .offset((max(1, page) - 1) * VOTES_PER_PAGE)
        .run()
    )
    for row in rows:
        row["rules"] = flag_labels(row["flags"])
    return rows
