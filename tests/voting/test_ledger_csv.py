"""`GET /api/v1/campaigns/{slug}/ledger.csv`: the public vote ledger once voting has closed.

The votes are cast through the API (a brushing rule holds one of them), one is excluded
through brushing review (``voting.moderation``), and the download is compared with what
the API told each voter and with the stored rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
from collections import Counter
from typing import Any

import pytest

from portal.audit import Actor
from portal.tables import Campaign, Phase
from tests.voting.conftest import (
    SLUG,
    assert_error,
    issue_captchas,
    ledger_rows,
    make_voting_campaign,
    vote,
    voting_service,
)
from voting import ledger_csv, moderation
from voting.brushing import BrushingChecks
from voting.ledger import first_break
from voting.moderation import Selection
from voting.tables import Vote, VoteStatus

pytestmark = pytest.mark.usefixtures("bureaus")

HEADER = "seq,cast_at,candidate_id,voter_hash,receipt_hash,chain_hash,status"
URL = f"/api/v1/campaigns/{SLUG}/ledger.csv"


async def cast(client, candidate_id: int, count: int = 1) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """``count`` votes for a candidate from the client's network, each a new voter."""
    accepted = []
    for captcha in await issue_captchas(client, count):
        client.cookies.clear()
        response = await vote(client, candidate_id, captcha=captcha)
        assert response.status_code == 201, response.text
        accepted.append(response.json())
    return accepted


async def cast_scene(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A voting campaign with nine votes through the API: the third for one judicial
    office is held (a network burst), and a counted one is then excluded in review.
    Another campaign has a vote of its own. Returns the campaign, its candidates, the
    votes as the API acknowledged them (with their final status), and the expected
    counted votes per candidate."""
    made = await make_voting_campaign(network_votes_per_minute=100)
    elsewhere = await make_voting_campaign("other-2024")
    service = voting_service(client)
    # Three votes for one candidate from one network within minutes: the third is held.
    service.brushing = BrushingChecks(service.store, network_burst=2)
    offices, mediators = made["candidates"]["judicial-office"], made["candidates"]["mediator"]
    accepted = []
    for candidate_id, count in ((offices[0], 3), (mediators[0], 2), (mediators[1], 2)):
        accepted += await cast(client, candidate_id, count)
    accepted += await cast(client, offices[1])
    assert [a["status"] for a in accepted].count("held") == 1
    assert accepted[2]["status"] == "held"
    other_candidate = elsewhere["candidates"]["mediator"][0]
    other = await vote(client, other_candidate, slug="other-2024")  # not in this ledger
    assert other.status_code == 201

    # Review excludes one counted vote of the second mediator.
    excluded = accepted[5]
    row = await Vote.select(Vote.id).where(Vote.receipt == excluded["receipt"]).first().run()
    decision = await moderation.exclude(
        service,
        Actor.command_line(),
        made["campaign"],
        Selection(candidate_id=mediators[1], vote_ids=(row["id"],)),
        "同一人重复投票",
    )
    assert decision.moved == {"counted": 1}
    excluded["status"] = VoteStatus.excluded.value

    counted = Counter(a["candidate_id"] for a in accepted if a["status"] == "counted")
    return {**made, "accepted": accepted, "counted": dict(counted)}


def close_voting(client, made: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """Move the vote clock to the end of the voting window (the phase stays voting)."""
    closes_at = made["campaign"].voting_closes_at
    voting_service(client).clock = lambda: closes_at


async def set_phase(phase: Phase) -> None:
    await Campaign.update({Campaign.phase: phase.value}).where(Campaign.slug == SLUG).run()


def parse(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body, newline="")))


# --- before voting closes ----------------------------------------------------------------


async def test_the_ledger_is_not_public_while_voting_is_open(client) -> None:  # type: ignore[no-untyped-def]
    """During voting (even a second before it closes): 404 not_found with a Chinese
    message; unknown and draft campaigns: 404 too."""
    made = await cast_scene(client)
    body = assert_error(await client.get(URL), 404, "not_found")
    assert "投票" in body["message"] and "截止" in body["message"]
    closes_at = made["campaign"].voting_closes_at
    voting_service(client).clock = lambda: closes_at - dt.timedelta(seconds=1)
    assert_error(await client.get(URL), 404, "not_found")
    for phase in (Phase.reviewing, Phase.vetting):
        await set_phase(phase)
        assert_error(await client.get(URL), 404, "not_found")
    assert_error(
        await client.get("/api/v1/campaigns/no-such-campaign/ledger.csv"), 404, "not_found"
    )
    await make_voting_campaign("draft-2024", phase=Phase.draft.value)
    voting_service(client).clock = lambda: closes_at + dt.timedelta(days=1)
    body = assert_error(
        await client.get("/api/v1/campaigns/draft-2024/ledger.csv"), 404, "not_found"
    )
    assert "找不到" in body["message"]


# --- after voting closes ------------------------------------------------------------------


async def test_after_the_window_closes_every_vote_is_listed_in_seq_order(client) -> None:  # type: ignore[no-untyped-def]
    made = await cast_scene(client)
    close_voting(client, made)
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{SLUG}-ledger.csv"'
    text = response.content.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == HEADER
    assert lines[-1] == ""  # every line ends with CRLF, the last one too
    rows = parse(text)
    accepted = made["accepted"]
    assert len(rows) == len(accepted) == 8

    # One row per vote, in the order recorded, exactly as the API acknowledged it.
    assert [r["seq"] for r in rows] == [str(n) for n in range(1, 9)]
    for row, ack in zip(rows, accepted, strict=True):
        assert row["cast_at"] == ack["cast_at"]
        assert row["candidate_id"] == str(ack["candidate_id"])
        assert row["receipt_hash"] == hashlib.sha256(ack["receipt"].encode()).hexdigest()
        assert row["status"] == ack["status"]
    assert Counter(r["status"] for r in rows) == {"counted": 6, "held": 1, "excluded": 1}
    assert len({r["voter_hash"] for r in rows}) == 8  # each vote came from a new cookie

    # The stored rows, column for column; the chain recomputes from the file alone.
    stored = await ledger_rows(made["campaign"].id)
    for row, db in zip(rows, stored, strict=True):
        assert row == {
            "seq": str(db["seq"]),
            "cast_at": db["cast_at"],
            "candidate_id": str(db["candidate"]),
            "voter_hash": db["voter_hash"],
            "receipt_hash": db["receipt_hash"],
            "chain_hash": db["chain_hash"],
            "status": db["status"],
        }
    assert first_break(rows) is None
    counted = Counter(int(r["candidate_id"]) for r in rows if r["status"] == "counted")
    assert counted == made["counted"]


@pytest.mark.parametrize("phase", [Phase.tallying, Phase.notice, Phase.published])
async def test_in_the_phases_after_voting_the_ledger_is_public(client, phase: Phase) -> None:  # type: ignore[no-untyped-def]
    """Once the campaign has moved on from voting, whatever the clock says."""
    made = await cast_scene(client)
    await set_phase(phase)
    voting_service(client).clock = lambda: made["campaign"].voting_opens_at
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    rows = parse(response.text)
    assert [r["status"] for r in rows] == [a["status"] for a in made["accepted"]]
    assert first_break(rows) is None


async def test_a_campaign_without_votes_has_just_the_header(client) -> None:  # type: ignore[no-untyped-def]
    await make_voting_campaign()
    await set_phase(Phase.tallying)
    response = await client.get(URL)
    assert response.status_code == 200
    assert response.text == HEADER + "\r\n"


async def test_the_ledger_is_read_and_sent_in_pages(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Keyset pages by seq: small pages give the same file, one chunk per page."""
    made = await cast_scene(client)
    close_voting(client, made)
    whole = (await client.get(URL)).content
    campaign_id = made["campaign"].id
    for size, pages in ((3, 3), (4, 2), (8, 1), (100, 1)):
        chunks = [chunk async for chunk in await ledger_csv.ledger_csv(campaign_id, size)]
        assert len(chunks) == pages, size
        assert b"".join(chunks) == whole
        assert chunks[0].startswith(HEADER.encode() + b"\r\n1,")
    reads: list[int] = []
    real_page = ledger_csv.ledger_page

    async def counting_page(campaign: int, after_seq: int, limit: int) -> list[dict]:
        reads.append(after_seq)
        return await real_page(campaign, after_seq, limit)

    monkeypatch.setattr(ledger_csv, "PAGE_SIZE", 3)
    monkeypatch.setattr(ledger_csv, "ledger_page", counting_page)
    response = await client.get(URL)
    assert response.content == whole
    assert reads == [0, 3, 6]  # each page starts after the last seq of the one before
    # Asked gzipped, it is still a stream (chunked, no length), each page flushed
    # compressed as it is read, and decodes to the same file.
    reads.clear()
    async with client.stream("GET", URL, headers={"Accept-Encoding": "gzip"}) as raw:
        wire = [chunk async for chunk in raw.aiter_raw()]
    assert raw.headers["content-encoding"] == "gzip" and "content-length" not in raw.headers
    assert gzip.decompress(b"".join(wire)) == whole and reads == [0, 3, 6]


async def test_the_openapi_schema_documents_the_ledger(client) -> None:  # type: ignore[no-untyped-def]
    document = (await client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/api/v1/campaigns/{slug}/ledger.csv"]["get"]
    parameters = {(p["name"], p["in"]): p for p in operation["parameters"]}
    assert parameters[("slug", "path")]["required"] is True
    ok = operation["responses"]["200"]["content"]
    assert list(ok) == ["text/csv"]
    assert ok["text/csv"]["schema"]["type"] == "string"
    (example,) = ok["text/csv"]["examples"].values()
    assert example["value"].startswith(HEADER + "\r\n")
    assert first_break(parse(example["value"])) is None  # the example verifies
    missing = operation["responses"]["404"]["content"]["application/json"]["schema"]
    name = missing["$ref"].rsplit("/", 1)[-1]
    error = document["components"]["schemas"][name]
    assert {"error", "message"} <= set(error["required"])
