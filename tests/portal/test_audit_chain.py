"""The audit log's hash chain through the real `portal` command: `portal verify-audit`
passes on the demo, names the first entry edited, deleted or moved in the database, and a
purge of old entries (which records itself) leaves a chain that still verifies."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3

import pytest

from portal import audit
from portal.tables import AuditEntry
from tests import services
from tests.helpers import login, post_form
from tests.portal.test_cli import new_env, portal  # noqa: F401


def execute(env: dict[str, str], statement: str) -> None:
    """Change the database behind the portal's back, as someone with its password could."""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            conn.execute(statement)
            conn.commit()
    else:
        services.admin_sql(url, statement)


def test_verify_audit_passes_on_the_demo_and_names_an_edited_entry(new_env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    env = new_env()
    assert portal(env, "demo", "--no-serve").returncode == 0
    good = portal(env, "verify-audit")
    assert good.returncode == 0, good.stderr
    assert "审计日志哈希链完整" in good.stdout

    # A deleted entry: the one after it no longer links.
    execute(env, "DELETE FROM audit_entry WHERE id = 5")
    gap = portal(env, "verify-audit")
    assert gap.returncode == 1
    assert "条目 id 6 " in gap.stderr and "不相连" in gap.stderr, gap.stderr

    # An edited entry before it: that one is named first.
    execute(env, "UPDATE audit_entry SET actor_name = 'someone else' WHERE id = 3")
    bad = portal(env, "verify-audit")
    assert bad.returncode == 1
    assert "条目 id 3 " in bad.stderr and "被修改" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr


async def test_a_purge_keeps_the_retention_records_itself_and_the_chain_still_verifies(db) -> None:  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    actor = audit.Actor(staff_id=None, name="tester", role="city_admin", network="192.0.2.1")
    rows = [
        AuditEntry(
            at=now - dt.timedelta(days=days),
            actor=None,
            actor_name="tester",
            actor_role="city_admin",
            action="campaign.update",
            object_type="campaign",
            object_id="1",
            object_label=f"条目{days}",
            before={"title": "旧"},
            after={"title": "新"},
            network="192.0.2.1",
        )
        for days in (400, 300, 200, 10, 1)
    ]
    await audit.append(*rows)
    assert (await audit.verify_chain()).ok
    with pytest.raises(ValueError):
        await audit.purge(actor, 30, now=now)

    done = await audit.purge(actor, 180, now=now)
    assert done.entries == 3
    kept = await AuditEntry.select(AuditEntry.id, AuditEntry.action).order_by(AuditEntry.id).run()
    assert [row["action"] for row in kept] == ["campaign.update"] * 2 + ["audit.purge"]
    check = await audit.verify_chain()
    assert check.ok and check.entries == 3, check

    # Without the purge's own entry the kept chain's start is vouched for by nothing.
    await AuditEntry.delete().where(AuditEntry.action == "audit.purge").run()
    check = await audit.verify_chain()
    assert check.bad_id == kept[0]["id"], check


@pytest.mark.usefixtures("staff")
async def test_the_security_page_shows_the_chain_and_the_controls(client) -> None:  # type: ignore[no-untyped-def]
    actor = audit.Actor(staff_id=None, name="admin", role="city_admin", network="192.0.2.1")
    for label in ("一", "二", "三"):
        await audit.record(actor, "campaign.update", ("campaign", 1), label=label)
    await login(client, "auditor")
    page = (await client.get("/staff/security")).text
    assert "安全控制状态" in page and "二次验证" in page and "180 天" in page
    assert "审计日志防篡改" in page and "完整" in page
    assert "本机没有备份记录" in page

    # An entry edited in the database: the page names it.
    second = await AuditEntry.select(AuditEntry.id).where(AuditEntry.object_label == "二").run()
    await (
        AuditEntry.update({AuditEntry.network: "203.0.113.9"})
        .where(AuditEntry.id == second[0]["id"])
        .run()
    )
    page = (await client.get("/staff/security")).text
    assert f"在条目 id {second[0]['id']} 处断开" in page


@pytest.mark.usefixtures("staff")
async def test_the_auditor_exports_the_filtered_log_and_the_export_is_audited(client) -> None:  # type: ignore[no-untyped-def]
    actor = audit.Actor(staff_id=None, name="admin", role="city_admin", network="192.0.2.1")
    await audit.record(actor, "campaign.update", ("campaign", 1), label="=HYPERLINK(1)")
    await audit.record(actor, "category.create", ("category", 2), label="类别")
    await login(client, "auditor")
    page = (await client.get("/staff/audit", params={"action": "campaign"})).text
    assert "/staff/audit.csv?" in page
    response = await client.get("/staff/audit.csv", params={"action": "campaign"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,at,actor_name")
    assert len(lines) == 2 and "'=HYPERLINK(1)" in lines[1]
    [logged] = await (
        AuditEntry.select(AuditEntry.actor_name, AuditEntry.after)
        .where(AuditEntry.action == "audit.export")
        .output(load_json=True)
        .run()
    )
    assert logged["actor_name"] == "auditor" and logged["after"]["action"] == "campaign"
    assert (await audit.verify_chain()).ok


@pytest.mark.usefixtures("staff")
async def test_a_failed_login_is_audited_with_the_name_as_typed(client) -> None:  # type: ignore[no-untyped-def]
    response = await post_form(client, "/login", {"username": "nobody", "password": "wrong-1"})
    assert response.status_code in (400, 401, 403)
    [logged] = await (
        AuditEntry.select(AuditEntry.object_label, AuditEntry.network)
        .where(AuditEntry.action == "staff.login_failed")
        .run()
    )
    assert logged["object_label"] == "nobody" and logged["network"]


async def test_the_privacy_notice_is_linked_from_every_page_footer(client) -> None:  # type: ignore[no-untyped-def]
    home = await client.get("/")
    assert '<a href="/privacy">隐私声明</a>' in home.text
    page = await client.get("/privacy")
    assert page.status_code == 200
    for who in ("投票人", "异议人", "推荐对象"):
        assert f"<h2>{who}" in page.text
