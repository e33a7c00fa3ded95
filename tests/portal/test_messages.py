"""In-site messages: written with the change they tell of (a returned, shortlisted or
rejected nomination; a campaign's new phase), to the right people only, and each staff
member reads and marks only their own."""

from __future__ import annotations

import pytest

from nominations import services
from nominations.tables import Nomination, Status
from portal import messages, phases
from portal.tables import Bureau, Campaign, Phase, Role, Staff, StaffMessage
from tests import factories
from tests.helpers import csrf_token, login, post_form
from tests.portal.test_todo import make_scene


async def inbox(username: str) -> list[dict]:
    return await messages.messages_of(await factories.user(username))


async def decide(name: str, decision: str, reason: str = "") -> Nomination:
    admin = await factories.user("admin")
    row = await Nomination.objects().where(Nomination.name == name).first().run()
    ctx = await services.load(admin, row.id)
    return await services.decide(factories.actor_for(admin), ctx, decision, reason)


async def test_a_return_tells_the_countys_clerks_with_the_reason(staff: dict) -> None:
    await make_scene()
    await factories.accounts(("clerk-b", Role.county_clerk.value, "安定区"))
    nomination = await decide("安定区报送司法所", "return", "请补充近三年调解台账")
    for clerk in ("clerk", "clerk-b"):
        [message] = await inbox(clerk)
        assert message["subject"] == "2025年度待办测试评选：「安定区报送司法所」被退回修改"
        assert "退回意见：请补充近三年调解台账" in message["body"]
        assert message["href"] == f"/staff/nominations/{nomination.id}"
        assert message["read_at"] is None
    # Neither another county's clerk nor the city's staff are told.
    assert await inbox("clerk2") == []
    assert await inbox("admin") == []


@pytest.mark.parametrize(
    ("decision", "reason", "subject"),
    [
        ("shortlist", "", "「安定区报送司法所」已通过资格审核入围"),
        ("reject", "不符合推荐条件", "「安定区报送司法所」未通过资格审核"),
    ],
)
async def test_shortlist_and_reject_are_told(
    staff: dict, decision: str, reason: str, subject: str
) -> None:
    await make_scene()
    await decide("安定区报送司法所", decision, reason)
    [message] = await inbox("clerk")
    assert message["subject"].endswith(subject)
    if reason:
        assert reason in message["body"]


async def test_the_message_is_written_in_the_decisions_transaction(
    staff: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_scene()

    async def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(messages, "post", broken)
    with pytest.raises(RuntimeError):
        await decide("安定区报送司法所", "return", "请补充材料")
    row = await Nomination.objects().where(Nomination.name == "安定区报送司法所").first().run()
    assert row.status == Status.submitted.value  # no message, no change either


async def test_a_phase_change_tells_the_organiser_and_its_nominating_bureaus(staff: dict) -> None:
    scene = await make_scene()
    await (
        Staff.update({Staff.email: "reviewer@example.org"})
        .where(Staff.username == "reviewer")
        .run()
    )
    admin = await factories.user("admin")
    await (
        Nomination.delete()
        .where(Nomination.status.is_in([Status.draft.value, Status.returned.value]))
        .run()
    )
    await decide("安定区报送司法所", "shortlist")
    await phases.move_phase(factories.actor_for(admin), scene.campaign.slug, Phase.vetting.value)
    subject = "2025年度待办测试评选：进入「资格审核」阶段"
    # The city's staff (the auditor too) and every county's (通渭县's reviewer too).
    for username in ("admin", "auditor", "clerk", "clerk2", "reviewer"):
        assert subject in [m["subject"] for m in await inbox(username)], username
    # A bureau outside the campaign (a township office under a county) hears nothing.
    anding = await Bureau.objects().where(Bureau.short_name == "安定区").first().run()
    township = Bureau(
        name="安定区某某司法所", short_name="某某镇", level="township", parent=anding.id
    )
    await township.save().run()
    await Staff.update({Staff.bureau: township.id}).where(Staff.username == "clerk2").run()
    await phases.move_phase(factories.actor_for(admin), scene.campaign.slug, "reviewing")
    assert "2025年度待办测试评选：进入「专家评审」阶段" not in [
        m["subject"] for m in await inbox("clerk2")
    ]
    assert (await inbox("clerk"))[0]["subject"] == "2025年度待办测试评选：进入「专家评审」阶段"
    await phases.move_phase(factories.actor_for(admin), scene.campaign.slug, "vetting")
    assert (await inbox("clerk"))[0]["subject"] == "2025年度待办测试评选：退回「资格审核」阶段"
    # Owed a mail: the reviewer, who has an address; nobody else.
    pending = (
        await StaffMessage.select(StaffMessage.recipient.username.as_alias("who"))
        .where(StaffMessage.mail_state == messages.PENDING)
        .run()
    )
    assert {row["who"] for row in pending} == {"reviewer"}


async def test_a_refused_phase_move_writes_no_message(staff: dict) -> None:
    scene = await make_scene()
    admin = await factories.user("admin")
    # Drafts and a returned nomination are undecided: the review cannot start.
    await (
        Campaign.update({Campaign.phase: Phase.vetting.value})
        .where(Campaign.id == scene.campaign.id)
        .run()
    )
    with pytest.raises(phases.PhaseRefused):
        await phases.move_phase(factories.actor_for(admin), scene.campaign.slug, "reviewing")
    assert await StaffMessage.count().run() == 0


async def test_messages_on_the_home_page_and_marking_them_read(client, staff: dict) -> None:
    await make_scene()
    await decide("安定区报送司法所", "return", "请补充材料")
    await login(client, "clerk")
    home = (await client.get("/staff")).text
    assert "站内消息" in home and "1 条未读" in home and "被退回修改" in home
    [message] = await inbox("clerk")

    # Without the CSRF token: refused.
    refused = await client.post(f"/staff/messages/{message['id']}/read")
    assert refused.status_code == 403
    done = await post_form(client, f"/staff/messages/{message['id']}/read?next=/staff")
    assert done.status_code in (302, 303) and done.headers["location"] == "/staff"
    assert (await inbox("clerk"))[0]["read_at"] is not None
    page = (await client.get("/staff/messages")).text
    assert "没有未读消息" in page and "请补充材料" in page


async def test_nobody_marks_anothers_message(client, staff: dict) -> None:
    await make_scene()
    await decide("安定区报送司法所", "return", "请补充材料")
    [message] = await inbox("clerk")
    await login(client, "clerk2")
    answer = await post_form(client, f"/staff/messages/{message['id']}/read")
    assert answer.status_code == 404
    answer = await post_form(client, "/staff/messages/read-all")
    assert answer.status_code in (302, 303)
    assert (await inbox("clerk"))[0]["read_at"] is None
    assert "请补充材料" not in (await client.get("/staff/messages")).text
    assert await csrf_token(client)
