"""The `portal` command as deployment scripts run it: the real console script, subprocesses.

Each command runs against a database of its own (a temporary SQLite file, or a fresh
PostgreSQL database on the run's server), never the suite's database. The database is
inspected afterwards by a small script run with the same environment, so the checks go
through the portal's own code (e.g. ``authenticate``) against what the CLI wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import services

BIN = Path(sys.executable).parent
PORTAL = str(BIN / "portal")
DEMO_PASSWORD = "dingxi-demo-2023"
NEW_PASSWORD = "clerk-password-42"

# Prints the state of the database as JSON; stdin: [[username, password], ...] to try.
INSPECT = r"""
import asyncio, json, sys

from portal.accounts import LoginFailed, LoginGuard, authenticate
from portal.stores import MemoryStateStore
from portal.db import close_database, open_database
from portal.tables import AuditEntry, Bureau, Campaign, Category, Staff


def loads(value):
    return json.loads(value) if isinstance(value, str) else value


async def main():
    attempts = json.loads(sys.stdin.read() or "[]")
    await open_database()
    try:
        staff = await Staff.select(
            Staff.username, Staff.role, Staff.password, Staff.bureau.name.as_alias("bureau")
        ).order_by(Staff.id).run()
        campaigns = await Campaign.select(Campaign.id, Campaign.slug, Campaign.phase).run()
        categories = await Category.select(
            Category.campaign.slug.as_alias("campaign"), Category.key, Category.quota
        ).order_by(Category.position).run()
        audit = await AuditEntry.select(
            AuditEntry.actor, AuditEntry.actor_name, AuditEntry.action, AuditEntry.object_label,
            AuditEntry.before, AuditEntry.after,
        ).order_by(AuditEntry.id).run()
        guard = LoginGuard(MemoryStateStore())
        logins = []
        for username, password in attempts:
            try:
                await authenticate(guard, username, password, "192.0.2.1")
                logins.append(True)
            except LoginFailed:
                logins.append(False)
        print(json.dumps({
            "bureaus": await Bureau.count().run(),
            "staff": [
                {**row, "password": "$".join(row["password"].split("$")[:2])} for row in staff
            ],
            "campaigns": campaigns,
            "categories": categories,
            "audit": [{**row, "before": loads(row["before"]), "after": loads(row["after"])}
                      for row in audit],
            "logins": logins,
        }, ensure_ascii=False, default=str))
    finally:
        await close_database()


asyncio.run(main())
"""


def portal(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run ``portal ARGS`` to completion (a serve that wrongly starts is killed)."""
    return subprocess.run(
        [PORTAL, *args],
        env=env,
        cwd=env["PORTAL_VAR_DIR"],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def inspect(env: dict[str, str], logins: list[tuple[str, str]] = ()) -> dict:  # type: ignore[assignment]
    result = subprocess.run(
        [str(BIN / "python"), "-c", INSPECT],
        env=env,
        cwd=env["PORTAL_VAR_DIR"],
        input=json.dumps(logins),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The error a failed command printed: one line, on stderr, nothing on stdout."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip()
    assert message and "\n" not in message, message
    return message


def _admin_sql(*statements: str) -> None:
    # asyncpg in a thread of its own: the suite's event loop stays untouched.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(services.admin_sql, os.environ["DATABASE_URL"], *statements).result()


@pytest.fixture(scope="module")
def new_env(
    db_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], dict[str, str]]]:
    """Make the environment of a deployment with a new, empty database of its own."""
    postgres = db_engine == "postgres"
    created: list[str] = []

    def make() -> dict[str, str]:
        folder = tmp_path_factory.mktemp("cli")
        if postgres:
            name = f"portal_cli_{uuid.uuid4().hex[:12]}"
            _admin_sql(f'CREATE DATABASE "{name}"')
            created.append(name)
            url = services.with_database(os.environ["DATABASE_URL"], name)
        else:
            url = f"sqlite:///{folder / 'portal.sqlite3'}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"REDIS_URL", "PORTAL_SECRET_KEY", "PORTAL_CAPTCHA_TEST_ANSWER"}
        }
        env.update(
            DATABASE_URL=url,
            PORTAL_VAR_DIR=str(folder),
            PORTAL_ENV="development",
            PORTAL_TRUSTED_PROXIES="",
            COLUMNS="200",  # rich would wrap the logins table at 80 columns
        )
        return env

    yield make
    if created:
        _admin_sql(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in created))


@pytest.fixture(scope="module")
def migrated(new_env) -> tuple[dict[str, str], subprocess.CompletedProcess]:  # type: ignore[no-untyped-def]
    """A new database after one `portal migrate`, and what that run printed."""
    env = new_env()
    return env, portal(env, "migrate")


@pytest.fixture(scope="module")
def demo(new_env) -> tuple[dict[str, str], subprocess.CompletedProcess]:  # type: ignore[no-untyped-def]
    """A new database after `portal demo --no-serve`, and what that run printed."""
    env = new_env()
    return env, portal(env, "demo", "--no-serve")


def test_help_lists_the_commands(new_env) -> None:  # type: ignore[no-untyped-def]
    result = portal(new_env(), "--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1]
    for name in ("demo", "serve", "migrate", "createuser", "phase", "bureaus", "tally"):
        assert f"\n  {name} " in commands, name


def test_migrate_then_migrate_again_says_up_to_date(migrated) -> None:  # type: ignore[no-untyped-def]
    env, first = migrated
    assert first.returncode == 0, first.stderr
    assert "已执行" in first.stdout and "个数据库迁移" in first.stdout
    assert "portal:" in first.stdout
    second = portal(env, "migrate")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "数据库结构已是最新。"


def test_a_new_installation_imports_its_bureaus_then_its_first_accounts(migrated) -> None:  # type: ignore[no-untyped-def]
    # The production path: migrate (no bureau, no trace of any city), import the tree,
    # then create the first accounts.
    env, _ = migrated
    assert inspect(env)["bureaus"] == 0
    early = portal(env, "createuser", "boss", "--role", "city_admin", stdin="Baiyin-admin-7\n")
    assert "portal bureaus import" in one_line_error(early)
    tree = Path(env["PORTAL_VAR_DIR"]) / "bureaus.csv"
    tree.write_text(
        "name,short_name,level,parent\n白银市司法局,白银市,city,\n"
        "会宁县司法局,会宁县,county,白银市司法局\n",
        encoding="utf-8",
    )
    imported = portal(env, "bureaus", "import", str(tree))
    assert imported.returncode == 0, imported.stderr
    assert "新增 2 个" in imported.stdout
    admin = portal(env, "createuser", "boss", "--role", "city_admin", stdin="Baiyin-admin-7\n")
    assert admin.returncode == 0, admin.stderr
    clerk = portal(
        env,
        "createuser",
        "huining",
        "--role",
        "clerk",
        "--bureau",
        "会宁县",
        stdin="County-clerk-9\n",
    )  # fmt: skip  (clerk: the clearer name of county_clerk, as admin is of city_admin)
    assert clerk.returncode == 0, clerk.stderr
    state = inspect(env, [("boss", "Baiyin-admin-7"), ("huining", "County-clerk-9")])
    assert state["logins"] == [True, True]
    assert [(s["username"], s["role"], s["bureau"]) for s in state["staff"]] == [
        ("boss", "city_admin", "白银市司法局"),
        ("huining", "county_clerk", "会宁县司法局"),
    ]
    assert "bureau.create" in {entry["action"] for entry in state["audit"]}


def test_a_bad_bureau_file_imports_nothing_and_names_its_rows(migrated) -> None:  # type: ignore[no-untyped-def]
    env, _ = migrated
    before = inspect(env)["bureaus"]
    tree = Path(env["PORTAL_VAR_DIR"]) / "bad.csv"
    tree.write_text(
        "name,short_name,level,parent\n兰州市司法局,兰州市,city,\n城关区司法局,,county,兰州\n",
        encoding="utf-8",
    )
    result = portal(env, "bureaus", "import", str(tree))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "未导入任何单位" in result.stderr
    assert "第 3 行「简称」：不能为空。" in result.stderr
    assert inspect(env)["bureaus"] == before


def test_unsafe_configurations_are_refused(migrated) -> None:  # type: ignore[no-untyped-def]
    env, _ = migrated
    port = str(services.free_port())

    workers = portal(env, "serve", "--workers", "2", "--port", port)
    message = one_line_error(workers)
    assert workers.returncode == 1
    assert "REDIS_URL" in message and "--workers 2" in message

    var = Path(env["PORTAL_VAR_DIR"]) / "production"
    var.mkdir()
    production = {**env, "PORTAL_ENV": "production", "PORTAL_VAR_DIR": str(var)}
    no_key = portal(production, "serve", "--port", port)
    assert no_key.returncode == 1
    assert "PORTAL_SECRET_KEY" in one_line_error(no_key)
    assert not (var / "secret_key").exists()  # production never makes up a key
    keyed = {**production, "PORTAL_SECRET_KEY": "s" * 40}
    no_url = portal(keyed, "serve", "--port", port)
    assert no_url.returncode == 1
    assert "PORTAL_PUBLIC_URL" in one_line_error(no_url)
    bad_url = portal({**keyed, "PORTAL_PUBLIC_URL": "https://x.example/vote"}, "serve")
    assert bad_url.returncode == 1
    assert "PORTAL_PUBLIC_URL" in one_line_error(bad_url)

    demo = portal(keyed, "demo", "--no-serve")
    assert demo.returncode == 1
    assert "生产环境" in one_line_error(demo)
    state = inspect(env)
    assert state["campaigns"] == []  # nothing of the demo was loaded
    assert "city-admin" not in {s["username"] for s in state["staff"]}


def test_demo_prints_the_logins_and_loads_the_campaign_idempotently(demo) -> None:  # type: ignore[no-untyped-def]
    env, first = demo
    assert first.returncode == 0, first.stderr
    assert f"密码均为 {DEMO_PASSWORD}" in first.stdout
    for username in ("city-admin", "clerk-anding", "clerk-minxian", "reviewer-lintao", "auditor"):
        assert username in first.stdout, username
    assert "市局管理员" in first.stdout and "/campaigns/dingxi-2023" in first.stdout
    assert "/campaigns/dingxi-2022/honours" in first.stdout  # the finished year before
    assert "province-admin" in first.stdout and "campaign=gansu-2024" in first.stdout

    again = portal(env, "demo", "--no-serve")
    assert again.returncode == 0, again.stderr
    assert "city-admin" in again.stdout

    state = inspect(env, [("city-admin", DEMO_PASSWORD), ("clerk-anding", DEMO_PASSWORD)])
    assert sorted((c["slug"], c["phase"]) for c in state["campaigns"]) == [
        ("dingxi-2022", "published"),
        ("dingxi-2023", "voting"),
        ("gansu-2024", "nominating"),
    ]
    quotas = {
        slug: [(c["key"], c["quota"]) for c in state["categories"] if c["campaign"] == slug]
        for slug in ("dingxi-2023", "dingxi-2022", "gansu-2024")
    }
    assert quotas == {
        "dingxi-2023": [("judicial-office", 7), ("mediation-committee", 14), ("mediator", 21)],
        "dingxi-2022": [("judicial-office", 5), ("mediation-committee", 10), ("mediator", 14)],
        "gansu-2024": [("judicial-office", 10), ("mediation-committee", 15), ("mediator", 20)],
    }
    # Dingxi's staff (14), the province's administrator and a clerk per city (4).
    assert len(state["staff"]) == 18
    assert len({s["username"] for s in state["staff"]}) == 18
    # The province, the demo city and its seven counties, two more cities.
    assert state["bureaus"] == 11
    roles = [s["role"] for s in state["staff"]]
    assert roles.count("city_admin") == 2 and roles.count("county_clerk") == 10
    assert roles.count("reviewer") == 5 and roles.count("auditor") == 1
    # The real command hashes at full strength, and the printed password works.
    assert {s["password"] for s in state["staff"]} == {"pbkdf2_sha256$600000"}
    assert state["logins"] == [True, True]


def test_createuser_with_the_password_on_stdin(demo) -> None:  # type: ignore[no-untyped-def]
    env, _ = demo
    created = portal(
        env, "createuser", "anding-2", "--role", "county_clerk", "--bureau", "安定区",
        stdin=f"{NEW_PASSWORD}\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "已创建账号 anding-2" in created.stdout
    assert NEW_PASSWORD not in created.stdout + created.stderr

    refused = {
        "no-bureau": (["--role", "county_clerk"], NEW_PASSWORD, "--bureau"),
        "bad-bureau": (["--role", "county_clerk", "--bureau", "酒泉市"], NEW_PASSWORD, "酒泉市"),
        "short-pw": (["--role", "county_clerk", "--bureau", "安定区"], "Short-1", "至少需要 10"),
        "weak-pw": (["--role", "reviewer"], "onlylowercaseletters", "至少 3 类"),
        "common-pw": (["--role", "reviewer"], "P@ssw0rd123", "常见密码"),
        "anding-2": (["--role", "reviewer"], NEW_PASSWORD, "已存在"),
    }
    for username, (options, password, expected) in refused.items():
        result = portal(env, "createuser", username, *options, stdin=f"{password}\n")
        assert result.returncode == 1, (username, result.stdout)
        message = one_line_error(result)
        assert message.startswith("错误：") and expected in message, (username, message)
        assert "已创建" not in result.stdout

    # An unknown role is refused by the option parser, before any password is read.
    bad_role = portal(env, "createuser", "mayor", "--role", "mayor", stdin=f"{NEW_PASSWORD}\n")
    assert bad_role.returncode == 2
    assert "--role" in bad_role.stderr and "'mayor'" in bad_role.stderr
    assert all(role in bad_role.stderr for role in ("city_admin", "county_clerk", "reviewer"))

    state = inspect(env, [("anding-2", NEW_PASSWORD), ("anding-2", "wrong-password")])
    assert state["logins"] == [True, False]
    new = [s for s in state["staff"] if s["username"] == "anding-2"]
    assert new == [
        {
            "username": "anding-2",
            "role": "county_clerk",
            "bureau": "安定区司法局",
            "password": "pbkdf2_sha256$600000",
        }
    ]
    usernames = {s["username"] for s in state["staff"]}
    assert not usernames & {"no-bureau", "bad-bureau", "short-pw", "weak-pw", "common-pw", "mayor"}
    assert len(state["staff"]) == 19  # 18 demo accounts and anding-2


def test_phase_moves_are_audited_and_refusals_explained(demo) -> None:  # type: ignore[no-untyped-def]
    env, _ = demo
    moved = portal(env, "phase", "dingxi-2023", "tallying")
    assert moved.returncode == 0, moved.stderr
    assert "综合评定" in moved.stdout and "tallying" in moved.stdout

    back = portal(env, "phase", "dingxi-2023", "draft")
    assert back.returncode == 1
    message = one_line_error(back)
    assert "不能退回" in message and "综合评定" in message

    unknown = portal(env, "phase", "no-such-campaign", "tallying")
    assert unknown.returncode == 1
    assert "no-such-campaign" in one_line_error(unknown)

    state = inspect(env)
    assert {c["slug"]: c["phase"] for c in state["campaigns"]}["dingxi-2023"] == "tallying"
    phases = [
        a
        for a in state["audit"]
        if a["action"] == "campaign.phase" and a["object_label"].startswith("2023年度")
    ]
    assert len(phases) == 1  # the refused moves left no trace
    (entry,) = phases
    assert entry["actor_name"] == "命令行" and entry["actor"] is None
    assert entry["before"] == {"phase": "voting"} and entry["after"] == {"phase": "tallying"}
    assert entry["object_label"].startswith("2023年度定西市")
