"""Admitting a vote: every check the shared store keeps, as one atomic step.

One Redis script (one round trip on the vote path), or its twin on the in-process store
(one step of the event loop), in this order:

1. the network's burst limit: at most ``limit`` votes in the last ``window`` seconds (a
   moving window: the times of the last ``limit`` votes, newest first);
2. the proof: the CAPTCHA's answer is taken, right or wrong (one attempt consumes it),
   or the vote pass must not have been withdrawn; a pass whose network hit the burst
   limit is withdrawn. The withdrawal mark holds when it was made: it refuses the
   voter's passes issued until then, not one earned by a CAPTCHA answered later;
3. the reservations: not twice today for this candidate (a take-once flag), the voter's
   allowance in the category and the network's daily cap (counters within limits);
4. the brushing rules' counters (``voting.brushing``; the rules judge what they return).

A step that refuses leaves what the steps before it consumed (a burst-window entry, a
CAPTCHA attempt) and changes nothing after it. The live counter moves only once the
vote is in the ledger (``VotingService.adjust_count``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from portal.stores import Script, StateStore
from voting.brushing import BRUSHING_LUA, Sighting, brushing_twin
from voting.captcha import solves


class Refusal(IntEnum):
    """What a refused admission stopped at (the script's first result)."""

    burst = 1  # second result: seconds until the window lets another vote through
    captcha_missing = 2  # used, expired or never handed out
    captcha_wrong = 3
    pass_withdrawn = 4
    taken = 5  # second result: 0 voted today, 1 the allowance, 2 the network's cap


PASS_MODE = "pass"  # noqa: S105 - a mode, not a secret
CAPTCHA_MODE = "captcha"

# KEYS: 1 burst window, 2 the proof (the CAPTCHA's answer, or the pass's withdrawal
# mark), 3 voted-today flag, 4 allowance counter, 5 network day counter, 6–21 brushing.
# ARGV: 1 now, 2 burst limit, 3 burst window (s), 4 mode, 5 answer given (for a pass:
# when it was issued, whole seconds), 6 test answer
# (or ""), 7 pass lifetime (s), 8 reservations' TTL, 9 allowance, 10 network cap,
# 11–17 brushing.
# A moving window: at most ``limit`` hits in the last ``window`` seconds, the times of the
# last ``limit`` kept newest first. ``window_hit`` takes one, or returns the seconds until
# the window lets one through (0: taken).
WINDOW_LUA = """
local function window_hit(key, now, limit, window)
  local oldest = redis.call('LINDEX', key, limit - 1)
  if oldest and tonumber(oldest) > now - window then
    return math.ceil(tonumber(oldest) + window - now)
  end
  redis.call('LPUSH', key, now)
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('EXPIRE', key, math.ceil(window))
  return 0
end
"""


async def window_hit(store: StateStore, key: str, now: float, limit: int, window: float) -> int:
    """``window_hit`` on the in-process store."""
    recent = [float(t) for t in (await store.get(key) or b"").split()]
    if len(recent) >= limit and recent[limit - 1] > now - window:
        return math.ceil(recent[limit - 1] + window - now)
    await store.set(key, " ".join(map(repr, [now, *recent][:limit])), math.ceil(window))
    return 0


async def _window_twin(store: StateStore, keys: list[str], args: list[Any]) -> list[Any]:
    return [await window_hit(store, keys[0], float(args[0]), int(args[1]), float(args[2]))]


# One hit on a moving window (KEYS: its key; ARGV: now, limit, window): {seconds to wait}.
WINDOW = Script(
    "moving-window",
    WINDOW_LUA
    + "return {window_hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))}\n",
    _window_twin,
)

ADMIT_LUA = (
    BRUSHING_LUA
    + WINDOW_LUA
    + """
local wait = window_hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
if wait > 0 then
  if ARGV[4] == 'pass' then
    redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[7])
  end
  return {1, wait}
end

if ARGV[4] == 'captcha' then
  local expected = redis.call('GETDEL', KEYS[2])
  if not expected then
    return {2}
  end
  local given = ARGV[5]
  if given ~= string.upper(expected) and (ARGV[6] == '' or given ~= ARGV[6]) then
    return {3}
  end
else
  local withdrawn = tonumber(redis.call('GET', KEYS[2]))
  if withdrawn and withdrawn >= tonumber(ARGV[5]) then
    return {4}
  end
end

local ttl = tonumber(ARGV[8])
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ttl) then
  return {5, 0}
end
local used = incr_ttl(KEYS[4], ttl)
if used > tonumber(ARGV[9]) then
  redis.call('DECR', KEYS[4])
  redis.call('DEL', KEYS[3])
  return {5, 1}
end
local network = incr_ttl(KEYS[5], ttl)
if network > tonumber(ARGV[10]) then
  redis.call('DECR', KEYS[5])
  redis.call('DECR', KEYS[4])
  redis.call('DEL', KEYS[3])
  return {5, 2}
end

local result = {0, used, network}
for _, value in ipairs(brushing({unpack(KEYS, 6, 21)}, {unpack(ARGV, 11, 17)})) do
  result[#result + 1] = value
end
return result
"""
)


def withdrawn_since(mark: bytes | None, issued: str) -> bool:
    """Was a pass issued at ``issued`` (whole seconds) withdrawn by the ``mark`` (when
    the voter's passes were withdrawn)?"""
    return mark is not None and float(mark) >= float(issued)


async def admit_twin(store: StateStore, keys: list[str], args: list[Any]) -> list[Any]:
    """The admission script on the in-process store."""
    mode, given, test_answer, pass_lifetime = args[3], args[4], args[5], int(args[6])
    wait = await window_hit(store, keys[0], float(args[0]), int(args[1]), float(args[2]))
    if wait:
        if mode == PASS_MODE:
            await store.set(keys[1], repr(float(args[0])), pass_lifetime)
        return [Refusal.burst, wait]

    if mode == CAPTCHA_MODE:
        expected = await store.get_delete(keys[1])
        if expected is None:
            return [Refusal.captcha_missing]
        if not solves(given, expected, test_answer):
            return [Refusal.captcha_wrong]
    elif withdrawn_since(await store.get(keys[1]), given):
        return [Refusal.pass_withdrawn]

    ttl = int(args[7])
    if not await store.set_if_absent(keys[2], b"1", ttl):
        return [Refusal.taken, 0]
    used = await store.incr(keys[3], 1, ttl)
    if used > int(args[8]):
        await store.incr(keys[3], -1)
        await store.delete(keys[2])
        return [Refusal.taken, 1]
    network = await store.incr(keys[4], 1, ttl)
    if network > int(args[9]):
        await store.incr(keys[4], -1)
        await store.incr(keys[3], -1)
        await store.delete(keys[2])
        return [Refusal.taken, 2]
    return [0, used, network, *await brushing_twin(store, keys[5:21], args[10:17])]


ADMIT = Script("admit-vote", ADMIT_LUA, admit_twin)


@dataclass(frozen=True)
class Admission:
    """What one vote asks of the store."""

    now: float
    burst_key: str
    burst_limit: int
    burst_window: float
    # The CAPTCHA's answer key, or the pass's withdrawal mark, with the answer given
    # (upper case; for a pass the time it was issued) and the test answer ("" when none).
    mode: str
    proof_key: str
    answer: str
    test_answer: str
    pass_lifetime: int
    once_key: str
    quota_key: str
    allowance: int
    network_day_key: str
    network_cap: int
    reservation_ttl: int
    sighting: Sighting


@dataclass(frozen=True)
class Admitted:
    """A vote let through: the allowance used so far (this vote included), and what the
    brushing counters returned."""

    used: int
    counts: list[Any]


class NotAdmitted(Exception):
    """The store refused the vote at ``refusal`` (``detail``: see ``Refusal``)."""

    def __init__(self, refusal: Refusal, detail: int = 0) -> None:
        super().__init__(refusal.name)
        self.refusal = refusal
        self.detail = detail


async def admit(store: StateStore, a: Admission) -> Admitted:
    """Run the checks of one vote in one step; raise ``NotAdmitted`` saying which
    refused."""
    keys = [a.burst_key, a.proof_key, a.once_key, a.quota_key, a.network_day_key]
    args = [
        repr(a.now),
        a.burst_limit,
        a.burst_window,
        a.mode,
        a.answer,
        a.test_answer,
        a.pass_lifetime,
        a.reservation_ttl,
        a.allowance,
        a.network_cap,
    ]
    result = await store.run(ADMIT, keys + a.sighting.keys, args + a.sighting.args)
    code = int(result[0])
    if code:
        raise NotAdmitted(Refusal(code), int(result[1]) if len(result) > 1 else 0)
    return Admitted(used=int(result[1]), counts=result[3:])
