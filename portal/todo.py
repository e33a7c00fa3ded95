"""To-dos (待办) on the staff home page: what each app asks of a staff member now.

Each app registers a ``StaffReminders`` function in ``Extensions.staff_reminders``
(``portal.plugins``); the kernel imports no app. An item is any object with ``text``,
``href`` and ``urgent``; a ``Todo`` also carries its deadline, the campaign's time zone
and the campaign's step, so that the home page can say how long is left and group it.

How long is left is said in Chinese working days (``portal.workdays``: the State
Council's holidays and 调休 weekend workdays), as bureaus state periods. For a year whose
holiday arrangement the calendar does not know, it is said in calendar days, and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from portal import workdays
from portal.campaigns import zone
from portal.clock import utc_now
from portal.zones import local_text

DEFAULT_TZ = "Asia/Shanghai"
# A deadline this many working days away (or fewer) is shown as close.
SOON_WORKDAYS = 3


@dataclass(frozen=True)
class Todo:
    """One thing a staff member should do: what, where, and by when."""

    text: str
    href: str
    deadline: dt.datetime | None = None
    tz: str = DEFAULT_TZ
    # What the deadline is (e.g. "推荐申报截止"), shown before its time.
    deadline_label: str = "截止"
    urgent: bool = False
    # The campaign it belongs to ("" for none), to group it on the city's dashboard.
    campaign: str = ""


@dataclass(frozen=True)
class TimeLeft:
    """How long is left until a deadline, as the home page says it."""

    text: str
    overdue: bool
    soon: bool


def deadline_text(deadline: dt.datetime, tz: str = DEFAULT_TZ) -> str:
    """The deadline in the campaign's zone, named as people name it (北京时间)."""
    return local_text(deadline, tz)


def time_left(
    deadline: dt.datetime, tz: str = DEFAULT_TZ, now: dt.datetime | None = None
) -> TimeLeft:
    """How long is left until ``deadline``: working days after today up to the deadline's
    day ("还剩 3 个工作日"), "今天截止", or "已逾期 N 天"."""
    now = now or utc_now()
    local = zone(tz)
    today = now.astimezone(local).date()
    last = deadline.astimezone(local).date()
    if deadline <= now:
        days = (today - last).days
        return TimeLeft(f"已逾期 {days} 天" if days else "已过截止时间", True, True)
    if last == today:
        return TimeLeft("今天截止", False, True)
    calendar_days = (last - today).days
    try:
        count = workdays.workdays_between(today, last)
    except workdays.CalendarUnknown as exc:
        return TimeLeft(
            f"还剩 {calendar_days} 天（{exc.year}年节假日安排未收录，按自然日计）",
            False,
            calendar_days <= SOON_WORKDAYS,
        )
    if count == 0:
        return TimeLeft(f"截止前已无工作日（还剩 {calendar_days} 天）", False, True)
    return TimeLeft(f"还剩 {count} 个工作日", False, count <= SOON_WORKDAYS)


def view(item: Any, now: dt.datetime | None = None) -> dict[str, Any]:
    """An item of any app as the home page shows it: its text and link, its deadline
    and how long is left (for a ``Todo`` with a deadline), and whether it is urgent."""
    deadline = getattr(item, "deadline", None)
    tz = getattr(item, "tz", DEFAULT_TZ) or DEFAULT_TZ
    left = time_left(deadline, tz, now) if deadline is not None else None
    return {
        "text": item.text,
        "href": item.href,
        "campaign": getattr(item, "campaign", ""),
        "deadline": deadline,
        "deadline_label": getattr(item, "deadline_label", "截止"),
        "due": deadline_text(deadline, tz) if deadline is not None else "",
        "left": left.text if left else "",
        "soon": bool(left and left.soon),
        "urgent": bool(item.urgent or (left and left.overdue)),
    }


async def todos_of(
    user: Any, reminders: dict[str, Any], now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Every app's to-dos for ``user``: overdue first, then by deadline (none last)."""
    items = [view(item, now) for remind in reminders.values() for item in await remind(user)]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(key=lambda item: (not item["urgent"], item["deadline"] or far))
    return items
