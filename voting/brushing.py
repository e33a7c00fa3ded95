"""Vote brushing (刷票) checks: rules that hold suspicious votes for a city admin.

Each rule looks at the vote being cast against recent activity kept in the shared
store (fixed-window counters, take-once keys and a few numbered slots), so the checks
cost a handful of atomic store operations and never a database query on the vote
path. A vote that trips any rule is recorded as ``held``: it is in the ledger, but
does not count until a city admin releases it (see ``voting.moderation``).

The rules, each named in the vote's ``flags`` (comma-separated):

``network_burst``
    Many votes for one candidate from one network (IPv4 address, IPv6 /64) in a short
    fixed window.
``agent_burst``
    Many votes for one candidate with one User-Agent (its hash) in a short fixed window,
    whatever the network: a script behind a proxy pool keeps its User-Agent.
``regular_interval``
    Votes for one candidate from one network arriving at near-constant intervals, the
    signature of a timer loop. Every vote takes a numbered slot (one atomic increment)
    and stores its time there; the previous slots are read in one round trip.
``cookie_churn``
    Many distinct voter cookies from one network for one candidate within a few hours:
    somebody clears cookies to vote again.
``night_surge``
    During local night hours (campaign time zone), the candidate's votes in the current
    hour exceed a multiple of the candidate's own average hourly count so far, and an
    absolute floor.

Every counter is updated for every assessed vote, held or not. Counters are not handed
back when a later step refuses the vote (rare: a lost race on the database's unique
index), which can only make a rule slightly more sensitive.

Store keys never hold a voter cookie itself, only a short hash of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from portal.stores import Script, StateStore

# A network burst: more than this many votes for one candidate from one network in one
# ten-minute window. A family or an office behind one address votes a few times; ten
# votes in ten minutes for the same candidate is a machine or a ballot-stuffing room.
NETWORK_BURST = 10
BURST_WINDOW = 600  # seconds, shared by both burst rules

# A User-Agent burst: more than this many votes for one candidate with one User-Agent
# in one ten-minute window, across all networks. Higher than the network burst because
# many real voters share a popular browser build (the same WeChat or Chrome version);
# a script rotating proxies usually keeps one User-Agent (or an empty one).
AGENT_BURST = 30

# Machine-regular intervals: among the last REGULAR_INTERVALS intervals between votes
# for one candidate from one network, the standard deviation is at most
# max(REGULAR_MIN_JITTER, REGULAR_RELATIVE_JITTER × mean interval). People arriving
# independently have intervals as spread as their mean (coefficient of variation ≈ 1);
# a timer loop with network latency stays within a few per cent. Five intervals make a
# chance match of people practically impossible; intervals longer than
# REGULAR_MAX_INTERVAL are not looked at (a timer that slow gains nothing).
REGULAR_INTERVALS = 5
REGULAR_RELATIVE_JITTER = 0.05
REGULAR_MIN_JITTER = 0.25  # seconds: the floor for very short intervals
REGULAR_MAX_INTERVAL = 1800  # seconds
REGULAR_MEMORY = 3 * 3600  # seconds a vote's time (and the slot numbering) is kept

# Many cookies per network: more than this many distinct voter cookies from one network
# for one candidate in one six-hour window. Each cookie may vote for a candidate once a
# day, so a network voting for a candidate through twenty fresh identities in a few
# hours is clearing cookies (a large office NAT stays well below).
COOKIE_LIMIT = 20
COOKIE_WINDOW = 6 * 3600

# Night-time surge: in a local night hour (NIGHT_START to NIGHT_END o'clock), the votes
# for a candidate in the current hour exceed NIGHT_FACTOR × the candidate's average
# hourly count so far (nights included, the current hour excluded) and NIGHT_FLOOR.
# Real voting follows the day; nights are the quietest hours, so three times the
# all-day average at night is an anomaly. The floor keeps a candidate with little
# history from being flagged for a handful of insomniacs.
NIGHT_START = 0
NIGHT_END = 6
NIGHT_FACTOR = 3.0
NIGHT_FLOOR = 20
NIGHT_MEMORY = 90 * 24 * 3600  # seconds a candidate's history is kept (a campaign's voting)

RULE_LABELS = {
    "network_burst": "同一网络短时间内集中投票",
    "agent_burst": "同一浏览器标识短时间内集中投票",
    "regular_interval": "投票间隔过于规律（疑似程序自动投票）",
    "cookie_churn": "同一网络出现大量不同投票身份",
    "night_surge": "夜间票数远超该对象平时水平",
}


def rule_label(name: str) -> str:
    return RULE_LABELS.get(name, name)


def flag_labels(flags: str) -> list[str]:
    """The labels of a vote's comma-separated rule names."""
    return [rule_label(name) for name in flags.split(",") if name]


def local_hour_start(now: dt.datetime, timezone: str) -> tuple[int, int]:
    """The epoch second at which ``now``'s local hour began, and that local hour (0–23)."""
    local = now.astimezone(ZoneInfo(timezone))
    start = local.replace(minute=0, second=0, microsecond=0)
    return int(start.timestamp()), local.hour


def is_regular(intervals: list[float], relative: float, floor: float) -> bool:
    """Are these intervals (seconds) as even as a timer's?"""
    mean = sum(intervals) / len(intervals)
    spread = math.sqrt(sum((x - mean) ** 2 for x in intervals) / len(intervals))
    return spread <= max(floor, relative * mean)


# The counters of every rule, moved for one vote: a Lua function (``brushing(K, A)``, which
# ``voting.admission`` runs within the vote's one script) and its in-process twin.
# K: network burst, agent burst, regular-interval prefix (its slot counter is ``:n``, its
# slots ``:1``, ``:2`` …), this cookie's mark, the cookie count, the candidate's current
# hour, its total, its first hour. A: the TTLs of the burst, regular-interval, cookie and
# history keys, the current hour's start, the intervals wanted, this vote's time.
# Returns: the two burst counts, this vote's slot, the cookie count, the hour's count,
# the total, the first hour, then the times in the ``wanted`` slots before this one.
BRUSHING_LUA = """
local function incr_ttl(key, ttl)
  local value = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ttl)
  end
  return value
end

local function brushing(K, A)
  local burst_ttl, regular_ttl = tonumber(A[1]), tonumber(A[2])
  local cookie_ttl, history_ttl = tonumber(A[3]), tonumber(A[4])
  local wanted = tonumber(A[6])
  local out = {incr_ttl(K[1], burst_ttl), incr_ttl(K[2], burst_ttl)}
  local slot = incr_ttl(K[3] .. ':n', regular_ttl)
  out[3] = slot
  if redis.call('SET', K[4], '1', 'NX', 'EX', cookie_ttl) then
    out[4] = incr_ttl(K[5], cookie_ttl)
  else
    out[4] = tonumber(redis.call('GET', K[5]) or '0')
  end
  out[5] = incr_ttl(K[6], 7200)
  out[6] = incr_ttl(K[7], history_ttl)
  redis.call('SET', K[8], A[5], 'NX', 'EX', history_ttl)
  out[7] = tonumber(redis.call('GET', K[8]))
  redis.call('SET', K[3] .. ':' .. slot, A[7], 'EX', regular_ttl)
  if slot > wanted then
    for n = slot - wanted, slot - 1 do
      out[#out + 1] = redis.call('GET', K[3] .. ':' .. n)
    end
  end
  return out
end
"""


async def brushing_twin(store: StateStore, keys: list[str], args: list[Any]) -> list[Any]:
    """``brushing(K, A)`` on the in-process store."""
    burst_ttl, regular_ttl, cookie_ttl, history_ttl, hour_start, wanted, stamp = args
    out = [await store.incr(keys[0], 1, burst_ttl), await store.incr(keys[1], 1, burst_ttl)]
    slot = await store.incr(f"{keys[2]}:n", 1, regular_ttl)
    out.append(slot)
    if await store.set_if_absent(keys[3], b"1", cookie_ttl):
        out.append(await store.incr(keys[4], 1, cookie_ttl))
    else:
        out.append(int(await store.get(keys[4]) or 0))
    out.append(await store.incr(keys[5], 1, 7200))
    out.append(await store.incr(keys[6], 1, history_ttl))
    await store.set_if_absent(keys[7], str(hour_start), history_ttl)
    out.append(int(await store.get(keys[7]) or hour_start))
    await store.set(f"{keys[2]}:{slot}", stamp, regular_ttl)
    if slot > wanted:
        out += [await store.get(f"{keys[2]}:{n}") for n in range(slot - wanted, slot)]
    return out


BRUSHING = Script("brushing", BRUSHING_LUA + "\nreturn brushing(KEYS, ARGV)\n", brushing_twin)


@dataclass(frozen=True)
class Sighting:
    """One vote as the rules' counters see it: the keys and arguments of
    ``brushing(K, A)``, and what judging its results needs."""

    keys: list[str]
    args: list[Any]
    stamp: float
    hour: int
    hour_start: int


class BrushingChecks:
    """The rules, evaluated for every vote before it is recorded.

    Thresholds are class attributes (the module constants); pass keyword arguments
    with the same names in lower case to override them (tests use small values).
    """

    network_burst = NETWORK_BURST
    agent_burst = AGENT_BURST
    burst_window = BURST_WINDOW
    regular_intervals = REGULAR_INTERVALS
    regular_relative_jitter = REGULAR_RELATIVE_JITTER
    regular_min_jitter = REGULAR_MIN_JITTER
    regular_max_interval = REGULAR_MAX_INTERVAL
    regular_memory = REGULAR_MEMORY
    cookie_limit = COOKIE_LIMIT
    cookie_window = COOKIE_WINDOW
    night_start = NIGHT_START
    night_end = NIGHT_END
    night_factor = NIGHT_FACTOR
    night_floor = NIGHT_FLOOR
    night_memory = NIGHT_MEMORY

    def __init__(self, store: StateStore, **thresholds: float) -> None:
        self.store = store
        for name, value in thresholds.items():
            if not hasattr(type(self), name):
                raise TypeError(f"unknown brushing threshold: {name}")
            setattr(self, name, value)

    def describe(self) -> dict[str, str]:
        """Each rule with its current thresholds, as the dashboard explains them."""
        burst_minutes = int(self.burst_window) // 60
        return {
            "network_burst": f"同一网络 {burst_minutes} 分钟内为同一对象投票超过 "
            f"{self.network_burst} 票",
            "agent_burst": f"同一浏览器标识（User-Agent）{burst_minutes} 分钟内为同一对象"
            f"投票超过 {self.agent_burst} 票（不论网络）",
            "regular_interval": f"同一网络为同一对象连续 {self.regular_intervals} 个投票间隔"
            f"几乎相同（标准差不超过平均间隔的 {self.regular_relative_jitter:.0%}，"
            f"间隔在 {int(self.regular_max_interval) // 60} 分钟以内）",
            "cookie_churn": f"同一网络 {int(self.cookie_window) // 3600} 小时内为同一对象使用"
            f"超过 {self.cookie_limit} 个不同的投票身份（Cookie）",
            "night_surge": f"当地时间 {int(self.night_start):02d}:00–{int(self.night_end):02d}:00"
            f" 某一小时的票数超过该对象此前平均每小时票数的 {self.night_factor:g} 倍，"
            f"且超过 {self.night_floor} 票",
        }

    async def assess(self, **vote: Any) -> list[str]:
        """The names of the rules this vote (``sighting``'s keyword arguments) trips
        (empty: it counts), its counters moved in one atomic round trip; the vote path
        moves them within its own script instead."""
        sighting = self.sighting(**vote)
        return self.judge(sighting, await self.store.run(BRUSHING, sighting.keys, sighting.args))

    def sighting(
        self,
        *,
        campaign_id: int,
        candidate_id: int,
        network: str,
        agent_hash: str,
        voter_cookie: str,
        now: dt.datetime,
        timezone: str,
    ) -> Sighting:
        """The counters this vote moves. Each vote takes the next regular-interval slot
        number and writes its time there, and reads the previous slots back."""
        stamp = now.timestamp()
        burst = int(stamp) // int(self.burst_window)
        regular = f"br:{candidate_id}:{network}"
        cookies = f"bc:{candidate_id}:{network}:{int(stamp) // int(self.cookie_window)}"
        cookie = hashlib.sha256(voter_cookie.encode()).hexdigest()[:16]
        hour_start, hour = local_hour_start(now, timezone)
        history = f"bh:{candidate_id}"
        keys = [
            f"bn:{candidate_id}:{network}:{burst}",
            f"ba:{candidate_id}:{agent_hash}:{burst}",
            regular,
            f"{cookies}:{cookie}",
            f"{cookies}:n",
            f"{history}:{hour_start}",
            f"{history}:total",
            f"{history}:first",
        ]
        args = [
            int(self.burst_window) * 2,
            int(self.regular_memory),
            int(self.cookie_window) * 2,
            int(self.night_memory),
            hour_start,
            int(self.regular_intervals),
            f"{stamp:.3f}",
        ]
        return Sighting(keys, args, stamp, hour, hour_start)

    def judge(self, sighting: Sighting, counts: list[Any]) -> list[str]:
        """The rules the vote trips, from what ``brushing(K, A)`` returned for it."""
        network_count, agent_count, slot, cookie_count, hour_count, total, first, *previous = counts
        stamp, hour, hour_start = sighting.stamp, sighting.hour, sighting.hour_start
        wanted = int(self.regular_intervals)
        flags = []
        if network_count > self.network_burst:
            flags.append("network_burst")
        if agent_count > self.agent_burst:
            flags.append("agent_burst")
        if slot > wanted and self._regular(previous, stamp):
            flags.append("regular_interval")
        if int(cookie_count or 0) > self.cookie_limit:
            flags.append("cookie_churn")
        if self._night_surge(hour, hour_start, hour_count, total, int(first or hour_start)):
            flags.append("night_surge")
        return flags

    def _regular(self, previous: list[bytes | None], stamp: float) -> bool:
        """Are the previous votes' times and this one as even as a timer's? Slots not yet
        written by a concurrent vote, or left from an earlier numbering, only make the
        sequence look less regular: a missed flag, never a false one."""
        if any(v is None for v in previous):
            return False
        times = sorted([float(v) for v in previous if v is not None] + [stamp])
        if times[-1] != stamp:
            return False  # slots written out of order: let the next vote judge
        intervals = [b - a for a, b in itertools.pairwise(times)]
        if max(intervals) > self.regular_max_interval:
            return False
        return is_regular(intervals, self.regular_relative_jitter, self.regular_min_jitter)

    def _night_surge(
        self, hour: int, hour_start: int, current: int, total: int, first: int
    ) -> bool:
        """Per candidate: votes in the current local hour against its hourly average
        since its first vote."""
        if not (self.night_start <= hour < self.night_end):
            return False
        if current <= self.night_floor:
            return False
        earlier_hours = max(0, (hour_start - first) // 3600)
        if earlier_hours == 0:
            return True  # no history yet: the floor alone decides
        average = max(0, total - current) / earlier_hours
        return current > self.night_factor * average
