"""The auditor's check end to end: download ledger.csv and the published results, run
`portal verify-ledger FILE --results FILE [--head SEQ:HASH]`; any tampering with the
ledger is caught, even a truncated or re-chained copy whose chain holds on its own."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from portal.audit import Actor
from portal.cli import main
from results import services as results
from tests.results.conftest import RESULTS_SLUG, Candidate, open_notice_now
from voting.ledger import GENESIS, chain_link
from voting.tables import Vote

SPEC = {
    "office": (
        1,
        [Candidate("甲司法所", "90", votes=7, held=3), Candidate("乙司法所", "80", votes=12)],
    ),
    "mediator": (1, [Candidate("张调解员", "70", votes=4), Candidate("李调解员", "75")]),
}


async def test_the_downloaded_ledger_verifies_against_the_published_results(
    results_campaign, client, tmp_path: Path
) -> None:
    scene = await results_campaign(SPEC)
    # The brushing review excluded the three held votes: they stay in the ledger.
    await Vote.update({Vote.status: "excluded"}).where(Vote.status == "held").run()
    await results.tally(Actor.command_line(), RESULTS_SLUG)
    await open_notice_now(Actor.command_line(), RESULTS_SLUG, 7)

    ledger = tmp_path / "ledger.csv"
    response = await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/ledger.csv")
    assert response.status_code == 200
    ledger.write_bytes(response.content)
    published = tmp_path / "results.json"
    response = await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")
    assert response.status_code == 200
    published.write_bytes(response.content)
    votes = {
        row["name"]: row["votes"]
        for category in response.json()["categories"]
        for row in category["ranking"]
    }
    assert votes == {"甲司法所": 7, "乙司法所": 12, "张调解员": 4, "李调解员": 0}

    good = CliRunner().invoke(main, ["verify-ledger", str(ledger), "--results", str(published)])
    assert good.exit_code == 0, good.output

    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    assert len(rows) == 26

    def fails_naming(changed: list[str], *words: str) -> None:
        broken = tmp_path / "broken.csv"
        broken.write_text(header + "".join(changed), encoding="utf-8")
        result = CliRunner().invoke(
            main, ["verify-ledger", str(broken), "--results", str(published)]
        )
        assert result.exit_code == 1, result.output
        for word in words:
            assert word in result.output, (word, result.output)

    # One row altered: a vote moved to another candidate (line 6 is seq 5).
    fields = rows[4].split(",")
    fields[2] = str(scene.ids["张调解员"])
    fails_naming([*rows[:4], ",".join(fields), *rows[5:]], "第 6 行", "seq 5")
    # One row deleted.
    fails_naming([*rows[:9], *rows[10:]], "第 11 行")
    # Two rows swapped.
    fails_naming([*rows[:2], rows[3], rows[2], *rows[4:]], "第 4 行")


def rechained(rows: list[str]) -> list[str]:
    """The CSV rows with every chain_hash recomputed from the fields as written: what a
    forger who edits rows and then re-links the whole chain hands out."""
    out, previous = [], GENESIS
    for row in rows:
        fields = row.rstrip("\r\n").split(",")
        fields[5] = previous = chain_link(previous, *fields[:5])
        out.append(",".join(fields) + "\r\n")
    return out


async def test_a_truncated_or_rechained_ledger_fails_against_the_published_head(
    results_campaign, client, tmp_path: Path
) -> None:
    scene = await results_campaign(SPEC)
    await Vote.update({Vote.status: "excluded"}).where(Vote.status == "held").run()
    await results.tally(Actor.command_line(), RESULTS_SLUG)
    await open_notice_now(Actor.command_line(), RESULTS_SLUG, 7)

    response = await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/ledger.csv")
    assert response.status_code == 200
    lines = response.text.splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    head = (await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")).json()["ledger_head"]
    last = rows[-1].split(",")
    assert head == {"seq": 26, "chain_hash": last[5]} and last[0] == "26"
    published = f"{head['seq']}:{head['chain_hash']}"
    # The notice shows the same head, and how to check a download against it.
    notice = await client.get(f"/campaigns/{RESULTS_SLUG}/notice")
    assert "投票记录链尾：第 26 条" in notice.text and head["chain_hash"] in notice.text
    assert f"portal verify-ledger ledger.csv --head {published}" in notice.text

    def verify(copy: list[str], *args: str) -> tuple[int, str]:
        path = tmp_path / "copy.csv"
        path.write_text(header + "".join(copy), encoding="utf-8")
        result = CliRunner().invoke(main, ["verify-ledger", str(path), *args])
        return result.exit_code, result.output

    code, output = verify(rows, "--head", published)
    assert code == 0 and "最后一行就是公布的链尾" in output, output

    # The last three votes removed: the chain still holds, the published head is missing.
    truncated = rows[:-3]
    assert verify(truncated)[0] == 0
    code, output = verify(truncated, "--head", published)
    assert code == 1 and "截短" in output and "缺少最后 3 行" in output, output

    # One vote moved to another candidate and every chain_hash recomputed: a chain of its
    # own, with the same seq run, ending on another hash.
    fields = rows[4].split(",")
    fields[2] = str(scene.ids["张调解员"])
    forged = rechained([*rows[:4], ",".join(fields), *rows[5:]])
    assert verify(forged)[0] == 0
    code, output = verify(forged, "--head", published)
    assert code == 1 and "重新计算" in output, output


async def test_a_campaign_without_votes_publishes_the_chain_start(
    results_campaign, client, tmp_path: Path
) -> None:
    spec = {"office": (1, [Candidate("甲司法所", "90")]), "mediator": (1, [])}
    await results_campaign(spec)
    await results.tally(Actor.command_line(), RESULTS_SLUG)
    await open_notice_now(Actor.command_line(), RESULTS_SLUG, 7)

    body = (await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/results")).json()
    assert body["ledger_head"] == {"seq": 0, "chain_hash": GENESIS}
    notice = await client.get(f"/campaigns/{RESULTS_SLUG}/notice")
    assert "第 0 条（本次活动没有投票记录）" in notice.text and GENESIS in notice.text

    ledger = tmp_path / "ledger.csv"
    ledger.write_bytes((await client.get(f"/api/v1/campaigns/{RESULTS_SLUG}/ledger.csv")).content)
    result = CliRunner().invoke(main, ["verify-ledger", str(ledger), "--head", f"0:{GENESIS}"])
    assert result.exit_code == 0, result.output
