"""`make brushing-eval`'s traffic: labelled, and the same for a seed (the run itself is
not part of the suite: bench/brushing.py)."""

from __future__ import annotations

import ipaddress
from collections import Counter

from bench.brushing import (
    BOT_AGENTS,
    CATEGORIES,
    PROFILES,
    RELATIVE,
    TARGET,
    honour_list,
    traffic,
)
from voting.brushing import block_of


def profile(name: str):  # type: ignore[no-untyped-def]
    return next(p for p in PROFILES if p.name == name)


def test_a_seed_gives_the_same_traffic() -> None:
    for p in PROFILES:
        first, again = traffic(p, 7), traffic(p, 7)
        assert first == again and len(first) > 300
        assert [v.at for v in first] == sorted(v.at for v in first)
        assert all(0 <= v.at < p.span for v in first)
        assert traffic(p, 8) != first


def test_every_vote_is_labelled_and_valid() -> None:
    for p in PROFILES:
        votes = traffic(p, 7)
        labels = Counter(v.label for v in votes)
        assert set(labels) <= {"human", "attack"} and labels["human"] > 300
        for v in votes:
            ipaddress.ip_address(v.address)
            assert 0 <= v.candidate < CATEGORIES[v.category][0]
        # Nobody casts two votes for one candidate, or more than a category allows.
        per_voter = Counter((v.voter, v.category, v.candidate) for v in votes)
        assert max(per_voter.values()) == 1
        per_category = Counter((v.voter, v.category) for v in votes)
        assert all(n <= CATEGORIES[c][1] for (_, c), n in per_category.items())


def test_the_attacks_are_what_their_profiles_say() -> None:
    def attack(name: str) -> list:  # type: ignore[type-arg]
        votes = [v for v in traffic(profile(name), 7) if v.label == "attack"]
        assert votes and {(v.category, v.candidate) for v in votes} == {TARGET}
        assert len({v.voter for v in votes}) == len(votes)  # a fresh cookie every vote
        return votes

    assert len({v.address for v in attack("cookie_churn")}) == 1
    rotation = attack("rotation_24")
    assert len({block_of(v.address) for v in rotation}) == 1
    assert len({v.address for v in rotation}) == len(rotation)
    assert len({v.agent for v in rotation}) == 5
    pool = attack("proxy_pool")
    assert len({v.address.rsplit(".", 2)[0] for v in pool}) == len(pool)  # /16s
    assert len({v.agent for v in pool}) == 10 and {v.agent for v in pool} <= set(BOT_AGENTS)
    v6 = attack("ipv6_56")
    networks = {ipaddress.IPv6Network((v.address, 64), strict=False) for v in v6}
    assert len(networks) == len(v6)
    assert len({n.supernet(new_prefix=56) for n in networks}) == 1
    drip = attack("slow_drip")
    assert drip[-1].at - drip[0].at > 20 * 3600
    # The traps have no attack: real people behind one address, or brought by a share.
    for name in ("carrier_gateway", "wechat_surge"):
        assert all(v.label == "human" for v in traffic(profile(name), 7))
    gateway = Counter(v.address for v in traffic(profile("carrier_gateway"), 7))
    assert gateway.most_common(1)[0][1] > 300
    surge = Counter((v.category, v.candidate) for v in traffic(profile("wechat_surge"), 7))
    assert surge[RELATIVE] >= 180  # the crowd, and the background's own


def test_the_honour_list_is_the_top_of_each_category() -> None:
    tally = Counter({("mediator", 3): 9, ("mediator", 5): 7, ("mediator", 0): 7})
    tally[("judicial-office", 4)] = 1
    assert honour_list(tally) == {"judicial-office": [0, 4], "mediator": [0, 3]}
