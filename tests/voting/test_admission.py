"""A vote's admission, the one atomic step of its checks on the store: the Redis script
and its in-process twin behave alike (every test runs on both stores)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from portal.stores import StateStore
from voting.admission import (
    CAPTCHA_MODE,
    PASS_MODE,
    WINDOW,
    Admission,
    NotAdmitted,
    Refusal,
    admit,
)
from voting.brushing import BrushingChecks

NOW = dt.datetime(2026, 5, 1, 4, 0, tzinfo=dt.UTC)  # noon in the campaign's zone


def admission(
    store: StateStore,
    *,
    voter: str = "voter",
    candidate: int = 1,
    network: str = "203.0.113.7",
    mode: str = CAPTCHA_MODE,
    proof: str = "answer",
    answer: str = "ABCD",
    test_answer: str = "",
    burst: int = 100,
    allowance: int = 5,
    cap: int = 100,
    now: dt.datetime = NOW,
) -> Admission:
    sighting = BrushingChecks(store).sighting(
        campaign_id=1,
        candidate_id=candidate,
        network=network,
        agent_hash="a" * 16,
        voter_cookie=voter,
        now=now,
        timezone="Asia/Shanghai",
    )
    return Admission(
        now=now.timestamp(),
        burst_key=f"vb:{network}",
        burst_limit=burst,
        burst_window=60.0,
        mode=mode,
        proof_key=proof,
        answer=answer,
        test_answer=test_answer,
        pass_lifetime=900,
        once_key=f"vd:{voter}:{candidate}",
        quota_key=f"vq:{voter}",
        allowance=allowance,
        network_day_key=f"vn:{network}",
        network_cap=cap,
        reservation_ttl=3600,
        sighting=sighting,
    )


async def refusal(store: StateStore, a: Admission) -> tuple[Refusal, int]:
    with pytest.raises(NotAdmitted) as refused:
        await admit(store, a)
    return refused.value.refusal, refused.value.detail


async def test_a_solved_captcha_admits_one_vote(store: StateStore) -> None:
    await store.set("answer", b"abcd")
    admitted = await admit(store, admission(store))
    assert admitted.used == 1
    network_count, agent_count, slot, cookies, hour, total, first, *rings = admitted.counts
    assert (network_count, agent_count, slot, cookies, hour, total) == (1, 1, 1, 1, 1, 1)
    assert first == admission(store).sighting.args[4]  # this hour is the first
    # The ring counters: the block's and the browser's votes, for the candidate and in all.
    assert [int(n) for n in rings] == [1, 1, 1, 1]
    assert await store.get("answer") is None  # taken
    assert await refusal(store, admission(store, candidate=2)) == (Refusal.captcha_missing, 0)


async def test_a_wrong_answer_consumes_the_captcha_and_reserves_nothing(store: StateStore) -> None:
    await store.set("answer", b"ABCD")
    assert await refusal(store, admission(store, answer="ABCE")) == (Refusal.captcha_wrong, 0)
    assert await store.get_many(["answer", "vd:voter:1", "vq:voter", "vn:203.0.113.7"]) == [
        None,
        None,
        None,
        None,
    ]


async def test_the_test_answer_solves_any_live_captcha(store: StateStore) -> None:
    await store.set("answer", b"ABCD")
    a = admission(store, answer="PASS9", test_answer="PASS9")
    assert (await admit(store, a)).used == 1


async def test_a_withdrawn_pass_is_refused(store: StateStore) -> None:
    # ``answer``: when the pass was issued; the mark: when the voter's passes were withdrawn.
    a = admission(store, mode=PASS_MODE, proof="withdrawn", answer="1000")
    assert (await admit(store, a)).used == 1
    await store.set("withdrawn", b"1000.5")
    b = admission(store, mode=PASS_MODE, proof="withdrawn", answer="1000", candidate=2)
    assert await refusal(store, b) == (Refusal.pass_withdrawn, 0)
    assert await store.get("vd:voter:2") is None
    # A pass earned by a CAPTCHA answered after the withdrawal is good.
    c = admission(store, mode=PASS_MODE, proof="withdrawn", answer="1003", candidate=3)
    assert (await admit(store, c)).used == 2


async def test_reservations_are_all_or_nothing(store: StateStore) -> None:
    def by_pass(**kw: object) -> Admission:
        return admission(store, mode=PASS_MODE, proof="none", answer="", **kw)  # type: ignore[arg-type]

    assert (await admit(store, by_pass(candidate=1, allowance=2))).used == 1
    assert (await admit(store, by_pass(candidate=2, allowance=2))).used == 2
    assert await refusal(store, by_pass(candidate=1, allowance=2)) == (Refusal.taken, 0)
    assert await refusal(store, by_pass(candidate=3, allowance=2)) == (Refusal.taken, 1)
    assert await store.get_many(["vq:voter", "vd:voter:3", "vn:203.0.113.7"]) == [
        b"2",
        None,
        b"2",
    ]
    # The network's cap refuses another voter, and hands the voter's allowance back.
    assert await refusal(store, by_pass(voter="other", cap=2)) == (Refusal.taken, 2)
    assert await store.get_many(["vq:other", "vd:other:1", "vn:203.0.113.7"]) == [
        b"0",
        None,
        b"2",
    ]


async def test_the_network_cap_is_exact_under_concurrency(store: StateStore) -> None:
    attempts = [
        admission(store, voter=f"voter{i}", mode=PASS_MODE, proof="none", answer="", cap=7)
        for i in range(60)
    ]
    results = await asyncio.gather(*(admit(store, a) for a in attempts), return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 7
    assert all(isinstance(r, NotAdmitted) for r in results if isinstance(r, Exception))
    assert await store.get("vn:203.0.113.7") == b"7"


async def test_the_burst_window_refuses_first_and_withdraws_the_pass(store: StateStore) -> None:
    for candidate in (1, 2, 3):
        await admit(
            store, admission(store, candidate=candidate, mode=PASS_MODE, proof="w", burst=3)
        )
    later = NOW + dt.timedelta(seconds=20)
    await store.set("answer", b"ABCD")
    refused = await refusal(store, admission(store, candidate=4, burst=3, now=later))
    assert refused == (Refusal.burst, 40)  # the first of the three leaves the window then
    assert await store.get("answer") == b"ABCD"  # refused before the CAPTCHA was taken
    a = admission(store, candidate=4, burst=3, now=later, mode=PASS_MODE, proof="w")
    assert (await refusal(store, a))[0] is Refusal.burst
    assert await store.exists("w")  # the pass is withdrawn
    # A minute after the first vote the window lets one more through.
    after = NOW + dt.timedelta(seconds=61)
    assert (await admit(store, admission(store, candidate=4, burst=3, now=after))).used == 4


async def test_regular_interval_slots_come_back(store: StateStore) -> None:
    """After ``regular_intervals`` votes the times of the previous ones are returned."""
    wanted = BrushingChecks.regular_intervals
    for k in range(wanted + 1):
        a = admission(
            store,
            voter=f"v{k}",
            mode=PASS_MODE,
            proof="none",
            answer="",
            now=NOW + dt.timedelta(seconds=k),
        )
        counts = (await admit(store, a)).counts
    assert counts[2] == wanted + 1
    assert [float(t) for t in counts[11:]] == [NOW.timestamp() + k for k in range(wanted)]


async def test_the_moving_window_alone(store: StateStore) -> None:
    """The window the CAPTCHA requests of a network share (and a vote's burst limit)."""
    t = NOW.timestamp()
    hits = [(await store.run(WINDOW, ["w"], [t + k, 3, 60.0]))[0] for k in range(3)]
    assert hits == [0, 0, 0]
    assert await store.run(WINDOW, ["w"], [t + 10, 3, 60.0]) == [50]
    assert await store.run(WINDOW, ["w"], [t + 60.5, 3, 60.0]) == [0]  # the first left
