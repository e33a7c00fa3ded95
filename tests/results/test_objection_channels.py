"""Objections received by telephone, letter or visit: recorded by the city admin into the
same register and workflow as online ones; the notice names the contact for them and
the channels it accepts, never an objector's data."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from PIL import Image

from portal import media
from portal.campaigns import get_campaign
from portal.tables import AuditEntry, Campaign, Phase
from results.tables import Objection, ObjectionAttachment
from tests.helpers import csrf_token, login, post_form
from tests.portal.test_media import javascript_pdf, minimal_pdf
from tests.results.conftest import NOTICE_SLUG

STAFF = f"/staff/results/{NOTICE_SLUG}/objections"
NEW = f"{STAFF}/new"
CONTENT = "来电反映：该所申报的调解案件数量与台账记录不符，请予核实。"


def today(campaign: Campaign) -> str:
    return dt.datetime.now(media_zone(campaign)).date().isoformat()


def media_zone(campaign: Campaign):  # type: ignore[no-untyped-def]
    from portal.campaigns import zone

    return zone(campaign.timezone)


def form(scene, **overrides: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "channel": "phone",
        "received_on": today(scene.campaign),
        "candidate": str(scene.ids["甲司法所"]),
        "real_name": "李来电",
        "phone": "0932-8212345",
        "address": "",
        "relation": "",
        "content": CONTENT,
        **overrides,
    }


@pytest.fixture
def upload_folder(settings):  # type: ignore[no-untyped-def]
    return media.upload_dir(settings.var_dir)


async def record(client, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    body = {"_csrf_token": await csrf_token(client), **data}
    return await client.post(NEW, data=body, files=files)


def png() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((120, 90)).save(out, "PNG")
    return out.getvalue()


async def test_a_telephone_objection_enters_the_register_and_is_handled_like_online(
    client, notice_scene, staff
) -> None:
    await login(client, staff["city_admin"])
    page = await client.get(NEW)
    assert page.status_code == 200 and 'name="channel"' in page.text
    assert "_csrf_token" in page.text
    response = await record(client, form(notice_scene))
    assert response.status_code in (302, 303), response.text[:500]
    [row] = await Objection.select().run()
    assert row["channel"] == "phone" and row["status"] == "received"
    assert (row["real_name"], row["phone"], row["relation"]) == ("李来电", "0932-8212345", "未说明")
    assert row["received_on"].isoformat() == today(notice_scene.campaign)
    assert row["recorded_by"] is not None and row["network"] == ""
    [entry] = await AuditEntry.select().where(AuditEntry.action == "objection.record").run()
    assert row["receipt"] in entry["object_label"] and "李来电" not in str(entry)

    listing = await client.get(STAFF)
    assert "电话" in listing.text and "李来电" in listing.text and row["receipt"] in listing.text
    # The same workflow: investigate, then dismiss; the receipt shows the result.
    investigated = await post_form(client, f"{STAFF}/{row['id']}/investigate", {})
    assert investigated.status_code in (302, 303)
    dismissed = await post_form(
        client, f"{STAFF}/{row['id']}/dismiss", {"resolution": "经核查台账，数量一致。"}
    )
    assert dismissed.status_code in (302, 303)
    receipt = await client.get(f"/objections/{row['receipt']}")
    assert "异议不成立" in receipt.text and "经核查台账" in receipt.text
    assert "李来电" not in receipt.text
    # The public notice counts it and never shows who objected.
    notice = await client.get(f"/campaigns/{NOTICE_SLUG}/notice")
    assert 'id="objections-received">1<' in notice.text
    for private in ("李来电", "0932-8212345", CONTENT[:10]):
        assert private not in notice.text


async def test_a_letter_with_attachments_checked_by_content(
    client, notice_scene, staff, upload_folder
) -> None:
    await login(client, staff["city_admin"])
    before = sorted(p.name for p in upload_folder.iterdir())
    bad = await record(
        client,
        form(notice_scene, channel="letter", phone="", address="定西市安定区某路 1 号"),
        files=[
            ("attachments", ("来信.pdf", minimal_pdf(), "application/pdf")),
            ("attachments", ("脚本.pdf", javascript_pdf(), "application/pdf")),
        ],
    )
    assert bad.status_code == 400 and "脚本.pdf" in bad.text
    assert await Objection.count() == 0
    assert sorted(p.name for p in upload_folder.iterdir()) == before  # nothing left behind
    good = await record(
        client,
        form(notice_scene, channel="letter", phone="", address="定西市安定区某路 1 号"),
        files=[
            ("attachments", ("来信.pdf", minimal_pdf(), "application/pdf")),
            ("attachments", ("照片.png", png(), "image/png")),
        ],
    )
    assert good.status_code in (302, 303), good.text[:500]
    [row] = await Objection.select().run()
    assert row["channel"] == "letter" and row["phone"] == "" and row["address"]
    files = await ObjectionAttachment.select().order_by(ObjectionAttachment.id).run()
    assert [f["filename"] for f in files] == ["来信.pdf", "照片.png"]
    served = await client.get(f"{STAFF}/{row['id']}/files/{files[0]['id']}")
    assert served.status_code == 200 and served.content.startswith(b"%PDF")
    client.cookies.clear()
    await login(client, staff["county_clerk"])
    refused = await client.get(f"{STAFF}/{row['id']}/files/{files[0]['id']}")
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"channel": "online"}, "channel", "电话、信函或来访"),
        ({"channel": ""}, "channel", "电话、信函或来访"),
        ({"received_on": "2000-01-01"}, "received_on", "公示期内"),
        ({"received_on": "昨天"}, "received_on", "格式无效"),
        ({"phone": "", "address": ""}, "phone", "至少填写"),
        ({"phone": "12345"}, "phone", "有效的联系电话"),
        ({"real_name": ""}, "real_name", "真实姓名"),
        ({"content": "太短"}, "content", "不少于"),
        ({"candidate": "999999"}, "candidate", "不在本次公示"),
    ],
)
async def test_bad_input_is_refused_in_chinese_and_changes_nothing(
    client, notice_scene, staff, overrides, field, words
) -> None:
    await login(client, staff["city_admin"])
    response = await record(client, form(notice_scene, **overrides))
    assert response.status_code == 400
    assert f'id="e-{field}"' in response.text and words in response.text
    assert await Objection.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action == "objection.record") == 0


async def test_a_future_receipt_date_is_refused(client, notice_scene, staff) -> None:
    await login(client, staff["city_admin"])
    tomorrow = dt.date.fromisoformat(today(notice_scene.campaign)) + dt.timedelta(days=1)
    response = await record(client, form(notice_scene, received_on=tomorrow.isoformat()))
    assert response.status_code == 400 and "公示期内" in response.text
    assert await Objection.count() == 0


async def test_recording_only_in_the_notice_phase_and_only_by_the_city_admin(
    client, notice_scene, staff
) -> None:
    for role in ("auditor", "county_clerk", "reviewer"):
        client.cookies.clear()
        await login(client, staff[role])
        assert (await client.get(NEW)).status_code == 403
        assert (await record(client, form(notice_scene))).status_code == 403
    assert await Objection.count() == 0
    client.cookies.clear()
    await login(client, staff["city_admin"])
    await (
        Campaign.update({Campaign.phase: Phase.published.value})
        .where(Campaign.slug == NOTICE_SLUG)
        .run()
    )
    page = await client.get(NEW)
    assert page.status_code == 200 and "只有在公示阶段才能登记异议" in page.text
    assert "<form" not in page.text.split("<main", 1)[-1].split("登记电话")[1]
    response = await record(client, form(notice_scene))
    assert response.status_code == 400 and "只有在公示阶段" in response.text
    assert await Objection.count() == 0


async def test_the_notice_names_the_contact_and_the_channels(client, notice_scene) -> None:
    await (
        Campaign.update(
            {
                Campaign.objection_contact: "张明",
                Campaign.objection_phone: "0932-8212345",
                Campaign.objection_address: "定西市安定区永定路 1 号 定西市司法局（743000）",
            }
        )
        .where(Campaign.slug == NOTICE_SLUG)
        .run()
    )
    page = await client.get(f"/campaigns/{NOTICE_SLUG}/notice")
    assert "可通过电话、信函、来访或网上提出" in page.text
    for shown in ("张明", "0932-8212345", "永定路 1 号"):
        assert shown in page.text


async def test_the_campaign_form_sets_the_contact_and_refuses_a_bad_phone(
    client, notice_scene, staff
) -> None:
    from portal.campaigns import campaign_values
    from portal.templating import form_time

    await login(client, staff["city_admin"])
    campaign = await get_campaign(NOTICE_SLUG)
    values = {k: v for k, v in campaign_values(campaign).items() if v is not None}
    for name in [k for k in values if k.endswith("_at")]:
        values[name] = form_time(values[name], campaign.timezone)
    values.pop("phase")
    values.pop("notice_shows_scores")
    edit = f"/staff/campaigns/{NOTICE_SLUG}/edit"
    page = await client.get(edit)
    assert 'name="objection_phone"' in page.text and 'name="notice_shows"' in page.text
    bad = await post_form(client, edit, {**values, "objection_phone": "电话"})
    assert bad.status_code == 400 and "带区号的固定电话" in bad.text
    assert (await get_campaign(NOTICE_SLUG)).objection_phone == ""
    good = await post_form(
        client,
        edit,
        {
            **values,
            "objection_contact": "张明",
            "objection_phone": "0932-8212345",
            "objection_address": "定西市安定区永定路 1 号",
            "notice_shows": "names",
        },
    )
    assert good.status_code in (302, 303), good.text[:500]
    saved = await get_campaign(NOTICE_SLUG)
    assert (saved.objection_contact, saved.objection_phone) == ("张明", "0932-8212345")
    assert saved.notice_shows_scores is False
    [entry] = await AuditEntry.select().where(AuditEntry.action == "campaign.update").run()
    after = entry["after"] if isinstance(entry["after"], dict) else json.loads(entry["after"])
    assert after["notice_shows_scores"] is False
    detail = await client.get(f"/staff/campaigns/{NOTICE_SLUG}")
    assert "仅名单" in detail.text and "张明" in detail.text
