"""Objections (异议) during the public notice: the form, its refusals, the receipt, and
the city admin's handling (investigate, uphold — excluding the candidate — or dismiss)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import httpx
import pytest
from PIL import Image

from portal import media
from portal.audit import Actor
from portal.campaigns import get_campaign
from portal.tables import AuditEntry, Campaign, Phase
from results import objections
from results import services as results
from results.tables import Objection, Standing, Tally
from tests.helpers import csrf_token, login, post_form
from tests.portal.test_media import (
    encrypted_pdf,
    javascript_pdf,
    minimal_pdf,
    png_header_only,
)
from tests.results.conftest import NOTICE_SLUG

TEST_ANSWER = "PASS9"
FORM = f"/campaigns/{NOTICE_SLUG}/notice/object"
STAFF = f"/staff/results/{NOTICE_SLUG}/objections"
ADMIN = Actor(staff_id=None, name="测试管理员", role="city_admin")
RECEIPT_RE = re.compile(r"YY-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")
CONTENT = "该所去年有一起调解协议未履行，群众多次反映，申报材料中的化解率与实际不符。"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The CAPTCHA test answer and a small pool (drawn once, quickly)."""
    return dataclasses.replace(settings, captcha_test_answer=TEST_ANSWER, captcha_pool_size=24)


@pytest.fixture
async def notice(client: httpx.AsyncClient, notice_scene):  # type: ignore[no-untyped-def]
    """The notice scene, with the CAPTCHA pool filled so the form never waits."""
    await client.app.state.voting.captcha.fill()  # type: ignore[attr-defined]
    return notice_scene


@pytest.fixture
def upload_folder(settings) -> object:  # type: ignore[no-untyped-def]
    return media.upload_dir(settings.var_dir)


def files_in(folder) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.name for p in folder.iterdir())


def fields(scene, **overrides: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "candidate": str(scene.ids["甲司法所"]),
        "real_name": "王建国",
        "phone": "13919001234",
        "relation": "同村村民",
        "content": CONTENT,
        **overrides,
    }


async def captcha_of(client: httpx.AsyncClient) -> str:
    page = await client.get(FORM)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="captcha_id" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


async def submit(
    client: httpx.AsyncClient,
    data: dict[str, str],
    *,
    answer: str = TEST_ANSWER,
    files: dict | None = None,
    captcha_id: str | None = None,
) -> httpx.Response:
    """Fill the form as a person would: a fresh challenge, the CSRF token, the fields."""
    captcha_id = captcha_id if captcha_id is not None else await captcha_of(client)
    body = {
        "_csrf_token": await csrf_token(client),
        "captcha_id": captcha_id,
        "captcha_answer": answer,
        **data,
    }
    return await client.post(FORM, data=body, files=files)


async def stored() -> list[dict]:
    return await Objection.select().order_by(Objection.id).run()


async def designated(slug: str = NOTICE_SLUG) -> set[str]:
    campaign = await get_campaign(slug)
    rows = (
        await Standing.select(Standing.candidate.name.as_alias("name"))
        .where((Standing.campaign == campaign.id) & (Standing.designated == True))  # noqa: E712
        .run()
    )
    return {row["name"] for row in rows}


async def audit_actions() -> list[str]:
    rows = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id).run()
    return [row["action"] for row in rows]


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((200, 150)).convert("RGB").save(out, "JPEG")
    return out.getvalue()


async def object_directly(scene, name: str = "甲司法所", **overrides: str) -> Objection:  # type: ignore[no-untyped-def]
    """An objection recorded through the service (the form has its own tests)."""
    data = objections.check_fields(
        fields(scene, candidate=str(scene.ids[name]), **overrides), {scene.ids[name]}
    )
    return await objections.record_objection(scene.campaign, data, network="198.51.100.7")


# --- the form -------------------------------------------------------------------------------


async def test_an_objection_gets_a_receipt_the_objector_can_look_up(client, notice) -> None:
    response = await submit(client, fields(notice))
    assert response.status_code == 200, response.text[:500]
    assert "异议已提交" in response.text
    receipt = RECEIPT_RE.search(response.text).group(0)  # type: ignore[union-attr]
    assert "no-store" in response.headers["cache-control"]
    [row] = await stored()
    assert row["receipt"] == receipt
    assert (row["real_name"], row["phone"], row["relation"]) == (
        "王建国",
        "13919001234",
        "同村村民",
    )
    assert row["content"] == CONTENT
    assert row["candidate"] == notice.ids["甲司法所"]
    assert row["status"] == "received" and row["evidence"] == ""
    assert row["network"] == "127.0.0.1"

    # The receipt shows the status, and nothing of the objection itself.
    page = await client.get(f"/objections/{receipt}")
    assert page.status_code == 200
    assert receipt in page.text and "已受理" in page.text
    for private in ("王建国", "13919001234", "同村村民", CONTENT, "甲司法所"):
        assert private not in page.text
    # Typed loosely (lower case, spaces, no hyphens), it is still found.
    loose = receipt.lower().replace("-", " ")
    found = await client.get("/objections", params={"receipt": loose})
    assert found.status_code in (302, 303) and found.headers["location"] == f"/objections/{receipt}"
    assert (await client.get("/objections")).status_code == 200
    missing = await client.get("/objections", params={"receipt": "YY-AAAA-BBBB-CCCC"})
    assert missing.status_code == 404 and "找不到该异议回执" in missing.text
    nonsense = await client.get("/objections/<script>")
    assert nonsense.status_code == 404 and "<script>" not in nonsense.text


async def test_the_notice_link_preselects_the_candidate(client, notice) -> None:
    chosen = notice.ids["乙司法所"]
    page = await client.get(FORM, params={"candidate": str(chosen)})
    assert page.status_code == 200
    assert f'<option value="{chosen}" selected>' in page.text
    assert page.text.count(" selected>") == 1
    # Only proposed designees are offered.
    assert "乙司法所" in page.text and "丙司法所" not in page.text and "李调解员" not in page.text


async def test_receipts_are_unambiguous_and_distinct() -> None:
    seen = {objections.new_receipt() for _ in range(500)}
    assert len(seen) == 500
    for receipt in seen:
        assert RECEIPT_RE.fullmatch(receipt)
        assert not set(receipt) & set("01IO")
        assert objections.normalise_receipt(receipt.lower().replace("-", "")) == receipt
    assert objections.normalise_receipt("YY-0000-1111-IIII") is None
    assert objections.normalise_receipt("AAAA-BBBB-CCCC-DDDD-EEEE") is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"candidate": ""}, "candidate", "请选择异议针对的拟命名对象"),
        ({"candidate": "丙"}, "candidate", "不在本次公示的拟命名名单中"),
        ({"real_name": ""}, "real_name", "请填写您的真实姓名"),
        ({"real_name": "王"}, "real_name", "请填写真实姓名"),
        ({"real_name": "王建国123"}, "real_name", "请填写真实姓名"),
        ({"phone": ""}, "phone", "请填写联系电话"),
        ({"phone": "12345"}, "phone", "请填写有效的联系电话"),
        ({"phone": "23919001234"}, "phone", "请填写有效的联系电话"),
        ({"relation": ""}, "relation", "请填写您与被异议对象的关系"),
        ({"relation": "邻" * 101}, "relation", "不能超过 100 个字"),
        ({"content": "太短了"}, "content", "不少于 10 个字"),
        ({"content": "长" * 2001}, "content", "不能超过 2000 个字"),
    ],
)
async def test_invalid_input_is_refused_by_field_and_changes_nothing(
    client, notice, upload_folder, overrides: dict, field: str, message: str
) -> None:
    if overrides.get("candidate") == "丙":
        overrides = {"candidate": str(notice.ids["丙司法所"])}  # ranked, but not proposed
    before = files_in(upload_folder)
    response = await submit(
        client,
        fields(notice, **overrides),
        files={"evidence": ("证据.pdf", minimal_pdf(), "application/pdf")},
    )
    assert response.status_code == 400, response.text[:300]
    assert message in response.text
    assert f'id="e-{field}"' in response.text
    # The other answers are kept for the next try; the file must be chosen again.
    assert "同村村民" in response.text or field == "relation"
    assert "如需提交证据材料，请重新选择文件" in response.text
    assert 'name="captcha_id"' in response.text  # a fresh challenge to try again
    assert await stored() == []
    assert files_in(upload_folder) == before


async def test_phone_numbers_mobile_and_landline() -> None:
    good = {
        "13919001234": "13919001234",
        "139 1900 1234": "13919001234",
        "+86 13919001234": "13919001234",
        "0932-8212345": "0932-8212345",
        "09328212345": "09328212345",
        "010-62345678": "010-62345678",
        "0932-8212345-801": "0932-8212345-801",
        "（0932）8212345": "09328212345",
    }
    for raw, expected in good.items():
        assert objections.normalise_phone(raw) == expected, raw
    for bad in ("", "12345678901", "1391900123", "139190012345", "8212345", "0932-1212345", "abc"):
        assert objections.normalise_phone(bad) is None, bad


async def test_a_wrong_or_missing_captcha_is_refused(client, notice) -> None:
    captcha_id = await captcha_of(client)
    wrong = await submit(client, fields(notice), answer="WRONG", captcha_id=captcha_id)
    assert wrong.status_code == 400
    assert "验证码错误或已使用" in wrong.text and 'id="e-captcha"' in wrong.text
    # The challenge was used up by the wrong answer: the right one no longer helps.
    again = await submit(client, fields(notice), captcha_id=captcha_id)
    assert again.status_code == 400 and "验证码错误或已使用" in again.text
    missing = await submit(client, fields(notice), answer="")
    assert missing.status_code == 400 and "请输入图片中的验证码" in missing.text
    forged = await submit(client, fields(notice), captcha_id="abc.123.forged")
    assert forged.status_code == 400
    assert await stored() == []


async def test_the_form_needs_its_csrf_token(client, notice) -> None:
    captcha_id = await captcha_of(client)
    response = await client.post(
        FORM, data={"captcha_id": captcha_id, "captcha_answer": TEST_ANSWER, **fields(notice)}
    )
    assert response.status_code == 403
    assert await stored() == []


async def test_submissions_are_rate_limited_per_network(client, notice) -> None:
    allowed = objections.SUBMISSIONS_PER_NETWORK.amount
    for _ in range(allowed):
        response = await submit(client, fields(notice, content="短"), captcha_id="x")
        assert response.status_code == 400
    refused = await submit(client, fields(notice))
    assert refused.status_code == 429
    assert "提交过于频繁" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert await stored() == []
    # Another network is not affected.
    transport = httpx.ASGITransport(app=client.app, client=("203.0.113.50", 40000))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as other:
        other.app = client.app  # type: ignore[attr-defined]
        response = await submit(other, fields(notice))
        assert response.status_code == 200, response.text[:300]
    assert len(await stored()) == 1


async def test_outside_the_notice_period_objections_are_refused(client, notice) -> None:
    captcha_id = await captcha_of(client)
    await (
        Tally.update({Tally.notice_ends_at: dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)})
        .where(Tally.campaign == notice.campaign.id)
        .run()
    )
    form = await client.get(FORM)
    assert form.status_code == 200 and "公示期已结束" in form.text
    assert 'name="captcha_id"' not in form.text
    response = await submit(client, fields(notice), captcha_id=captcha_id)
    assert response.status_code == 403 and "不再受理异议" in response.text
    assert await stored() == []
    with pytest.raises(objections.ObjectionRefused):
        await object_directly(notice)
    # Before the notice (and in any phase but notice) there is no form at all.
    await (
        Campaign.update({Campaign.phase: Phase.tallying.value})
        .where(Campaign.id == notice.campaign.id)
        .run()
    )
    assert (await client.get(FORM)).status_code == 404
    response = await submit(client, fields(notice), captcha_id=captcha_id)
    assert response.status_code == 404
    assert await stored() == []


@pytest.mark.parametrize(
    ("filename", "content", "media_type"),
    [
        ("证据.pdf", minimal_pdf(), "application/pdf"),
        ("现场照片.jpg", jpeg_bytes(), "image/jpeg"),
    ],
)
async def test_evidence_pdf_or_image_is_kept_and_served_to_staff_only(
    client, notice, staff, upload_folder, filename: str, content: bytes, media_type: str
) -> None:
    response = await submit(
        client, fields(notice), files={"evidence": (filename, content, media_type)}
    )
    assert response.status_code == 200, response.text[:500]
    [row] = await stored()
    assert row["evidence"] and row["evidence_name"] == filename
    assert files_in(upload_folder) == [row["evidence"]]  # no thumbnail, no temporary file
    url = f"{STAFF}/{row['id']}/evidence"
    assert (await client.get(url)).status_code in (302, 303)  # the public: to the login
    await login(client, staff["city_admin"])
    served = await client.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith(media_type)
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.headers["x-content-type-options"] == "nosniff"
    if media_type == "application/pdf":
        assert served.content == content
    else:
        Image.open(io.BytesIO(served.content)).verify()  # re-encoded, still a picture
    # The objector's file is personal data: the download is in the audit log.
    [logged] = (
        await AuditEntry.select(AuditEntry.actor_name, AuditEntry.after)
        .where(AuditEntry.action == "objection.download")
        .output(load_json=True)
        .run()
    )
    assert logged == {"actor_name": staff["city_admin"], "after": {"file": filename}}


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("证据.pdf", b"%PDF-1.4\nno trailer here", "PDF 文件不完整或已损坏"),
        ("证据.pdf", b"<html><script>alert(1)</script></html>", "无法识别为 PDF 文件或图片"),
        ("照片.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100, "图片文件不完整或已损坏"),
        ("空.pdf", b"", "文件是空的"),
        ("压缩包.zip", b"PK\x03\x04" + b"\x00" * 200, "无法识别为 PDF 文件或图片"),
        ("证据.pdf", javascript_pdf(), "PDF 文件含有脚本、嵌入文件或其他可执行内容"),
        ("证据.pdf", encrypted_pdf(), "PDF 文件已加密"),
        ("照片.png", png_header_only(20000, 20000), "图片像素过多（上限 2500 万像素）"),
    ],
)
async def test_evidence_that_is_not_a_real_pdf_or_image_is_refused(
    client, notice, upload_folder, filename: str, content: bytes, message: str
) -> None:
    before = files_in(upload_folder)
    response = await submit(
        client, fields(notice), files={"evidence": (filename, content, "application/pdf")}
    )
    assert response.status_code == 400, response.text[:300]
    assert message in response.text and 'id="e-evidence"' in response.text
    assert await stored() == []
    assert files_in(upload_folder) == before


async def test_no_evidence_file_is_left_behind_when_the_objection_is_not_recorded(
    client, notice, upload_folder, monkeypatch
) -> None:
    real = objections.record_objection

    async def closes_meanwhile(campaign, data, **kw):  # type: ignore[no-untyped-def]
        await (
            Tally.update({Tally.notice_ends_at: dt.datetime.now(dt.UTC)})
            .where(Tally.campaign == campaign.id)
            .run()
        )
        return await real(campaign, data, **kw)

    monkeypatch.setattr(objections, "record_objection", closes_meanwhile)
    before = files_in(upload_folder)
    response = await submit(
        client, fields(notice), files={"evidence": ("证据.pdf", minimal_pdf(), "application/pdf")}
    )
    assert response.status_code == 403 and "不再受理异议" in response.text
    assert await stored() == []
    assert files_in(upload_folder) == before


async def test_an_excluded_candidate_can_no_longer_be_objected_to(client, notice) -> None:
    await results.exclude(ADMIN, notice.campaign, notice.ids["甲司法所"], "材料不实")
    page = await client.get(FORM)
    assert "甲司法所" not in page.text and "丙司法所" in page.text  # 丙 moved up
    response = await submit(client, fields(notice))
    assert response.status_code == 400 and "不在本次公示的拟命名名单中" in response.text
    assert await stored() == []


# --- staff handling -------------------------------------------------------------------------


async def handle(client, objection_id: int, step: str, resolution: str = "") -> httpx.Response:  # type: ignore[no-untyped-def]
    data = {"resolution": resolution} if resolution else {}
    return await post_form(client, f"{STAFF}/{objection_id}/{step}", data)


async def test_upheld_excludes_the_candidate_and_the_next_moves_up(client, notice, staff) -> None:
    objection = await object_directly(notice)
    assert await designated() == {"甲司法所", "乙司法所", "张调解员"}
    await login(client, staff["city_admin"])
    listing = await client.get(STAFF)
    assert listing.status_code == 200
    # The phone is masked on the list (revealed by an audited action: see below).
    for shown in (objection.receipt, "王建国", "139****1234", "同村村民", CONTENT[:20]):
        assert shown in listing.text
    assert (await handle(client, objection.id, "investigate")).status_code in (302, 303)
    row = await Objection.objects().where(Objection.id == objection.id).first().run()
    assert row.status == "investigating"
    # A resolution is required.
    response = await handle(client, objection.id, "uphold")
    assert response.status_code in (302, 303)
    assert "请填写办理结果" in (await client.get(STAFF)).text
    assert await designated() == {"甲司法所", "乙司法所", "张调解员"}

    resolution = "经实地核查，反映的调解协议未履行问题属实，申报数据存在夸大。"
    response = await handle(client, objection.id, "uphold", resolution)
    assert response.status_code in (302, 303)
    row = await Objection.objects().where(Objection.id == objection.id).first().run()
    assert (row.status, row.resolution) == ("upheld", resolution)
    assert row.handled_by is not None and row.handled_at is not None
    assert await designated() == {"乙司法所", "丙司法所", "张调解员"}
    standing = (
        await Standing.objects().where(Standing.candidate == notice.ids["甲司法所"]).first().run()
    )
    assert standing.rank is None and objection.receipt in standing.excluded_reason
    entries = await AuditEntry.select().order_by(AuditEntry.id).output(load_json=True).run()
    assert [e["action"] for e in entries][-2:] == ["objection.investigating", "objection.upheld"]
    upheld = entries[-1]
    assert upheld["actor_name"] == staff["city_admin"]
    assert (upheld["object_type"], upheld["object_id"]) == (
        "nomination",
        str(notice.ids["甲司法所"]),
    )
    assert resolution in upheld["after"]["reason"]
    # The objector sees the result; handling it again is refused.
    receipt_page = await client.get(f"/objections/{objection.receipt}")
    assert "异议成立" in receipt_page.text and resolution in receipt_page.text
    again = await handle(client, objection.id, "dismiss", "重复办理")
    assert again.status_code in (302, 303)
    assert "该异议已办结" in (await client.get(STAFF)).text
    assert (await Objection.objects().where(Objection.id == objection.id).first().run()).status == (
        "upheld"
    )


async def test_a_second_upheld_objection_against_the_same_candidate(client, notice, staff) -> None:
    first = await object_directly(notice)
    second = await object_directly(notice, real_name="李秀英")
    await objections.uphold(ADMIN, notice.campaign, first.id, "核查属实。")
    assert await designated() == {"乙司法所", "丙司法所", "张调解员"}
    await objections.uphold(ADMIN, notice.campaign, second.id, "与前一件异议为同一事实，属实。")
    assert await designated() == {"乙司法所", "丙司法所", "张调解员"}  # nobody else drops
    assert (await audit_actions())[-2:] == ["objection.upheld", "objection.upheld"]
    assert await results.open_objections(notice.campaign.id) == 0


async def test_dismissed_keeps_the_list(client, notice, staff) -> None:
    objection = await object_directly(notice, name="张调解员")
    await login(client, staff["city_admin"])
    resolution = "经核查，反映的问题与事实不符，异议不成立。"
    response = await handle(client, objection.id, "dismiss", resolution)
    assert response.status_code in (302, 303)
    row = await Objection.objects().where(Objection.id == objection.id).first().run()
    assert (row.status, row.resolution) == ("dismissed", resolution)
    assert await designated() == {"甲司法所", "乙司法所", "张调解员"}
    [entry] = (
        await AuditEntry.select()
        .where(AuditEntry.action == "objection.dismissed")
        .output(load_json=True)
        .run()
    )
    assert entry["object_type"] == "objection" and entry["object_id"] == str(objection.id)
    assert entry["after"]["resolution"] == resolution
    assert objection.receipt in entry["object_label"]
    page = await client.get(f"/objections/{objection.receipt}")
    assert "异议不成立" in page.text and resolution in page.text


async def test_handling_is_refused_outside_the_notice_phase(client, notice, staff) -> None:
    objection = await object_directly(notice)
    await (
        Campaign.update({Campaign.phase: Phase.published.value})
        .where(Campaign.id == notice.campaign.id)
        .run()
    )
    await login(client, staff["city_admin"])
    before = await audit_actions()
    for step in ("investigate", "uphold", "dismiss"):
        response = await handle(client, objection.id, step, "处理意见")
        assert response.status_code in (302, 303)
        assert "只有在公示阶段才能办理异议" in (await client.get(STAFF)).text
    row = await Objection.objects().where(Objection.id == objection.id).first().run()
    assert row.status == "received" and row.resolution == ""
    assert await designated() == {"甲司法所", "乙司法所", "张调解员"}
    assert await audit_actions() == before
    # An objection of another campaign, or none at all, is not found.
    assert (await handle(client, objection.id + 1000, "dismiss", "x")).status_code == 404


async def test_designation_waits_for_every_objection(client, notice, staff) -> None:
    objection = await object_directly(notice)
    campaign = await get_campaign(NOTICE_SLUG)
    tally = await results.tally_of(campaign.id)
    later = tally.notice_ends_at + dt.timedelta(minutes=1)  # after the notice period
    assert await results.designation_blockers(campaign, later) == ["还有 1 件异议尚未办结。"]
    with pytest.raises(results.ResultsRefused, match="异议尚未办结"):
        await results.designate(ADMIN, NOTICE_SLUG, now=later)
    await objections.investigate(ADMIN, campaign, objection.id)
    assert await results.designation_blockers(campaign, later) == ["还有 1 件异议尚未办结。"]
    await objections.dismiss(ADMIN, campaign, objection.id, "不属实。")
    assert await results.designation_blockers(campaign, later) == []
    await results.designate(ADMIN, NOTICE_SLUG, now=later)
    assert (await get_campaign(NOTICE_SLUG)).phase == Phase.published.value


@pytest.mark.parametrize("role", ["county_clerk", "reviewer", "auditor"])
async def test_only_the_city_admin_handles_and_only_the_city_reads(
    client, notice, staff, role: str
) -> None:
    objection = await object_directly(notice)
    await login(client, staff[role])
    listing = await client.get(STAFF)
    evidence = await client.get(f"{STAFF}/{objection.id}/evidence")
    if role == "auditor":
        assert listing.status_code == 200 and "王建国" in listing.text
        assert "开始调查核实" not in listing.text and "/uphold" not in listing.text
        assert evidence.status_code == 404  # this objection has no evidence file
    else:
        assert listing.status_code == 403 and "王建国" not in listing.text
        assert evidence.status_code == 403
    for step in ("investigate", "uphold", "dismiss"):
        response = await handle(client, objection.id, step, "处理意见")
        assert response.status_code == 403
    row = await Objection.objects().where(Objection.id == objection.id).first().run()
    assert row.status == "received"
    assert await designated() == {"甲司法所", "乙司法所", "张调解员"}


async def test_the_objectors_phone_is_masked_and_revealed_only_by_an_audited_action(
    client, notice, staff
) -> None:
    objection = await object_directly(notice)
    assert objection.phone == "13919001234"
    await login(client, staff["auditor"])
    page = (await client.get(STAFF)).text
    assert "139****1234" in page and "13919001234" not in page
    assert f"{objection.id}/reveal" not in page  # the auditor reads, masked
    await client.post("/logout", data={"_csrf_token": await csrf_token(client)})

    await login(client, staff["city_admin"])
    page = (await client.get(STAFF)).text
    assert "139****1234" in page and "13919001234" not in page
    revealed = await post_form(client, f"{STAFF}/{objection.id}/reveal", {})
    assert revealed.status_code in (302, 303), revealed.text[:300]
    page = (await client.get(revealed.headers["location"])).text
    assert "13919001234" in page  # once, in the notice after the reveal
    [logged] = await (
        AuditEntry.select(AuditEntry.actor_name, AuditEntry.object_id)
        .where(AuditEntry.action == "objection.reveal")
        .run()
    )
    assert logged == {"actor_name": staff["city_admin"], "object_id": str(objection.id)}
    assert "13919001234" not in (await client.get(STAFF)).text
