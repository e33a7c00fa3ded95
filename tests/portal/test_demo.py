"""The kernel's demo: its runner orders the steps the apps register (it imports no app);
its dates are the story's moved by whole years."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.demo import DemoContext, DemoStep, order_steps, story_at, story_years


async def _nothing(context: DemoContext) -> None:
    """A step that loads nothing: these tests only order steps."""


def step(name: str, *after: str) -> DemoStep:
    return DemoStep(name, _nothing, after=after)


def test_each_step_runs_after_those_it_names_otherwise_as_given() -> None:
    steps = [step("finished", "votes"), step("votes", "review"), step("a"), step("review")]
    assert [s.name for s in order_steps(steps)] == ["a", "review", "votes", "finished"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([step("a"), step("a")], "duplicate"),
        ([step("a", "missing")], "unknown"),
        ([step("a", "b"), step("b", "a")], "wait on each other"),
    ],
)
def test_steps_that_cannot_be_ordered_are_refused(steps: list[DemoStep], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        order_steps(steps)


@pytest.mark.parametrize(
    ("today", "years"),
    [
        (dt.date(2024, 7, 1), 0),
        (dt.date(2025, 6, 30), 0),
        (dt.date(2025, 7, 1), 1),
        (dt.date(2026, 12, 4), 2),
        (dt.date(2027, 1, 15), 2),
    ],
)
def test_the_story_is_moved_by_whole_years_to_end_in_the_year_from_july(
    today: dt.date, years: int
) -> None:
    assert story_years(today) == years
    # The story's today (July 2024 to June 2025) is today, less those years.
    story_today = today.replace(year=today.year - years)
    assert dt.date(2024, 7, 1) <= story_today < dt.date(2025, 7, 1)


def test_a_story_time_keeps_its_day_and_hour() -> None:
    moved = story_at(dt.datetime(2022, 12, 2, 10, 30, tzinfo=dt.UTC))
    assert moved == dt.datetime(2022 + story_years(), 12, 2, 10, 30, tzinfo=dt.UTC)
    assert story_at(dt.date(2024, 2, 28)) == dt.date(2024 + story_years(), 2, 28)
