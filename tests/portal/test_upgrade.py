"""A database made by the previous release migrates forward and keeps its data.

``tests/data/release-1ad913b/`` holds dumps of the database that release's `portal demo
--no-serve` made (SQLite ``.dump`` and PostgreSQL ``pg_dump --no-owner``): two campaigns,
one finished (tally, notice, an objection, the designation, stories) and one with votes
and review scores. The test loads the dump of this run's engine into a database of its
own, runs today's `portal migrate` on it, checks that every row is still there, then
serves it with today's code and reads the campaigns, votes, scores, notice and stories
through the public site.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import io
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import infra
from voting.ledger import first_break

DUMPS = Path(__file__).resolve().parents[1] / "data" / "release-1ad913b"
# The tables of that release, with what the demo put in them.
TABLES = (
    "bureau",
    "staff",
    "campaign",
    "category",
    "audit_entry",
    "nomination",
    "document",
    "criterion",
    "panel_member",
    "assignment",
    "vote",
    "tally",
    "standing",
    "objection",
    "story",
    "story_candidate",
)


def _sqlite_rows(url: str, query: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(query).fetchall()


def _psql(url: str, *args: str, stdin: str | None = None) -> str:
    psql = shutil.which("psql") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))), None
    )
    assert psql, "psql is needed to load the PostgreSQL dump"
    done = subprocess.run(
        [psql, "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", url, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@contextlib.contextmanager
def previous_release(folder: Path) -> Iterator[str]:
    """The URL of a database of its own holding the previous release's demo."""
    if os.environ["DATABASE_URL"].startswith("sqlite"):
        path = folder / "previous.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.executescript(gzip.decompress((DUMPS / "sqlite.sql.gz").read_bytes()).decode())
        yield f"sqlite:///{path}"
        return
    with infra.fresh_database(os.environ["DATABASE_URL"], "portal_upgrade") as url:
        script = gzip.decompress((DUMPS / "postgres.sql.gz").read_bytes()).decode()
        # pg_dump 15.14+ guards its output with \restrict; older clients lack the command.
        script = "\n".join(
            line for line in script.splitlines() if not line.startswith(("\\restrict", "\\unr"))
        )
        _psql(url, stdin=script)
        yield url


def counts(url: str) -> dict[str, int]:
    query = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in TABLES)
    if url.startswith("sqlite"):
        return {name: int(n) for name, n in _sqlite_rows(url, query)}
    lines = _psql(url, "-F", "|", "-c", query).split()
    return {name: int(n) for name, n in (line.split("|") for line in lines)}


@pytest.mark.usefixtures("db_engine")  # a database of its own, of this run's engine
def test_a_database_of_the_previous_release_migrates_forward_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    with previous_release(tmp_path) as url:
        before = counts(url)
        assert before["vote"] > 7000 and before["story"] > 10 and before["standing"] > 40

        env = infra.portal_env(tmp_path / "var", url, test_answer="PASS9", pool_size=2)
        infra.portal(env, "migrate")
        assert counts(url) == before
        infra.portal(env, "migrate")  # a second run finds nothing to do
        assert counts(url) == before
        # The migration chained the release's audit entries: the chain verifies.
        assert "审计日志哈希链完整" in infra.portal(env, "verify-audit").stdout

        server = infra.Server(env, tmp_path / "server.log")
        try:
            server.wait_ready()
            status, campaigns = server.get_json("/api/v1/campaigns")
            assert status == 200
            assert {c["slug"]: c["phase"] for c in campaigns} == {  # type: ignore[union-attr]
                "dingxi-2023": "voting",
                "dingxi-2022": "published",
            }

            # Scores and votes of the finished campaign, as its honour list published them.
            status, results = server.get_json("/api/v1/campaigns/dingxi-2022/results")
            assert status == 200
            ranking = [row for c in results["categories"] for row in c["ranking"]]  # type: ignore[index]
            assert len(ranking) == before["standing"]
            assert sum(row["designated"] for row in ranking) > 0
            assert all(row["review_score"] is not None for row in ranking)

            # Its ledger: every vote, one unbroken chain, the published counts.
            status, body = server.get("/api/v1/campaigns/dingxi-2022/ledger.csv")
            assert status == 200
            rows = list(csv.DictReader(io.StringIO(body.decode())))
            for row in rows:
                row["seq"] = int(row["seq"])
            assert first_break(rows) is None
            counted: dict[int, int] = {}
            for row in rows:
                if row["status"] == "counted":
                    counted[int(row["candidate_id"])] = counted.get(int(row["candidate_id"]), 0) + 1
            assert {row["candidate_id"]: row["votes"] for row in ranking} == {
                cid: counted.get(cid, 0) for cid in (row["candidate_id"] for row in ranking)
            }

            # The bureaus became a tree: the city above its counties, running both years.
            status, bureaus = server.get_json("/api/v1/bureaus")
            assert status == 200
            city = bureaus[0]  # type: ignore[index]
            assert (city["name"], city["short_name"], city["level"]) == (
                "定西市司法局",
                "定西市",
                "city",
            )
            assert city["parent_id"] is None
            counties = bureaus[1:]  # type: ignore[index]
            assert len(counties) == 7
            assert all(b["level"] == "county" and b["parent_id"] == city["id"] for b in counties)
            assert "安定区" in {b["short_name"] for b in counties}
            for slug in ("dingxi-2022", "dingxi-2023"):
                status, detail = server.get_json(f"/api/v1/campaigns/{slug}")
                assert (detail["organiser"], detail["level"]) == ("定西市司法局", "city")  # type: ignore[index]

            # The campaign still voting keeps its live votes.
            status, candidates = server.get_json("/api/v1/campaigns/dingxi-2023/candidates")
            assert status == 200
            assert sum(c["votes"] or 0 for c in candidates) > 0  # type: ignore[union-attr]

            # The finished campaign's designees entered the register with the migration,
            # numbered in the organiser's series in the honour list's order.
            status, register = server.get_json("/api/v1/designations?campaign=dingxi-2022")
            assert status == 200
            designated = sum(row["designated"] for row in ranking)
            assert len(register) == designated  # type: ignore[arg-type]
            assert [d["certificate_no"] for d in register] == [  # type: ignore[union-attr]
                f"定司证〔2022〕第{n:03d}号" for n in range(1, designated + 1)
            ]

            # Notice, objections and stories are still public.
            assert server.status("/campaigns/dingxi-2022/honours") == 200
            status, page = server.get("/stories")
            assert status == 200 and "典型案例" in page.decode()
        finally:
            server.stop()
