"""`make brushing-eval`: how well the brushing rules hold bought votes, measured.

Labelled traffic runs against a real server (bench/infra.py's deployment and server
processes: a migrated database, campaigns open for voting, the portal's own app behind
uvicorn), one campaign per *profile*. Every profile mixes an attack (or, for the two
false-positive traps, a crowd of real people) into a background of human-like voters:
each on a network of its own (IPv4 over many /16s, a fifth on IPv6), a phone browser
(mostly the WeChat in-app browser, whose User-Agent names the system and WeChat build,
on Android also the phone), one to four votes in the two categories by the candidates'
popularity, irregular pauses between them.

Profiles (``PROFILES``):

- ``cookie_churn``: one address, one User-Agent, a fresh cookie for every vote;
- ``rotation_24``: five bots in one /24, a fresh address and cookie every vote, one
  User-Agent each, a timer's pace (the issue's own measurement);
- ``proxy_pool``: a residential proxy pool, every vote from another /16, jittered human
  timing, User-Agents drawn from a list of ten;
- ``carrier_gateway``: two hundred real voters behind one mobile carrier IPv4 address
  (the false-positive trap: no attack);
- ``ipv6_56``: a fresh /64 inside one /56 for every vote;
- ``slow_drip``: a vote every ten to twenty minutes for a whole day, every vote from
  another /16, one User-Agent;
- ``wechat_surge``: a share in WeChat brings real people to vote for a relative within
  the hour (legitimate: must not be held; no attack).

Time is simulated: the server is the portal's app with its vote clock
(``VotingService.clock``, also the ledger writer's) read from a file this harness
writes before every request, so a profile's hours (a whole day for the drip) pass in
seconds and every vote carries its simulated time, exactly. Requests are sent one at a
time in simulated-time order, so a seed gives the same traffic and the same figures.

Client addresses reach the portal as a real deployment's do: from the trusted proxy
127.0.0.1 in ``X-Forwarded-For`` (``PORTAL_TRUSTED_PROXIES``). Challenges are fetched
from addresses of their own (198.18.0.0/15): their per-network limit runs on the real
clock, which the simulation compresses. The campaigns allow 2,000 votes a day per
network, as a campaign expecting carrier gateways would be configured (the default
100 would refuse most of the gateway's voters; refusals are reported apart).

Figures, per profile and overall: attack votes recorded, and the share of them held or
excluded at the end of the run; human votes recorded and the share held; whether the
honour list (per category the top ``quota`` by counted votes) equals the honour list of
the human votes alone. Written to ``bench/brushing.json``; exit 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import random
import signal
import struct
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as `python bench/brushing.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from rich.console import Console
from rich.table import Table

from bench import infra

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "brushing.json"
TEST_ANSWER = "BRUSH"
TIMEZONE = "Asia/Shanghai"  # the campaigns' (bench.campaign's default)
CLOCK_ENV = "BRUSHING_CLOCK_FILE"
CONFIGS = ("sqlite+memory", "postgres+redis")
# Targets (the issue's).
ATTACK_HELD_TARGET = 0.95
HUMAN_HELD_TARGET = 0.01
# Category key → (candidates, votes a day, honour list places), as bench.campaign makes
# them with units=5, mediators=8.
CATEGORIES = {"judicial-office": (5, 3, 2), "mediator": (8, 2, 2)}
# How popular each candidate is with the human voters (weights, by index).
POPULARITY = {"judicial-office": (35, 25, 18, 12, 10), "mediator": (30, 24, 14, 10, 8, 6, 5, 3)}
TARGET = ("mediator", 4)  # the candidate the attacks push
RELATIVE = ("mediator", 6)  # the candidate a WeChat share brings people to
CAMPAIGN_FIELDS = {"network_votes_per_day": 2000}

console = Console(highlight=False, width=150)


# --- the simulated clock (in the server) ------------------------------------------------


class FileClock:
    """The time as the harness last wrote it to ``path`` (8 bytes: a double, epoch
    seconds): one ``pread`` per reading."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDONLY)

    def __call__(self) -> dt.datetime:
        (stamp,) = struct.unpack("d", os.pread(self.fd, 8, 0))
        return dt.datetime.fromtimestamp(stamp, dt.UTC)


def set_clock(path: Path, stamp: float) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, struct.pack("d", stamp), 0)
    finally:
        os.close(fd)


def create_app():  # type: ignore[no-untyped-def]
    """The portal's app (``portal.app.create_app``, the environment's settings) with the
    vote clock read from the file of ``BRUSHING_CLOCK_FILE``."""
    from portal.app import create_app as portal_app

    app = portal_app()
    app.state.voting.clock = FileClock(os.environ[CLOCK_ENV])
    return app


def serve_command(host: str, port: int) -> list[str]:
    """The server of the simulation: one uvicorn worker on ``create_app``."""
    return [sys.executable, "-m", "bench.brushing", "--serve", f"{host}:{port}"]


def _serve(where: str) -> None:
    import uvicorn

    host, port = where.rsplit(":", 1)
    uvicorn.run(
        "bench.brushing:create_app",
        factory=True,
        host=host,
        port=int(port),
        proxy_headers=False,  # the portal reads X-Forwarded-For itself
        log_level="warning",
        access_log=False,
    )


# --- the traffic (pure, seeded) ----------------------------------------------------------


@dataclass(frozen=True)
class Vote:
    """One vote to send: when (seconds after the profile's start), whose, from where."""

    at: float
    label: str  # "human" or "attack"
    voter: str  # a cookie jar: a person keeps one, a bot's every vote has a fresh one
    address: str
    agent: str
    category: str
    candidate: int  # index in the category


IOS = (("18_1", 25), ("17_6_1", 20), ("18_0_1", 15), ("17_5_1", 12), ("16_7_10", 10))
IOS += (("18_2", 10), ("17_4_1", 8))
WECHAT = (("8.0.53", 30), ("8.0.51", 25), ("8.0.50", 20), ("8.0.49", 15), ("8.0.48", 10))
NETTYPE = (("WIFI", 55), ("5G", 25), ("4G", 20))
ANDROID_PHONES = (
    "V2148A", "PGT-AN10", "22081212C", "M2012K11AC", "ALN-AL00", "SM-S9180", "PJZ110",
    "2211133C", "RMX3700", "NOH-AN00", "V2309A", "PHB110", "23049RAD8C", "BRA-AL00",
    "LGE-AN10", "PGKM10", "V2243A", "23078RKD5C", "CPH2451", "ELS-AN00", "JAD-AL50",
    "PFUM10", "V2055A", "M2102J2SC", "ANA-AN00", "2206122SC", "RMX3560", "PEEM00",
)  # fmt: skip
ANDROID = (("14", 35), ("13", 30), ("12", 20), ("11", 10), ("10", 5))
XWEB = (("1300289", 30), ("1300333", 25), ("1260117", 20), ("1220051", 15), ("1160065", 10))
# A short list such as scripts carry (desktop and generic mobile browsers).
BOT_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.0.0 Safari/537.36",
    "python-requests/2.31.0",
)
# First octets of the ranges Chinese broadband and mobile carriers announce (humans'
# and residential proxies' addresses), and the carriers' IPv6 /20s.
CARRIER_OCTETS = (36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115)
CARRIER_OCTETS += (116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183)
CARRIER_OCTETS += (202, 210, 211, 218, 219, 220, 221, 222, 223)
CARRIER_V6 = (0x2408_8000, 0x240E_0000, 0x2409_8000)  # first 32 bits, /20 prefixes
# The local mobile carrier's pools a WeChat share's crowd comes from (/16s).
LOCAL_POOLS = ((112, 96), (112, 97), (39, 144), (117, 136), (183, 224), (223, 104))


def pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def human_agent(rng: random.Random) -> str:
    """A phone browser's User-Agent as real voters send them."""
    kind = rng.random()
    net = pick(rng, NETTYPE)
    if kind < 0.45:  # WeChat on an iPhone: no phone model in the string
        ios, wechat = pick(rng, IOS), pick(rng, WECHAT)
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 MicroMessenger/{wechat}(0x1800{wechat[-2:]}31) "
            f"NetType/{net} Language/zh_CN"
        )
    android, phone = pick(rng, ANDROID), rng.choice(ANDROID_PHONES)
    if kind < 0.85:  # WeChat on Android: the phone, the system, XWEB and WeChat builds
        xweb, wechat = pick(rng, XWEB), pick(rng, WECHAT)
        return (
            f"Mozilla/5.0 (Linux; Android {android}; {phone} Build/UP1A.231005.007; wv) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.120 "
            f"Mobile Safari/537.36 XWEB/{xweb} MMWEBSDK/20240404 MicroMessenger/{wechat}"
            f".2620(0x28003{wechat[-2:]}) WeChat/arm64 Weixin NetType/{net} Language/zh_CN "
            "ABI/arm64"
        )
    if kind < 0.93:  # Safari
        ios = pick(rng, IOS)
        version = ios.split("_")[0]
        return (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{version}.0 Mobile/15E148 Safari/604.1"
        )
    return (  # a phone maker's browser
        f"Mozilla/5.0 (Linux; Android {android}; {phone}) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/114.0.5735.196 Mobile Safari/537.36 HuaweiBrowser/15.0.4.312"
    )


def carrier_address(rng: random.Random, v6_share: float = 0.2) -> str:
    """A home or mobile address: IPv4 in a carrier range, or an IPv6 address."""
    if rng.random() < v6_share:
        top = rng.choice(CARRIER_V6) | rng.getrandbits(12)
        return str(ipaddress.IPv6Address((top << 96) | rng.getrandbits(96)))
    octets = (rng.choice(CARRIER_OCTETS), rng.randrange(256), rng.randrange(256))
    return f"{octets[0]}.{octets[1]}.{octets[2]}.{rng.randrange(1, 255)}"


def session(
    rng: random.Random, start: float, voter: str, address: str, agent: str, label: str = "human"
) -> list[Vote]:
    """A person's visit: one to four votes by popularity, irregular pauses."""
    mediators = rng.choices((0, 1, 2), (15, 45, 40))[0]
    units = rng.choices((0, 1, 2), (35, 40, 25))[0]
    if mediators + units == 0:
        mediators = 1
    picks = []
    for category, count in (("mediator", mediators), ("judicial-office", units)):
        weights = list(POPULARITY[category])
        for _ in range(count):
            index = rng.choices(range(len(weights)), weights)[0]
            weights[index] = 0
            picks.append((category, index))
    rng.shuffle(picks)
    votes, at = [], start
    for category, index in picks:
        votes.append(Vote(at, label, voter, address, agent, category, index))
        at += rng.lognormvariate(3.0, 0.8)  # about 20 s, now and then a minute or more
    return votes


def background(
    rng: random.Random, voters: int, span: float, day_shaped: bool = False
) -> list[Vote]:
    """Human voters arriving over ``span`` seconds (by the hour of the day when
    ``day_shaped``: few at night, most in the evening)."""
    hours = (1, 1, 1, 1, 1, 2, 4, 8, 10, 9, 8, 9, 12, 10, 8, 8, 9, 10, 12, 16, 18, 16, 9, 4)
    votes = []
    for i in range(voters):
        if day_shaped:  # the profile starts at 08:00
            hour = rng.choices(range(24), hours[8:] + hours[:8])[0]
            start = min(span - 1, hour * 3600 + rng.uniform(0, 3600))
        else:
            start = rng.uniform(0, span)
        votes += session(rng, start, f"h{i}", carrier_address(rng), human_agent(rng))
    return votes


@dataclass(frozen=True)
class Profile:
    name: str
    title: str  # what it is, for the table
    start_hour: int  # local hour of the simulated day at which it starts
    span: float  # seconds
    humans: int
    attack: Callable[[random.Random, float], list[Vote]]
    day_shaped: bool = False


def bot_vote(at: float, n: int, address: str, agent: str) -> Vote:
    return Vote(at, "attack", f"a{n}", address, agent, *TARGET)


def attack_cookie_churn(rng: random.Random, span: float) -> list[Vote]:
    address, agent, at = carrier_address(rng, 0), rng.choice(BOT_AGENTS), span * 0.2
    votes = []
    for n in range(150):
        votes.append(bot_vote(at, n, address, agent))
        at += rng.uniform(30, 80)
    return votes


def attack_rotation_24(rng: random.Random, span: float) -> list[Vote]:
    block = carrier_address(rng, 0).rsplit(".", 1)[0]
    hosts = rng.sample(range(1, 255), 150)
    votes = []
    for bot, agent in enumerate(rng.sample(BOT_AGENTS, 5)):
        at, pace = rng.uniform(0, span / 3), rng.uniform(30, 90)
        for i in range(30):
            n = bot * 30 + i
            votes.append(bot_vote(at, n, f"{block}.{hosts[n]}", agent))
            at += pace + rng.uniform(-0.5, 0.5)
    return votes


def attack_proxy_pool(rng: random.Random, span: float) -> list[Vote]:
    agents, at, used = rng.sample(BOT_AGENTS, 10), span * 0.1, set()
    votes = []
    for n in range(160):
        address = carrier_address(rng, 0)
        while address.rsplit(".", 2)[0] in used:  # every vote from another /16
            address = carrier_address(rng, 0)
        used.add(address.rsplit(".", 2)[0])
        votes.append(bot_vote(at, n, address, rng.choice(agents)))
        at += min(rng.expovariate(1 / 55), 400)
    return votes


def attack_ipv6_56(rng: random.Random, span: float) -> list[Vote]:
    prefix = (rng.choice(CARRIER_V6) << 96) | (rng.getrandbits(24) << 72)  # a /56
    subnets = rng.sample(range(256), 140)
    agents, at = rng.sample(BOT_AGENTS, 2), span * 0.15
    votes = []
    for n, subnet in enumerate(subnets):
        address = ipaddress.IPv6Address(prefix | (subnet << 64) | rng.getrandbits(64))
        votes.append(bot_vote(at, n, str(address), rng.choice(agents)))
        at += rng.uniform(20, 70)
    return votes


def attack_slow_drip(rng: random.Random, span: float) -> list[Vote]:
    agent, at = rng.choice(BOT_AGENTS), rng.uniform(0, 600)
    votes, n = [], 0
    while at < span:
        votes.append(bot_vote(at, n, carrier_address(rng, 0), agent))
        n += 1
        at += rng.uniform(600, 1200)
    return votes


def crowd_gateway(rng: random.Random, span: float) -> list[Vote]:
    """Two hundred real people behind one carrier address (labelled human)."""
    address = carrier_address(rng, 0)
    votes = []
    for i in range(200):
        votes += session(rng, rng.uniform(0, span), f"g{i}", address, human_agent(rng))
    return votes


def crowd_wechat(rng: random.Random, span: float) -> list[Vote]:
    """A share in WeChat: real people vote for the relative within the hour (most in
    the first quarter), about half of them spend their other votes too."""
    votes = []
    for i in range(180):
        start = span * 0.3 + min(rng.expovariate(1 / 900), 3600)
        pool = rng.choice(LOCAL_POOLS)
        address = f"{pool[0]}.{pool[1]}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        agent, voter = human_agent(rng), f"w{i}"
        votes.append(Vote(start, "human", voter, address, agent, *RELATIVE))
        if rng.random() < 0.5:  # within the day's allowance: one more mediator at most
            more = session(rng, start + rng.uniform(10, 60), voter, address, agent)
            mediators = [
                v for v in more if v.category == RELATIVE[0] and v.candidate != RELATIVE[1]
            ]
            votes += [v for v in more if v.category != RELATIVE[0]] + mediators[:1]
    return votes


HOURS = 3600.0
PROFILES = (
    Profile("cookie_churn", "单一地址 + 换 Cookie", 18, 3 * HOURS, 220, attack_cookie_churn),
    Profile("rotation_24", "同一 /24 内轮换地址", 18, 3 * HOURS, 220, attack_rotation_24),
    Profile("proxy_pool", "住宅代理池（多个 /16）", 18, 3 * HOURS, 220, attack_proxy_pool),
    Profile("carrier_gateway", "运营商共用出口（真实用户）", 18, 3 * HOURS, 220, crowd_gateway),
    Profile("ipv6_56", "同一 IPv6 /56 内轮换", 18, 3 * HOURS, 220, attack_ipv6_56),
    Profile("slow_drip", "全天慢速滴投", 8, 24 * HOURS, 500, attack_slow_drip, True),
    Profile("wechat_surge", "微信转发后亲友集中投票（真实用户）", 19, 3 * HOURS, 220, crowd_wechat),
)


def traffic(profile: Profile, seed: int) -> list[Vote]:
    """The profile's votes, in the order they are sent (by time): the same for a seed."""
    rng = random.Random(f"{seed}:{profile.name}")  # noqa: S311 - a simulation's, not a secret
    votes = background(rng, profile.humans, profile.span, profile.day_shaped)
    votes += profile.attack(rng, profile.span)
    return sorted((v for v in votes if v.at < profile.span), key=lambda v: (v.at, v.voter))


# --- running a profile -------------------------------------------------------------------


@dataclass
class Outcome:
    """What became of one label's votes in one profile."""

    sent: int = 0
    recorded: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    counted: int = 0
    held: int = 0
    excluded: int = 0

    @property
    def stopped_share(self) -> float:
        return (self.held + self.excluded) / self.recorded if self.recorded else 0.0

    @property
    def held_share(self) -> float:
        return self.held / self.recorded if self.recorded else 0.0

    def add(self, other: Outcome) -> None:
        self.sent += other.sent
        self.recorded += other.recorded
        self.refused += other.refused
        self.counted += other.counted
        self.held += other.held
        self.excluded += other.excluded

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "refused": {str(k): v for k, v in sorted(self.refused.items())}}


@dataclass
class ProfileRun:
    profile: Profile
    attack: Outcome = field(default_factory=Outcome)
    human: Outcome = field(default_factory=Outcome)
    honours: dict[str, list[int]] = field(default_factory=dict)
    honours_without: dict[str, list[int]] = field(default_factory=dict)
    flags: Counter[str] = field(default_factory=Counter)

    @property
    def honours_unchanged(self) -> bool:
        return self.honours == self.honours_without

    def record(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "title": self.profile.title,
            "attack": self.attack.record(),
            "attack_held_or_excluded": round(self.attack.stopped_share, 4),
            "human": self.human.record(),
            "human_held": round(self.human.held_share, 4),
            "honour_list_unchanged": self.honours_unchanged,
            "honour_list": self.honours,
            "honour_list_without_attack": self.honours_without,
            "rules": dict(self.flags.most_common()),
        }


def honour_list(tally: Counter[tuple[str, int]]) -> dict[str, list[int]]:
    """Per category, the candidates (indexes) with the most votes, as many as places."""
    honours = {}
    for category, (count, _, places) in CATEGORIES.items():
        ranked = sorted(range(count), key=lambda i: (-tally[(category, i)], i))
        honours[category] = sorted(ranked[:places])
    return honours


class Client:
    """The voters' side: challenges from addresses of their own, votes with the
    voter's cookie and pass, the simulated clock set before each request."""

    def __init__(self, server: infra.Server, clock_file: Path, base_time: float) -> None:
        self.http = httpx.Client(base_url=server.base, timeout=30.0)
        self.clock_file = clock_file
        self.base_time = base_time
        self.challenges = 0
        self.cookies: dict[str, str] = {}
        self.passes: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def challenge(self) -> str:
        for _ in range(600):
            self.challenges += 1
            n = self.challenges
            address = f"198.{18 + (n >> 16) % 2}.{(n >> 8) & 255}.{n & 255}"
            answer = self.http.post("/api/v1/captcha", headers={"X-Forwarded-For": address})
            if answer.status_code == 201:
                return answer.json()["captcha_id"]
            if answer.status_code != 503:
                raise infra.SetupError(f"challenge refused: {answer.status_code} {answer.text}")
            time.sleep(0.2)  # the pool is being drawn
        raise infra.SetupError("the CAPTCHA pool never refilled")

    def cast(self, slug: str, candidate_id: int, vote: Vote) -> httpx.Response:
        set_clock(self.clock_file, self.base_time + vote.at)
        headers = {"X-Forwarded-For": vote.address, "User-Agent": vote.agent}
        if vote.voter in self.cookies:
            headers["Cookie"] = f"portal_voter={self.cookies[vote.voter]}"
        body: dict[str, Any] = {"candidate_id": candidate_id}
        if vote.voter in self.passes:
            body["vote_pass"] = self.passes[vote.voter]
        else:
            body |= {"captcha_id": self.challenge(), "captcha_answer": TEST_ANSWER}
        answer = self.http.post(f"/api/v1/campaigns/{slug}/votes", json=body, headers=headers)
        self.http.cookies.clear()  # each voter's cookie is its own (sent above)
        if cookie := answer.cookies.get("portal_voter"):
            self.cookies[vote.voter] = cookie
        if answer.status_code == 201 and answer.json().get("vote_pass"):
            self.passes[vote.voter] = answer.json()["vote_pass"]
        else:
            self.passes.pop(vote.voter, None)
        return answer


def simulated_day_start(start_hour: int) -> float:
    """Tomorrow at ``start_hour`` in the campaigns' zone (inside their voting window)."""
    zone = ZoneInfo(TIMEZONE)
    tomorrow = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(start_hour), zone).timestamp()


def run_profile(
    profile: Profile,
    seed: int,
    slug: str,
    candidates: dict[str, list[int]],
    server: infra.Server,
    deployment: infra.Deployment,
    clock_file: Path,
) -> ProfileRun:
    votes = traffic(profile, seed)
    client = Client(server, clock_file, simulated_day_start(profile.start_hour))
    run = ProfileRun(profile)
    receipts: dict[str, Vote] = {}
    try:
        for vote in votes:
            outcome = run.attack if vote.label == "attack" else run.human
            outcome.sent += 1
            answer = client.cast(slug, candidates[vote.category][vote.candidate], vote)
            if answer.status_code == 201:
                outcome.recorded += 1
                receipts[answer.json()["receipt"]] = vote
            elif answer.status_code >= 500:
                raise infra.SetupError(f"{answer.status_code} from the server:\n{answer.text}")
            else:
                outcome.refused[answer.status_code] += 1
    finally:
        client.close()
    rows = asyncio.run(
        infra.ledger_rows(
            deployment.database_url, slug, columns="v.receipt, v.status, v.flags, v.candidate"
        )
    )
    counted: Counter[tuple[str, int]] = Counter()
    humans: Counter[tuple[str, int]] = Counter()
    for row in rows:
        vote = receipts[row["receipt"]]
        outcome = run.attack if vote.label == "attack" else run.human
        setattr(outcome, row["status"], getattr(outcome, row["status"]) + 1)
        key = (vote.category, vote.candidate)
        if row["status"] == "counted":
            counted[key] += 1
        if vote.label == "human":
            humans[key] += 1
        run.flags.update(f"{vote.label}:{name}" for name in row["flags"].split(",") if name)
    run.honours, run.honours_without = honour_list(counted), honour_list(humans)
    return run


def evaluate(seed: int, config: str, names: Sequence[str], workdir: Path) -> list[ProfileRun]:
    profiles = [p for p in PROFILES if p.name in names]
    campaigns = {f"brush-{p.name.replace('_', '-')}": CAMPAIGN_FIELDS for p in profiles}
    with contextlib.ExitStack() as stack:
        if config == "postgres+redis":
            database_url, _ = infra.fresh_postgres_database(stack, "portal_brushing")
            redis_url, _ = infra.private_or_shared_redis(stack)
        else:
            database_url, redis_url = f"sqlite:///{workdir / 'portal.sqlite3'}", None
        deployment = infra.deploy(
            database_url,
            workdir / "var",
            campaigns,
            test_answer=TEST_ANSWER,
            pool_size=400,
            redis_url=redis_url,
        )
        clock_file = workdir / "clock"
        set_clock(clock_file, time.time())
        # The server runs in the deployment's folder: bench is found from the project.
        path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        env = {**deployment.env, CLOCK_ENV: str(clock_file), "PYTHONPATH": path}
        server = infra.Server(env, workdir / "server.log", command=serve_command)
        stack.callback(server.stop)
        server.wait_ready(pool=50, seconds=120)
        runs = []
        for profile, slug in zip(profiles, campaigns, strict=True):
            started = time.monotonic()
            console.print(f"  {profile.name:<16} {profile.title} …", end=" ")
            try:
                run = run_profile(
                    profile, seed, slug, deployment.campaigns[slug], server, deployment, clock_file
                )
            except (httpx.HTTPError, KeyError) as exc:
                raise infra.SetupError(f"{exc!r}\nserver log:\n{server.log_tail()}") from exc
            console.print(
                f"{run.attack.recorded + run.human.recorded} votes in "
                f"{time.monotonic() - started:.0f} s"
            )
            runs.append(run)
        if "Traceback" in server.log_tail(100_000):
            raise infra.SetupError(f"the server logged an error:\n{server.log_tail()}")
    return runs


# --- report -------------------------------------------------------------------------------


def totals(runs: Sequence[ProfileRun]) -> tuple[Outcome, Outcome]:
    attack, human = Outcome(), Outcome()
    for run in runs:
        attack.add(run.attack)
        human.add(run.human)
    return attack, human


def targets_met(runs: Sequence[ProfileRun]) -> dict[str, bool]:
    attack, human = totals(runs)
    return {
        "attack_held": attack.stopped_share >= ATTACK_HELD_TARGET,
        "human_held": human.held_share <= HUMAN_HELD_TARGET,
        "honour_list": all(run.honours_unchanged for run in runs),
    }


def _share(outcome: Outcome, value: float) -> str:
    return f"{value:.1%}" if outcome.recorded else "—"


def report(runs: Sequence[ProfileRun]) -> None:
    table = Table(title="make brushing-eval")
    for name in ("profile", "attack votes", "held/excluded", "human votes", "human held"):
        table.add_column(name, justify="left" if name == "profile" else "right")
    table.add_column("honour list")
    for run in runs:
        a, h = run.attack, run.human
        table.add_row(
            f"{run.profile.name} ({run.profile.title})",
            str(a.recorded) if a.recorded else "—",
            _share(a, a.stopped_share),
            str(h.recorded),
            f"{h.held_share:.1%}",
            "unchanged" if run.honours_unchanged else "[red]changed[/]",
        )
    attack, human = totals(runs)
    table.add_row(
        "[bold]overall[/]",
        str(attack.recorded),
        _share(attack, attack.stopped_share),
        str(human.recorded),
        f"{human.held_share:.1%}",
        "unchanged" if all(r.honours_unchanged for r in runs) else "[red]changed[/]",
    )
    console.print(table)
    for run in runs:
        refused = run.attack.refused + run.human.refused
        if refused:
            console.print(
                f"[yellow]note[/] {run.profile.name}: refused (not recorded) — attack "
                f"{dict(run.attack.refused)}, human {dict(run.human.refused)}"
            )
    for key, ok in targets_met(runs).items():
        console.print(f"  {key}: {'[green]met[/]' if ok else '[red]missed[/]'}")


def write(runs: Sequence[ProfileRun], seed: int, config: str, output: Path, wall: float) -> None:
    attack, human = totals(runs)
    results = {
        "seed": seed,
        "config": config,
        "targets": {
            "attack_held": f"attack votes held or excluded >= {ATTACK_HELD_TARGET:.0%}",
            "human_held": f"human votes held <= {HUMAN_HELD_TARGET:.0%}",
            "honour_list": "the honour list equals the human votes' own in every profile",
        },
        "targets_met": targets_met(runs),
        "overall": {
            "attack": attack.record(),
            "attack_held_or_excluded": round(attack.stopped_share, 4),
            "human": human.record(),
            "human_held": round(human.held_share, 4),
        },
        "profiles": [run.record() for run in runs],
        "machine": {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "wall_time_s": round(wall),
        },
    }
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written: {output}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.brushing",
        description="Run labelled brushing attacks and real-voter traffic against a real "
        "server (simulated clock) and report how much of each the brushing rules hold.",
    )
    parser.add_argument("--seed", type=int, default=20, help="traffic seed (default 20)")
    parser.add_argument(
        "--config",
        choices=CONFIGS,
        default=CONFIGS[0],
        help="database and store (default sqlite+memory: one worker, no services)",
    )
    parser.add_argument(
        "--profile",
        dest="profiles",
        action="append",
        choices=[p.name for p in PROFILES],
        help="run only this profile (repeatable; default: all)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # HOST:PORT: the server itself
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return 0
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    os.chdir(PROJECT_ROOT)
    names = args.profiles or [p.name for p in PROFILES]
    console.rule(f"brushing evaluation: seed {args.seed}, {args.config}")
    try:
        with tempfile.TemporaryDirectory(prefix="portal-brushing-") as folder:
            runs = evaluate(args.seed, args.config, names, Path(folder))
    except infra.SetupError as exc:
        console.print(f"[bold red]setup failed:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    report(runs)
    write(runs, args.seed, args.config, args.output, time.monotonic() - started)
    console.print(f"done in {time.monotonic() - started:.0f} s")
    return 0 if all(targets_met(runs).values()) else 1


if __name__ == "__main__":
    sys.exit(main())
