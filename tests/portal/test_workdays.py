"""Chinese working days: holidays, the weekend days worked in lieu (调休), the end of a
period of N working days, and a year the holiday calendar does not know."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import workdays
from portal.workdays import CalendarUnknown, add_workdays, is_workday, workday_deadline
from portal.zones import local_text, utc_offset, zone_label

CST = dt.timezone(dt.timedelta(hours=8))


def test_holidays_and_swapped_workdays() -> None:
    assert is_workday(dt.date(2025, 9, 26))  # a Friday
    assert not is_workday(dt.date(2025, 9, 27))  # a Saturday
    assert is_workday(dt.date(2025, 9, 28))  # a Sunday worked for 国庆
    assert not is_workday(dt.date(2025, 10, 8))  # a Wednesday of 国庆
    assert is_workday(dt.date(2025, 10, 11))  # a Saturday worked for 国庆
    assert is_workday(dt.date(2026, 2, 14))  # a Saturday worked for 春节
    assert not is_workday(dt.date(2026, 2, 23))  # a Monday of 春节
    assert is_workday(dt.datetime(2026, 2, 28, 12))  # a Saturday worked for 春节


@pytest.mark.parametrize(
    ("count", "last"),
    [
        # Friday 26 September 2025, before 国庆: Sunday 28 (调休), 29, 30, then 1–8
        # October off, Thursday 9, Friday 10, Saturday 11 (调休), Monday 13.
        (1, dt.date(2025, 9, 28)),
        (3, dt.date(2025, 9, 30)),
        (4, dt.date(2025, 10, 9)),
        (5, dt.date(2025, 10, 10)),
        (6, dt.date(2025, 10, 11)),
        (7, dt.date(2025, 10, 13)),
    ],
)
def test_a_notice_opened_on_the_friday_before_national_day(count: int, last: dt.date) -> None:
    opened = dt.datetime(2025, 9, 26, 10, 30, tzinfo=CST)
    assert add_workdays(opened.date(), count) == last
    ends = workday_deadline(opened, count, "Asia/Shanghai")
    assert ends == dt.datetime.combine(last, dt.time(18), CST)
    assert ends.tzinfo == dt.UTC
    assert workdays.workdays_between(opened.date(), last) == count


@pytest.mark.parametrize(
    ("count", "last"),
    [
        # Friday 13 February 2026, before 春节: Saturday 14 (调休), then 15–23 off,
        # Tuesday 24 to Friday 27, Saturday 28 (调休), Monday 2 March.
        (1, dt.date(2026, 2, 14)),
        (2, dt.date(2026, 2, 24)),
        (5, dt.date(2026, 2, 27)),
        (6, dt.date(2026, 2, 28)),
        (7, dt.date(2026, 3, 2)),
    ],
)
def test_a_notice_opened_on_the_friday_before_spring_festival(count: int, last: dt.date) -> None:
    opened = dt.datetime(2026, 2, 13, 16, tzinfo=CST)
    assert workday_deadline(opened, count, "Asia/Shanghai") == dt.datetime.combine(
        last, dt.time(18), CST
    )


def test_the_day_of_publication_counts_by_the_campaigns_local_date() -> None:
    # 23:30 UTC on Thursday is already Friday 07:30 in Beijing: day 1 is the next Monday.
    opened = dt.datetime(2026, 6, 4, 23, 30, tzinfo=dt.UTC)
    assert workday_deadline(opened, 1, "Asia/Shanghai") == dt.datetime(2026, 6, 8, 18, tzinfo=CST)
    # Opened on a Saturday, day 1 is still the first working day after it.
    saturday = dt.datetime(2026, 6, 6, 9, tzinfo=CST)
    assert workday_deadline(saturday, 1, "Asia/Shanghai") == dt.datetime(2026, 6, 8, 18, tzinfo=CST)


def test_a_year_outside_the_calendar_is_refused_not_guessed() -> None:
    first, last = workdays.covered_years()
    assert first <= 2025 and last >= 2026
    beyond = last + 1
    with pytest.raises(CalendarUnknown) as caught:
        is_workday(dt.date(beyond, 3, 2))
    assert caught.value.year == beyond
    assert caught.value.message == f"{beyond}年的法定节假日安排尚未收录，无法按工作日计算"
    # A period that only runs into the unknown year is refused too.
    late = dt.datetime(last, 12, 28, 10, tzinfo=CST)
    with pytest.raises(CalendarUnknown, match=f"{beyond}年"):
        workday_deadline(late, 5, "Asia/Shanghai")
    with pytest.raises(CalendarUnknown, match=f"{first - 1}年"):
        workdays.workdays_between(dt.date(first - 1, 12, 1), dt.date(first, 1, 5))


def test_zones_are_named_as_people_name_them() -> None:
    assert zone_label("Asia/Shanghai") == "北京时间"
    assert zone_label("Asia/Chongqing") == "北京时间"
    assert zone_label("Asia/Urumqi") == "新疆时间（UTC+06:00）"
    assert zone_label("Asia/Tokyo") == "UTC+09:00"
    assert zone_label("America/St_Johns", dt.datetime(2026, 1, 5, tzinfo=dt.UTC)) == "UTC-03:30"
    assert utc_offset("Europe/Berlin", dt.datetime(2026, 7, 1, tzinfo=dt.UTC)) == "UTC+02:00"
    moment = dt.datetime(2026, 12, 17, 10, tzinfo=dt.UTC)
    assert local_text(moment, "Asia/Shanghai") == "2026年12月17日 18:00（北京时间）"
    assert local_text(moment, "Asia/Tokyo") == "2026年12月17日 19:00（UTC+09:00）"
