"""Demo votes for the 2023 Dingxi campaign (`dingxi-2023`).

The demo opens with a few thousand public votes cast since voting opened: more by day
than by night (a morning rise, a lunch bump, the evening peak when people read WeChat),
more for some candidates than others, from some fifteen hundred voters on their own
networks (a few share an office or campus address, a few use IPv6), some of whom come
back on later days. Every voter keeps to the live rules: one vote per candidate a day,
the category's daily allowance, the network caps.

One brushing burst is in the ledger too: one night, within ten minutes, one network
(a cloud server address) with one User-Agent and a fresh cookie per vote casts
evenly spaced votes for one mediator. It is sized to stay under the campaign's
per-network daily cap, as a real one would have to. Every vote of the burst is
``held``, flagged with the brushing rules it trips (the names in
``voting.brushing.RULE_LABELS``) — the whole burst, as the review desk holds it once a
rule has fired.

The votes go into the ledger through ``voting.ledger.commit`` in batches, in time order,
so sequence numbers, the hash chain, receipts and their hashes are exactly what live
voting would have written. A seeded ``random.Random`` plans the votes (times,
candidates, voters, networks), so the plan is the same on every run for the same
window; receipts are random bearer secrets (never derived from a public seed) signed
with the instance's key, and voter hashes are keyed by it too.

The live counters are not touched: they live in the server's store, and
``VotingService.counts`` builds them from the ledger on first use (no "ready" marker).
``ensure_demo_votes`` is this app's demo step (``STEPS``, run by ``portal.demo.load_demo``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count

from nominations.candidates import shortlisted_in
from nominations.tables import Nomination
from portal import visits
from portal.demo import DemoContext, DemoStep, ensure_demo_campaign
from portal.stores import MemoryStateStore
from portal.tables import Campaign, VisitDay
from voting.brushing import RULE_LABELS
from voting.captcha import CaptchaService
from voting.ledger import MAX_BATCH, PendingVote, commit
from voting.services import VotingService, format_cast_at, local_day, receipt_hash
from voting.tables import Vote, VoteStatus

SEED = 20230801
# Voting sessions over the whole window: a voter opens the page and votes for one to
# five candidates of one category (about 1.9 votes a session on average).
SESSIONS = 2000
MIN_DAY_SESSIONS = 12  # even a day that has only just begun has a few votes
RETURNING = 0.3  # chance that a session is a voter who has voted before
SHARED_NETWORK = 0.08  # chance that a new voter is behind an office or campus address
IPV6 = 0.06  # chance that a new voter's network is an IPv6 /64
SHARED_NETWORKS = 30

# Relative activity per local hour (0–23): quiet nights, a morning rise, a lunch bump
# and the evening peak.
HOURLY = (
    0.35, 0.2, 0.12, 0.08, 0.08, 0.15, 0.45, 1.0, 1.6, 1.5, 1.3, 1.4,
    1.7, 1.5, 1.1, 1.0, 1.0, 1.1, 1.4, 1.9, 2.3, 2.4, 1.8, 0.9,
)  # fmt: skip
# Which category a session votes in (judicial offices, committees, mediators).
CATEGORY_SHARE = {"judicial-office": 0.25, "mediation-committee": 0.33, "mediator": 0.42}
# Votes per session (capped by what the voter has left today in the category).
SESSION_VOTES = ((1, 46), (2, 26), (3, 14), (4, 8), (5, 6))

# The brushing burst: evenly spaced votes within ten minutes, at night.
BURST_VOTES = 150  # at most; fewer when the campaign's network cap is lower
BURST_SECONDS = 570
BURST_AT = dt.time(2, 13)
BURST_NETWORK = "47.92.131.208"
BURST_AGENT = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/114.0.0.0 Mobile Safari/537.36"
)
# The rules such a burst trips: one network, one User-Agent, a timer loop, a fresh
# cookie per vote, at night, every vote of the block and of the browser for one
# candidate. Only the names the brushing module knows are written.
BURST_RULES = (
    "network_burst",
    "agent_burst",
    "regular_interval",
    "cookie_churn",
    "many_cookies",
    "night_surge",
    "block_focus",
    "agent_focus",
)

AGENTS = (  # (User-Agent, weight): mostly the WeChat in-app browser on phones
    (
        "Mozilla/5.0 (Linux; Android 12; V2148A Build/SP1A.210812.003; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 "
        "MMWEBSDK/20230504 MicroMessenger/8.0.37.2380(0x2800253D) WeChat/arm64 Weixin "
        "NetType/WIFI Language/zh_CN ABI/arm64",
        30,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.38(0x1800262c) NetType/4G "
        "Language/zh_CN",
        24,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; PHB110 Build/TP1A.220905.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5043 "
        "MMWEBSDK/20230405 MicroMessenger/8.0.35.2360(0x2800235B) WeChat/arm64 Weixin "
        "NetType/5G Language/zh_CN ABI/arm64",
        18,
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; M2012K11AC) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/104.0.5112.97 Mobile Safari/537.36 HeyTapBrowser/40.8.10.1",
        6,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/116.0.0.0 Safari/537.36 Edg/116.0.1938.69",
        8,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/86.0.4240.198 Safari/537.36 QBCore/4.0.1326.400 QQBrowser/9.0.2524.400 "
        "Mozilla/5.0 (Windows NT 6.1; WOW64) WindowsWechat(0x6309021a) XWEB/6763",
        7,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/15.6.1 Mobile/15E148 Safari/604.1",
        4,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 10; zh-cn; PCAM00 Build/QKQ1.190918.001) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/70.0.3538.80 "
        "Mobile Safari/537.36 HeyTapBrowser/10.7.35.1",
        3,
    ),
)
# First octets of provincial fixed-line and mobile address blocks (the rest is drawn).
IPV4_PREFIXES = (
    (36, 142), (42, 90), (59, 153), (61, 178), (117, 136), (118, 182),
    (124, 152), (125, 74), (183, 93), (221, 7), (223, 104), (113, 201),
)  # fmt: skip
IPV6_PREFIXES = ("2409:8a62", "240e:448", "2408:8456")


@dataclass(frozen=True)
class PlannedVote:
    """One demo vote before the secret-keyed parts (voter hash, receipt) are made."""

    cast_ts: dt.datetime
    category_id: int
    candidate_id: int
    voter_cookie: str
    network: str
    user_agent: str
    flags: tuple[str, ...] = ()


@dataclass
class _Voter:
    cookie: str
    network: str
    user_agent: str
    # (day, category id) → candidates voted for that day
    voted: dict[tuple[str, int], set[int]] = field(default_factory=lambda: defaultdict(set))


def burst_rules() -> tuple[str, ...]:
    """The rule names written on the burst's votes: those the brushing module knows."""
    return tuple(name for name in BURST_RULES if name in RULE_LABELS)


def _ms(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC, truncated to the millisecond the ledger's text shows."""
    value = value.astimezone(dt.UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _hour_slots(
    start: dt.datetime, end: dt.datetime, zone: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime, int]]:
    """The local clock hours between ``start`` and ``end`` (clipped): (from, to, hour)."""
    slots = []
    local = start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    while local < end:
        following = (local + dt.timedelta(hours=1)).astimezone(zone)
        lo, hi = max(local, start), min(following, end)
        if hi > lo:
            slots.append((lo, hi, local.hour))
        local = following
    return slots


def _session_times(
    rng: random.Random, start: dt.datetime, end: dt.datetime, zone: ZoneInfo
) -> list[dt.datetime]:
    """When the voting sessions start: shared out by day, then by the diurnal weights."""
    days: dict[dt.date, list[tuple[dt.datetime, dt.datetime, float]]] = defaultdict(list)
    for lo, hi, hour in _hour_slots(start, end, zone):
        weight = HOURLY[hour] * (hi - lo).total_seconds() / 3600
        days[lo.astimezone(zone).date()].append((lo, hi, weight))
    # The opening day draws a crowd; later days vary with how far the news travelled.
    factors = [1.5, 1.1] + [rng.uniform(0.85, 1.25) for _ in range(max(0, len(days) - 2))]
    day_weights = {
        day: factor * sum(w for _, _, w in slots)
        for (day, slots), factor in zip(sorted(days.items()), factors, strict=False)
    }
    total = sum(day_weights.values()) or 1.0
    times = []
    for day, slots in sorted(days.items()):
        count = max(MIN_DAY_SESSIONS, round(SESSIONS * day_weights[day] / total))
        weights = [w for _, _, w in slots]
        if not any(weights):
            weights = [1.0] * len(slots)
        for lo, hi, _ in rng.choices(slots, weights=weights, k=count):
            times.append(lo + (hi - lo) * rng.random())
    return sorted(times)


def _popularity(rng: random.Random, candidates: list[dict]) -> dict[int, float]:
    """A skewed appeal per candidate: a few favourites, a long tail."""
    weights = {c["id"]: rng.lognormvariate(0, 0.8) for c in candidates}
    by_category: dict[int, list[int]] = defaultdict(list)
    for c in candidates:
        by_category[c["category"]].append(c["id"])
    for ids in by_category.values():
        favourites = sorted(ids, key=weights.__getitem__, reverse=True)[:2]
        for cid in favourites:
            weights[cid] *= 2.5
    return weights


def _new_network(rng: random.Random) -> str:
    if rng.random() < IPV6:
        prefix = rng.choice(IPV6_PREFIXES)
        # As the portal writes an IPv6 network: its /64, in canonical form.
        text = f"{prefix}:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::/64"
        return str(ipaddress.IPv6Network(text))
    a, b = rng.choice(IPV4_PREFIXES)
    return f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def plan_votes(
    candidates: list[dict],
    start: dt.datetime,
    end: dt.datetime,
    timezone: str,
    *,
    network_votes_per_day: int = 100,
) -> list[PlannedVote]:
    """The demo's votes between ``start`` and ``end``, in time order (deterministic).

    ``candidates``: the shortlisted candidates as dicts with ``id``, ``name``,
    ``category``, ``key`` (the category's key), ``votes_per_day`` and ``position``
    (the category's).
    """
    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    zone = ZoneInfo(timezone)
    candidates = sorted(candidates, key=lambda c: (c["position"], c["name"], c["id"]))
    by_category: dict[int, list[dict]] = defaultdict(list)
    for c in candidates:
        by_category[c["category"]].append(c)
    allowance = {c["category"]: c["votes_per_day"] for c in candidates}
    category_keys = {c["category"]: c["key"] for c in candidates}
    categories = sorted(by_category, key=lambda cat: by_category[cat][0]["position"])
    category_weights = [CATEGORY_SHARE.get(category_keys[cat], 0.3) for cat in categories]
    popularity = _popularity(rng, candidates)
    agents, agent_weights = zip(*AGENTS, strict=True)
    shared = [_new_network(rng) for _ in range(SHARED_NETWORKS)]

    votes: list[PlannedVote] = []
    voters: list[_Voter] = []
    network_day: dict[tuple[str, str], int] = defaultdict(int)

    def new_voter() -> _Voter:
        network = _new_network(rng)
        if rng.random() < SHARED_NETWORK:
            network = rng.choice(shared)
        voter = _Voter(
            cookie=f"{rng.getrandbits(96):024x}",
            network=network,
            user_agent=rng.choices(agents, weights=agent_weights)[0],
        )
        voters.append(voter)
        return voter

    for at in _session_times(rng, start, end, zone):
        day = local_day(at, timezone)[0]
        category = rng.choices(categories, weights=category_weights)[0]
        voter = None
        if voters and rng.random() < RETURNING:
            voter = rng.choice(voters)
            if len(voter.voted[(day, category)]) >= allowance[category]:
                voter = None
        voter = voter or new_voter()
        if network_day[(voter.network, day)] >= network_votes_per_day - 5:
            voter = new_voter()  # a shared address near its cap: someone elsewhere
        done = voter.voted[(day, category)]
        left = allowance[category] - len(done)
        wanted = min(left, rng.choices(*zip(*SESSION_VOTES, strict=True))[0])
        pool = [c for c in by_category[category] if c["id"] not in done]
        when = at
        for _ in range(min(wanted, len(pool))):
            choice = rng.choices(pool, weights=[popularity[c["id"]] for c in pool])[0]
            pool.remove(choice)
            if when >= end or local_day(when, timezone)[0] != day:
                break
            done.add(choice["id"])
            network_day[(voter.network, day)] += 1
            votes.append(
                PlannedVote(
                    cast_ts=_ms(when),
                    category_id=category,
                    candidate_id=choice["id"],
                    voter_cookie=voter.cookie,
                    network=voter.network,
                    user_agent=voter.user_agent,
                )
            )
            # Reading the next card and answering a fresh CAPTCHA takes a little while.
            when += dt.timedelta(seconds=rng.uniform(8, 45))

    burst = _burst(rng, by_category, popularity, start, end, zone, network_votes_per_day)
    if burst:
        # The live night-surge rule would hold anyone else's vote for the burst's
        # candidate in the rest of that night hour: the demo leaves that hour to it.
        hour = burst[0].cast_ts.astimezone(zone).replace(minute=0, second=0, microsecond=0)
        target, until = burst[0].candidate_id, hour + dt.timedelta(hours=1)
        votes = [v for v in votes if not (v.candidate_id == target and hour <= v.cast_ts < until)]
    votes += burst
    votes.sort(key=lambda v: v.cast_ts)
    return votes


def _burst(
    rng: random.Random,
    by_category: dict[int, list[dict]],
    popularity: dict[int, float],
    start: dt.datetime,
    end: dt.datetime,
    zone: ZoneInfo,
    network_votes_per_day: int,
) -> list[PlannedVote]:
    """The one brushing burst: a night in the middle of the window, one mediator."""
    size = min(BURST_VOTES, network_votes_per_day - 4)
    span = dt.timedelta(seconds=BURST_SECONDS)
    first_day = start.astimezone(zone).date()
    nights = []
    for offset in range((end.astimezone(zone).date() - first_day).days + 1):
        at = dt.datetime.combine(first_day + dt.timedelta(days=offset), BURST_AT, zone)
        if start <= at and at + span < end:
            nights.append(at)
    mediators = next(
        (cands for cands in by_category.values() if cands[0]["key"] == "mediator"),
        max(by_category.values(), key=len),
    )
    if not nights or size < 1 or not mediators:
        return []
    at = nights[len(nights) // 2]
    # Somebody pushing a candidate the public does not favour much.
    ranked = sorted(mediators, key=lambda c: popularity[c["id"]], reverse=True)
    target = ranked[int(len(ranked) * 0.6)]
    step = span / size
    flags = burst_rules()
    return [
        PlannedVote(
            cast_ts=_ms(at + step * i),
            category_id=target["category"],
            candidate_id=target["id"],
            voter_cookie=f"{rng.getrandbits(96):024x}",
            network=BURST_NETWORK,
            user_agent=BURST_AGENT,
            flags=flags,
        )
        for i in range(size)
    ]


async def _shortlisted(campaign_id: int) -> list[dict]:
    return (
        await Nomination.select(
            Nomination.id,
            Nomination.name,
            Nomination.category,
            Nomination.category.key.as_alias("key"),
            Nomination.category.votes_per_day.as_alias("votes_per_day"),
            Nomination.category.position.as_alias("position"),
        )
        .where(shortlisted_in(campaign_id))
        .run()
    )


def _pending(campaign: Campaign, planned: list[PlannedVote], secret: str) -> list[PendingVote]:
    """The ledger rows of the plan: voter hashes and receipts keyed by ``secret``."""
    store = MemoryStateStore()
    service = VotingService(store, CaptchaService(store, secret), secret)
    agent_hashes: dict[str, str] = {}
    pending = []
    for vote in planned:
        agent = agent_hashes.get(vote.user_agent)
        if agent is None:  # as VotingService.cast hashes the User-Agent
            agent = agent_hashes[vote.user_agent] = hashlib.sha256(
                vote.user_agent.encode()
            ).hexdigest()[:16]
        receipt = service.new_receipt()
        pending.append(
            PendingVote(
                campaign_id=campaign.id,
                category_id=vote.category_id,
                candidate_id=vote.candidate_id,
                cast_at=format_cast_at(vote.cast_ts, campaign.timezone),
                cast_ts=vote.cast_ts,
                day=local_day(vote.cast_ts, campaign.timezone)[0],
                voter_hash=service.voter_hash(campaign.id, vote.voter_cookie, vote.network),
                receipt=receipt,
                receipt_hash=receipt_hash(receipt),
                status=(VoteStatus.held if vote.flags else VoteStatus.counted).value,
                network=vote.network,
                agent_hash=agent,
                flags=",".join(vote.flags),
            )
        )
    return pending


async def ensure_demo_votes(
    campaign: Campaign, *, now: dt.datetime | None = None, secret: str | None = None
) -> int:
    """Record the demo's votes (idempotent); return how many were recorded.

    Does nothing if the campaign has any vote already, or has no voting window yet.
    Votes are cast between the opening of voting and ``now`` (default: the present);
    ``secret`` defaults to the configured ``PORTAL_SECRET_KEY``, which must be the one
    the server runs with for receipts to be recognised.
    """
    if await Vote.exists().where(Vote.campaign == campaign.id).run():
        return 0
    opens, closes = campaign.voting_opens_at, campaign.voting_closes_at
    end = now or dt.datetime.now(dt.UTC)
    if closes is not None:
        end = min(end, closes)
    if opens is None or end <= opens:
        return 0
    candidates = await _shortlisted(campaign.id)
    if not candidates:
        return 0
    if secret is None:
        from portal.settings import get_settings

        secret = get_settings().secret_key
    planned = plan_votes(
        candidates,
        opens,
        end,
        campaign.timezone,
        network_votes_per_day=campaign.network_votes_per_day,
    )
    pending = _pending(campaign, planned, secret)
    for i in range(0, len(pending), MAX_BATCH):
        await commit(pending[i : i + MAX_BATCH])
    return len(pending)


# Page views per vote on a day (the campaign page, the lists, candidates' pages, the
# views that end without a vote), and the views of a day regardless of votes.
VIEWS_PER_VOTE = (7.0, 11.0)
DAILY_VIEWS = (120, 360)


async def ensure_demo_visits(campaign: Campaign) -> int:
    """Record the public pages' views of the vote so far (累计访问量 and views per day),
    in proportion to each day's votes; return the total. Does nothing if the campaign
    has views already or no votes."""
    if campaign.visits or await VisitDay.exists().where(VisitDay.campaign == campaign.id).run():
        return 0
    rows = (
        await Vote.select(Vote.day, Count(alias="n"))
        .where(Vote.campaign == campaign.id)
        .group_by(Vote.day)
        .order_by(Vote.day)
        .run()
    )
    rng = random.Random(SEED + 1)  # noqa: S311 - a demo plan, not a secret
    total = 0
    for row in rows:
        count = round(row["n"] * rng.uniform(*VIEWS_PER_VOTE)) + rng.randint(*DAILY_VIEWS)
        await visits.add_day(campaign.id, row["day"], count)
        total += count
    if total:
        await Campaign.update({Campaign.visits: total}).where(Campaign.id == campaign.id).run()
    return total


async def _load_votes(context: DemoContext) -> None:
    campaign = await ensure_demo_campaign()
    await ensure_demo_votes(campaign)
    # A vote in progress has been read, not only voted in: dingxi-2023 shows its views.
    await ensure_demo_visits(await Campaign.objects().where(Campaign.id == campaign.id).first())


# What `portal demo` runs of this app: a week of votes for the scored 2023 candidates.
STEPS = (DemoStep("votes", _load_votes, after=("review",)),)
