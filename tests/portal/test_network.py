"""Who the client is: X-Forwarded-For only from trusted proxies, and the network key of limits."""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from portal.network import network_of, resolve_client
from portal.tables import AuditEntry
from tests.conftest import running
from tests.helpers import PASSWORD, post_form

ip = ipaddress.ip_address
PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::/48"))


# --- resolve_client ------------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert resolve_client("203.0.113.7", [], ()) == ip("203.0.113.7")
    # The header is the client's own claim: ignored, whatever it says.
    assert resolve_client("203.0.113.7", ["198.51.100.1"], ()) == ip("203.0.113.7")
    assert resolve_client("203.0.113.7", ["10.0.0.1, 127.0.0.1"], ()) == ip("203.0.113.7")


def test_an_untrusted_peer_is_the_client_even_when_proxies_are_configured() -> None:
    assert resolve_client("203.0.113.7", ["198.51.100.1"], PROXIES) == ip("203.0.113.7")
    # Claiming to come through one of our proxies does not help either.
    assert resolve_client("203.0.113.7", ["198.51.100.1, 10.0.0.1"], PROXIES) == ip("203.0.113.7")


def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() -> None:
    assert resolve_client("10.0.0.1", ["203.0.113.7"], PROXIES) == ip("203.0.113.7")
    assert resolve_client("10.0.0.1", ["198.51.100.9, 203.0.113.7"], PROXIES) == ip("203.0.113.7")
    # A trusted proxy that sent no header: the proxy itself is all we know.
    assert resolve_client("10.0.0.1", [], PROXIES) == ip("10.0.0.1")


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    chain = ["203.0.113.7, 10.1.2.3, 10.4.5.6"]
    assert resolve_client("10.0.0.1", chain, PROXIES) == ip("203.0.113.7")
    # The same chain spread over several header lines, as some proxies send it.
    lines = ["203.0.113.7", "10.1.2.3", "10.4.5.6"]
    assert resolve_client("10.0.0.1", lines, PROXIES) == ip("203.0.113.7")
    # Every hop trusted: the left-most is the best we know.
    assert resolve_client("10.0.0.1", ["10.9.9.9, 10.4.5.6"], PROXIES) == ip("10.9.9.9")


def test_spoofed_hops_on_the_left_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1, 10.0.0.5"; our proxy appended the peer.
    spoofed = ["1.1.1.1, 10.0.0.5, 203.0.113.7"]
    assert resolve_client("10.0.0.1", spoofed, PROXIES) == ip("203.0.113.7")
    # Different spoofed prefixes, same client (so the same limit key).
    for prefix in ("8.8.8.8", "192.0.2.1, 192.0.2.2", "::1", "not-an-address"):
        assert resolve_client("10.0.0.1", [f"{prefix}, 203.0.113.7"], PROXIES) == ip("203.0.113.7")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # The hop our own proxy wrote is unreadable: stop at the proxy, never further left.
        ("203.0.113.7, garbage", "10.0.0.1"),
        ("203.0.113.7, unknown", "10.0.0.1"),
        ("203.0.113.7, 999.1.1.1", "10.0.0.1"),
        ("203.0.113.7, _hidden", "10.0.0.1"),
        # Unreadable behind a second trusted hop: the last hop believed.
        ("203.0.113.7, garbage, 10.4.5.6", "10.4.5.6"),
        # Junk left of the client is never reached.
        ("garbage, 203.0.113.7", "203.0.113.7"),
        # Empty items and blanks are skipped, not treated as hops.
        (" , 203.0.113.7 ,, ", "203.0.113.7"),
    ],
)
def test_malformed_hops(header: str, expected: str) -> None:
    assert resolve_client("10.0.0.1", [header], PROXIES) == ip(expected)


def test_a_missing_or_unreadable_peer_is_a_placeholder_not_a_crash() -> None:
    assert resolve_client(None, ["203.0.113.7"], PROXIES) == ip("0.0.0.0")
    assert resolve_client("", [], ()) == ip("0.0.0.0")
    assert resolve_client("testclient", ["203.0.113.7"], PROXIES) == ip("0.0.0.0")


def test_ports_in_values_are_dropped() -> None:
    assert resolve_client("10.0.0.1", ["203.0.113.7:5555"], PROXIES) == ip("203.0.113.7")
    assert resolve_client("10.0.0.1", ["[2001:db8:1:2::7]:443"], PROXIES) == ip("2001:db8:1:2::7")
    assert resolve_client("10.0.0.1", ["[2001:db8:1:2::7]"], PROXIES) == ip("2001:db8:1:2::7")
    # A bare IPv6 address is not mistaken for address:port.
    assert resolve_client("10.0.0.1", ["2001:db8:1:2::7"], PROXIES) == ip("2001:db8:1:2::7")
    # A trusted hop with a port is still recognised as trusted.
    assert resolve_client("10.0.0.1", ["203.0.113.7, 10.4.5.6:8080"], PROXIES) == ip("203.0.113.7")
    # And the peer may carry one too.
    assert resolve_client("10.0.0.1:40000", ["203.0.113.7"], PROXIES) == ip("203.0.113.7")


def test_ipv4_mapped_ipv6_is_treated_as_ipv4() -> None:
    mapped = resolve_client("::ffff:203.0.113.7", [], ())
    assert mapped == ip("203.0.113.7") and mapped.version == 4
    assert network_of(mapped) == "203.0.113.7"
    # A dual-stack proxy shows up as a mapped address and is still trusted...
    assert resolve_client("::ffff:10.0.0.1", ["203.0.113.7"], PROXIES) == ip("203.0.113.7")
    # ...and a mapped client address in the header is the same client as the plain one.
    assert resolve_client("10.0.0.1", ["::ffff:203.0.113.7"], PROXIES) == ip("203.0.113.7")
    assert resolve_client("10.0.0.1", ["[::ffff:203.0.113.7]:443"], PROXIES) == ip("203.0.113.7")


def test_ipv6_proxies_and_clients() -> None:
    assert resolve_client("2001:db8:ffff::1", ["2001:db8:1:2::7"], PROXIES) == ip("2001:db8:1:2::7")
    # IPv4 networks never contain IPv6 addresses and vice versa.
    assert resolve_client("2001:db8:1::1", ["203.0.113.7"], PROXIES) == ip("2001:db8:1::1")
    assert resolve_client("10.0.0.1", ["203.0.113.7, 2001:db8:ffff::9"], PROXIES) == ip(
        "203.0.113.7"
    )


# --- network_of ----------------------------------------------------------------------------


def test_ipv4_addresses_are_their_own_network() -> None:
    assert network_of(ip("203.0.113.7")) == "203.0.113.7"
    assert network_of(ip("203.0.113.7")) != network_of(ip("203.0.113.8"))


def test_ipv6_addresses_are_grouped_by_64() -> None:
    a = network_of(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"))
    b = network_of(ip("2001:db8:1:2::1"))
    assert a == b == "2001:db8:1:2::/64"
    # A neighbouring /64 is another network.
    assert network_of(ip("2001:db8:1:3::1")) == "2001:db8:1:3::/64"
    assert network_of(ip("::1")) == "::/64"


# --- over HTTP -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def app_client(tmp_path: Path, proxies: tuple = ()) -> AsyncIterator[httpx.AsyncClient]:
    """The app with these trusted proxies, reached from 127.0.0.1 (the ASGI peer)."""
    from portal.app import create_app
    from portal.settings import Settings

    settings = Settings(
        database_url=os.environ["DATABASE_URL"],
        env="test",
        secret_key=os.environ["PORTAL_SECRET_KEY"],
        trusted_proxies=proxies,
        var_dir=tmp_path,
    )
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", follow_redirects=False
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def _fail_logins(client: httpx.AsyncClient, count: int, forwarded_for) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        response = await post_form(
            client,
            "/login",
            {"username": f"user{i}", "password": "nope-nope"},
            headers={"X-Forwarded-For": forwarded_for(i)},
        )
        assert response.status_code == 400, response.status_code


async def _network_of_last_login() -> str:
    rows = (
        await AuditEntry.select(AuditEntry.network)
        .where(AuditEntry.action == "staff.login")
        .order_by(AuditEntry.id)
        .run()
    )
    return rows[-1]["network"]


async def test_network_throttle_cannot_be_escaped_with_x_forwarded_for(
    staff: dict, tmp_path: Path
) -> None:
    async with app_client(tmp_path) as client:
        assert client.app.state.settings.trusted_proxies == ()  # type: ignore[attr-defined]
        # Twenty failures, each claiming to come from a different address.
        await _fail_logins(client, 20, lambda i: f"198.51.{i}.{i + 1}")
        response = await post_form(
            client,
            "/login",
            {"username": "admin", "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.200"},
        )
        assert response.status_code == 429
        assert "登录失败次数过多" in response.text
        assert await AuditEntry.count().where(AuditEntry.action == "staff.login").run() == 0


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    staff: dict, tmp_path: Path
) -> None:
    proxies = (ipaddress.ip_network("127.0.0.1/32"),)
    async with app_client(tmp_path, proxies) as client:
        # A spoofed left-most hop changes nothing: the proxy-appended hop is the client.
        await _fail_logins(client, 20, lambda i: f"192.0.2.{i}, 203.0.113.7")
        locked = await post_form(
            client,
            "/login",
            {"username": "admin", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        assert locked.status_code == 429
        # Another client behind the same proxy is not locked, and is logged as itself.
        other = await post_form(
            client,
            "/login",
            {"username": "admin", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.8"},
        )
        assert other.status_code in (302, 303)
    assert await _network_of_last_login() == "203.0.113.8"


async def test_login_audit_records_the_peer_when_not_behind_a_trusted_proxy(
    staff: dict, tmp_path: Path
) -> None:
    async with app_client(tmp_path) as client:
        response = await post_form(
            client,
            "/login",
            {"username": "admin", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.8"},
        )
        assert response.status_code in (302, 303)
    assert await _network_of_last_login() == "127.0.0.1"
