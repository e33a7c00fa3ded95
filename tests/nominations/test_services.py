"""Nomination rules: the cap, the window, ownership, figures, and the vetting workflow."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from nominations import services
from nominations.services import Files, NominationError
from nominations.tables import Nomination, Status
from portal.accounts import load_staff
from portal.errors import Hidden
from portal.tables import AuditEntry, Campaign, Phase, Staff
from tests.factories import actor_for
from tests.nominations.conftest import UNIT


async def complete_draft(user, category, **changes):  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex
    files = Files(
        photo=(f"p{tag}.jpg", f"t{tag}.jpg"), documents=[(f"d{tag}.pdf", "材料.pdf", 100)]
    )
    values = {**UNIT, **changes}
    nomination = await services.create_draft(actor_for(user), user, category, values, files)
    return await services.load(user, nomination.id)


async def admin_user():  # type: ignore[no-untyped-def]
    admin = await Staff.objects().where(Staff.username == "admin").first().run()
    return await load_staff(admin.id)


async def test_submit_takes_a_place_and_the_cap_holds(clerks, category) -> None:
    clerk = clerks["anding"]
    for _ in range(2):
        ctx = await complete_draft(clerk, category)
        submitted = await services.submit(actor_for(clerk), clerk, ctx)
        assert submitted.status == Status.submitted.value
    ctx = await complete_draft(clerk, category)
    with pytest.raises(NominationError, match="达到上限 2 个"):
        await services.submit(actor_for(clerk), clerk, ctx)
    places = await Nomination.select(Nomination.place).where(Nomination.place.is_not_null()).run()
    assert sorted(r["place"] for r in places) == [1, 2]
    # Another county's places are its own.
    other = clerks["tongwei"]
    ctx = await complete_draft(other, category)
    await services.submit(actor_for(other), other, ctx)


async def test_the_cap_holds_under_concurrent_submissions(clerks, category) -> None:
    clerk = clerks["anding"]
    contexts = [await complete_draft(clerk, category) for _ in range(6)]
    results = await asyncio.gather(
        *(services.submit(actor_for(clerk), clerk, ctx) for ctx in contexts),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, Nomination)]
    refused = [r for r in results if isinstance(r, NominationError)]
    assert len(accepted) == 2, results
    assert len(refused) == 4 and all("上限" in r.message or "重试" in r.message for r in refused)
    held = (
        await Nomination.count()
        .where((Nomination.bureau == clerk.bureau_id) & Nomination.place.is_not_null())
        .run()
    )
    assert held == 2


async def test_withdrawing_or_rejecting_frees_the_place(clerks, category) -> None:
    clerk = clerks["anding"]
    first, second = await complete_draft(clerk, category), await complete_draft(clerk, category)
    await services.submit(actor_for(clerk), clerk, first)
    await services.submit(actor_for(clerk), clerk, second)
    await services.withdraw(actor_for(clerk), clerk, first, "材料有误")
    admin = await admin_user()
    await services.decide(
        actor_for(admin), await services.load(admin, second.nomination.id), "reject", "事迹不突出"
    )
    rows = (
        await Nomination.select(Nomination.status, Nomination.place).order_by(Nomination.id).run()
    )
    assert rows == [{"status": "withdrawn", "place": None}, {"status": "rejected", "place": None}]
    third = await complete_draft(clerk, category)
    await services.submit(actor_for(clerk), clerk, third)


async def test_a_clerk_never_sees_another_countys_nomination(clerks, category) -> None:
    ctx = await complete_draft(clerks["anding"], category)
    with pytest.raises(Hidden):
        await services.load(clerks["tongwei"], ctx.nomination.id)
    query = services.scope_query(clerks["tongwei"], Nomination.select(Nomination.id))
    assert await query.run() == []


async def test_submitting_after_the_window_closes_is_refused(
    clerks, category, open_campaign
) -> None:
    clerk = clerks["anding"]
    ctx = await complete_draft(clerk, category)
    import datetime as dt

    closed = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await (
        Campaign.update({Campaign.nominating_closes_at: closed})
        .where(Campaign.id == open_campaign.id)
        .run()
    )
    ctx = await services.load(clerk, ctx.nomination.id)
    with pytest.raises(NominationError, match=r"推荐申报已结束：申报已于.+（北京时间）截止"):
        await services.submit(actor_for(clerk), clerk, ctx)
    with pytest.raises(NominationError):
        await services.create_draft(actor_for(clerk), clerk, category, UNIT)
    assert await Nomination.count().where(Nomination.status == "submitted").run() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"disputes_resolved": "400"}, "disputes_resolved", "不能多于排查调处数"),
        ({"on_the_spot": "313"}, "on_the_spot", "不能多于排查调处数"),
        ({"judicial_confirmations": "310"}, "judicial_confirmations", "不能多于调解成功数"),
        ({"entrusted_court": "300"}, "entrusted_other", "委托移送合计"),
        ({"disputes_mediated": "-1"}, "disputes_mediated", "不能小于 0"),
        ({"disputes_mediated": "很多"}, "disputes_mediated", "须为整数"),
        ({"contact_phone": "12345"}, "contact_phone", "格式不正确"),
        ({"summary": "长" * 201}, "summary", "不能超过 200 个字"),
        ({"unit_type": "city"}, "unit_type", "类型须为"),
    ],
)
async def test_inconsistent_figures_are_refused_at_their_field(
    clerks, category, changes, field, message
) -> None:
    clerk = clerks["anding"]
    with pytest.raises(NominationError) as raised:
        await services.create_draft(actor_for(clerk), clerk, category, {**UNIT, **changes})
    assert message in raised.value.errors[field]
    assert await Nomination.count().run() == 0


async def test_submitting_an_incomplete_draft_names_each_missing_field(clerks, category) -> None:
    clerk = clerks["anding"]
    draft = await services.create_draft(actor_for(clerk), clerk, category, {"name": "某司法所"})
    ctx = await services.load(clerk, draft.id)
    with pytest.raises(NominationError) as raised:
        await services.submit(actor_for(clerk), clerk, ctx)
    errors = raised.value.errors
    assert {"summary", "deeds", "contact_phone", "photo", "documents", "disputes_mediated"} <= set(
        errors
    )
    assert errors["photo"] == "请上传照片。"


async def test_return_revise_resubmit_shortlist(clerks, category, open_campaign) -> None:
    clerk, admin = clerks["anding"], await admin_user()
    ctx = await complete_draft(clerk, category)
    await services.submit(actor_for(clerk), clerk, ctx)
    with pytest.raises(NominationError, match="请填写退回意见"):
        await services.decide(
            actor_for(admin), await services.load(admin, ctx.nomination.id), "return"
        )
    await services.decide(
        actor_for(admin), await services.load(admin, ctx.nomination.id), "return", "请补充典型案例"
    )
    await (
        Campaign.update({Campaign.phase: Phase.vetting.value})
        .where(Campaign.id == open_campaign.id)
        .run()
    )
    ctx = await services.load(clerk, ctx.nomination.id)
    assert ctx.nomination.place == 1  # a returned nomination keeps its place
    await services.update(
        actor_for(clerk), clerk, ctx, {**UNIT, "deeds": UNIT["deeds"] + "\n\n补充案例。"}
    )
    await services.submit(actor_for(clerk), clerk, await services.load(clerk, ctx.nomination.id))
    shortlisted = await services.decide(
        actor_for(admin), await services.load(admin, ctx.nomination.id), "shortlist"
    )
    assert shortlisted.status == "shortlisted" and shortlisted.shortlisted_at is not None
    # After the decision the county can no longer edit; the city can.
    ctx = await services.load(clerk, ctx.nomination.id)
    assert not services.may_edit(clerk, ctx)
    with pytest.raises(NominationError):
        await services.update(actor_for(clerk), clerk, ctx, UNIT)
    assert services.may_edit(admin, await services.load(admin, ctx.nomination.id))
    actions = [e["action"] for e in await services.timeline(admin, ctx.nomination.id)]
    assert actions == [
        "nomination.create",
        "nomination.photo",
        "nomination.document",
        "nomination.submit",
        "nomination.returned",
        "nomination.update",
        "nomination.resubmit",
        "nomination.shortlisted",
    ]
    returned = (
        await AuditEntry.select(AuditEntry.after)
        .where(AuditEntry.action == "nomination.returned")
        .output(load_json=True)
        .first()
        .run()
    )
    assert returned["after"] == {"status": "returned", "reason": "请补充典型案例"}


async def test_shortlist_many_only_takes_submitted(clerks, category, open_campaign) -> None:
    clerk, admin = clerks["anding"], await admin_user()
    a, b = await complete_draft(clerk, category), await complete_draft(clerk, category)
    await services.submit(actor_for(clerk), clerk, a)
    count = await services.shortlist_many(
        actor_for(admin), open_campaign, [a.nomination.id, b.nomination.id, 99999]
    )
    assert count == 1
    statuses = [
        r["status"]
        for r in await Nomination.select(Nomination.status).order_by(Nomination.id).run()
    ]
    assert statuses == ["shortlisted", "draft"]


async def test_review_waits_until_every_nomination_is_decided(
    clerks, category, open_campaign
) -> None:
    from portal import phases
    from portal.audit import Actor

    clerk, admin = clerks["anding"], await admin_user()
    ctx = await complete_draft(clerk, category)
    await services.submit(actor_for(clerk), clerk, ctx)
    await phases.move_phase(Actor.command_line(), open_campaign.slug, "vetting")
    with pytest.raises(phases.PhaseRefused, match="还有 1 个推荐对象待审核"):
        await phases.move_phase(Actor.command_line(), open_campaign.slug, "reviewing")
    await services.decide(
        actor_for(admin), await services.load(admin, ctx.nomination.id), "shortlist"
    )
    moved = await phases.move_phase(Actor.command_line(), open_campaign.slug, "reviewing")
    assert moved.phase == "reviewing"
