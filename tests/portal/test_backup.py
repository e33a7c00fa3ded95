"""The restore drill: `portal backup` while votes stream in, `portal restore` into an empty
database and upload folder, and the restored portal serves what was acknowledged.

Runs on the suite's engine (a SQLite file of its own, or a fresh PostgreSQL database).
Voters stream votes at a real `portal serve`; once some are acknowledged (201), `portal
backup` runs in another process while they go on. The archive is restored into a new,
empty database and upload folder; there the ledger downloaded from a restored server
passes `portal verify-ledger`, every vote acknowledged before the backup started is in
it, the candidate's photo (an uploaded file) opens, and the audit chain verifies. A
second restore onto the now non-empty target, and an archive with one file altered, are
refused with a clear message and change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import secrets
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from bench import infra
from bench.infra import Deployment, Server, new_network
from portal import media
from tests.voting.conftest import TEST_ANSWER
from tests.voting.deployment import captcha, deploy
from voting.services import receipt_hash

SLUG = "drill-2024"
VOTERS = 4
BEFORE = 12  # votes acknowledged before the backup starts


@pytest.fixture(scope="module")
def deployment(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deploy(
        tmp_path_factory.mktemp("drill"),
        {SLUG: {"units": 4, "mediators": 4}},
        postgres=db_engine == "postgres",
        pool_size=BEFORE + 6 * VOTERS,
    ) as made:
        yield made


def execute(url: str, statement: str) -> None:
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.execute(statement)
            conn.commit()
    else:
        infra.admin_sql(url, statement)


@contextlib.contextmanager
def empty_target(db_engine: str, folder: Path) -> Iterator[dict[str, str]]:
    """The environment of a new deployment: an empty database and upload folder."""
    with contextlib.ExitStack() as stack:
        if db_engine == "postgres":
            url = stack.enter_context(
                infra.fresh_database(os.environ["DATABASE_URL"], "portal_restore")
            )
        else:
            url = f"sqlite:///{folder / 'portal.sqlite3'}"
        yield infra.portal_env(folder, url, test_answer=TEST_ANSWER, pool_size=4)


def a_photo(folder: Path) -> tuple[str, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (180, 40, 40)).save(buffer, "PNG")
    return media.save_photo(buffer.getvalue(), media.upload_dir(folder))


def damaged_copy(source: Path, target: Path) -> None:
    """The archive with one uploaded file's bytes altered (the manifest left as it was)."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        altered = False
        for member in old:
            data = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("uploads/") and not altered:
                data, altered = data[:-1] + bytes([data[-1] ^ 1]), True
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))
    assert altered


async def test_restore_drill(deployment: Deployment, db_engine: str, tmp_path: Path) -> None:
    office = deployment.candidates["judicial-office"][0]
    photo, thumbnail = a_photo(Path(deployment.env["PORTAL_VAR_DIR"]))
    execute(
        deployment.database_url,
        f"UPDATE nomination SET photo = '{photo}', thumbnail = '{thumbnail}' WHERE id = {office}",
    )
    photo_bytes = (Path(deployment.env["PORTAL_VAR_DIR"]) / "uploads" / photo).read_bytes()

    env = {**deployment.env, "PORTAL_QUEUE_TIMEOUT_MS": "60000", "PORTAL_LEDGER_WAIT_MS": "0"}
    rng, used = random.Random(secrets.randbits(64)), set()
    offices = deployment.candidates["judicial-office"]
    archive = tmp_path / "backup.tar.gz"
    acked: list[dict] = []
    stop = asyncio.Event()
    server = Server(env, tmp_path / "serve.log")
    try:
        await server.ready(pool=BEFORE)
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:

            async def voter() -> None:
                while not stop.is_set():
                    headers = {"X-Forwarded-For": new_network(rng, used)}
                    ticket = await captcha(client, headers=headers)
                    response = await client.post(
                        f"/api/v1/campaigns/{SLUG}/votes",
                        json={
                            "candidate_id": rng.choice(offices),
                            "captcha_id": ticket,
                            "captcha_answer": TEST_ANSWER,
                        },
                        headers=headers,
                    )
                    assert response.status_code == 201, response.text
                    acked.append(response.json())

            tasks = [asyncio.create_task(voter()) for _ in range(VOTERS)]
            try:
                while len(acked) < BEFORE:
                    for task in tasks:
                        if task.done():
                            task.result()
                    await asyncio.sleep(0.005)
                before_backup = [vote["receipt"] for vote in acked]
                made = await asyncio.to_thread(deployment.portal, "backup", str(archive))
            finally:
                stop.set()
                await asyncio.gather(*tasks)
    finally:
        server.stop()
    assert made.returncode == 0, made.stdout + made.stderr
    assert "已备份" in made.stdout
    assert "Traceback" not in server.log.read_text()

    with empty_target(db_engine, tmp_path / "restored") as target:
        restored = infra.portal(target, "restore", str(archive), check=False)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        # The target is no longer empty: a second restore is refused, nothing changed.
        again = infra.portal(target, "restore", str(archive), check=False)
        assert again.returncode == 1 and "不是空的" in again.stderr, again.stderr
        assert "Traceback" not in again.stderr

        assert "审计日志哈希链完整" in infra.portal(target, "verify-audit").stdout
        # The public ledger is published once voting closes: close it on the restored side.
        infra.portal(target, "phase", SLUG, "tallying")
        server = Server(target, tmp_path / "restored.log")
        try:
            server.wait_ready()
            status, ledger = server.get(f"/api/v1/campaigns/{SLUG}/ledger.csv")
            assert status == 200
            status, restored_photo = server.get(f"/media/candidates/{office}/photo.jpg")
            assert status == 200 and restored_photo == photo_bytes
            status, _page = server.get(f"/campaigns/{SLUG}")
            assert status == 200
        finally:
            server.stop()
        (tmp_path / "ledger.csv").write_bytes(ledger)
        verified = infra.portal(target, "verify-ledger", str(tmp_path / "ledger.csv"), check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        in_ledger = {line.split(",")[4] for line in ledger.decode().splitlines()[1:]}
        assert {receipt_hash(receipt) for receipt in before_backup} <= in_ledger

    # An archive with one file altered is refused before anything is written.
    damaged = tmp_path / "damaged.tar.gz"
    damaged_copy(archive, damaged)
    with empty_target("sqlite", tmp_path / "damaged") as target:
        refused = infra.portal(target, "restore", str(damaged), check=False)
        assert refused.returncode == 1
        assert "已损坏" in refused.stderr and "校验和不符" in refused.stderr, refused.stderr
        assert not (tmp_path / "damaged" / "portal.sqlite3").exists()
        assert not any((tmp_path / "damaged" / "uploads").glob("*"))
