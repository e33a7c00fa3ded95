"""The tally, the proposed list, its public notice and the designation.

``tally`` reads every shortlisted candidate's review score and counted votes, ranks each
category with ``results.ranking`` and stores one ``Standing`` per candidate; the
campaign enters ``tallying``. The city admin may exclude a candidate with a reason (the
next in line moves up), then ``open_notice`` publishes the proposed list for the notice
period (``notice``); after it, with every objection handled, ``designate`` publishes the
honour list (``published``). Every step is one write transaction with its audit entry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nominations import review
from nominations.candidates import shortlisted_in
from nominations.fields import organisation
from nominations.tables import Nomination
from portal import audit
from portal.audit import Actor
from portal.campaigns import categories_of, get_campaign, zone
from portal.clock import utc_now
from portal.db import write_transaction
from portal.errors import NotFound, Refused
from portal.phases import PHASES, enter, voting_has_closed
from portal.tables import Campaign, Category, Phase
from portal.weights import cents
from portal.workdays import CalendarUnknown, workday_deadline
from portal.zones import local_text
from results.ranking import Entry, Method, rank_category
from results.register import register_designees
from results.tables import OBJECTION_HANDLED, Objection, Standing, Tally
from voting.ledger import ledger_head
from voting.services import ledger_counts, status_totals

MAX_REASON = 500
# Phases in which the proposed list exists and is public.
PUBLIC_PHASES = frozenset({Phase.notice.value, Phase.published.value})


class ResultsRefused(Refused):
    """A results step that cannot be taken now; ``reasons`` say why (zh-CN)."""

    def __init__(self, reasons: list[str] | str) -> None:
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__("；".join(self.reasons))


def method_of(campaign: Campaign | Tally) -> Method:
    """The weights a campaign is set to use (or a tally used)."""
    return Method(cents(Decimal(campaign.review_weight)), cents(Decimal(campaign.vote_weight)))


def clean_reason(reason: str | None, what: str = "理由") -> str:
    text = (reason or "").strip()
    if not text:
        raise ResultsRefused(f"请填写{what}，{what}将记入操作日志。")
    if len(text) > MAX_REASON:
        raise ResultsRefused(f"{what}不能超过 {MAX_REASON} 字。")
    return text


# --- the tally -------------------------------------------------------------------------


async def tally_blockers(campaign: Campaign, now: dt.datetime | None = None) -> list[str]:
    """Everything that stops a tally now, as sentences for the city admin (empty: go)."""
    phase = Phase(campaign.phase)
    if phase in PUBLIC_PHASES:
        return [f"活动已处于「{phase.label}」阶段，拟命名名单已公布，不能重新计算。"]
    if not voting_has_closed(campaign, now or utc_now()):
        closes = campaign.voting_closes_at
        return [
            "网络投票尚未结束"
            + (f"，{local_text(closes, campaign.timezone)}截止" if closes else "")
            + "；投票结束后才能综合评定。"
        ]
    blockers = []
    held = (await status_totals(campaign.id))["held"]
    if held:
        blockers.append(
            f"还有 {held} 张投票被防刷票规则暂扣、尚未核查：请在「投票核查」中逐一放行或剔除。"
        )
    results = await review.results(campaign)
    for category in await categories_of(campaign.id):
        for item in results.get(category.id, []):
            if item.missing:
                blockers.append(
                    f"{category.title}「{item.name}」缺少专家评分：{'、'.join(item.missing)}"
                    "（请催交，或在评审管理中免除并注明理由）。"
                )
            elif item.review_score is None:
                blockers.append(
                    f"{category.title}「{item.name}」没有任何专家评分，无法计算综合得分。"
                )
    return blockers


async def tally(actor: Actor, slug: str, now: dt.datetime | None = None) -> Tally:
    """Compute the combined ranking of a campaign whose voting has closed.

    Refuses (``ResultsRefused`` listing every blocker) while votes are held undecided or
    review scores are missing. A second tally before the notice recomputes from the
    current scores and votes and keeps the exclusions already made.
    """
    now = now or utc_now()
    async with write_transaction():
        campaign = await get_campaign(slug)
        if campaign is None:
            raise LookupError(slug)
        blockers = await tally_blockers(campaign, now)
        if blockers:
            raise ResultsRefused(blockers)
        method = method_of(campaign)
        standings = await _compute(campaign, method)
        await Standing.delete().where(Standing.campaign == campaign.id).run()
        if standings:
            await Standing.insert(*standings).run()
        row = await Tally.objects().where(Tally.campaign == campaign.id).first().run()
        row = row or Tally(campaign=campaign.id)
        row.review_weight = method.review_weight
        row.vote_weight = method.vote_weight
        row.tallied_at = now
        row.tallied_by = actor.staff_id
        await row.save().run()
        if campaign.phase != Phase.tallying.value:
            await enter(actor, campaign, Phase.tallying, now)
        await audit.record(
            actor,
            "results.tally",
            campaign,
            after={
                "review_weight": str(method.review_weight),
                "vote_weight": str(method.vote_weight),
                "candidates": len(standings),
                "designated": sum(1 for s in standings if s.designated),
            },
        )
    PHASES.changed(slug)
    return row


async def _compute(campaign: Campaign, method: Method) -> list[Standing]:
    """Fresh standings of every shortlisted candidate, keeping earlier exclusions."""
    scores = await review.results(campaign)
    votes = await ledger_counts(campaign.id)
    shortlisted_at = {
        row["id"]: row["shortlisted_at"]
        for row in await Nomination.select(Nomination.id, Nomination.shortlisted_at)
        .where(shortlisted_in(campaign.id))
        .run()
    }
    kept = {
        row["candidate"]: row
        for row in await Standing.select(
            Standing.candidate,
            Standing.excluded_reason,
            Standing.excluded_at,
            Standing.excluded_by,
        )
        .where((Standing.campaign == campaign.id) & (Standing.excluded_reason != ""))
        .run()
    }
    out: list[Standing] = []
    for category in await categories_of(campaign.id):
        entries = [
            Entry(
                candidate_id=item.nomination_id,
                review_score=Decimal(item.review_score or 0),
                votes=votes.get(item.nomination_id, 0),
                shortlisted_at=shortlisted_at.get(item.nomination_id),
                excluded=item.nomination_id in kept,
            )
            for item in scores.get(category.id, [])
        ]
        for placed in rank_category(entries, category.quota, method):
            exclusion = kept.get(placed.entry.candidate_id, {})
            out.append(
                Standing(
                    campaign=campaign.id,
                    category=category.id,
                    candidate=placed.entry.candidate_id,
                    review_score=placed.entry.review_score,
                    votes=placed.entry.votes,
                    vote_score=placed.vote_score,
                    final_score=placed.final_score,
                    rank=placed.rank,
                    designated=placed.designated,
                    excluded_reason=exclusion.get("excluded_reason", ""),
                    excluded_at=exclusion.get("excluded_at"),
                    excluded_by=exclusion.get("excluded_by"),
                )
            )
    return out


async def tally_of(campaign_id: int) -> Tally | None:
    return await Tally.objects().where(Tally.campaign == campaign_id).first().run()


# --- the ranking as stored ---------------------------------------------------------------


@dataclass
class Row:
    """One candidate's line in a category's ranking."""

    candidate_id: int
    name: str
    organisation: str
    county: str
    photo: bool
    review_score: Decimal
    votes: int
    vote_score: Decimal
    final_score: Decimal
    rank: int | None
    designated: bool
    excluded_reason: str


@dataclass
class CategoryRanking:
    category: Category
    rows: list[Row]

    @property
    def designated(self) -> list[Row]:
        return [row for row in self.rows if row.designated]


async def ranking(campaign: Campaign) -> list[CategoryRanking]:
    """The stored ranking per category (categories in order; ranked rows, then excluded)."""
    rows = (
        await Standing.select(
            Standing.category,
            Standing.candidate.as_alias("candidate_id"),
            Standing.candidate.name.as_alias("name"),
            Standing.candidate.township.as_alias("township"),
            Standing.candidate.committee.as_alias("committee"),
            Standing.candidate.photo.as_alias("photo"),
            Standing.candidate.bureau.short_name.as_alias("county"),
            Standing.category.kind.as_alias("kind"),
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
    by_category: dict[int, list[Row]] = defaultdict(list)
    for r in rows:
        by_category[r["category"]].append(
            Row(
                candidate_id=r["candidate_id"],
                name=r["name"],
                organisation=organisation(r),
                county=r["county"],
                photo=bool(r["photo"]),
                review_score=cents(Decimal(r["review_score"])),
                votes=r["votes"],
                vote_score=cents(Decimal(r["vote_score"])),
                final_score=cents(Decimal(r["final_score"])),
                rank=r["rank"],
                designated=r["designated"],
                excluded_reason=r["excluded_reason"],
            )
        )
    out = []
    for category in await categories_of(campaign.id):
        items = by_category.get(category.id, [])
        items.sort(key=lambda row: (row.rank is None, row.rank or 0, row.candidate_id))
        out.append(CategoryRanking(category, items))
    return out


# --- exclusion ---------------------------------------------------------------------------


async def _standing(campaign: Campaign, candidate_id: int) -> Standing:
    standing = (
        await Standing.objects()
        .where((Standing.campaign == campaign.id) & (Standing.candidate == candidate_id))
        .first()
        .run()
    )
    if standing is None:
        raise NotFound("该候选对象不在综合排名中。")
    return standing


async def rerank(campaign: Campaign, category_id: int) -> None:
    """Recompute ranks and designations of one category from the stored components."""
    tally_row = await tally_of(campaign.id)
    method = method_of(tally_row) if tally_row else method_of(campaign)
    category = await Category.objects().where(Category.id == category_id).first().run()
    standings = (
        await Standing.objects()
        .where((Standing.campaign == campaign.id) & (Standing.category == category_id))
        .run()
    )
    shortlisted_at = {
        row["id"]: row["shortlisted_at"]
        for row in await Nomination.select(Nomination.id, Nomination.shortlisted_at)
        .where(Nomination.id.is_in([s.candidate for s in standings] or [-1]))
        .run()
    }
    entries = [
        Entry(
            candidate_id=s.candidate,
            review_score=Decimal(s.review_score),
            votes=s.votes,
            shortlisted_at=shortlisted_at.get(s.candidate),
            excluded=bool(s.excluded_reason),
        )
        for s in standings
    ]
    placed = {p.entry.candidate_id: p for p in rank_category(entries, category.quota, method)}
    for s in standings:
        p = placed[s.candidate]
        if (s.rank, s.designated) != (p.rank, p.designated):
            await (
                Standing.update({Standing.rank: p.rank, Standing.designated: p.designated})
                .where(Standing.id == s.id)
                .run()
            )


def _may_change_list(campaign: Campaign) -> None:
    if campaign.phase not in {Phase.tallying.value, Phase.notice.value}:
        raise ResultsRefused("只有在综合评定或公示阶段才能调整拟命名名单。")


async def exclude(
    actor: Actor, campaign: Campaign, candidate_id: int, reason: str, *, action: str = ""
) -> Standing:
    """Take a candidate out of the ranking with a reason (audited); the next moves up.

    Used by the city admin during the tally and by an upheld objection in the notice.
    """
    reason = clean_reason(reason, "取消资格的理由")
    async with write_transaction():
        campaign = await Campaign.objects().where(Campaign.id == campaign.id).first().run()
        _may_change_list(campaign)
        standing = await _standing(campaign, candidate_id)
        if standing.excluded_reason:
            raise ResultsRefused("该候选对象已被取消资格。")
        before = {"rank": standing.rank, "designated": standing.designated}
        standing.excluded_reason = reason
        standing.excluded_at = utc_now()
        standing.excluded_by = actor.staff_id
        await standing.save(
            [Standing.excluded_reason, Standing.excluded_at, Standing.excluded_by]
        ).run()
        await rerank(campaign, standing.category)
        await audit.record(
            actor,
            action or "results.exclude",
            ("nomination", candidate_id),
            before=before,
            after={"reason": reason},
            label=await _name(candidate_id),
        )
    return standing


async def reinstate(actor: Actor, campaign: Campaign, candidate_id: int, reason: str) -> Standing:
    """Undo an exclusion made during the tally (before the notice), with a reason."""
    reason = clean_reason(reason, "恢复的理由")
    async with write_transaction():
        campaign = await Campaign.objects().where(Campaign.id == campaign.id).first().run()
        if campaign.phase != Phase.tallying.value:
            raise ResultsRefused("公示开始后不能恢复已取消资格的候选对象。")
        standing = await _standing(campaign, candidate_id)
        if not standing.excluded_reason:
            raise ResultsRefused("该候选对象没有被取消资格。")
        before = {"reason": standing.excluded_reason}
        standing.excluded_reason = ""
        standing.excluded_at = None
        standing.excluded_by = None
        await standing.save(
            [Standing.excluded_reason, Standing.excluded_at, Standing.excluded_by]
        ).run()
        await rerank(campaign, standing.category)
        await audit.record(
            actor,
            "results.reinstate",
            ("nomination", candidate_id),
            before=before,
            after={"reason": reason},
            label=await _name(candidate_id),
        )
    return standing


async def _name(candidate_id: int) -> str:
    row = await Nomination.select(Nomination.name).where(Nomination.id == candidate_id).first()
    return row["name"] if row else ""


# --- notice and designation --------------------------------------------------------------


async def notice_blockers(campaign: Campaign) -> list[str]:
    """What stops publishing the proposed list for public notice."""
    if campaign.phase != Phase.tallying.value:
        return ["只有在综合评定阶段才能发布公示。"]
    row = await tally_of(campaign.id)
    if row is None:
        return ["尚未计算综合排名：请先进行综合评定。"]
    blockers = []
    held = (await status_totals(campaign.id))["held"]
    if held:
        blockers.append(f"还有 {held} 张投票待核查，请处理后重新计算。")
    stored = {
        r["candidate"]: r["votes"]
        for r in await Standing.select(Standing.candidate, Standing.votes)
        .where(Standing.campaign == campaign.id)
        .run()
    }
    if stored != await ledger_counts(campaign.id):
        blockers.append("计算后投票核查结果或入围名单有变化：请重新计算综合排名。")
    return blockers


# A manual end (for a year the holiday calendar does not know) may lie at most this far
# after the start: 30 working days with the longest holidays fit well within it.
MAX_MANUAL_NOTICE = dt.timedelta(days=60)
CALENDAR_HINT = "公示期，请手工填写公示截止时间。"


def notice_end(
    starts_at: dt.datetime, days: int, tz: str, manual_end: dt.datetime | None = None
) -> dt.datetime:
    """When a notice of ``days`` working days opened at ``starts_at`` ends.

    Counted by ``portal.workdays``: 18:00 local time on the ``days``-th working day after
    the day of publication. Where the holiday calendar lacks a year the period touches,
    the city admin gives ``manual_end`` (checked: at least ``days`` days after the start,
    at most ``MAX_MANUAL_NOTICE``); without it the notice is refused, never guessed. A
    manual end where the calendar can count is refused too, so the stated number of
    working days always matches the dates.
    """
    try:
        computed = workday_deadline(starts_at, days, tz)
    except CalendarUnknown as exc:
        if manual_end is None:
            raise ResultsRefused(exc.message + CALENDAR_HINT) from None
    else:
        if manual_end is not None:
            raise ResultsRefused(
                f"该期间的法定节假日安排已收录，公示截止时间按 {days} 个工作日自动计算为"
                f"{local_text(computed, tz)}，无需手工填写。"
            )
        return computed
    if manual_end.tzinfo is None:
        raise ValueError("manual_end must be aware")
    earliest = starts_at.astimezone(zone(tz)).date() + dt.timedelta(days=days)
    if manual_end.astimezone(zone(tz)).date() < earliest:
        raise ResultsRefused(
            f"公示截止时间须晚于发布时间，且 {days} 个工作日至少需要 {days} 天："
            f"请填写 {earliest:%Y年%m月%d日} 或以后的时间。"
        )
    if manual_end - starts_at > MAX_MANUAL_NOTICE:
        raise ResultsRefused(
            f"公示截止时间不能晚于发布后 {MAX_MANUAL_NOTICE.days} 天，请核对所填日期。"
        )
    return manual_end


@dataclass(frozen=True)
class NoticeProjection:
    """When a notice opened now would end: ``ends_at``, or None with the calendar's
    ``message`` where a manual end is needed."""

    ends_at: dt.datetime | None
    message: str = ""


def notice_projection(now: dt.datetime, days: int, campaign: Campaign) -> NoticeProjection:
    """The end the notice form announces (or asks for) before the city admin publishes."""
    try:
        return NoticeProjection(workday_deadline(now, days, campaign.timezone))
    except CalendarUnknown as exc:
        return NoticeProjection(None, exc.message + CALENDAR_HINT)


async def open_notice(
    actor: Actor,
    slug: str,
    days: int | None = None,
    now: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
) -> Tally:
    """Publish the proposed list for public notice (公示) of ``days`` working days (the
    campaign's default if None); ``ends_at`` is the city admin's manual end, only for a
    period the holiday calendar cannot count (see ``notice_end``)."""
    now = now or utc_now()
    if days is not None and not 1 <= days <= 30:
        raise ResultsRefused("公示期须在 1 到 30 个工作日之间。")
    async with write_transaction():
        campaign = await get_campaign(slug)
        if campaign is None:
            raise LookupError(slug)
        blockers = await notice_blockers(campaign)
        if blockers:
            raise ResultsRefused(blockers)
        days = days or campaign.notice_days
        ends = notice_end(now, days, campaign.timezone, ends_at)
        row = await tally_of(campaign.id)
        row.notice_starts_at = now
        row.notice_ends_at = ends
        await row.save([Tally.notice_starts_at, Tally.notice_ends_at]).run()
        campaign.notice_days = days
        details: dict[str, object] = {"notice_days": days, "notice_ends_at": ends.isoformat()}
        if ends_at is not None:
            details["notice_end_manual"] = True
        await enter(actor, campaign, Phase.notice, now, **details)
    PHASES.changed(slug)
    return row


async def open_objections(campaign_id: int) -> int:
    """Objections received and not yet handled (upheld or dismissed)."""
    return await Objection.count().where(
        (Objection.campaign == campaign_id)
        & Objection.status.not_in([status.value for status in OBJECTION_HANDLED])
    )


async def designation_blockers(campaign: Campaign, now: dt.datetime | None = None) -> list[str]:
    """What stops the designation: the notice period still running, objections open."""
    if campaign.phase != Phase.notice.value:
        return ["只有在公示阶段结束后才能正式命名。"]
    row = await tally_of(campaign.id)
    blockers = []
    if row is None or row.notice_ends_at is None:
        blockers.append("尚未发布公示。")
    elif (now or utc_now()) < row.notice_ends_at:
        blockers.append(
            f"公示期尚未结束，{local_text(row.notice_ends_at, campaign.timezone)}截止。"
        )
    pending = await open_objections(campaign.id)
    if pending:
        blockers.append(f"还有 {pending} 件异议尚未办结。")
    return blockers


async def designate(
    actor: Actor, slug: str, document_no: str = "", now: dt.datetime | None = None
) -> Tally:
    """After the notice period, publish the honour list: the campaign is ``published``
    and every designee enters the register with its certificate number."""
    now = now or utc_now()
    document_no = (document_no or "").strip()
    if len(document_no) > 60:
        raise ResultsRefused("文号不能超过 60 个字符。")
    async with write_transaction():
        campaign = await get_campaign(slug)
        if campaign is None:
            raise LookupError(slug)
        blockers = await designation_blockers(campaign, now)
        if blockers:
            raise ResultsRefused(blockers)
        row = await tally_of(campaign.id)
        row.designated_at = now
        row.document_no = document_no
        await row.save([Tally.designated_at, Tally.document_no]).run()
        await register_designees(campaign, now)
        await enter(actor, campaign, Phase.published, now, document_no=document_no)
    PHASES.changed(slug)
    return row


# --- the public results -----------------------------------------------------------------


def figure(value: Decimal) -> float:
    """A two-decimal figure as a JSON number."""
    return float(value)


async def results_payload(campaign: Campaign) -> dict[str, Any] | None:
    """The contract's results body, or None before the notice phase.

    The notice comes after the tally, which needs voting closed: the ledger is final,
    so its head is published with the results (``voting.ledger.ledger_head``).
    """
    if campaign.phase not in PUBLIC_PHASES:
        return None
    row = await tally_of(campaign.id)
    if row is None:
        return None
    method = method_of(row)
    head = await ledger_head(campaign.id)
    # The organiser's choice (Campaign.notice_shows_scores) holds after publication too:
    # a bureau that published only the names does not later have the figures published
    # for it, and since a published campaign's settings can no longer be edited, what
    # the notice showed is what the API, the honour pages and the workbook keep showing.
    shown = campaign.notice_shows_scores
    return {
        "phase": campaign.phase,
        "method": {
            "review_weight": figure(method.review_weight),
            "vote_weight": figure(method.vote_weight),
            "formula": method.formula,
        },
        "categories": [
            {
                "key": item.category.key,
                "title": item.category.title,
                "quota": item.category.quota,
                "ranking": [
                    {
                        "rank": r.rank,
                        "candidate_id": r.candidate_id,
                        "name": r.name,
                        "organisation": r.organisation,
                        "county": r.county,
                        "review_score": figure(r.review_score) if shown else None,
                        "votes": r.votes if shown else None,
                        "vote_score": figure(r.vote_score) if shown else None,
                        "final_score": figure(r.final_score) if shown else None,
                        "designated": r.designated,
                        "excluded": bool(r.excluded_reason),
                    }
                    for r in item.rows
                ],
            }
            for item in await ranking(campaign)
        ],
        "ledger_head": {"seq": head.seq, "chain_hash": head.chain_hash},
    }
