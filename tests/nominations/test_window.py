"""Staff are told precisely why they cannot nominate: a bare /new asks for the category,
and a closed window says whether it is not open yet (from when) or has ended (since when),
in 北京时间, with no form that could not be sent."""

from __future__ import annotations

import datetime as dt

import pytest

from nominations import services
from nominations.tables import Nomination
from portal.tables import Campaign, Phase
from tests.helpers import login, post_form
from tests.nominations.conftest import UNIT

UTC = dt.UTC
AT = dt.datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 11:00 北京时间


def campaign(
    phase: Phase, opens: dt.datetime | None, closes: dt.datetime | None, tz: str = "Asia/Shanghai"
) -> Campaign:
    return Campaign(
        phase=phase.value, nominating_opens_at=opens, nominating_closes_at=closes, timezone=tz
    )


@pytest.mark.parametrize(
    ("phase", "opens", "closes", "expected"),
    [
        # In the phase, before its start: when it opens, in 北京时间.
        (Phase.nominating, dt.datetime(2026, 12, 7, 1, 0, tzinfo=UTC), None,
         "推荐申报未开放：申报于2026年12月07日 09:00（北京时间）开始。"),
        # Still being prepared, the start already set.
        (Phase.draft, dt.datetime(2026, 12, 7, 1, 0, tzinfo=UTC), None,
         "推荐申报未开放：申报于2026年12月07日 09:00（北京时间）开始。"),
        (Phase.draft, None, None, "推荐申报未开放：评选活动还在筹备中，尚未进入推荐申报阶段。"),
        # After its end, whether or not the city has moved the campaign on.
        (Phase.nominating, None, dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
         "推荐申报已结束：申报已于2026年12月01日 18:00（北京时间）截止。"),
        (Phase.vetting, None, dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
         "推荐申报已结束：申报已于2026年12月01日 18:00（北京时间）截止。"),
        # Moved on before the set end: the phase it is in.
        (Phase.vetting, None, dt.datetime(2026, 12, 9, 10, 0, tzinfo=UTC),
         "推荐申报已结束：评选活动已进入资格审核阶段。"),
    ],
)  # fmt: skip
def test_the_window_message_says_which(
    phase: Phase, opens: dt.datetime | None, closes: dt.datetime | None, expected: str
) -> None:
    assert services.window_message(campaign(phase, opens, closes), AT) == expected


def test_other_zones_are_named_by_their_offset() -> None:
    closes = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    message = services.window_message(campaign(Phase.vetting, None, closes, "Asia/Tokyo"), AT)
    assert message == "推荐申报已结束：申报已于2026年12月01日 19:00（UTC+09:00）截止。"


@pytest.mark.parametrize("query", ["", "?category=", "?category=abc"])
async def test_new_without_a_category_leads_to_the_category_choice(
    client, clerks, category, query: str
) -> None:
    await login(client, "clerk")
    response = await client.get(f"/staff/nominations/new{query}")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/staff/nominations"
    page = await client.get("/staff/nominations")
    assert "新建推荐须先选择评选类别" in page.text
    assert f'href="/staff/nominations/new?category={category.id}"' in page.text
    assert "请求有误" not in page.text


async def set_window(campaign: Campaign, opens: dt.datetime, closes: dt.datetime) -> None:
    await (
        Campaign.update(
            {Campaign.nominating_opens_at: opens, Campaign.nominating_closes_at: closes}
        )
        .where(Campaign.id == campaign.id)
        .run()
    )


async def test_a_window_not_open_yet_says_when_and_shows_no_form(
    client, clerks, category, open_campaign
) -> None:
    now = dt.datetime.now(UTC)
    opens = (now + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    await set_window(open_campaign, opens, opens + dt.timedelta(days=7))
    await login(client, "clerk")
    page = await client.get(f"/staff/nominations/new?category={category.id}")
    assert page.status_code == 200
    local = opens.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"推荐申报未开放：申报于{local:%Y年%m月%d日 %H:%M}（北京时间）开始。" in page.text
    assert "未开放或已结束" not in page.text
    assert 'name="action"' not in page.text and "保存并报送" not in page.text
    assert 'href="/staff/nominations?campaign=test-2024"' in page.text
    listing = await client.get("/staff/nominations?campaign=test-2024")
    assert "推荐申报未开放：申报于" in listing.text and "未开放或已结束" not in listing.text


async def test_an_ended_window_says_since_when_and_keeps_the_typed_deeds(
    client, clerks, category, open_campaign
) -> None:
    now = dt.datetime.now(UTC)
    closes = (now - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    await set_window(open_campaign, closes - dt.timedelta(days=7), closes)
    await login(client, "clerk")
    page = await client.get(f"/staff/nominations/new?category={category.id}")
    local = closes.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"推荐申报已结束：申报已于{local:%Y年%m月%d日 %H:%M}（北京时间）截止。" in page.text
    assert "保存草稿" not in page.text and "保存并报送" not in page.text

    # Closed while the clerk typed: nothing saved, told why, the deeds handed back.
    response = await post_form(
        client,
        "/staff/nominations/new",
        {
            **UNIT,
            "deeds": "## 调解经过\n\n走访双方。",
            "category": str(category.id),
            "action": "save",
        },
    )
    assert response.status_code == 409
    assert "推荐申报已结束：申报已于" in response.text
    assert "保存草稿" not in response.text
    assert "## 调解经过" in response.text and "readonly" in response.text
    assert await Nomination.count().run() == 0
