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
    Many distinct voter cookies from one network *with one User-Agent* for one candidate
    within a few hours: somebody clears cookies to vote again. Counted per browser: a
    mobile carrier's gateway puts hundreds of real voters behind one IPv4 address, each
    on a phone of their own.
``night_surge``
    During local night hours (campaign time zone), the candidate's votes in the current
    hour exceed a multiple of the candidate's own average hourly count so far, and an
    absolute floor.
``block_focus``
    Many votes for one candidate from one network block (an IPv4 /24, an IPv6 /56) within
    a few hours, and nearly all of that block's votes in the campaign go to it: a bot
    rotating addresses inside one block, whatever cookie and User-Agent it sends. Two
    signals together: people sharing a block (a carrier gateway, a campus) vote for many
    candidates, as everybody does.
``agent_focus``
    Many votes for one candidate with one User-Agent from different networks within a
    few hours, and nearly all of that User-Agent's votes in the campaign go to it: a
    proxy pool drawing from a short list of User-Agents. A real browser build is shared
    by many people (all iPhones on one iOS and WeChat version send the same string), and
    they vote for many candidates, even when a WeChat share brings them for one.

The last three are *ring* rules (``RING_RULES``): their evidence (the network and
browser, the block, the browser) links votes to each other. When one trips, the
candidate's earlier counted votes carrying the same evidence within the rule's window
are held too (``voting.rings``), so a ring's first votes, cast before the rule could see
the pattern, do not count either; staff decide the whole ring in one reviewed action.

Every counter is updated for every assessed vote, held or not. Counters are not handed
back when a later step refuses the vote (rare: a lost race on the database's unique
index), which can only make a rule slightly more sensitive.

Store keys never hold a voter cookie itself, only a short hash of it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
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

# Many cookies per network and browser: more than this many distinct voter cookies from
# one network with one User-Agent for one candidate in one six-hour window. Each cookie
# may vote for a candidate once a day; a household's two or three identical phones stay
# below, and a carrier gateway's hundreds of voters spread over hundreds of browsers.
COOKIE_LIMIT = 6
COOKIE_WINDOW = 6 * 3600

# Ring rules share the cookie rule's six-hour window (``COOKIE_WINDOW``).
# A block's focus: more than BLOCK_LIMIT votes for one candidate from one /24 (IPv6 /56)
# in the window, and at least BLOCK_SHARE of the block's votes in the campaign. Nobody
# casts six votes for one candidate from one block in a few hours except a household
# of cookie-clearers or a machine; a gateway or a campus block votes like everybody.
BLOCK_LIMIT = 5
BLOCK_SHARE = 0.8
IPV4_BLOCK = 24
IPV6_BLOCK = 56

# A browser's focus: more than AGENT_LIMIT votes for one candidate with one User-Agent
# in the window, and at least AGENT_SHARE of that User-Agent's votes in the campaign.
# People who came for one candidate after a share often spend their other votes too;
# a script spends every vote on its candidate.
AGENT_LIMIT = 5
AGENT_SHARE = 0.9

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
    "cookie_churn": "同一网络、同一浏览器反复更换投票身份",
    "night_surge": "夜间票数远超该对象平时水平",
    "block_focus": "同一网段的投票集中投给同一对象",
    "agent_focus": "同一浏览器标识在多个网络集中为同一对象投票",
}

# Rules whose evidence links votes into a ring (see the module's docstring).
RING_RULES = ("cookie_churn", "block_focus", "agent_focus")
RING_NOTE = (
    "“" + "”“".join(RULE_LABELS[name] for name in RING_RULES) + "”三条规则触发时，"
    "同一证据（同一网络与浏览器、同一网段、同一浏览器标识）在规则时段内此前已计入该对象的票"
    "一并转为待核查；整组由工作人员核查后一次放行或剔除，并记入操作日志。"
)


def rule_label(name: str) -> str:
    return RULE_LABELS.get(name, name)


def flag_labels(flags: str) -> list[str]:
    """The labels of a vote's comma-separated rule names."""
    return [rule_label(name) for name in flags.split(",") if name]


@functools.lru_cache(maxsize=65536)
def block_of(network: str) -> str:
    """The block of a network key (an IPv4 address, an IPv6 /64): its /24 or /56
    (remembered: a network votes again, and parsing is most of this rule's cost)."""
    try:
        parsed = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return network
    prefix = IPV4_BLOCK if parsed.version == 4 else IPV6_BLOCK
    return str(parsed.supernet(new_prefix=min(prefix, parsed.prefixlen)))


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
# hour, its total, its first hour, then the ring counters: the block's votes for the
# candidate, the block's votes in the campaign, the browser's votes for the candidate,
# the browser's votes in the campaign (all four in the current cookie window), the same
# four of the window before (read, added to the current ones: the ring rules look at
# the last six to twelve hours, never at a fresh start). A: the TTLs of the burst,
# regular-interval, cookie and history keys, the current hour's start, the intervals
# wanted, this vote's time. Returns: the two burst counts, this vote's slot, the cookie
# count, the hour's count, the total, the first hour, the four ring counts, then the
# times in the ``wanted`` slots before this one.
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
  for n = 9, 12 do
    out[n - 1] = incr_ttl(K[n], cookie_ttl) + tonumber(redis.call('GET', K[n + 4]) or '0')
  end
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
    for key, before in zip(keys[8:12], keys[12:16], strict=True):
        out.append(await store.incr(key, 1, cookie_ttl) + int(await store.get(before) or 0))
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
    block_limit = BLOCK_LIMIT
    block_share = BLOCK_SHARE
    agent_limit = AGENT_LIMIT
    agent_share = AGENT_SHARE

    def __init__(self, store: StateStore, **thresholds: float) -> None:
        self.store = store
        for name, value in thresholds.items():
            if not hasattr(type(self), name):
                raise TypeError(f"unknown brushing threshold: {name}")
            setattr(self, name, value)

    def describe(self) -> dict[str, str]:
        """Each rule with its current thresholds, as the dashboard explains them."""
        burst_minutes = int(self.burst_window) // 60
        hours = int(self.cookie_window) // 3600
        ring = f"{hours}–{2 * hours}"  # the current window and the one before
        return {
            "network_burst": f"同一网络 {burst_minutes} 分钟内为同一对象投票超过 "
            f"{self.network_burst} 票",
            "agent_burst": f"同一浏览器标识（User-Agent）{burst_minutes} 分钟内为同一对象"
            f"投票超过 {self.agent_burst} 票（不论网络）",
            "regular_interval": f"同一网络为同一对象连续 {self.regular_intervals} 个投票间隔"
            f"几乎相同（标准差不超过平均间隔的 {self.regular_relative_jitter:.0%}，"
            f"间隔在 {int(self.regular_max_interval) // 60} 分钟以内）",
            "cookie_churn": f"同一网络、同一浏览器标识 {hours} 小时内为同一对象使用"
            f"超过 {self.cookie_limit} 个不同的投票身份（Cookie）；同一网络的不同手机"
            "（如运营商共用出口）不计在一起",
            "night_surge": f"当地时间 {int(self.night_start):02d}:00–{int(self.night_end):02d}:00"
            f" 某一小时的票数超过该对象此前平均每小时票数的 {self.night_factor:g} 倍，"
            f"且超过 {self.night_floor} 票",
            "block_focus": f"同一网段（IPv4 /{IPV4_BLOCK}、IPv6 /{IPV6_BLOCK}）最近 {ring} 小时内"
            f"为同一对象投票超过 {self.block_limit} 票，且占该网段全部投票的 "
            f"{self.block_share:.0%} 以上（共用出口的正常用户会投给不同对象）",
            "agent_focus": f"同一浏览器标识最近 {ring} 小时内从不同网络为同一对象投票超过 "
            f"{self.agent_limit} 票，且占该浏览器标识全部投票的 {self.agent_share:.0%} 以上"
            "（同型号手机的真实用户很多，也会投给不同对象）",
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
        window = int(stamp) // int(self.cookie_window)
        cookies = f"bc:{candidate_id}:{network}:{agent_hash}:{window}"
        cookie = hashlib.sha256(voter_cookie.encode()).hexdigest()[:16]
        block = block_of(network)
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
            f"bk:{candidate_id}:{block}:{window}",
            f"bk:c{campaign_id}:{block}:{window}",
            f"bg:{candidate_id}:{agent_hash}:{window}",
            f"bg:c{campaign_id}:{agent_hash}:{window}",
        ]
        keys += [key.rsplit(":", 1)[0] + f":{window - 1}" for key in keys[8:12]]
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
        network_count, agent_count, slot, cookie_count, hour_count, total, first = counts[:7]
        block_votes, block_all, agent_votes, agent_all = (int(n) for n in counts[7:11])
        previous = counts[11:]
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
        if block_votes > self.block_limit and block_votes >= self.block_share * block_all:
            flags.append("block_focus")
        if agent_votes > self.agent_limit and agent_votes >= self.agent_share * agent_all:
            flags.append("agent_focus")
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
