"""The auditor's check end to end: download ledger.csv and the published results, run
`portal verify-ledger FILE --results FILE`; any tampering with the ledger is caught."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from portal.audit import Actor
from portal.cli import main
from portal.results import services as results
from tests.results.conftest import RESULTS_SLUG, Candidate
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
    await results.open_notice(Actor.command_line(), RESULTS_SLUG, 7)

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
