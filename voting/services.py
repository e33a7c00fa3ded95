"""Casting a vote: the window, the CAPTCHA, the limits, brushing checks, the ledger.

Every limit is kept on the shared store (Redis across worker processes and nodes, or
the in-process store for one process), taken with the vote's other checks in one atomic
step (``voting.admission``), so it is exact under concurrency; the reservations are
handed back if a later step (the ledger) refuses the vote. The database's unique indexes refuse
whatever might still slip by (one vote per voter, candidate and day; one vote per
idempotency key from a network).

The voter is the portal's signed cookie together with the client network (IPv4
address or IPv6 /64), hashed with the secret key per campaign: the ledger's
``voter_hash`` links one voter's votes within a campaign and nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from piccolo.query.functions.aggregate import Count

from nominations.candidates import shortlisted_in
from nominations.tables import Nomination
from portal.clock import utc_now
from portal.db import is_unique_violation
from portal.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    RateLimited,
    Refused,
    Unavailable,
)
from portal.phases import OPEN, window_status
from portal.stores import StateStore, StoreUnavailable
from portal.tables import Campaign, Phase
from voting.admission import (
    CAPTCHA_MODE,
    PASS_MODE,
    WINDOW,
    Admission,
    NotAdmitted,
    Refusal,
    admit,
)
from voting.brushing import RING_RULES, BrushingChecks
from voting.captcha import CaptchaService, Outcome
from voting.ledger import LedgerBusy, LedgerWriter, PendingVote, VotingClosed
from voting.rings import evidence_of, hold_ring
from voting.tables import Vote, VoteStatus

log = logging.getLogger("portal.voting")

CATALOG_TTL = 2.0  # seconds a campaign's voting rules are cached in a process
IDEMPOTENCY_WAIT = 10.0  # seconds a retry waits for the first attempt to finish
MAX_IDEMPOTENCY_KEY = 64
LEDGER_RETRY_AFTER = 2  # seconds a vote the busy ledger writer could not take waits to retry
BURST_WINDOW = 60.0  # seconds over which a network's votes are limited (votes per minute)
# Challenges one network may take per minute (a person needs a few; a pool drainer many).
CAPTCHA_PER_MINUTE = 60
# Receipts use base32 (A–Z, 2–7): digits a person may type for its letters.
CONFUSABLE = str.maketrans("018", "OIB")
# A vote pass spares the voter a CAPTCHA per vote for this long after one is solved.
PASS_LIFETIME = 15 * 60
# A ring's earlier votes are looked for at most once per ring in this many seconds (the
# ring's later votes are held by the rule itself).
RING_SWEEP_EVERY = 600
CAPTCHA_REQUIRED = "请输入验证码后再投票。"
ALREADY_VOTED = "您今天已经为该候选对象投过票了，明天再来吧。"
VOTING_CLOSED = "当前不在投票时间内。"


def allowance_spent(allowance: int) -> str:
    """The refusal of a vote past the voter's allowance in a category."""
    return f"您今天在本类别的 {allowance} 票已经投完，明天再来吧。"


@dataclass(frozen=True)
class Ballot:
    """One vote as the voter sent it."""

    slug: str
    candidate_id: int
    captcha_id: str
    captcha_answer: str
    voter_cookie: str
    network: str
    user_agent: str = ""
    idempotency_key: str | None = None
    vote_pass: str | None = None  # sent instead of a CAPTCHA


@dataclass(frozen=True)
class CastVote:
    """What the voter is told about a recorded vote, with the pass for the next ones
    (None when the portal wants a CAPTCHA next time)."""

    receipt: str
    candidate_id: int
    cast_at: str
    votes_left_today: int
    status: str
    vote_pass: str | None = None
    pass_expires_in: int | None = None


@dataclass(frozen=True)
class VotingRules:
    """A campaign's voting rules, as cached per process."""

    campaign_id: int
    slug: str
    timezone: str
    phase: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    network_votes_per_day: int
    network_votes_per_minute: int
    # candidate id → (category id, votes per day in that category)
    candidates: dict[int, tuple[int, int]] = field(default_factory=dict)
    loaded_at: float = 0.0

    def is_open(self, now: dt.datetime) -> bool:
        """Whether a vote cast at ``now`` is taken (the same rule as the public pages)."""
        return window_status(self.phase, self.opens_at, self.closes_at, now) == OPEN


@dataclass(frozen=True)
class Standing:
    """Where a voter stands today under a campaign's rules: votes left per category id,
    candidates voted for."""

    rules: VotingRules
    day: str
    left: dict[int, int]
    voted: frozenset[int]


def quota_key(campaign_id: int, category_id: int, day: str, voter: str) -> str:
    """The store key counting a voter's votes in a category on a day."""
    return f"vq:{campaign_id}:{category_id}:{day}:{voter}"


def once_key(campaign_id: int, day: str, voter: str, candidate_id: int) -> str:
    """The store key marking a voter's vote for a candidate on a day."""
    return f"vd:{campaign_id}:{day}:{voter}:{candidate_id}"


def local_day(now: dt.datetime, timezone: str) -> tuple[str, int]:
    """The campaign-local calendar day of ``now`` and the seconds until it ends."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), local.tzinfo)
    return local.date().isoformat(), max(1, int((midnight - local).total_seconds() + 0.999))


def format_cast_at(now: dt.datetime, timezone: str) -> str:
    """The ledger's time text: ISO 8601 with milliseconds and the campaign's offset."""
    return now.astimezone(ZoneInfo(timezone)).isoformat(timespec="milliseconds")


def receipt_hash(receipt: str) -> str:
    """SHA-256 hex of the receipt, as the ledger shows it."""
    return hashlib.sha256(receipt.encode()).hexdigest()


class VotingService:
    """The public vote, shared by the JSON API and the plain HTML form."""

    def __init__(
        self,
        store: StateStore,
        captcha: CaptchaService,
        secret: str,
        *,
        ledger: LedgerWriter | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.store = store
        self.captcha = captcha
        self.ledger = ledger or LedgerWriter()
        self.brushing = BrushingChecks(store)
        self.clock = clock  # and the ledger writer's: it judges the window at commit
        self._secret = hashlib.sha256(b"voting|" + secret.encode()).digest()
        self._rules: dict[str, VotingRules] = {}
        # The read of a campaign's rules in progress, shared by every vote that needs
        # it (one query, not one per waiting vote), and what makes a read stale.
        self._loading: dict[str, asyncio.Future[VotingRules | None]] = {}
        self._generation = 0

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], dt.datetime]) -> None:
        self._clock = clock
        self.ledger.clock = clock

    # -- identities --------------------------------------------------------------------

    def _mac(self, text: str) -> bytes:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).digest()

    def new_voter_cookie(self) -> str:
        """A fresh signed voter cookie value."""
        token = secrets.token_urlsafe(16)
        return f"{token}.{base64.urlsafe_b64encode(self._mac('cookie|' + token)[:12]).decode()}"

    def check_voter_cookie(self, value: str | None) -> str | None:
        """The cookie value if it is one the portal signed, else ``None``."""
        if not value or value.count(".") != 1:
            return None
        token, signature = value.split(".")
        expected = base64.urlsafe_b64encode(self._mac("cookie|" + token)[:12]).decode()
        return value if hmac.compare_digest(signature, expected) else None

    def voter_hash(self, campaign_id: int, voter_cookie: str, network: str) -> str:
        return self._mac(f"voter|{campaign_id}|{voter_cookie}|{network}").hex()

    # -- vote passes -----------------------------------------------------------------

    def issue_pass(self, campaign_id: int, voter: str, day: str, now: dt.datetime) -> str:
        """A pass for ``voter`` (cookie and network) in the campaign, today, for
        ``PASS_LIFETIME`` seconds: ``campaign.day.expires.signature``."""
        payload = f"{campaign_id}.{day}.{int(now.timestamp()) + PASS_LIFETIME}"
        return f"{payload}.{self._pass_signature(voter, payload)}"

    def _pass_signature(self, voter: str, payload: str) -> str:
        return base64.urlsafe_b64encode(self._mac(f"pass|{voter}|{payload}")[:18]).decode()

    def _pass_expiry(self, token: str, campaign_id: int, voter: str, day: str) -> int | None:
        """When ``token`` expires (a Unix time) if it is this voter's pass for this
        campaign and day; ``None`` if it is forged, another voter's or network's, or
        another day's."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != str(campaign_id) or parts[1] != day:
            return None
        expected = self._pass_signature(voter, ".".join(parts[:3]))
        if not hmac.compare_digest(parts[3], expected) or not parts[2].isdigit():
            return None
        return int(parts[2])

    def pass_seconds_left(
        self, token: str, campaign_id: int, voter: str, day: str, now: dt.datetime
    ) -> int:
        """How long ``token`` stays good for this voter, campaign and day (0: not at all:
        forged, another voter's or network's, another day's, or expired)."""
        expires = self._pass_expiry(token, campaign_id, voter, day)
        return 0 if expires is None else max(0, expires - int(now.timestamp()))

    def pass_left_for(
        self, token: str | None, campaign_id: int, timezone: str, voter_cookie: str, network: str
    ) -> int:
        """``pass_seconds_left`` of a pass as a page sees it: for the voter of this cookie
        and network, today, now."""
        if not token:
            return 0
        now = self.clock()
        voter = self.voter_hash(campaign_id, voter_cookie, network)
        day, _ = local_day(now, timezone)
        return self.pass_seconds_left(token, campaign_id, voter, day, now)

    @staticmethod
    def _withdrawn(campaign_id: int, voter: str) -> str:
        """The store key that withdraws a voter's passes in a campaign."""
        return f"vpx:{campaign_id}:{voter}"

    async def withdraw_pass(self, campaign_id: int, voter: str, now: dt.datetime) -> None:
        """Honour none of the voter's passes issued until ``now``: the next vote needs a
        CAPTCHA (whose answer earns a new pass)."""
        await self.store.set(
            self._withdrawn(campaign_id, voter), repr(now.timestamp()), expires_in=PASS_LIFETIME
        )

    def new_receipt(self) -> str:
        """A receipt: 15 random characters and 5 of signature, in groups of four."""
        body = base64.b32encode(secrets.token_bytes(10)).decode()[:15]
        signature = base64.b32encode(self._mac("receipt|" + body)).decode()[:5]
        text = body + signature
        return "-".join(text[i : i + 4] for i in range(0, 20, 4))

    def normalise_receipt(self, text: str) -> str | None:
        """The canonical form of a typed receipt, or ``None`` if it cannot be genuine."""
        plain = "".join(ch for ch in text.upper() if ch.isalnum()).translate(CONFUSABLE)
        if len(plain) != 20:
            return None
        body, signature = plain[:15], plain[15:]
        expected = base64.b32encode(self._mac("receipt|" + body)).decode()[:5]
        if not hmac.compare_digest(signature, expected):
            return None
        return "-".join(plain[i : i + 4] for i in range(0, 20, 4))

    # -- rules -------------------------------------------------------------------------

    def forget(self, slug: str | None = None) -> None:
        """Drop the cached rules of campaign ``slug`` (all without one), after a staff
        change in this process (``portal.phases`` calls it on every change)."""
        self._generation += 1  # a read under way may predate the change: not kept
        if slug is None:
            self._rules.clear()
            self._loading.clear()
        else:
            self._rules.pop(slug, None)
            self._loading.pop(slug, None)

    async def rules(self, slug: str) -> VotingRules | None:
        """The campaign's voting rules, cached for ``CATALOG_TTL`` seconds; when they
        are stale, the votes arriving meanwhile wait for one read of the database."""
        cached = self._rules.get(slug)
        if cached and time.monotonic() - cached.loaded_at < CATALOG_TTL:
            return cached
        loading = self._loading.get(slug)
        if loading is None:
            loading = asyncio.ensure_future(self._read_rules(slug, self._generation))
            self._loading[slug] = loading
            loading.add_done_callback(
                lambda done: self._loading.pop(slug) if self._loading.get(slug) is done else None
            )
        # Shielded: a waiter that gives up does not cancel the read the others wait for.
        return await asyncio.shield(loading)

    async def _read_rules(self, slug: str, generation: int) -> VotingRules | None:
        campaign = await Campaign.objects().where(Campaign.slug == slug).first().run()
        if campaign is None or campaign.phase == Phase.draft.value:
            if generation == self._generation:
                self._rules.pop(slug, None)
            return None
        rows = (
            await Nomination.select(
                Nomination.id,
                Nomination.category,
                Nomination.category.votes_per_day.as_alias("vpd"),
            )
            .where(shortlisted_in(campaign.id))
            .run()
        )
        rules = VotingRules(
            campaign_id=campaign.id,
            slug=campaign.slug,
            timezone=campaign.timezone,
            phase=campaign.phase,
            opens_at=campaign.voting_opens_at,
            closes_at=campaign.voting_closes_at,
            network_votes_per_day=campaign.network_votes_per_day,
            network_votes_per_minute=campaign.network_votes_per_minute,
            candidates={r["id"]: (r["category"], r["vpd"]) for r in rows},
            loaded_at=time.monotonic(),
        )
        if generation == self._generation:
            self._rules[slug] = rules
        return rules

    async def standing(
        self, rules: VotingRules, voter_cookie: str | None, network: str
    ) -> Standing:
        """Where the voter of this cookie and network stands today (one round trip to
        the store; a voter without a cookie has voted for nobody yet)."""
        day, _ = local_day(self.clock(), rules.timezone)
        allowances = dict(rules.candidates.values())
        if voter_cookie is None:
            return Standing(rules, day, allowances, frozenset())
        voter = self.voter_hash(rules.campaign_id, voter_cookie, network)
        categories, candidates = sorted(allowances), sorted(rules.candidates)
        values = await self.store.get_many(
            [quota_key(rules.campaign_id, c, day, voter) for c in categories]
            + [once_key(rules.campaign_id, day, voter, c) for c in candidates]
        )
        used = values[: len(categories)]
        return Standing(
            rules,
            day,
            {c: max(0, allowances[c] - int(n or 0)) for c, n in zip(categories, used, strict=True)},
            frozenset(
                c for c, mark in zip(candidates, values[len(categories) :], strict=True) if mark
            ),
        )

    async def limit_captcha(self, network: str) -> None:
        """Refuse a network that asks for challenges faster than any person would."""
        key, now = f"cr:{network}", time.time()
        [wait] = await self.store.run(WINDOW, [key], [now, CAPTCHA_PER_MINUTE, 60.0])
        if wait:
            raise RateLimited("获取验证码过于频繁，请稍后再试。", retry_after=max(1, int(wait)))

    # -- casting -----------------------------------------------------------------------

    async def cast(self, ballot: Ballot) -> CastVote:
        """Record one vote, committed on return, or raise a ``DomainError`` saying why
        not (then nothing was recorded)."""
        rules = await self.rules(ballot.slug)
        if rules is None:
            raise NotFound("找不到该评选活动。")
        key = ballot.idempotency_key
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY):
            raise Invalid("Idempotency-Key 须为 1–64 个字符。")
        voter = self.voter_hash(rules.campaign_id, ballot.voter_cookie, ballot.network)
        if key is None:
            return await self._cast(rules, ballot, voter)
        # A retry is known by what the client repeats: its key, from its network. Not by
        # the voter cookie, which a client that lost the first answer never received.
        digest = hashlib.sha256(key.encode()).hexdigest()
        lock = f"idem:{rules.campaign_id}:{ballot.network}:{digest}"
        deadline = time.monotonic() + IDEMPOTENCY_WAIT
        while True:
            earlier = await self._by_idempotency_key(rules, ballot.network, key)
            if earlier is not None:
                return earlier
            if await self.store.set_if_absent(lock, b"1", expires_in=30):
                break
            if time.monotonic() > deadline:
                raise Unavailable("上一次相同的投票请求仍在处理中，请稍后重试。")
            await asyncio.sleep(0.05)  # the first attempt is still being recorded
        try:
            # The first attempt may have been recorded, and its lock released, between
            # the look-up above and taking the lock: look again under the lock.
            earlier = await self._by_idempotency_key(rules, ballot.network, key)
            if earlier is not None:
                return earlier
            return await self._cast(rules, ballot, voter)
        finally:
            await self.store.delete(lock)

    async def _by_idempotency_key(
        self, rules: VotingRules, network: str, key: str
    ) -> CastVote | None:
        """The vote recorded earlier with this key from this network, as first answered."""
        row = (
            await Vote.select(
                Vote.receipt, Vote.candidate, Vote.cast_at, Vote.day, Vote.status, Vote.voter_hash
            )
            .where(
                (Vote.campaign == rules.campaign_id)
                & (Vote.network == network)
                & (Vote.idempotency_key == key)
            )
            .first()
            .run()
        )
        if row is None:
            return None
        category_id, allowance = rules.candidates.get(row["candidate"], (0, 0))
        quota = quota_key(rules.campaign_id, category_id, row["day"], row["voter_hash"])
        used = int(await self.store.get(quota) or 0)
        return CastVote(
            receipt=row["receipt"],
            candidate_id=row["candidate"],
            cast_at=row["cast_at"],
            votes_left_today=max(0, allowance - used),
            status=row["status"],
        )

    async def _cast(self, rules: VotingRules, ballot: Ballot, voter: str) -> CastVote:
        now = self.clock()
        if not rules.is_open(now):
            raise Refused(VOTING_CLOSED, code="voting_closed")
        target = rules.candidates.get(ballot.candidate_id)
        if target is None:
            raise Invalid("找不到该候选对象。")
        category_id, allowance = target
        cid = rules.campaign_id
        day, until_midnight = local_day(now, rules.timezone)
        agent = hashlib.sha256(ballot.user_agent.encode()).hexdigest()[:16]
        admission, pass_left, issued_at = self._admission(
            rules, ballot, voter, agent, target, day, until_midnight, now
        )
        try:
            admitted = await admit(self.store, admission)
        except NotAdmitted as refused:
            raise self._refusal(refused, allowance, until_midnight, issued_at) from None
        flags = self.brushing.judge(admission.sighting, admitted.counts)

        # Each step once, in order, however often give_back() is retried.
        steps = [
            lambda: self.store.delete(admission.once_key),
            lambda: self.store.incr(admission.quota_key, -1),
            lambda: self.store.incr(admission.network_day_key, -1),
        ]

        async def give_back() -> None:
            while steps:
                await steps[0]()
                steps.pop(0)

        try:
            receipt = self.new_receipt()
            vote = PendingVote(
                campaign_id=cid,
                category_id=category_id,
                candidate_id=ballot.candidate_id,
                cast_at=format_cast_at(now, rules.timezone),
                cast_ts=now,
                day=day,
                voter_hash=voter,
                receipt=receipt,
                receipt_hash=receipt_hash(receipt),
                status=VoteStatus.held.value if flags else VoteStatus.counted.value,
                network=ballot.network,
                agent_hash=agent,
                flags=",".join(flags),
                idempotency_key=ballot.idempotency_key,
            )
            await self.ledger.record(vote)
        except Exception as exc:
            # Nothing recorded: hand the reservations back (as far as the store lets us),
            # or a retry would be refused as already voted.
            try:
                await give_back()
            except Exception:
                # The store is down too: hand them back once it answers again, or the
                # voter's retry would be refused as already voted.
                retry_later(give_back)
            if is_unique_violation(exc):
                raise Conflict(ALREADY_VOTED, code="already_voted") from exc
            if isinstance(exc, VotingClosed):
                # Closed while the vote waited for the writer: the close is final.
                raise Refused(VOTING_CLOSED, code="voting_closed") from exc
            if isinstance(exc, LedgerBusy):
                # Withdrawn before the writer took it: certainly not recorded.
                raise Unavailable(
                    "投票的人较多，本次投票未被记录，请稍后换一个新的验证码重新提交。",
                    retry_after=LEDGER_RETRY_AFTER,
                ) from exc
            raise
        if vote.status == VoteStatus.counted.value:
            try:
                await self.adjust_count(cid, ballot.candidate_id, 1)
            except StoreUnavailable:
                # The vote is recorded: a 503 would tell the voter it was not. The live
                # counter is for display; `portal counters --repair` rebuilds it.
                log.warning("live counter of candidate %s not moved", ballot.candidate_id)
        if any(rule in RING_RULES for rule in flags):
            await self._hold_ring(rules, ballot, agent, flags, now)
        vote_pass: str | None = None
        if flags:  # the brushing checks held the vote: the next one needs a CAPTCHA
            with contextlib.suppress(StoreUnavailable):  # the vote is recorded: say so
                await self.withdraw_pass(cid, voter, now)
        elif ballot.vote_pass:
            vote_pass = ballot.vote_pass
        else:
            vote_pass, pass_left = self.issue_pass(cid, voter, day, now), PASS_LIFETIME
        return CastVote(
            receipt=receipt,
            candidate_id=ballot.candidate_id,
            cast_at=vote.cast_at,
            votes_left_today=allowance - admitted.used,
            status=vote.status,
            vote_pass=vote_pass,
            pass_expires_in=pass_left if vote_pass else None,
        )

    async def _hold_ring(
        self, rules: VotingRules, ballot: Ballot, agent: str, flags: list[str], now: dt.datetime
    ) -> None:
        """A ring rule held this vote: hold the ring's earlier counted votes too
        (``voting.rings``), once per ring every ``RING_SWEEP_EVERY`` seconds. The vote is
        recorded whatever happens here: a failure is logged, never the voter's."""
        # The ring rules count over the current and the previous window.
        window = int(self.brushing.cookie_window)
        since = dt.datetime.fromtimestamp((int(now.timestamp()) // window - 1) * window, dt.UTC)
        slot = int(now.timestamp()) // RING_SWEEP_EVERY
        for rule in (name for name in flags if name in RING_RULES):
            evidence = evidence_of(rule, ballot.network, agent)
            digest = hashlib.sha256(repr(evidence).encode()).hexdigest()[:16]
            mark = f"bw:{ballot.candidate_id}:{rule}:{digest}:{slot}"
            try:
                if not await self.store.set_if_absent(mark, b"1", RING_SWEEP_EVERY * 2):
                    continue
                cid, candidate = rules.campaign_id, ballot.candidate_id
                held = await hold_ring(cid, candidate, rule, evidence, since)
                if held:
                    await self.adjust_count(rules.campaign_id, ballot.candidate_id, -held)
            except Exception as exc:
                log.warning("earlier votes of a ring (%s) not held: %r", rule, exc)

    def _admission(
        self,
        rules: VotingRules,
        ballot: Ballot,
        voter: str,
        agent: str,
        target: tuple[int, int],
        day: str,
        until_midnight: int,
        now: dt.datetime,
    ) -> tuple[Admission, int, int]:
        """What the store is asked for this vote; with the seconds the pass sent stays
        good (0 for a CAPTCHA) and when the CAPTCHA was handed out. A pass that is not
        this voter's for today, or no proof at all, is refused here."""
        cid, (category_id, allowance) = rules.campaign_id, target
        issued_at, pass_issued = 0, ""
        if ballot.vote_pass:
            expires = self._pass_expiry(ballot.vote_pass, cid, voter, day)
            if expires is None or expires <= int(now.timestamp()):
                raise Invalid(CAPTCHA_REQUIRED, code="captcha_required")
            pass_left = expires - int(now.timestamp())
            mode, proof_key = PASS_MODE, self._withdrawn(cid, voter)
            # When the pass was issued (its expiry, less its lifetime): for the withdrawal.
            pass_issued = str(expires - PASS_LIFETIME)
        elif ballot.captcha_id:
            pass_left, mode = 0, CAPTCHA_MODE
            answer_key, issued_at = self.captcha.answer_key(ballot.captcha_id)
            proof_key = self.store.key_from(self.captcha.store, answer_key)
        else:
            raise Invalid(CAPTCHA_REQUIRED, code="captcha_required")
        admission = Admission(
            now=now.timestamp(),
            burst_key=f"vb:{cid}:{ballot.network}",
            burst_limit=rules.network_votes_per_minute,
            burst_window=BURST_WINDOW,
            mode=mode,
            proof_key=proof_key,
            answer=ballot.captcha_answer.strip().upper() if mode == CAPTCHA_MODE else pass_issued,
            test_answer=self.captcha.test_answer or "",
            pass_lifetime=PASS_LIFETIME,
            once_key=once_key(cid, day, voter, ballot.candidate_id),
            quota_key=quota_key(cid, category_id, day, voter),
            allowance=allowance,
            network_day_key=f"vn:{cid}:{day}:{ballot.network}",
            network_cap=rules.network_votes_per_day,
            reservation_ttl=until_midnight + 3600,
            sighting=self.brushing.sighting(
                campaign_id=cid,
                candidate_id=ballot.candidate_id,
                network=ballot.network,
                agent_hash=agent,
                voter_cookie=ballot.voter_cookie,
                now=now,
                timezone=rules.timezone,
            ),
        )
        return admission, pass_left, issued_at

    def _refusal(
        self, refused: NotAdmitted, allowance: int, until_midnight: int, issued_at: int
    ) -> DomainError:
        """The voter's answer to a vote the store refused."""
        match refused.refusal:
            case Refusal.burst:
                return RateLimited(
                    "您所在网络的投票请求过于频繁，请稍后再试。",
                    retry_after=max(1, refused.detail),
                )
            case Refusal.captcha_missing if self.captcha.missing(issued_at) is Outcome.expired:
                return Invalid("验证码已过期，请刷新验证码后重试。", code="captcha_expired")
            case Refusal.captcha_missing | Refusal.captcha_wrong:
                return Invalid("验证码错误或已使用，请重新输入新的验证码。", code="captcha_invalid")
            case Refusal.pass_withdrawn:
                return Invalid(CAPTCHA_REQUIRED, code="captcha_required")
            case Refusal.taken if refused.detail == 0:
                return Conflict(ALREADY_VOTED, code="already_voted")
            case Refusal.taken if refused.detail == 1:
                return RateLimited(
                    allowance_spent(allowance),
                    retry_after=until_midnight,
                    code="limit_reached",
                )
        return RateLimited(
            "您所在网络今天的投票次数已达上限，明天再来吧。", retry_after=until_midnight
        )

    # -- live counters -----------------------------------------------------------------

    async def adjust_count(self, campaign_id: int, candidate_id: int, delta: int) -> None:
        """Move a candidate's live counter.

        One round trip, whether or not the counters are built yet: until they are, the
        value is provisional and ``counts()`` replaces it with the ledger's figure.
        """
        await self.store.incr(f"votes:{campaign_id}:{candidate_id}", delta)

    async def counts(self, campaign_id: int, candidate_ids: list[int]) -> dict[int, int]:
        """Live counted votes per candidate, for display (built from the ledger once).

        Without the store the ledger answers (one aggregate query), so the pages that
        show counts keep working through a Redis outage.
        """
        try:
            if not await self.store.exists(f"votes:{campaign_id}:ready"):
                await self.rebuild_counts(campaign_id)
            keys = [f"votes:{campaign_id}:{c}" for c in candidate_ids]
            values = await self.store.get_many(keys)
        except StoreUnavailable:
            counted = await ledger_counts(campaign_id)
            return {c: counted.get(c, 0) for c in candidate_ids}
        return {c: int(v or 0) for c, v in zip(candidate_ids, values, strict=True)}

    async def rebuild_counts(self, campaign_id: int) -> dict[int, int]:
        """Set the live counters from the ledger; return the ledger's counts."""
        counted = await ledger_counts(campaign_id)
        for candidate_id, count in counted.items():
            await self.store.set(f"votes:{campaign_id}:{candidate_id}", str(count))
        await self.store.set(f"votes:{campaign_id}:ready", b"1")
        return counted

    async def check_counts(self, campaign_id: int) -> dict[int, tuple[int, int]]:
        """Candidates whose live counter differs from the ledger: id → (live, ledger)."""
        counted = await ledger_counts(campaign_id)
        ids = sorted(counted)
        live = await self.store.get_many([f"votes:{campaign_id}:{c}" for c in ids])
        return {
            c: (int(v or 0), counted[c])
            for c, v in zip(ids, live, strict=True)
            if int(v or 0) != counted[c]
        }


GIVE_BACK_PATIENCE = 900.0  # seconds a refused vote's reservations are retried
_RETRIES: set[asyncio.Task[None]] = set()


def retry_later(step: Callable[[], Awaitable[None]]) -> None:
    """Run ``step`` in the background until it succeeds (or ``GIVE_BACK_PATIENCE``)."""

    async def retry() -> None:
        deadline, delay = time.monotonic() + GIVE_BACK_PATIENCE, 0.2
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            try:
                await step()
            except Exception:
                delay = min(delay * 2, 10.0)
                continue
            return
        log.warning("reservations of a refused vote not handed back: the store stayed down")

    task = asyncio.create_task(retry(), name="give-back")
    _RETRIES.add(task)  # a reference, or the task could be collected mid-way
    task.add_done_callback(_RETRIES.discard)


async def ledger_counts(campaign_id: int) -> dict[int, int]:
    """Counted votes per shortlisted candidate, from the ledger (zeros included)."""
    candidates = await Nomination.select(Nomination.id).where(shortlisted_in(campaign_id)).run()
    counts = {row["id"]: 0 for row in candidates}
    rows = (
        await Vote.select(Vote.candidate, Count(alias="n"))
        .where((Vote.campaign == campaign_id) & (Vote.status == VoteStatus.counted.value))
        .group_by(Vote.candidate)
        .run()
    )
    for row in rows:
        counts[row["candidate"]] = row["n"]
    return counts


async def status_totals(campaign_id: int) -> dict[str, int]:
    """Recorded votes of a campaign by status: counted, held and excluded."""
    rows = (
        await Vote.select(Vote.status, Count(alias="n"))
        .where(Vote.campaign == campaign_id)
        .group_by(Vote.status)
        .run()
    )
    totals = {status.value: 0 for status in VoteStatus}
    for row in rows:
        totals[row["status"]] = row["n"]
    return totals


async def receipt_status(receipt: str) -> dict | None:
    """The public facts of a recorded vote, by its receipt."""
    return (
        await Vote.select(
            Vote.receipt,
            Vote.campaign.slug.as_alias("campaign"),
            Vote.candidate.as_alias("candidate_id"),
            Vote.cast_at,
            Vote.status,
        )
        .where(Vote.receipt == receipt)
        .first()
        .run()
    )
