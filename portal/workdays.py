"""Chinese working days (工作日), as the State Council's holiday calendar sets them.

A working day is Monday to Friday unless it is a public holiday, plus the weekend days
worked in lieu (调休). The dates come from the ``chinese-calendar`` package, which is
updated each year after the State Council publishes the next year's arrangement. For a
year the package does not know, nothing is guessed: every function here raises
``CalendarUnknown`` with a zh-CN message, and the caller asks a person for the date.

A period of N working days "from" a moment (a notice published at 10:00 on a Friday)
counts from the next working day after that moment's local date: day 1 is the first
working day after the day of publication, whether or not that day was itself a working
day, and the period ends at ``CLOSING_TIME`` (18:00, the end of office hours, when
telephone and visiting objections can no longer be received) local time on day N.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
from chinese_calendar.constants import holidays as _HOLIDAYS

from portal.campaigns import zone
from portal.errors import Refused

CLOSING_TIME = dt.time(18, 0)
# Far more than any period a campaign states (at most 30 working days) needs; a guard
# against a loop over a calendar that claims every day a holiday.
_MAX_SPAN = dt.timedelta(days=400)


def covered_years() -> tuple[int, int]:
    """The first and last year whose holiday arrangement the calendar knows."""
    years = [day.year for day in _HOLIDAYS]
    return min(years), max(years)


class CalendarUnknown(Refused):
    """The holiday arrangement of ``year`` is not known: working days cannot be counted."""

    code = "calendar_unknown"

    def __init__(self, year: int, hint: str = "") -> None:
        self.year = year
        super().__init__(f"{year}年的法定节假日安排尚未收录，无法按工作日计算" + hint)


def _known(day: dt.date) -> dt.date:
    first, last = covered_years()
    if not first <= day.year <= last:
        raise CalendarUnknown(day.year)
    return day


def is_workday(day: dt.date) -> bool:
    """Whether people work on ``day`` (a weekday that is no holiday, or a 调休 weekend)."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return chinese_calendar.is_workday(_known(day))


def add_workdays(start: dt.date, count: int) -> dt.date:
    """The ``count``-th working day after ``start`` (``start`` itself never counts)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    day, found = start, 0
    while found < count:
        day += dt.timedelta(days=1)
        if day - start > _MAX_SPAN:
            raise ValueError("no working day found within a year")
        if is_workday(day):
            found += 1
    return day


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end <= start``),
    so that ``workdays_between(d, add_workdays(d, n)) == n``."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def workday_deadline(
    opened_at: dt.datetime, count: int, tz: str, closing: dt.time = CLOSING_TIME
) -> dt.datetime:
    """The end of a period of ``count`` working days opened at ``opened_at``: ``closing``
    local time (in zone ``tz``) on the ``count``-th working day after the local date of
    ``opened_at``. Returned in UTC. Raises ``CalendarUnknown`` for an unknown year."""
    local = zone(tz)
    opened_on = opened_at.astimezone(local).date()
    last = add_workdays(opened_on, count)
    return dt.datetime.combine(last, closing, tzinfo=local).astimezone(dt.UTC)
