"""The nomination pages over HTTP: forms with files, ownership, public views, Excel, vetting.

Every request goes through the app (``client``), forms with their CSRF token, files as
multipart uploads, as a browser sends them.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image

from nominations import excel, fields, services
from nominations.tables import Document, Nomination, Status
from portal import media
from portal.accounts import load_staff
from portal.tables import AuditEntry, Campaign, Category, Phase, Staff
from portal.text import mask_phone
from tests.factories import actor_for
from tests.helpers import csrf_token, login, post_form
from tests.nominations.conftest import UNIT
from tests.portal.test_media import (
    encrypted_pdf,
    image_bytes,
    javascript_pdf,
    minimal_pdf,
    png_header_only,
    zip_named_pdf,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LABEL = {f.key: f.label for f in fields.FIELDS}
MEDIATOR = {
    "name": "李桂兰",
    "township": "香泉镇",
    "gender": "female",
    "birth_year": "1970",
    "committee": "安定区香泉镇香泉村人民调解委员会",
    "position": "调委会主任",
    "years_of_service": "15",
    "summary": "扎根村里十五年，邻里纠纷随叫随到。",
    "deeds": "## 主要事迹\n\n- 年均调处纠纷 60 余件",
    "disputes_mediated": "66",
    "disputes_resolved": "65",
    "judicial_confirmations": "4",
    "on_the_spot": "30",
    "entrusted_court": "3",
    "entrusted_police": "2",
    "entrusted_government": "1",
    "entrusted_petition": "1",
    "entrusted_other": "0",
    "criminal_escalations": "0",
    "mass_incidents": "0",
    "contact_name": "赵春燕",
    "contact_phone": "0932-8212345",
}
CONTACTS = (UNIT["contact_name"], UNIT["contact_phone"], MEDIATOR["contact_name"], "8212345")


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def folder(settings) -> Path:  # type: ignore[no-untyped-def]
    """The app's upload folder."""
    return Path(settings.var_dir) / "uploads"


def stored_files(folder: Path) -> list[str]:
    """Everything in the upload folder, temporary files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def jpeg() -> bytes:
    return image_bytes("JPEG", (640, 480))


def form_files(photo: tuple | None = None, documents: list[tuple] | None = None) -> list:
    """Multipart file fields as a browser sends them (several ``documents`` allowed)."""
    files: list[tuple[str, tuple]] = []
    if photo:
        files.append(("photo", photo))
    files += [("documents", d) for d in documents or []]
    return files


async def send_form(client, url: str, data: dict, files: list | None = None):  # type: ignore[no-untyped-def]
    """A multipart form post with the page's CSRF token."""
    body = {"_csrf_token": await csrf_token(client), **data}
    return await client.post(url, data=body, files=files or None)


def error_at(html: str, key: str) -> str | None:
    """The message shown next to field ``key`` (its ``e-<key>`` element), if any."""
    found = re.search(rf'<p class="error" id="e-{re.escape(key)}">([^<]*)</p>', html)
    return found.group(1) if found else None


async def user(username: str):  # type: ignore[no-untyped-def]
    row = await Staff.objects().where(Staff.username == username).first().run()
    return await load_staff(row.id)


async def nominate(
    clerk, category: Category, folder: Path, values: dict | None = None, **changes: Any
) -> Nomination:  # type: ignore[no-untyped-def]
    """A complete draft with a real photo and PDF in the app's upload folder."""
    directory = media.upload_dir(folder.parent)
    files = services.Files(
        photo=media.save_photo(jpeg(), directory),
        documents=[(media.save_pdf(minimal_pdf(), directory), "推荐表.pdf", 500)],
    )
    data = {**(values or UNIT), **changes}
    return await services.create_draft(actor_for(clerk), clerk, category, data, files)


async def submitted(
    clerk, category: Category, folder: Path, values: dict | None = None, **changes: Any
) -> Nomination:  # type: ignore[no-untyped-def]
    nomination = await nominate(clerk, category, folder, values, **changes)
    return await services.submit(actor_for(clerk), clerk, await services.load(clerk, nomination.id))


async def shortlisted(
    clerk, category: Category, folder: Path, values: dict | None = None, **changes: Any
) -> Nomination:  # type: ignore[no-untyped-def]
    nomination = await submitted(clerk, category, folder, values, **changes)
    admin = await user("admin")
    return await services.decide(
        actor_for(admin), await services.load(admin, nomination.id), "shortlist"
    )


async def nomination_actions() -> list[str]:
    rows = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id).run()
    return [r["action"] for r in rows if r["action"].startswith("nomination.")]


async def status_of(nomination_id: int) -> str:
    row = (
        await Nomination.select(Nomination.status)
        .where(Nomination.id == nomination_id)
        .first()
        .run()
    )
    return row["status"]


class Markup(HTMLParser):
    """Tags with their attributes, script bodies, and table rows as cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.rows: list[list[str]] = []
        self._script: list[str] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "script":
            self._script = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def links(self) -> list[str]:
        return [attrs.get("href", "") for tag, attrs in self.tags if tag == "a"]

    def row(self, first_cell: str) -> list[str]:
        return next(r for r in self.rows if r and r[0] == first_cell)


def assert_inert(html: str) -> None:
    """Nothing a clerk typed can run: no script they wrote, no handler, no javascript: URL."""
    page = Markup(html)
    assert not any("alert" in body for body in page.scripts), page.scripts
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            compact = re.sub(r"\s", "", value).lower()
            assert not compact.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
    assert "<script>alert" not in html
    assert "<img src=x" not in html.lower()


# --- creating with files --------------------------------------------------------------------


async def test_clerk_creates_with_photo_and_pdf_and_submits_in_one_go(
    client, clerks, category, folder
) -> None:
    await login(client, "clerk")
    page = await client.get(f"/staff/nominations/new?category={category.id}")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="photo"' in page.text
    response = await send_form(
        client,
        "/staff/nominations/new",
        {**UNIT, "category": str(category.id), "action": "submit"},
        form_files(
            ("张三.jpg", jpeg(), "image/jpeg"),
            [("推荐表.pdf", minimal_pdf(), "application/pdf")],
        ),
    )
    assert response.status_code in (302, 303), response.text[:500]
    nomination = await Nomination.objects().first().run()
    assert response.headers["location"] == f"/staff/nominations/{nomination.id}"
    assert nomination.status == Status.submitted.value and nomination.place == 1
    assert nomination.bureau == clerks["anding"].bureau_id
    assert nomination.name == UNIT["name"] and nomination.disputes_mediated == 312
    documents = await Document.objects().where(Document.nomination == nomination.id).run()
    assert [d.filename for d in documents] == ["推荐表.pdf"]
    assert stored_files(folder) == sorted(
        [nomination.photo, nomination.thumbnail, documents[0].stored_name]
    )
    assert await nomination_actions() == [
        "nomination.create",
        "nomination.photo",
        "nomination.document",
        "nomination.submit",
    ]
    detail = await client.get(response.headers["location"])
    assert detail.status_code == 200
    assert Status.submitted.label in detail.text and UNIT["name"] in detail.text
    photo = await client.get(f"/staff/nominations/{nomination.id}/photo")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(photo.content)).format == "JPEG"
    document = await client.get(f"/staff/nominations/{nomination.id}/documents/{documents[0].id}")
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/pdf")
    assert document.headers["content-disposition"].startswith("attachment")
    assert document.content == minimal_pdf()


def six_mb_photo() -> bytes:
    noise = Image.frombytes("RGB", (1450, 1450), bytes(range(256)) * (1450 * 1450 * 3 // 256 + 1))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert 6 * 1024 * 1024 <= len(data) < 7 * 1024 * 1024
    return data


def truncated_jpeg() -> bytes:
    data = jpeg()
    return data[: len(data) // 2]


PDF = ("推荐表.pdf", minimal_pdf(), "application/pdf")
PHOTO = ("照片.jpg", jpeg(), "image/jpeg")

SCRIPT = ("照片.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg")
SVG = (
    "照片.svg",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
    "image/svg+xml",
)

# (form changes, photo, document, field, message shown at the field)
BAD_FORMS = [
    pytest.param({}, SCRIPT, PDF, "photo", "无法识别为照片", id="script-renamed-jpg"),
    pytest.param(
        {}, ("照片.jpg", truncated_jpeg(), "image/jpeg"), PDF, "photo", "已损坏", id="truncated"
    ),
    pytest.param({}, SVG, PDF, "photo", "无法识别为照片", id="svg"),
    pytest.param(
        {},
        ("照片.png", png_header_only(20000, 20000), "image/png"),
        PDF,
        "photo",
        "2500 万像素",
        id="png-claiming-20000x20000",
    ),
    pytest.param(
        {},
        PHOTO,
        ("推荐表.pdf", javascript_pdf(), "application/pdf"),
        "documents",
        "PDF 文件含有脚本、嵌入文件或其他可执行内容",
        id="pdf-running-javascript",
    ),
    pytest.param(
        {},
        PHOTO,
        ("推荐表.pdf", encrypted_pdf(), "application/pdf"),
        "documents",
        "PDF 文件已加密",
        id="encrypted-pdf",
    ),
    pytest.param(
        {},
        PHOTO,
        ("推荐表.pdf", zip_named_pdf(), "application/pdf"),
        "documents",
        "该文件不是 PDF",
        id="zip-renamed-pdf",
    ),
    pytest.param(
        {}, ("照片.png", six_mb_photo(), "image/png"), PDF, "photo", "超过 5 MB", id="6mb-photo"
    ),
    pytest.param(
        {"contact_phone": "12345"}, PHOTO, PDF, "contact_phone", "格式不正确", id="bad-phone"
    ),
    pytest.param(
        {"disputes_resolved": "400"},
        PHOTO,
        PDF,
        "disputes_resolved",
        "不能多于排查调处数",
        id="figures-disagree",
    ),
]


@pytest.mark.parametrize(("changes", "photo", "document", "key", "message"), BAD_FORMS)
async def test_a_refused_form_shows_the_error_at_its_field_and_stores_nothing(
    client, clerks, category, folder, changes, photo, document, key, message
) -> None:
    """A good file sent along with a bad one (or with a bad field) is not kept either."""
    await login(client, "clerk")
    before = await AuditEntry.count().run()
    response = await send_form(
        client,
        "/staff/nominations/new",
        {**UNIT, **changes, "category": str(category.id), "action": "submit"},
        form_files(photo, [document]),
    )
    assert response.status_code == 400, response.text[:500]
    assert message in (error_at(response.text, key) or ""), response.text
    # The field is marked and described by its error, which sits in the field's own block.
    block = re.search(
        rf'<div class="field has-error">\s*<label for="f-{key}">.*?</div>', response.text, re.S
    )
    assert block and f'id="e-{key}"' in block.group(0), response.text
    field = re.search(rf'<(?:input|textarea|select) id="f-{key}"[^>]*>', block.group(0))
    assert field and f"e-{key}" in field.group(0)
    # What the clerk typed is still in the form.
    assert f'value="{UNIT["township"]}"' in response.text
    assert "Traceback" not in response.text
    assert await Nomination.count().run() == 0
    assert await Document.count().run() == 0
    assert await AuditEntry.count().run() == before
    assert stored_files(folder) == []


async def test_the_form_names_the_photo_bounds(client, clerks, category) -> None:
    await login(client, "clerk")
    page = await client.get(f"/staff/nominations/new?category={category.id}")
    hint = re.search(r'<p class="help" id="h-photo">(.*?)</p>', page.text, re.S)
    assert hint and f"不超过 5 MB、{media.PHOTO_PIXELS_TEXT}" in hint.group(1), page.text


async def test_refused_roles_upload_nothing(client, staff, category, folder) -> None:
    for role in ("reviewer", "auditor", "city_admin"):
        await login(client, staff[role])
        response = await send_form(
            client,
            "/staff/nominations/new",
            {**UNIT, "category": str(category.id), "action": "submit"},
            form_files(PHOTO, [PDF]),
        )
        assert response.status_code == 403
    assert await Nomination.count().run() == 0
    assert stored_files(folder) == []


# --- another county's nominations ---------------------------------------------------------


async def test_a_clerk_gets_404_for_another_countys_nomination(
    client, clerks, category, folder
) -> None:
    theirs = await nominate(clerks["tongwei"], category, folder, name="通渭县平襄镇司法所")
    document = (await services.documents_of(theirs.id))[0]
    files_before = stored_files(folder)
    await login(client, "clerk")
    base = f"/staff/nominations/{theirs.id}"
    for url in (
        base,
        f"{base}/photo",
        f"{base}/thumbnail",
        f"{base}/documents/{document.id}",
        f"{base}/edit",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "通渭县平襄镇司法所" not in response.text
    for url, data in (
        (f"{base}/edit", {**UNIT, "category": str(category.id), "action": "save"}),
        (f"{base}/submit", {}),
        (f"{base}/withdraw", {"reason": "x"}),
        (f"{base}/documents/{document.id}/delete", {}),
    ):
        response = await post_form(client, url, data)
        assert response.status_code == 404, url
    # The photo upload on the edit form is not stored either.
    response = await send_form(
        client,
        f"{base}/edit",
        {**UNIT, "category": str(category.id), "action": "save"},
        form_files(PHOTO, [PDF]),
    )
    assert response.status_code == 404
    stored = await Nomination.objects().where(Nomination.id == theirs.id).first().run()
    assert stored.name == "通渭县平襄镇司法所" and stored.status == Status.draft.value
    assert await Document.count().run() == 1
    assert stored_files(folder) == files_before
    slug = (await Campaign.objects().where(Campaign.id == category.campaign).first().run()).slug
    listing = await client.get(f"/staff/nominations?campaign={slug}")
    assert listing.status_code == 200
    assert "通渭县平襄镇司法所" not in listing.text


async def test_each_countys_export_has_only_its_rows(
    client, clerks, category, open_campaign, folder
) -> None:
    await nominate(clerks["anding"], category, folder, name="安定区甲司法所")
    await nominate(clerks["tongwei"], category, folder, name="通渭县乙司法所")
    await nominate(clerks["tongwei"], category, folder, name="通渭县丙司法所")
    expected = {"clerk": ["安定区甲司法所"], "clerk-tongwei": ["通渭县乙司法所", "通渭县丙司法所"]}
    for username, names in expected.items():
        await login(client, username)
        response = await client.get(f"/staff/nominations/export.xlsx?campaign={open_campaign.slug}")
        assert response.status_code == 200
        assert response.headers["content-type"] == XLSX
        wb = load_workbook(io.BytesIO(response.content))
        ws = wb["司法所"]
        header = [c.value for c in ws[1]]
        rows = [
            dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)
        ]
        assert [r["名称"] for r in rows] == names
        county = "安定区" if username == "clerk" else "通渭县"
        assert {r["推荐单位"] for r in rows} == {county}


async def test_phone_numbers_are_whole_for_their_clerk_masked_for_others_revealed_audited(
    client, clerks, category, open_campaign, folder
) -> None:
    n = await submitted(clerks["anding"], category, folder, name="安定区甲司法所")
    phone = n.contact_phone
    masked = mask_phone(phone)
    assert phone and masked != phone and masked.startswith(phone[:3])
    export = f"/staff/nominations/export.xlsx?campaign={open_campaign.slug}"

    async def exported() -> list:  # type: ignore[type-arg]
        response = await client.get(export)
        assert response.status_code == 200
        ws = load_workbook(io.BytesIO(response.content))["司法所"]
        header = [c.value for c in ws[1]]
        return [
            dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)
        ]

    await login(client, "clerk")  # the nominating county's clerk, who typed it
    page = await client.get(f"/staff/nominations/{n.id}")
    assert phone in page.text and "显示完整号码" not in page.text
    assert [r[LABEL["contact_phone"]] for r in await exported()] == [phone]

    for username in ("auditor", "admin"):
        await login(client, username)
        page = await client.get(f"/staff/nominations/{n.id}")
        assert page.status_code == 200
        assert phone not in page.text and masked in page.text
        assert ("显示完整号码" in page.text) is (username == "admin")
        assert [r[LABEL["contact_phone"]] for r in await exported()] == [masked]
    exports = await AuditEntry.count().where(AuditEntry.action == "nomination.export_list")
    assert exports == 3

    # The administrator reveals it: once, as a message, audited; the page stays masked.
    revealed = await post_form(client, f"/staff/nominations/{n.id}/reveal", follow_redirects=True)
    assert revealed.status_code == 200 and phone in revealed.text
    assert phone not in (await client.get(f"/staff/nominations/{n.id}")).text
    entry = await AuditEntry.objects().where(AuditEntry.action == "nomination.reveal").first()
    assert (entry.object_id, entry.object_label) == (str(n.id), "安定区甲司法所")
    # Nobody else may.
    await login(client, "auditor")
    refused = await post_form(client, f"/staff/nominations/{n.id}/reveal")
    assert refused.status_code == 403
    assert await AuditEntry.count().where(AuditEntry.action == "nomination.reveal") == 1


# --- what the public sees -----------------------------------------------------------------


async def test_public_candidates_never_show_contacts_or_documents(
    client, clerks, category, open_campaign, folder
) -> None:
    candidate = await shortlisted(clerks["anding"], category, folder)
    slug = open_campaign.slug
    for who in ("anonymous", "clerk"):
        if who == "clerk":
            await login(client, "clerk")
        api = await client.get(f"/api/v1/campaigns/{slug}/candidates")
        assert api.status_code == 200
        (item,) = api.json()
        assert set(item) == {
            "id", "category", "name", "organisation", "county", "nominated_by", "summary",
            "photo_url", "votes",
        }  # fmt: skip
        assert (item["county"], item["nominated_by"]) == ("安定区", "安定区司法局")
        for url in (
            f"/api/v1/campaigns/{slug}/candidates",
            f"/campaigns/{slug}/candidates",
            f"/campaigns/{slug}/candidates/{candidate.id}",
        ):
            response = await client.get(url)
            assert response.status_code == 200, url
            assert UNIT["name"] in response.text
            for secret in (*CONTACTS, "contact_name", "contact_phone", "联系人", "联系电话"):
                assert secret not in response.text, (who, url, secret)
            assert "/documents/" not in response.text and "推荐表.pdf" not in response.text
            if not url.startswith("/api/"):
                links = Markup(response.text).links()
                assert not [h for h in links if "/staff/nominations" in h or ".pdf" in h], links


async def test_scripts_and_javascript_links_in_deeds_render_inert(
    client, clerks, category, open_campaign, folder
) -> None:
    deeds = (
        "# 事迹\n\n<script>alert(1)</script>\n\n[点我](javascript:alert(2))\n\n"
        '<a href="javascript:alert(3)">链接</a>\n\n<img src=x onerror=alert(4)>\n\n'
        "[正常链接](https://example.org/)"
    )
    candidate = await shortlisted(
        clerks["anding"], category, folder, deeds=deeds, summary="<script>alert(5)</script>"
    )
    await login(client, "clerk")
    staff_page = await client.get(f"/staff/nominations/{candidate.id}")
    public_page = await client.get(f"/campaigns/{open_campaign.slug}/candidates/{candidate.id}")
    listing = await client.get(f"/campaigns/{open_campaign.slug}/candidates")
    for response in (staff_page, public_page, listing):
        assert response.status_code == 200
        assert_inert(response.text)
        assert "&lt;script&gt;alert(5)&lt;/script&gt;" in response.text  # shown as text
    for response in (staff_page, public_page):
        assert "<h3>事迹</h3>" in response.text  # the Markdown itself still renders
        assert 'href="https://example.org/"' in response.text


# --- Excel ----------------------------------------------------------------------------------


async def download_template(client, category: Category) -> bytes:  # type: ignore[no-untyped-def]
    response = await client.get(f"/staff/nominations/template/{category.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    return response.content


def fill(template: bytes, rows: list[dict[str, Any]]) -> bytes:
    """Write rows (by field key) into the downloaded template, from the row after the example."""
    wb = load_workbook(io.BytesIO(template))
    ws = wb[excel.SHEET]
    column = {str(c.value).rstrip("*"): c.column for c in ws[excel.HEADER_ROW] if c.value}
    for offset, row in enumerate(rows):
        for key, value in row.items():
            ws.cell(excel.EXAMPLE_ROW + 1 + offset, column[LABEL[key]], value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload_workbook(client, category: Category, data: bytes):  # type: ignore[no-untyped-def]
    return await send_form(
        client,
        "/staff/nominations/import",
        {"category": str(category.id)},
        [("file", ("推荐对象.xlsx", data, XLSX))],
    )


SHEET_ROW = {**UNIT, "unit_type": "乡镇（街道）"}


async def test_an_import_with_one_bad_row_imports_nothing_and_names_row_and_column(
    client, clerks, category
) -> None:
    await login(client, "clerk")
    data = fill(
        await download_template(client, category),
        [
            {**SHEET_ROW, "name": "安定区甲司法所"},
            {**SHEET_ROW, "name": "安定区乙司法所", "contact_phone": "12345"},
            {**SHEET_ROW, "name": "安定区丙司法所"},
        ],
    )
    response = await upload_workbook(client, category, data)
    assert response.status_code == 400, response.text[:500]
    rows = [r for r in Markup(response.text).rows if r and r[0].startswith("第")]
    assert len(rows) == 1, rows
    assert rows[0][:2] == ["第 5 行", "联系电话"]
    assert "格式不正确" in rows[0][2]
    assert "没有导入任何推荐对象" in response.text
    assert await Nomination.count().run() == 0
    assert await nomination_actions() == []


async def test_a_good_import_creates_drafts(client, clerks, category, open_campaign) -> None:
    await login(client, "clerk")
    data = fill(
        await download_template(client, category),
        [{**SHEET_ROW, "name": "安定区甲司法所"}, {"name": "安定区乙司法所"}],
    )
    response = await upload_workbook(client, category, data)
    assert response.status_code in (302, 303), response.text[:500]
    rows = await Nomination.objects().order_by(Nomination.id).run()
    assert [r.name for r in rows] == ["安定区甲司法所", "安定区乙司法所"]
    assert {(r.status, r.bureau, r.category, r.place) for r in rows} == {
        (Status.draft.value, clerks["anding"].bureau_id, category.id, None)
    }
    first = rows[0]
    assert first.unit_type == "township" and first.disputes_mediated == 312
    assert first.contact_phone == UNIT["contact_phone"]
    assert await nomination_actions() == ["nomination.import"]
    listing = await client.get(response.headers["location"])
    assert "安定区甲司法所" in listing.text and "安定区乙司法所" in listing.text


async def test_the_export_opens_and_matches_the_database(
    client, clerks, category, open_campaign, folder
) -> None:
    mediators = (
        await Category.objects()
        .where((Category.campaign == open_campaign.id) & (Category.key == "mediator"))
        .first()
        .run()
    )
    # Times are written in the campaign's own zone, as its pages show them.
    zone = "Asia/Urumqi"
    await Campaign.update({Campaign.timezone: zone}).where(Campaign.id == open_campaign.id).run()
    await submitted(clerks["anding"], category, folder, name="安定区甲司法所")
    await nominate(clerks["tongwei"], category, folder, name="通渭县乙司法所", contact_phone="")
    await nominate(clerks["tongwei"], mediators, folder, values=MEDIATOR)
    await login(client, "admin")
    response = await client.get(f"/staff/nominations/export.xlsx?campaign={open_campaign.slug}")
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert "attachment" in response.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["司法所", "人民调解员"]
    stored = {
        r["name"]: r
        for r in await Nomination.select(
            *Nomination.all_columns(), Nomination.bureau.short_name.as_alias("county")
        ).run()
    }
    seen = []
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        for values in ws.iter_rows(min_row=2, values_only=True):
            row = dict(zip(header, values, strict=True))
            db = stored[row["名称"]]
            seen.append(row["名称"])
            assert row["推荐单位"] == db["county"]
            assert row["状态"] == Status(db["status"]).label
            for f in fields.fields_for(
                "mediator" if ws.title == "人民调解员" else "judicial_office"
            ):
                expected = db[f.key]
                if f.choices:
                    expected = f.choices.get(expected)
                if f.kind == "phone":  # the administrator's export: masked
                    expected = mask_phone(expected)
                assert row[f.label] == (expected if expected != "" else None), f.key
            assert row["调解成功率"] == fields.success_rate(
                db["disputes_mediated"], db["disputes_resolved"]
            )
            submitted_at = db["submitted_at"]
            if submitted_at is None:
                assert row["报送时间"] is None
            else:
                local = submitted_at.astimezone(ZoneInfo(zone))
                assert row["报送时间"] == local.replace(tzinfo=None, microsecond=0)
    assert sorted(seen) == sorted(stored)


# --- vetting --------------------------------------------------------------------------------


async def test_the_vetting_queue_shows_places_against_caps_and_shortlisted_against_quota(
    client, clerks, category, open_campaign, folder
) -> None:
    anding, tongwei = clerks["anding"], clerks["tongwei"]
    await submitted(anding, category, folder, name="安定区甲司法所")
    await shortlisted(anding, category, folder, name="安定区乙司法所")
    await submitted(tongwei, category, folder, name="通渭县丙司法所")
    await nominate(tongwei, category, folder, name="通渭县丁司法所")  # a draft holds no place
    await login(client, "admin")
    response = await client.get(f"/staff/nominations?campaign={open_campaign.slug}")
    assert response.status_code == 200
    page = Markup(response.text)
    header = page.row("推荐单位")
    column = header.index(category.title)
    assert page.row("安定区")[column] == "2 / 2"
    assert page.row("通渭县")[column] == "1 / 2"
    assert page.row("陇西县")[column] == "0 / 2"
    overview = page.row(category.title)
    assert overview[1:] == ["2", "1 / 2", "0", "0"]  # submitted, shortlisted/quota, …
    assert page.row("“枫桥式”人民调解员")[2] == "0 / 3"
    # The full county is marked; the queue lists the submitted ones to tick.
    assert 'class="num full">2 / 2' in response.text
    boxes = [a for t, a in page.tags if t == "input" and a.get("name") == "ids"]
    assert len(boxes) == 2


async def test_bulk_shortlist(client, clerks, category, open_campaign, folder) -> None:
    a = await submitted(clerks["anding"], category, folder, name="安定区甲司法所")
    b = await submitted(clerks["tongwei"], category, folder, name="通渭县乙司法所")
    draft = await nominate(clerks["tongwei"], category, folder, name="通渭县丙司法所")
    await login(client, "admin")
    response = await post_form(
        client,
        "/staff/nominations/shortlist",
        {"campaign": open_campaign.slug, "ids": [str(a.id), str(b.id), str(draft.id)]},
    )
    assert response.status_code in (302, 303)
    assert response.headers["location"].endswith("status=submitted")
    assert [await status_of(n.id) for n in (a, b, draft)] == ["shortlisted", "shortlisted", "draft"]
    actions = await nomination_actions()
    assert actions.count("nomination.shortlisted") == 2
    follow = await client.get(response.headers["location"])
    assert "已确定 2 个推荐对象入围" in follow.text


@pytest.mark.parametrize(
    ("decision", "message", "status"),
    [("return", "请填写退回意见。", "returned"), ("reject", "请填写不通过理由。", "rejected")],
)
async def test_return_and_reject_need_a_reason(
    client, clerks, category, folder, decision, message, status
) -> None:
    nomination = await submitted(clerks["anding"], category, folder)
    await login(client, "admin")
    url = f"/staff/nominations/{nomination.id}/decide"
    for reason in ("", "   "):
        response = await post_form(client, url, {"decision": decision, "reason": reason})
        assert response.status_code == 400
        assert error_at(response.text, "reason") == message
        assert 'aria-describedby="e-reason"' in response.text
        assert await status_of(nomination.id) == "submitted"
    assert "nomination.returned" not in await nomination_actions()
    response = await post_form(client, url, {"decision": decision, "reason": "请补充典型案例"})
    assert response.status_code in (302, 303)
    stored = await Nomination.objects().where(Nomination.id == nomination.id).first().run()
    assert stored.status == status and stored.decision_reason == "请补充典型案例"
    # The county sees the reason on its page.
    await login(client, "clerk")
    assert "请补充典型案例" in (await client.get(f"/staff/nominations/{nomination.id}")).text


async def test_shortlisting_needs_no_reason(client, clerks, category, folder) -> None:
    nomination = await submitted(clerks["anding"], category, folder)
    await login(client, "admin")
    response = await post_form(
        client, f"/staff/nominations/{nomination.id}/decide", {"decision": "shortlist"}
    )
    assert response.status_code in (302, 303)
    assert await status_of(nomination.id) == "shortlisted"


# --- the candidates API ---------------------------------------------------------------------


async def test_the_candidates_api_lists_only_shortlisted(
    client, clerks, category, open_campaign, folder
) -> None:
    mediators = (
        await Category.objects()
        .where((Category.campaign == open_campaign.id) & (Category.key == "mediator"))
        .first()
        .run()
    )
    office = await shortlisted(clerks["anding"], category, folder, name="安定区甲司法所")
    person = await shortlisted(clerks["tongwei"], mediators, folder, values=MEDIATOR)
    person_name = MEDIATOR["name"]
    await submitted(clerks["anding"], category, folder, name="安定区乙司法所")
    await nominate(clerks["tongwei"], category, folder, name="通渭县丙司法所")
    slug = open_campaign.slug

    response = await client.get(f"/api/v1/campaigns/{slug}/candidates")
    assert response.status_code == 200
    items = response.json()
    assert [(i["id"], i["category"], i["name"]) for i in items] == [
        (office.id, "judicial-office", "安定区甲司法所"),
        (person.id, "mediator", person_name),
    ]
    assert all(i["votes"] is None for i in items)
    assert items[0]["county"] == "安定区" and items[0]["organisation"] == UNIT["township"]
    assert items[1]["county"] == "通渭县" and items[1]["organisation"] == MEDIATOR["committee"]
    only = await client.get(f"/api/v1/campaigns/{slug}/candidates?category=mediator")
    assert [i["id"] for i in only.json()] == [person.id]
    none = await client.get(f"/api/v1/campaigns/{slug}/candidates?category=no-such")
    assert none.status_code == 200 and none.json() == []

    for item in items:
        assert item["photo_url"] == f"/media/candidates/{item['id']}/photo.jpg"
        photo = await client.get(item["photo_url"])
        assert photo.status_code == 200
        assert photo.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(photo.content)).format == "JPEG"
        thumb = await client.get(f"/media/candidates/{item['id']}/thumbnail.jpg")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        # Its page gives the photo its size, so the page does not move while it loads.
        width, height = Image.open(io.BytesIO(photo.content)).size
        page = await client.get(f"/campaigns/{slug}/candidates/{item['id']}")
        assert (
            f'src="{item["photo_url"]}" alt="{item["name"]} 的照片" '
            f'width="{width}" height="{height}">'
        ) in page.text

    # Not shortlisted: no public photo either.
    hidden = (await Nomination.objects().where(Nomination.status != "shortlisted").run())[0]
    assert (await client.get(f"/media/candidates/{hidden.id}/photo.jpg")).status_code == 404
    assert (await client.get(f"/campaigns/{slug}/candidates/{hidden.id}")).status_code == 404


async def test_a_draft_campaigns_candidates_are_404(
    client, clerks, category, open_campaign, folder
) -> None:
    candidate = await shortlisted(clerks["anding"], category, folder)
    await (
        Campaign.update({Campaign.phase: Phase.draft.value})
        .where(Campaign.id == open_campaign.id)
        .run()
    )
    slug = open_campaign.slug
    for url in (
        f"/api/v1/campaigns/{slug}/candidates",
        f"/campaigns/{slug}/candidates",
        f"/campaigns/{slug}/candidates/{candidate.id}",
        f"/media/candidates/{candidate.id}/photo.jpg",
        f"/media/candidates/{candidate.id}/thumbnail.jpg",
    ):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert UNIT["name"] not in response.text
    api = await client.get(f"/api/v1/campaigns/{slug}/candidates")
    assert api.json()["error"] == "not_found"
