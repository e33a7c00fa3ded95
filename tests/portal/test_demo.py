"""The kernel's demo runner orders the steps the apps register (it imports no app)."""

from __future__ import annotations

import pytest

from portal.demo import DemoContext, DemoStep, order_steps


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
