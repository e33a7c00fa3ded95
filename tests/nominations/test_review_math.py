"""Assignment of reviewers and aggregation of scores (nominations.review_math)."""

from __future__ import annotations

import decimal
import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nominations.review_math import (
    Plan,
    candidate_score,
    check_points,
    display,
    plan_assignments,
    reviewer_total,
    standardise,
)

D = Decimal

# Dingxi's county bureaus, as bureau ids.
ANDING, TONGWEI, LONGXI, WEIYUAN = 1, 2, 3, 4


# ----------------------------------------------------------------------------- helpers


def eligible_for(
    candidate: int,
    candidates: dict[int, int],
    reviewers: dict[int, int],
    excluded: dict[int, list[int]] | None,
) -> set[int]:
    conflicts = set((excluded or {}).get(candidate, ()))
    return {
        reviewer
        for reviewer, bureau in reviewers.items()
        if bureau != candidates[candidate] and reviewer not in conflicts
    }


def loads(plan: Plan, reviewers: dict[int, int]) -> Counter[int]:
    counter: Counter[int] = Counter(dict.fromkeys(reviewers, 0))
    for assigned in plan.assignments.values():
        counter.update(assigned)
    return counter


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A random panel and shortlist with conflicts and valid existing assignments."""
    bureaus = st.integers(1, draw(st.integers(1, 5)))
    reviewers = draw(st.dictionaries(st.integers(1, 30), bureaus, max_size=10))
    candidates = draw(st.dictionaries(st.integers(100, 160), bureaus, max_size=12))
    per_candidate = draw(st.none() | st.integers(1, 6))
    panel = sorted(reviewers)
    excluded: dict[int, list[int]] = {}
    existing: dict[int, list[int]] = {}
    for candidate in sorted(candidates):
        if panel:
            excluded[candidate] = draw(st.lists(st.sampled_from(panel), unique=True))
        allowed = sorted(eligible_for(candidate, candidates, reviewers, excluded))
        if allowed:
            existing[candidate] = draw(st.lists(st.sampled_from(allowed), unique=True))
    return {
        "candidates": candidates,
        "reviewers": reviewers,
        "per_candidate": per_candidate,
        # None is only possible where it means the same as what was drawn.
        "existing": existing if any(existing.values()) else draw(st.sampled_from([existing, None])),
        "excluded": excluded if any(excluded.values()) else draw(st.sampled_from([excluded, None])),
    }


# ------------------------------------------------------------------------- assignment


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_assignment_respects_every_rule(scenario: dict[str, Any]) -> None:
    candidates = scenario["candidates"]
    reviewers = scenario["reviewers"]
    k = scenario["per_candidate"]
    existing = scenario["existing"] or {}
    excluded = scenario["excluded"]

    plan = plan_assignments(candidates, reviewers, k, existing, excluded)

    assert set(plan.assignments) == set(candidates)
    for candidate, assigned in plan.assignments.items():
        eligible = eligible_for(candidate, candidates, reviewers, excluded)
        kept = set(existing.get(candidate, ()))
        # Sorted and without duplicates.
        assert assigned == sorted(set(assigned))
        # Never the candidate's own bureau, never a declared conflict.
        for reviewer in assigned:
            assert reviewers[reviewer] != candidates[candidate]
            assert reviewer not in set((excluded or {}).get(candidate, ()))
        assert set(assigned) <= eligible
        # Existing assignments are kept.
        assert kept <= set(assigned)
        # min(k, eligible) reviewers — all eligible ones for k None — or more if kept.
        if k is None:
            assert set(assigned) == eligible
        else:
            assert len(assigned) == max(len(kept), min(k, len(eligible)))
        # Short exactly when fewer are eligible than asked for, by the shortfall.
        if k is not None and len(eligible) < k:
            assert plan.short[candidate] == k - len(eligible)
        else:
            assert candidate not in plan.short
    assert set(plan.short) <= set(candidates)


@settings(max_examples=300, deadline=None)
@given(
    n_reviewers=st.integers(1, 12),
    n_candidates=st.integers(0, 40),
    data=st.data(),
)
def test_loads_are_balanced_when_everyone_may_review_everything(
    n_reviewers: int, n_candidates: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(1, n_reviewers))
    # The reviewers come from the city bureau (0), which nominates nobody.
    reviewers = dict.fromkeys(
        data.draw(st.sets(st.integers(1, 99), min_size=n_reviewers, max_size=n_reviewers)), 0
    )
    candidates = {100 + i: data.draw(st.integers(1, 7)) for i in range(n_candidates)}

    plan = plan_assignments(candidates, reviewers, k)

    counts = loads(plan, reviewers)
    assert sum(counts.values()) == k * n_candidates
    assert max(counts.values()) - min(counts.values()) <= 1
    assert plan.short == {}


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_plan_does_not_depend_on_input_order(scenario: dict[str, Any], rnd: Any) -> None:
    def shuffled(mapping: dict[int, Any] | None) -> dict[int, Any] | None:
        if mapping is None:
            return None
        items = list(mapping.items())
        rnd.shuffle(items)
        return {
            key: list(reversed(value)) if isinstance(value, list) else value for key, value in items
        }

    args = (scenario["candidates"], scenario["reviewers"], scenario["per_candidate"])
    plan = plan_assignments(*args, scenario["existing"], scenario["excluded"])
    again = plan_assignments(
        shuffled(scenario["candidates"]),
        shuffled(scenario["reviewers"]),
        scenario["per_candidate"],
        shuffled(scenario["existing"]),
        shuffled(scenario["excluded"]),
    )
    assert again == plan
    assert list(again.assignments) == sorted(again.assignments)


def test_worked_assignment_example() -> None:
    # Two reviewers from 安定区, one each from 通渭县 and 陇西县.
    reviewers = {1: ANDING, 2: ANDING, 3: TONGWEI, 4: LONGXI}
    candidates = {10: ANDING, 11: TONGWEI, 12: LONGXI, 13: WEIYUAN}
    plan = plan_assignments(candidates, reviewers, 2, excluded={12: [3]})
    # 10 (安定区) may only have 3 and 4; 12 (陇西县, 3 conflicted) only 1 and 2.
    assert plan.assignments[10] == [3, 4]
    assert plan.assignments[12] == [1, 2]
    assert plan.short == {}
    assert sorted(loads(plan, reviewers).values()) == [2, 2, 2, 2]


def test_every_eligible_reviewer_when_per_candidate_is_none() -> None:
    reviewers = {1: ANDING, 2: TONGWEI, 3: LONGXI}
    plan = plan_assignments({10: ANDING, 11: WEIYUAN}, reviewers, None, excluded={11: [2]})
    assert plan == Plan(assignments={10: [2, 3], 11: [1, 3]}, short={})


def test_short_candidates_get_everyone_available() -> None:
    reviewers = {1: ANDING, 2: ANDING, 3: TONGWEI}
    plan = plan_assignments({10: ANDING, 11: TONGWEI}, reviewers, 3)
    assert plan.assignments == {10: [3], 11: [1, 2]}
    assert plan.short == {10: 2, 11: 1}


def test_existing_assignments_are_kept_and_count_towards_k() -> None:
    reviewers = {1: ANDING, 2: TONGWEI, 3: LONGXI, 4: WEIYUAN}
    # Reviewer 4 already has two candidates, so the others are preferred.
    plan = plan_assignments(
        {10: ANDING, 11: ANDING, 12: ANDING},
        reviewers,
        2,
        existing={10: [4], 11: [4, 3, 2]},
    )
    assert plan.assignments[10] == [2, 4]
    assert plan.assignments[11] == [2, 3, 4]  # more than k: nothing is removed
    # Loads now 2: 2, 3: 1, 4: 2 — so 3 first, then 2 before 4 on the tie.
    assert plan.assignments[12] == [2, 3]
    assert plan.short == {}


def test_a_reviewer_with_no_eligible_candidates_gets_none() -> None:
    plan = plan_assignments({10: ANDING}, {1: ANDING, 2: TONGWEI}, 1)
    assert plan.assignments == {10: [2]}


@pytest.mark.parametrize(
    ("existing", "excluded"),
    [
        ({10: [1]}, None),  # own bureau
        ({10: [2]}, {10: [2]}),  # declared conflict
        ({10: [9]}, None),  # not on the panel
        ({99: [2]}, None),  # not a candidate
    ],
)
def test_invalid_existing_assignments_are_refused(
    existing: dict[int, list[int]], excluded: dict[int, list[int]] | None
) -> None:
    with pytest.raises(ValueError):
        plan_assignments({10: ANDING}, {1: ANDING, 2: TONGWEI}, 1, existing, excluded)


def test_per_candidate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan_assignments({10: ANDING}, {1: TONGWEI}, 0)


def test_empty_inputs() -> None:
    assert plan_assignments({}, {}, 3) == Plan(assignments={}, short={})
    assert plan_assignments({10: ANDING}, {}, None) == Plan(assignments={10: []}, short={})
    assert plan_assignments({10: ANDING}, {}, 2) == Plan(assignments={10: []}, short={10: 2})


# ------------------------------------------------------------------------- aggregation


def test_reviewer_total_sums_half_points_exactly() -> None:
    assert reviewer_total([D("37.5"), D("28"), D("19.5"), D("0.5")]) == D("85.5")
    assert reviewer_total([]) == 0


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        reviewer_total([0.1])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        candidate_score([D(80), 85.5])  # type: ignore[list-item]


def test_four_totals_give_the_plain_mean() -> None:
    assert candidate_score([D(80), D(85), D(90), D(95)]) == D("87.5")


def test_five_totals_drop_the_highest_and_the_lowest() -> None:
    assert candidate_score([D(90), D(60), D(100), D(85), D(80)]) == D(85)


def test_only_one_of_equal_extremes_is_dropped() -> None:
    # Two equal highest (95) and two equal lowest (70): one of each stays.
    thirds = decimal.Context(prec=50).divide(D(250), D(3))
    assert candidate_score([D(95), D(70), D(95), D(70), D(85)]) == thirds
    assert candidate_score([D(100), D(100), D(80), D(90), D(70)]) == D(90)


def test_one_total_and_no_total() -> None:
    assert candidate_score([D("77.5")]) == D("77.5")
    assert candidate_score([]) is None
    assert display(candidate_score([])) == "—"


def test_half_points_are_exact() -> None:
    score = candidate_score([D("87.5"), D("88.5"), D("90"), D("91.5")])
    assert score == D("89.375")
    assert isinstance(score, Decimal)
    trimmed = candidate_score([D("87.5"), D("88.5"), D("90"), D("91.5"), D("92.5")])
    assert trimmed == D(90)
    assert reviewer_total([D("0.5")] * 81) == D("40.5")


def test_thirds_stay_exact_to_forty_digits_and_display_rounds_half_up() -> None:
    score = candidate_score([D(80), D(80), D(81)])
    assert score is not None
    fraction = str(score).split(".")[1]
    assert len(fraction) >= 40 and set(fraction) == {"3"}
    assert abs(decimal.Context(prec=60).subtract(score * 3, D(241))) < D("1e-40")
    assert display(score) == "80.33"
    # 80.125: half up gives 80.13 where banker's rounding would give 80.12.
    assert candidate_score([D(80), D(80), D(80), D("80.5")]) == D("80.125")
    assert display(D("80.125")) == "80.13"
    assert display(D("2.5"), 0) == "3"
    assert display(D(85)) == "85.00"
    assert display(D("85.5"), 1) == "85.5"
    assert display(D("-0.001")) == "0.00"


def test_the_global_decimal_context_is_left_alone() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        score = candidate_score([D(80), D(80), D(81)])
        assert display(D("80.125")) == "80.13"
        assert ctx.prec == 3 and ctx.rounding == decimal.ROUND_DOWN
    assert score is not None and len(str(score)) > 40


# ---------------------------------------------------------------------- standardising

LENIENT, HARSH, THIRD = 1, 2, 3


def test_a_harsh_and_a_lenient_reviewer_give_the_same_standardised_totals() -> None:
    lenient = {101: D("92.5"), 102: D(88), 103: D("75.5"), 104: D(96)}
    totals = {(LENIENT, c): v for c, v in lenient.items()}
    totals |= {(HARSH, c): v - 20 for c, v in lenient.items()}

    mapped = standardise(totals)

    assert set(mapped) == set(totals)
    for candidate in lenient:
        assert mapped[(LENIENT, candidate)] == mapped[(HARSH, candidate)]
    # So the ranking of candidates is unaffected by who scored them.
    scores = {c: candidate_score([mapped[(r, c)] for r in (LENIENT, HARSH)]) for c in lenient}
    assert sorted(scores, key=lambda c: scores[c]) == sorted(lenient, key=lambda c: lenient[c])


def test_harsh_shift_also_exact_with_inexact_means() -> None:
    # Means of thirds, and a shift that changes the number of integer digits.
    lenient = {101: D(100), 102: D("99.5"), 103: D(97)}
    totals = {(LENIENT, c): v for c, v in lenient.items()}
    totals |= {(HARSH, c): v - 95 for c, v in lenient.items()}
    mapped = standardise(totals)
    for candidate in lenient:
        assert mapped[(LENIENT, candidate)] == mapped[(HARSH, candidate)]


def test_mapped_totals_are_on_the_panel_scale() -> None:
    # Two reviewers with two candidates each: z = ±1 for everyone.
    totals = {(1, 10): D(60), (1, 11): D(80), (2, 10): D(90), (2, 11): D(70)}
    mapped = standardise(totals)
    # Panel mean 75, population sd sqrt(125).
    ctx = decimal.Context(prec=60)
    sd = D(125).sqrt(ctx)
    assert mapped[(1, 10)] == mapped[(2, 11)]
    assert abs(ctx.subtract(mapped[(1, 10)], ctx.subtract(D(75), sd))) < D("1e-45")
    assert abs(ctx.subtract(mapped[(1, 11)], ctx.add(D(75), sd))) < D("1e-45")


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.integers(1, 5), st.integers(100, 110)),
        st.integers(0, 200).map(lambda halves: D(halves) / 2),
        min_size=1,
        max_size=40,
    )
)
def test_standardising_preserves_each_reviewers_order(
    totals: dict[tuple[int, int], Decimal],
) -> None:
    mapped = standardise(totals)
    assert set(mapped) == set(totals)
    for a in totals:
        for b in totals:
            if a[0] != b[0]:
                continue
            if totals[a] < totals[b]:
                assert mapped[a] < mapped[b]
            elif totals[a] == totals[b]:
                assert mapped[a] == mapped[b]


def test_reviewer_with_equal_totals_or_one_candidate_maps_to_the_panel_mean() -> None:
    totals = {
        (LENIENT, 101): D(90),
        (LENIENT, 102): D(70),
        (HARSH, 101): D(80),
        (HARSH, 102): D(80),  # sd 0
        (THIRD, 103): D(65),  # scored one candidate
    }
    mapped = standardise(totals)
    panel_mean = D(385) / 5
    assert mapped[(HARSH, 101)] == mapped[(HARSH, 102)] == panel_mean
    assert mapped[(THIRD, 103)] == panel_mean
    assert mapped[(LENIENT, 101)] > panel_mean > mapped[(LENIENT, 102)]


def test_panel_with_sd_zero_maps_everyone_to_the_mean() -> None:
    totals = {(1, 10): D("82.5"), (2, 10): D("82.5"), (2, 11): D("82.5")}
    assert standardise(totals) == dict.fromkeys(totals, D("82.5"))
    assert standardise({}) == {}


# ----------------------------------------------------------------------------- points

MAXIMUM = D(40)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", D(0)),
        ("12.5", D("12.5")),
        ("40", D(40)),
        (" 7 ", D(7)),
        ("１２．５", D("12.5")),
        ("39.50", D("39.5")),
        (D("12.5"), D("12.5")),
        (D(40), D(40)),
    ],
)
def test_check_points_accepts(text: str | Decimal, expected: Decimal) -> None:
    assert check_points(text, MAXIMUM) == expected


@pytest.mark.parametrize(
    "text",
    [
        "-1",
        "40.5",
        "12.3",
        "abc",
        "",
        " ",
        "1e1",
        "+5",
        "NaN",
        "Infinity",
        "12.",
        ".5",
        D("-1"),
        D("40.5"),
        D("12.3"),
        D("NaN"),
    ],
)
def test_check_points_refuses(text: str | Decimal) -> None:
    with pytest.raises(ValueError) as refused:
        check_points(text, MAXIMUM)
    assert str(refused.value) == "分值须在 0 到 40 之间，可精确到 0.5 分。"


def test_check_points_message_names_the_maximum() -> None:
    with pytest.raises(ValueError, match=re.escape("0 到 12.5 之间")):
        check_points("13", D("12.50"))
