"""Every role finds work waiting in the demo, on its home page's to-dos: clerks have
drafts to finish and returned items to mend, the organisers a vetting queue and
submissions to publish, the reviewers their candidates assigned."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from portal.demo import DEMO_PASSWORD
from tests.helpers import login

TODO = re.compile(r'<ul class="todo-list">(.*?)</ul>', re.S)
ITEM = re.compile(r'<a href="[^"]*">(.*?)</a>', re.S)

# Who signs in, and words that must be in one of their to-dos.
WORK = (
    ("clerk-dingxi", ("2024年度甘肃省", "草稿", "尚未报送")),
    ("clerk-dingxi", ("2024年度甘肃省", "被退回修改", "退回意见")),
    ("clerk-lanzhou", ("2024年度甘肃省", "草稿", "尚未报送")),
    ("clerk-tianshui", ("2024年度甘肃省", "被退回修改")),
    ("clerk-minxian", ("典型案例「草场围栏引发的放牧纠纷调解纪实」尚未报送市局",)),
    ("province-admin", ("2024年度甘肃省", "待审核")),
    ("city-admin", ("篇县区报送的典型案例待审核发布",)),
    ("reviewer-anding", ("2024年度甘肃省", "已分配给您", "个候选对象")),
    ("reviewer-lintao", ("2024年度甘肃省", "已分配给您")),
)


async def todos(client, username: str) -> list[str]:  # type: ignore[no-untyped-def]
    await login(client, username, DEMO_PASSWORD)
    page = await client.get("/staff")
    assert page.status_code == 200
    found = TODO.search(page.text)
    return [html.unescape(t) for t in ITEM.findall(found.group(1))] if found else []


# ... and nobody is asked what is not theirs to do.
NOT_THEIRS = (("province-admin", "典型案例"), ("clerk-anding", "草稿"))


@pytest.mark.parametrize(("username", "words"), WORK)
async def test_each_role_finds_work_in_the_demo(
    demo_loaded: Path, client, username: str, words: tuple[str, ...]
) -> None:
    items = await todos(client, username)
    assert any(all(w in item for w in words) for item in items), items


@pytest.mark.parametrize(("username", "word"), NOT_THEIRS)
async def test_nobody_is_asked_what_is_not_theirs(
    demo_loaded: Path, client, username: str, word: str
) -> None:
    assert not [item for item in await todos(client, username) if word in item]
