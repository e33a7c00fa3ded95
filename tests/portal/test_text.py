"""One rule for names, titles and organisations (portal.text): invisible characters are
refused with a message, wherever such a text is typed. Nominations: tests/nominations/
test_fields.py and test_excel.py."""

from __future__ import annotations

import re

import pytest

from nominations import review
from portal import campaigns, text
from portal.accounts import AccountError, create_staff, load_staff
from portal.tables import Staff
from results import objections
from stories import services as stories
from tests.helpers import PASSWORD

HIDDEN = [
    *(chr(c) for c in range(0x202A, 0x202F)),  # embeddings and overrides
    *(chr(c) for c in range(0x2066, 0x206A)),  # isolates
    *(chr(c) for c in range(0x200B, 0x2010)),  # zero-width space, joiners, direction marks
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u061c",  # Arabic letter mark
    "\x07",
    "\u2028",  # line separator
]


@pytest.mark.parametrize("char", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_each_invisible_character_is_named_in_the_refusal(char: str) -> None:
    message = text.line_error("名称", f"安定区{char}司法所")
    assert message == (
        f"名称含有不可见字符（U+{ord(char):04X}），多由复制粘贴带入，请删除后重新输入。"
    )


@pytest.mark.parametrize(
    "value",
    [
        "“枫桥式”人民调解委员会（第一批）",
        "阿依古丽·买买提",
        "2023年度 评选",
        "中华路\u3000街道",  # an ideographic space is visible as a space
        "İstanbul-Café №1 ☺",
    ],
)
def test_visible_text_passes(value: str) -> None:
    assert text.line_error("名称", value) is None


def test_each_character_is_named_once_and_at_most_three() -> None:
    message = text.line_error("标题", "\u202e甲\u202e乙\u200b丙\ufeff丁\u2066")
    assert "（U+202E、U+200B、U+FEFF）" in message  # type: ignore[operator]


RLO = "\u202e"


def test_campaign_and_category_titles_are_refused() -> None:
    from tests.portal.test_campaigns import campaign_form, category_form

    with pytest.raises(campaigns.ValidationFailed) as refused:
        campaigns.parse_campaign(campaign_form(title=f"2024年度{RLO}评选"))
    assert "活动名称含有不可见字符（U+202E）" in refused.value.errors["title"]
    with pytest.raises(campaigns.ValidationFailed) as refused:
        campaigns.parse_category(category_form(title="“枫桥式”\u200b司法所"))
    assert "类别名称含有不可见字符（U+200B）" in refused.value.errors["title"]


def test_criterion_titles_are_refused() -> None:
    _, errors = review.parse_criteria([{"title": f"工作{RLO}实绩", "max_points": "100"}])
    assert "评分项名称含有不可见字符（U+202E）" in errors["title-0"]


def test_objectors_names_are_refused() -> None:
    values = {
        "candidate": "1",
        "real_name": f"张{RLO}三",
        "phone": "13912345678",
        "relation": "同村村民",
        "content": "该调解员所报调解数据与实际情况明显不符。",
    }
    with pytest.raises(objections.ObjectionRefused) as refused:
        objections.check_fields(values, {1})
    assert refused.value.errors == {"real_name": text.line_error("姓名", values["real_name"])}


@pytest.mark.parametrize(
    ("username", "display_name", "message"),
    [
        ("zhang", f"张{RLO}三", "姓名含有不可见字符（U+202E）"),
        ("zh\u200bang", "张三", "用户名含有不可见字符（U+200B）"),
    ],
)
async def test_staff_names_are_refused_and_no_account_made(
    bureaus, username, display_name, message
) -> None:
    with pytest.raises(AccountError, match=re.escape(message)):
        await create_staff(username, PASSWORD, "reviewer", display_name=display_name)
    assert await Staff.count().run() == 0


async def test_story_titles_are_refused(staff) -> None:
    row = await Staff.objects().where(Staff.username == staff["city_admin"]).first().run()
    _, errors = await stories.clean(
        await load_staff(row.id), {"kind": "case", "title": f"化解{RLO}纠纷", "body": "正文"}
    )
    assert "标题含有不可见字符（U+202E）" in errors["title"]
