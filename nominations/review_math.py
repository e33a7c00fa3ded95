"""Arithmetic of the expert review (评审): who reviews what, and how scores combine.

Pure functions on plain data — no database, no I/O — so they are easy to test and
cheap to call from services.

Assignment (``plan_assignments``)
    A reviewer never scores a candidate nominated by their own county bureau, nor one
    they declared a conflict of interest with. Either every eligible reviewer scores a
    candidate, or exactly *k* do, picked greedily to balance the reviewers' loads.

Aggregation
    All arithmetic is exact ``decimal.Decimal`` in a private 50-digit context (the
    global decimal context is never read nor changed); only ``display`` rounds, and
    only for showing a value. A reviewer's total is the sum of their criterion scores;
    a candidate's score is the mean of its reviewers' totals, dropping one highest and
    one lowest total once there are five or more. ``standardise`` removes the bias of
    harsh or lenient reviewers before the means are taken, if the campaign wants that.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation

__all__ = [
    "CONTEXT",
    "NO_VALUE",
    "TRIM_FROM",
    "Plan",
    "candidate_score",
    "check_points",
    "display",
    "plan_assignments",
    "reviewer_total",
    "standardise",
]

# Every computation goes through this context's methods, never through operators
# (which would use the thread's current context).
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN)
# From this many totals on, one highest and one lowest total are dropped.
TRIM_FROM = 5
# What ``display`` shows for a missing value (a candidate nobody has scored yet).
NO_VALUE = "—"

_ZERO = Decimal(0)
_HALF = Decimal("0.5")
_POINTS = re.compile(r"\d+(?:\.\d+)?")


# --------------------------------------------------------------------------- assignment


@dataclass(frozen=True)
class Plan:
    """The outcome of ``plan_assignments``.

    ``assignments`` has every candidate (sorted by id), each with its reviewer ids in
    ascending order — kept existing ones and new ones together; a candidate nobody may
    review has an empty list. ``short`` has only the candidates with fewer eligible
    reviewers than asked for, with how many reviewers they lack.
    """

    assignments: dict[int, list[int]]
    short: dict[int, int]


def plan_assignments(
    candidates: Mapping[int, int],
    reviewers: Mapping[int, int],
    per_candidate: int | None,
    existing: Mapping[int, Iterable[int]] | None = None,
    excluded: Mapping[int, Iterable[int]] | None = None,
) -> Plan:
    """Assign reviewers to shortlisted candidates.

    ``candidates`` maps a candidate id to the id of the county bureau that nominated
    it, ``reviewers`` a reviewer id to the reviewer's bureau id. A reviewer is eligible
    for a candidate unless they share its bureau or ``excluded[candidate]`` lists them
    (a declared conflict of interest).

    ``per_candidate=None`` assigns every eligible reviewer. Otherwise each candidate
    gets *k* reviewers: ``existing`` assignments are kept and count towards *k*, and
    the rest are picked one by one as the eligible reviewer with the fewest assignments
    so far (all candidates, ``existing`` included), the lower reviewer id on a tie.
    Candidates are served most constrained first (fewest eligible reviewers, then
    lowest id) so that the scarce reviewers are still free for them. A candidate with
    fewer than *k* eligible reviewers gets all of them and appears in ``short``; one
    that already has more than *k* keeps them all.

    The result depends only on the contents of the mappings, not on their order.
    Raises ``ValueError`` for ``per_candidate < 1`` and for an ``existing`` assignment
    to an unknown candidate or reviewer or to an ineligible one: the caller must
    withdraw such an assignment before planning again.
    """
    if per_candidate is not None and per_candidate < 1:
        raise ValueError(f"per_candidate must be None or at least 1, not {per_candidate}")
    existing = existing or {}
    excluded = excluded or {}

    eligible: dict[int, set[int]] = {}
    for candidate, bureau in candidates.items():
        conflicts = set(excluded.get(candidate, ()))
        eligible[candidate] = {
            reviewer
            for reviewer, own_bureau in reviewers.items()
            if own_bureau != bureau and reviewer not in conflicts
        }

    assigned: dict[int, set[int]] = {candidate: set() for candidate in candidates}
    load: dict[int, int] = dict.fromkeys(reviewers, 0)
    for candidate, kept in existing.items():
        kept = set(kept)
        if not kept:
            continue
        if candidate not in candidates:
            raise ValueError(f"existing assignments to unknown candidate {candidate}")
        invalid = kept - eligible[candidate]
        if invalid:
            raise ValueError(
                f"existing assignments of candidate {candidate} to ineligible or unknown "
                f"reviewers {sorted(invalid)}"
            )
        assigned[candidate] = kept
        for reviewer in kept:
            load[reviewer] += 1

    short: dict[int, int] = {}
    order = sorted(candidates, key=lambda candidate: (len(eligible[candidate]), candidate))
    for candidate in order:
        pool = eligible[candidate]
        if per_candidate is None:
            wanted = len(pool)
        else:
            wanted = per_candidate
            if len(pool) < per_candidate:
                short[candidate] = per_candidate - len(pool)
        chosen = assigned[candidate]
        free = pool - chosen
        while len(chosen) < wanted and free:
            pick = min(free, key=lambda reviewer: (load[reviewer], reviewer))
            free.discard(pick)
            chosen.add(pick)
            load[pick] += 1

    return Plan(
        assignments={candidate: sorted(assigned[candidate]) for candidate in sorted(candidates)},
        short=dict(sorted(short.items())),
    )


# -------------------------------------------------------------------------- aggregation


def _decimal(value: object) -> Decimal:
    """A finite ``Decimal`` from a ``Decimal`` or ``int``; floats are refused (inexact)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"expected Decimal or int, not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"not a finite number: {number}")
    return number


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = CONTEXT.add(total, value)
    return total


def _sum_of_squares(values: Iterable[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = CONTEXT.add(total, CONTEXT.multiply(value, value))
    return total


def _mean(values: Sequence[Decimal]) -> Decimal:
    return CONTEXT.divide(_sum(values), Decimal(len(values)))


def reviewer_total(points: Iterable[Decimal]) -> Decimal:
    """The sum of one reviewer's criterion scores for one candidate (0 for none)."""
    return _sum(_decimal(value) for value in points)


def candidate_score(totals: Sequence[Decimal]) -> Decimal | None:
    """A candidate's score from its reviewers' totals.

    With ``TRIM_FROM`` (5) or more totals, one highest and one lowest total are dropped
    (only one of several equal extremes) and the rest averaged; with 1–4 totals it is
    their plain mean; with none it is ``None``.
    """
    values = sorted(_decimal(value) for value in totals)
    if not values:
        return None
    if len(values) >= TRIM_FROM:
        values = values[1:-1]
    return _mean(values)


def _spread(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """``(Σx, n·Σx² − (Σx)²)`` of ``values``, exact.

    ``n·Σx² − (Σx)²`` is ``n²`` times the population variance. It is computed from
    sums only — no rounded mean — so values shifted by a constant give exactly the
    same spread, and it is never negative.
    """
    n = Decimal(len(values))
    total = _sum(values)
    spread = CONTEXT.subtract(
        CONTEXT.multiply(n, _sum_of_squares(values)), CONTEXT.multiply(total, total)
    )
    return total, max(spread, _ZERO)


def standardise(totals: Mapping[tuple[int, int], Decimal]) -> dict[tuple[int, int], Decimal]:
    """Remove each reviewer's harshness or leniency from their totals.

    ``totals`` maps ``(reviewer id, candidate id)`` to that reviewer's total for that
    candidate. Each reviewer's totals become z-scores over the candidates they scored
    (population standard deviation), mapped back onto the scale of the whole panel:
    ``panel mean + z · panel standard deviation`` (population, over all totals). A
    reviewer who scored one candidate, or gave all their candidates the same total,
    has z = 0 and maps to the panel mean; so does everyone if the panel's standard
    deviation is 0. A reviewer's order of candidates is preserved, and a reviewer who
    gives every candidate the same amount less than another gets the same standardised
    totals. Exact but for the two square roots (50 significant digits).
    """
    values = {key: _decimal(value) for key, value in totals.items()}
    if not values:
        return {}
    panel = list(values.values())
    panel_n = Decimal(len(panel))
    panel_sum, panel_spread = _spread(panel)
    panel_mean = CONTEXT.divide(panel_sum, panel_n)
    # sqrt(n·Σx² − (Σx)²) / n is the population standard deviation.
    panel_sd = CONTEXT.divide(CONTEXT.sqrt(panel_spread), panel_n)
    if panel_sd == 0:
        return dict.fromkeys(values, panel_mean)

    by_reviewer: dict[int, list[tuple[int, int]]] = {}
    for key in values:
        by_reviewer.setdefault(key[0], []).append(key)

    mapped: dict[tuple[int, int], Decimal] = {}
    for keys in by_reviewer.values():
        own = [values[key] for key in keys]
        n = Decimal(len(own))
        own_sum, own_spread = _spread(own)
        root = CONTEXT.sqrt(own_spread)
        for key in keys:
            if root == 0:
                mapped[key] = panel_mean
                continue
            # z = (x − mean) / sd = (n·x − Σx) / sqrt(n·Σx² − (Σx)²)
            deviation = CONTEXT.subtract(CONTEXT.multiply(n, values[key]), own_sum)
            z = CONTEXT.divide(deviation, root)
            mapped[key] = CONTEXT.add(panel_mean, CONTEXT.multiply(z, panel_sd))
    return {key: mapped[key] for key in totals}


# ---------------------------------------------------------------------- input and output


def display(value: Decimal | None, places: int = 2) -> str:
    """``value`` rounded half up to ``places`` decimals for showing; "—" for ``None``."""
    if value is None:
        return NO_VALUE
    if places < 0:
        raise ValueError(f"places must not be negative, not {places}")
    rounded = _decimal(value).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=CONTEXT
    )
    if rounded.is_zero():
        rounded = abs(rounded)  # never show "-0.00"
    return f"{rounded:f}"


def _plain(number: Decimal) -> str:
    """``number`` without trailing zeros or exponent: 40 → "40", 12.50 → "12.5"."""
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def check_points(value: str | Decimal, maximum: Decimal) -> Decimal:
    """Parse one criterion score: a multiple of 0.5 from 0 to ``maximum`` inclusive.

    A string may be padded with spaces and use full-width digits (“１２．５”); signs,
    exponents and other notations are refused. Raises ``ValueError`` with a message
    for the reviewer (zh-CN) when the value is not acceptable.
    """
    top = _decimal(maximum)
    message = f"分值须在 0 到 {_plain(top)} 之间，可精确到 0.5 分。"
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if not _POINTS.fullmatch(text):
            raise ValueError(message)
        try:
            number = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise ValueError(message) from None
    else:
        try:
            number = _decimal(value)
        except (TypeError, ValueError):
            raise ValueError(message) from None
    if not _ZERO <= number <= top:
        raise ValueError(message)
    halves = CONTEXT.divide(number, _HALF)
    if halves != halves.to_integral_value(context=CONTEXT):
        raise ValueError(message)
    return number
