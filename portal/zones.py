"""Time zones named as people in China name them: 北京时间, not ``Asia/Shanghai``.

Pages and messages show every time in the campaign's zone; the zone is named by what it
is called (北京时间 for the zones that keep China Standard Time, 新疆时间 for Xinjiang's
UTC+6 zone) or else by its UTC offset ("UTC+09:00"), never by its IANA id. Stored
values and the API keep ISO times with their offsets.
"""

from __future__ import annotations

import datetime as dt

from portal.campaigns import zone

# The IANA ids (and their aliases) that keep China Standard Time, UTC+8 all year.
BEIJING_ZONES = frozenset(
    {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}
)
XINJIANG_ZONES = frozenset({"Asia/Urumqi", "Asia/Kashgar"})


def utc_offset(tz: str, at: dt.datetime | None = None) -> str:
    """The zone's offset at ``at`` (now if None), as "UTC+09:00"."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(zone(tz))
    offset = moment.utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_label(tz: str | None, at: dt.datetime | None = None) -> str:
    """What people call the zone ``tz``: 北京时间, 新疆时间（UTC+06:00）, or its offset."""
    tz = tz or "Asia/Shanghai"
    if zone(tz).key in BEIJING_ZONES:
        return "北京时间"
    if tz in XINJIANG_ZONES:
        return f"新疆时间（{utc_offset(tz, at)}）"
    return utc_offset(tz, at)


def local_text(value: dt.datetime, tz: str, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    """A time in the zone ``tz`` with the zone's name: "2026年12月17日 18:00（北京时间）"."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return f"{value.astimezone(zone(tz)).strftime(fmt)}（{zone_label(tz, value)}）"
