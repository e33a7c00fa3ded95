"""Fixtures for nominations: a campaign open for nominations, clerks of two counties."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from portal.tables import Campaign, Category, CategoryKind, Phase
from tests import factories

UNIT = {
    "name": "安定区中华路司法所",
    "township": "中华路街道",
    "unit_type": "township",
    "address": "定西市安定区中华路 18 号",
    "summary": "坚持和发展新时代“枫桥经验”，矛盾纠纷就地化解率常年保持在 98% 以上。",
    "deeds": "## 主要做法\n\n- 网格化排查\n- 诉调对接\n\n全年调处纠纷 **312** 件。",
    "disputes_mediated": "312",
    "disputes_resolved": "309",
    "judicial_confirmations": "12",
    "on_the_spot": "140",
    "entrusted_court": "30",
    "entrusted_police": "8",
    "entrusted_government": "3",
    "entrusted_petition": "1",
    "entrusted_other": "2",
    "criminal_escalations": "0",
    "mass_incidents": "0",
    "staff_count": "6",
    "contact_name": "王敏",
    "contact_phone": "13919001234",
}


@pytest.fixture
async def open_campaign(staff: dict[str, str]) -> Campaign:
    """A campaign in its nomination window with a judicial-office category (cap 2)."""
    now = dt.datetime.now(dt.UTC)
    campaign, _ = await factories.campaign(
        [
            {
                "key": "judicial-office",
                "title": "“枫桥式”司法所",
                "kind": CategoryKind.judicial_office.value,
                "quota": 2,
                "county_cap": 2,
                "votes_per_day": 3,
            },
            {
                "key": "mediator",
                "title": "“枫桥式”人民调解员",
                "kind": CategoryKind.mediator.value,
                "quota": 3,
                "county_cap": 3,
                "votes_per_day": 3,
            },
        ],
        slug="test-2024",
        title="2024年度测试评选",
        year=2024,
        phase=Phase.nominating.value,
        nominating_opens_at=now - dt.timedelta(days=1),
        nominating_closes_at=now + dt.timedelta(days=10),
    )
    return campaign


@pytest.fixture
async def category(open_campaign: Campaign) -> Category:
    return (
        await Category.objects()
        .where((Category.campaign == open_campaign.id) & (Category.key == "judicial-office"))
        .first()
        .run()
    )


@pytest.fixture
async def clerks(staff: dict[str, str]) -> dict[str, Any]:
    """The 安定区 clerk (from the staff fixture) and one of 通渭县, as request users."""
    await factories.accounts(("clerk-tongwei", "county_clerk", "通渭县"))
    return {
        "anding": await factories.user(staff["county_clerk"]),
        "tongwei": await factories.user("clerk-tongwei"),
    }
