"""The method of the combined ranking (综合评定), as pure functions on exact decimals.

Per category: ``vote_score`` = 100 × a candidate's counted votes ÷ the most counted votes
of any candidate in the category (0 when nobody has votes); ``final_score`` = review
weight × ``review_score`` + vote weight × ``vote_score``. Both scores are rounded half up
to two decimals — the figures the notice publishes — so anyone can recompute the order
from the published table. Ties go to the higher review score, then more counted votes,
then the earlier shortlisting. Excluded candidates keep their figures but take no place;
the top ``quota`` of the others are designated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from portal.weights import DEFAULT_REVIEW_WEIGHT, DEFAULT_VOTE_WEIGHT, cents

HUNDRED = Decimal(100)
# Sorts candidates without a shortlisting time (never the case in practice) last.
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Method:
    """The weights of a campaign's combined ranking."""

    review_weight: Decimal = DEFAULT_REVIEW_WEIGHT
    vote_weight: Decimal = DEFAULT_VOTE_WEIGHT

    @property
    def formula(self) -> str:
        """The formula in words, as the results API and the method page state it."""
        return (
            f"final_score = {self.review_weight} × review_score + {self.vote_weight} × vote_score; "
            "vote_score = 100 × votes ÷ the most votes of any candidate in the category "
            "(0 when nobody has votes); both rounded half up to 0.01; ties: higher "
            "review_score, then more votes, then earlier shortlisting"
        )

    @property
    def formula_zh(self) -> str:
        """The same formula for people (zh-CN)."""
        return (
            f"综合得分 = 专家评审得分 × {self.review_weight} + 投票得分 × {self.vote_weight}；"
            "投票得分 = 100 × 本人有效票数 ÷ 本类别最高有效票数（均无得票时为 0）；"
            "各项得分四舍五入保留两位小数。综合得分相同时，依次比较专家评审得分（高者在前）、"
            "有效票数（多者在前）、入围时间（早者在前）。"
        )


@dataclass(frozen=True)
class Entry:
    """One candidate's components, as the tally read them."""

    candidate_id: int
    review_score: Decimal
    votes: int
    shortlisted_at: dt.datetime | None
    excluded: bool = False


@dataclass(frozen=True)
class Placed:
    """One candidate's place: its components, scores, rank (None if excluded), designation."""

    entry: Entry
    vote_score: Decimal
    final_score: Decimal
    rank: int | None
    designated: bool


def vote_score(votes: int, most: int) -> Decimal:
    """100 × votes ÷ the category's most votes, rounded; 0 when nobody has votes."""
    if most <= 0:
        return Decimal("0.00")
    return cents(HUNDRED * Decimal(votes) / Decimal(most))


def final_score(method: Method, review: Decimal, votes_score: Decimal) -> Decimal:
    return cents(method.review_weight * review + method.vote_weight * votes_score)


def rank_category(entries: Sequence[Entry], quota: int, method: Method) -> list[Placed]:
    """Rank one category: placed candidates in order, then the excluded ones.

    The most votes are taken over every candidate of the category, excluded ones too,
    so excluding a candidate moves the next in line up without changing anyone's score.
    """
    most = max((e.votes for e in entries), default=0)
    scored = []
    for entry in entries:
        vs = vote_score(entry.votes, most)
        scored.append((entry, vs, final_score(method, entry.review_score, vs)))
    scored.sort(
        key=lambda item: (
            -item[2],
            -item[0].review_score,
            -item[0].votes,
            item[0].shortlisted_at or _LATEST,
            item[0].candidate_id,
        )
    )
    placed: list[Placed] = []
    rank = 0
    for entry, vs, fs in scored:
        if entry.excluded:
            continue
        rank += 1
        placed.append(Placed(entry, vs, fs, rank, rank <= quota))
    placed += [Placed(e, vs, fs, None, False) for e, vs, fs in scored if e.excluded]
    return placed
