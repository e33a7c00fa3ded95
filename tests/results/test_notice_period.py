"""Opening the public notice for N working days: the end the form announces, the end
stored and published, and the manual end where the holiday calendar lacks the year."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.audit import Actor
from portal.campaigns import get_campaign
from portal.phases import PhaseRefused, move_phase
from portal.tables import AuditEntry, Phase
from portal.workdays import covered_years
from results import services as results
from results.controllers import staff as staff_pages
from results.services import ResultsRefused
from tests.helpers import login, post_form
from tests.results.conftest import NOTICE_SPEC

SLUG = "period-2025"
PAGE = f"/staff/results/{SLUG}"
CST = dt.timezone(dt.timedelta(hours=8))
# Friday 13 February 2026, 16:00 Beijing time, before 春节.
BEFORE_SPRING_FESTIVAL = dt.datetime(2026, 2, 13, 16, tzinfo=CST)
BEYOND = covered_years()[1] + 1
# 28 December of the calendar's last year: five working days run into the unknown year.
LATE_DECEMBER = dt.datetime(BEYOND - 1, 12, 28, 10, tzinfo=CST)
UNKNOWN = f"{BEYOND}年的法定节假日安排尚未收录，无法按工作日计算公示期，请手工填写公示截止时间。"


@pytest.fixture
async def tallied(results_campaign):  # type: ignore[no-untyped-def]
    scene = await results_campaign(NOTICE_SPEC, slug=SLUG)
    await results.tally(Actor.command_line("测试"), SLUG)
    return scene


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    """Set the time the page and the service read."""

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setattr(results, "utc_now", lambda: moment.astimezone(dt.UTC))
        monkeypatch.setattr(staff_pages, "utc_now", lambda: moment.astimezone(dt.UTC))

    return set_to


async def last_phase_move() -> dict:
    """The ``after`` of the latest audited phase move."""
    entry = (
        await AuditEntry.objects()
        .where(AuditEntry.action == "campaign.phase")
        .order_by(AuditEntry.id, ascending=False)
        .first()
    )
    after = entry.after
    return json.loads(after) if isinstance(after, str) else after


async def phase() -> str:
    return (await get_campaign(SLUG)).phase


async def test_the_form_announces_the_end_and_the_notice_ends_on_the_fifth_working_day(
    client, staff, tallied, clock
) -> None:
    clock(BEFORE_SPRING_FESTIVAL)
    await login(client, staff["city_admin"])
    page = (await client.get(PAGE)).text
    assert "公示期（工作日）" in page and 'name="ends_at"' not in page
    # The campaign's seven: Saturday 14 (调休), 24–27, Saturday 28 (调休), Monday 2 March.
    assert "第 7 个工作日 18:00 截止，即 2026年03月02日 18:00（北京时间）" in page
    # Another number of days is announced as the form is shown again with it: the
    # fifth working day is Friday 27 February.
    again = (await client.get(PAGE + "?days=5")).text
    assert 'value="5"' in again and "即 2026年02月27日 18:00（北京时间）" in again

    response = await post_form(client, PAGE + "/notice", {"days": "5"}, follow_redirects=True)
    assert "公示期 5 个工作日，至 2026年02月27日 18:00（北京时间）" in response.text
    tally = await results.tally_of(tallied.campaign.id)
    assert tally.notice_starts_at == BEFORE_SPRING_FESTIVAL
    assert tally.notice_ends_at == dt.datetime(2026, 2, 27, 18, tzinfo=CST)
    campaign = await get_campaign(SLUG)
    assert (campaign.phase, campaign.notice_days) == (Phase.notice.value, 5)
    after = await last_phase_move()
    assert after["notice_days"] == 5 and "notice_end_manual" not in after
    assert after["notice_ends_at"] == tally.notice_ends_at.isoformat()

    public = (await client.get(f"/campaigns/{SLUG}/notice")).text
    assert "公示期为5个工作日，自" in public and "2026年02月27日 18:00" in public
    assert "（北京时间）" in public
    staff_page = (await client.get(PAGE)).text
    assert "5 个工作日，2026年02月13日 16:00 至 2026年02月27日 18:00（北京时间）" in staff_page
    # Before the end the designation waits, and says until when in Beijing time.
    blockers = await results.designation_blockers(campaign, BEFORE_SPRING_FESTIVAL)
    assert blockers == ["公示期尚未结束，2026年02月27日 18:00（北京时间）截止。"]


async def test_a_year_without_holiday_data_asks_for_a_manual_end(
    client, staff, tallied, clock
) -> None:
    clock(LATE_DECEMBER)
    await login(client, staff["city_admin"])
    page = (await client.get(PAGE)).text
    assert UNKNOWN in page and 'name="ends_at"' in page and "公示截止时间（北京时间）" in page

    refusals = {
        "": UNKNOWN,
        "明天": "公示截止时间格式无效",
        f"{BEYOND - 1}-12-30T18:00": f"请填写 {BEYOND}年01月02日 或以后的时间",
        f"{BEYOND}-03-01T18:00": "不能晚于发布后 60 天",
    }
    for ends_at, message in refusals.items():
        response = await post_form(
            client, PAGE + "/notice", {"days": "5", "ends_at": ends_at}, follow_redirects=True
        )
        assert message in response.text, ends_at
        assert 'name="ends_at"' in response.text  # the form asks again
        assert await phase() == Phase.tallying.value
        assert (await results.tally_of(tallied.campaign.id)).notice_ends_at is None

    response = await post_form(
        client, PAGE + "/notice", {"days": "5", "ends_at": f"{BEYOND}-01-06T18:00"}
    )
    assert response.status_code in (302, 303)
    tally = await results.tally_of(tallied.campaign.id)
    assert tally.notice_ends_at == dt.datetime(BEYOND, 1, 6, 18, tzinfo=CST)
    assert await phase() == Phase.notice.value
    after = await last_phase_move()
    assert after["notice_end_manual"] is True and after["notice_days"] == 5


async def test_a_manual_end_is_refused_where_the_calendar_can_count(tallied) -> None:
    with pytest.raises(
        ResultsRefused, match="自动计算为2026年02月27日 18:00（北京时间），无需手工填写"
    ):
        await results.open_notice(
            Actor.command_line(),
            SLUG,
            5,
            now=BEFORE_SPRING_FESTIVAL,
            ends_at=dt.datetime(2026, 3, 6, 18, tzinfo=CST),
        )
    assert await phase() == Phase.tallying.value


async def test_the_command_line_refuses_a_year_without_holiday_data(tallied, clock) -> None:
    clock(LATE_DECEMBER)
    with pytest.raises(PhaseRefused) as refused:
        await move_phase(Actor.command_line(), SLUG, "notice")
    assert refused.value.message == UNKNOWN
    assert await phase() == Phase.tallying.value
