"""The method on worked examples: the formula, the tie-break order, the quota."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.weights import parse_weight
from results.ranking import Entry, Method, rank_category, vote_score

D = Decimal
T0 = dt.datetime(2023, 6, 1, tzinfo=dt.UTC)
DEFAULT = Method()


def entry(cid: int, review: str, votes: int, minute: int = 0, excluded: bool = False) -> Entry:
    return Entry(cid, D(review), votes, T0 + dt.timedelta(minutes=minute), excluded)


def test_worked_example_of_the_formula() -> None:
    # Votes 400 / 300 / 0: vote scores 100, 75, 0.
    # final = 0.7 × review + 0.3 × vote score.
    placed = rank_category(
        [entry(1, "80", 400), entry(2, "90", 300), entry(3, "95.5", 0)], quota=2, method=DEFAULT
    )
    by_id = {p.entry.candidate_id: p for p in placed}
    assert by_id[1].vote_score == D("100.00") and by_id[1].final_score == D("86.00")
    assert by_id[2].vote_score == D("75.00") and by_id[2].final_score == D("85.50")
    assert by_id[3].vote_score == D("0.00") and by_id[3].final_score == D("66.85")
    assert [(p.entry.candidate_id, p.rank, p.designated) for p in placed] == [
        (1, 1, True),
        (2, 2, True),
        (3, 3, False),
    ]


def test_vote_score_rounds_half_up_to_cents_and_is_zero_without_votes() -> None:
    assert vote_score(1, 3) == D("33.33")
    assert vote_score(2, 3) == D("66.67")
    assert vote_score(1, 8) == D("12.50")
    assert vote_score(0, 0) == D("0.00")
    placed = rank_category([entry(1, "70", 0), entry(2, "80", 0)], quota=1, method=DEFAULT)
    assert [p.final_score for p in placed] == [D("56.00"), D("49.00")]


def test_other_weights() -> None:
    method = Method(D("0.50"), D("0.50"))
    placed = rank_category([entry(1, "60", 100), entry(2, "100", 20)], quota=1, method=method)
    # 1: 0.5×60 + 0.5×100 = 80; 2: 0.5×100 + 0.5×20 = 60.
    assert [(p.entry.candidate_id, p.final_score) for p in placed] == [
        (1, D("80.00")),
        (2, D("60.00")),
    ]


def test_ties_go_to_review_then_votes_then_earlier_shortlisting() -> None:
    # The most votes is 170, so 70 votes score 41.18 and 0.7 × 70 + 0.3 × 41.18 = 61.35.
    entries = [
        entry(1, "70", 70, minute=5),  # 61.35
        entry(2, "70", 70, minute=1),  # 61.35, shortlisted before 5 and 1
        entry(3, "100", 0, minute=9),  # 70.00: first on the final score alone
        entry(4, "40", 170, minute=0),  # 28 + 30 = 58.00
        entry(5, "70", 70, minute=3),  # 61.35, shortlisted between 2 and 1
        entry(6, "75", 17, minute=0),  # 52.5 + 3 = 55.50
    ]
    placed = rank_category(entries, quota=3, method=DEFAULT)
    finals = {p.entry.candidate_id: p.final_score for p in placed}
    assert finals[1] == finals[2] == finals[5] == D("61.35")
    assert finals[3] == D("70.00") and finals[4] == D("58.00") and finals[6] == D("55.50")
    assert [p.entry.candidate_id for p in placed] == [3, 2, 5, 1, 4, 6]
    assert [p.designated for p in placed] == [True, True, True, False, False, False]


def test_equal_finals_go_to_the_higher_review_score_before_votes() -> None:
    # 0.7 × 90 + 0.3 × 0 = 63.00 and 0.7 × 60 + 0.3 × 70 = 63.00: review decides.
    placed = rank_category([entry(1, "60", 70), entry(2, "90", 0), entry(3, "0", 100)], 1, DEFAULT)
    assert placed[0].final_score == placed[1].final_score == D("63.00")
    assert [p.entry.candidate_id for p in placed] == [2, 1, 3]


def test_equal_final_and_review_go_to_more_votes() -> None:
    # Equal review scores and finals equal after rounding: 0.3 × 33.33 = 9.999 and
    # 0.3 × 33.34 = 10.002 both give 56 + 10.00 = 66.00; more votes go first, although
    # shortlisted later.
    entries = [entry(1, "80", 3333, minute=0), entry(2, "80", 3334, minute=9), entry(3, "0", 10000)]
    placed = rank_category(entries, quota=1, method=DEFAULT)
    assert placed[0].final_score == placed[1].final_score == D("66.00")
    assert [p.entry.candidate_id for p in placed][:2] == [2, 1]


def test_quota_is_filled_exactly_and_exclusion_moves_the_next_up() -> None:
    entries = [entry(i, str(90 - i), 100 - i) for i in range(1, 8)]
    placed = rank_category(entries, quota=3, method=DEFAULT)
    assert [p.entry.candidate_id for p in placed if p.designated] == [1, 2, 3]
    assert [p.rank for p in placed] == [1, 2, 3, 4, 5, 6, 7]

    entries[1] = entry(2, "88", 98, excluded=True)
    again = rank_category(entries, quota=3, method=DEFAULT)
    assert [p.entry.candidate_id for p in again if p.designated] == [1, 3, 4]
    assert [(p.entry.candidate_id, p.rank) for p in again] == [
        (1, 1),
        (3, 2),
        (4, 3),
        (5, 4),
        (6, 5),
        (7, 6),
        (2, None),
    ]
    # The excluded candidate keeps its figures; the others' scores do not change.
    assert {p.entry.candidate_id: p.final_score for p in again} == {
        p.entry.candidate_id: p.final_score for p in placed
    }


def test_fewer_candidates_than_the_quota_are_all_designated() -> None:
    placed = rank_category([entry(1, "50", 1), entry(2, "60", 0)], quota=5, method=DEFAULT)
    assert all(p.designated for p in placed)
    assert rank_category([], quota=3, method=DEFAULT) == []


@pytest.mark.parametrize("raw", ["0.7", "0.70", "1", "0", " 0.35 "])
def test_weights_parse(raw: str) -> None:
    assert parse_weight(raw) == D(raw.strip()).quantize(D("0.01"))


@pytest.mark.parametrize("raw", ["", "abc", "1.5", "-0.1", "0.333", "NaN", "Infinity"])
def test_bad_weights_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_weight(raw)
