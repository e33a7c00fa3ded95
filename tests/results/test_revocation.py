"""Revoking a designation and undoing it: the organiser's administrators only, never
twice, a reason always, audited, published on the register and the honour list."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.errors import Conflict, Invalid, NotFound
from portal.tables import AuditEntry
from results import revocation
from results.register import certificate, entries, today_in
from results.tables import Designation
from tests import factories
from tests.helpers import csrf_token, login
from tests.results.recheck_scene import SLUG, Published, other_city_admin, publish_scene

REASON = "经复核，该所2024年度调解卷宗严重不规范，已不符合命名条件。"


@pytest.fixture
async def published(staff: dict[str, str]) -> Published:
    return await publish_scene()


async def admin_actor():  # type: ignore[no-untyped-def]
    return factories.actor_for(await factories.user("admin"))


async def test_revoke_keeps_the_row_publishes_the_reason_and_is_audited(published) -> None:
    actor = await admin_actor()
    target = published.designations["甲司法所"]
    on = today_in() - dt.timedelta(days=0)
    await revocation.revoke(actor, target, REASON, on=on)
    row = await Designation.objects().where(Designation.id == target).first().run()
    assert (row.revoked_on, row.revocation_reason, row.revoked_by) == (on, REASON, actor.staff_id)
    entry = await certificate(row.certificate_no)
    assert (entry.status, entry.revoked_on, entry.revocation_reason) == ("revoked", on, REASON)
    assert {e.name for e in await entries() if e.status == "active"} == {"乙司法所", "张调解员"}
    log = await AuditEntry.objects().where(AuditEntry.action == "designation.revoke").run()
    assert len(log) == 1
    before, after = json.loads(log[0].before), json.loads(log[0].after)
    assert before["status"] == "active" and after["status"] == "revoked"
    assert after["revocation_reason"] == REASON


async def test_a_revoked_designation_cannot_be_revoked_again(published) -> None:
    actor = await admin_actor()
    target = published.designations["甲司法所"]
    await revocation.revoke(actor, target, REASON)
    with pytest.raises(Conflict, match="不能重复撤销"):
        await revocation.revoke(actor, target, "另一个理由，写得足够长。")
    row = await Designation.objects().where(Designation.id == target).first().run()
    assert row.revocation_reason == REASON
    assert await AuditEntry.count().where(AuditEntry.action == "designation.revoke") == 1


@pytest.mark.parametrize("reason", ["", "   ", "不行", "长" * 1001])
async def test_a_revocation_needs_a_real_reason(published, reason: str) -> None:
    with pytest.raises(Invalid):
        await revocation.revoke(await admin_actor(), published.designations["甲司法所"], reason)
    assert not await Designation.exists().where(Designation.revoked_on.is_not_null())


async def test_the_date_is_neither_future_nor_before_the_designation(published) -> None:
    target = published.designations["甲司法所"]
    for on in (today_in() + dt.timedelta(days=1), today_in() - dt.timedelta(days=400)):
        with pytest.raises(Invalid):
            await revocation.revoke(await admin_actor(), target, REASON, on=on)
    assert not await Designation.exists().where(Designation.revoked_on.is_not_null())


async def test_only_the_organisers_admins_revoke(published, staff) -> None:
    await other_city_admin()
    target = published.designations["甲司法所"]
    for username in ("clerk", "auditor", "other-admin"):
        actor = factories.actor_for(await factories.user(username))
        with pytest.raises(NotFound):
            await revocation.revoke(actor, target, REASON)
    assert not await Designation.exists().where(Designation.revoked_on.is_not_null())


async def test_reinstating_needs_a_reason_and_a_revocation(published) -> None:
    actor = await admin_actor()
    target = published.designations["甲司法所"]
    with pytest.raises(Conflict, match="未被撤销"):
        await revocation.reinstate(actor, target, "撤销决定有误，予以恢复。")
    await revocation.revoke(actor, target, REASON)
    with pytest.raises(Invalid):
        await revocation.reinstate(actor, target, "")
    assert await Designation.exists().where(Designation.revoked_on.is_not_null())
    await revocation.reinstate(actor, target, "经复议，撤销所依据的事实不成立，予以恢复。")
    row = await Designation.objects().where(Designation.id == target).first().run()
    assert row.revoked_on is None and row.revocation_reason == ""
    log = await AuditEntry.objects().where(AuditEntry.action == "designation.reinstate").run()
    assert json.loads(log[0].before)["revocation_reason"] == REASON
    assert json.loads(log[0].after)["reason"].startswith("经复议")


async def test_pages_confirm_before_revoking_and_the_honour_list_marks_it(
    client, published, staff
) -> None:
    target = published.designations["甲司法所"]
    await login(client, staff["city_admin"])
    page = await client.get(f"/staff/designations/{target}/revoke")
    assert page.status_code == 200
    assert "确认撤销命名" in page.text and "甲司法所" in page.text
    token = await csrf_token(client)
    refused = await client.post(
        f"/staff/designations/{target}/revoke", data={"_csrf_token": token, "reason": ""}
    )
    assert refused.status_code == 400 and "请填写撤销命名的理由" in refused.text
    done = await client.post(
        f"/staff/designations/{target}/revoke", data={"_csrf_token": token, "reason": REASON}
    )
    assert done.status_code in (302, 303)
    honours = await client.get(f"/campaigns/{SLUG}/honours")
    day = today_in()
    assert f"（已于{day.year}年{day.month}月{day.day}日撤销命名）" in honours.text
    assert "甲司法所" in honours.text
    again = await client.post(
        f"/staff/designations/{target}/revoke", data={"_csrf_token": token, "reason": REASON}
    )
    assert again.status_code == 409 and "不能重复撤销" in again.text
    detail = await client.get(f"/staff/designations/{target}")
    assert "恢复命名" in detail.text and REASON in detail.text


async def test_other_staff_cannot_reach_a_designation(client, published, staff) -> None:
    await other_city_admin()
    target = published.designations["甲司法所"]
    await login(client, "other-admin")
    assert (await client.get(f"/staff/designations/{target}")).status_code == 404
    response = await client.post(
        f"/staff/designations/{target}/revoke",
        data={"_csrf_token": await csrf_token(client), "reason": REASON},
    )
    assert response.status_code == 404
    client.cookies.clear()
    await login(client, staff["auditor"])
    assert (await client.get(f"/staff/designations/{target}")).status_code == 200
    assert (await client.get(f"/staff/designations/{target}/revoke")).status_code == 403
    assert not await Designation.exists().where(Designation.revoked_on.is_not_null())
