"""Expert review (评审) through the services and over HTTP: criteria, the panel and its
assignments with conflicts of interest, blind scoring, reopening and waiving, the
aggregated review scores, the scores workbook and the public method page.

Candidates are real shortlisted nominations of two counties (安定区, 通渭县) in the
judicial-office category; reviewers come from several county bureaus, since the
conflict-of-interest rule is by bureau.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from nominations import review, review_math, services
from nominations.services import NominationError
from nominations.tables import Assignment, AssignmentStatus, Criterion
from portal.accounts import StaffUser, create_staff, load_staff
from portal.tables import AuditEntry, Campaign, Category, Phase, Staff
from tests.factories import actor_for
from tests.helpers import PASSWORD, csrf_token, login, post_form
from tests.nominations.test_services import admin_user, complete_draft

# Reviewers besides the staff fixture's "reviewer" (通渭县), each of their own county.
EXTRA_REVIEWERS = {
    "rv-anding": "安定区",
    "rv-longxi": "陇西县",
    "rv-weiyuan": "渭源县",
    "rv-lintao": "临洮县",
    "rv-zhangxian": "漳县",
}
LABELS = {
    "reviewer": "通渭专家",
    "rv-anding": "安定专家",
    "rv-longxi": "陇西专家",
    "rv-weiyuan": "渭源专家",
    "rv-lintao": "临洮专家",
    "rv-zhangxian": "漳县专家",
}
CRITERIA = [("先进事迹", "60", "事迹是否突出、可信"), ("工作成效", "40", "调解成效与群众评价")]
VOTE_COUNT = re.compile(r"\d[\d,]*\s*票")


# --- the scene ----------------------------------------------------------------------------


@dataclass
class Scene:
    campaign: Campaign
    category: Category
    admin: StaffUser
    reviewers: dict[str, StaffUser]
    candidates: dict[str, int]

    @property
    def slug(self) -> str:
        return self.campaign.slug

    async def fresh_campaign(self) -> Campaign:
        self.campaign = (
            await Campaign.objects().where(Campaign.id == self.campaign.id).first().run()
        )
        return self.campaign


async def user(username: str) -> StaffUser:
    row = await Staff.objects().where(Staff.username == username).first().run()
    found = await load_staff(row.id)
    assert found is not None
    return found


async def shortlist(clerk: StaffUser, category: Category, name: str) -> int:
    ctx = await complete_draft(clerk, category, name=name)
    await services.submit(actor_for(clerk), clerk, ctx)
    admin = await admin_user()
    await services.decide(
        actor_for(admin), await services.load(admin, ctx.nomination.id), "shortlist"
    )
    return ctx.nomination.id


@pytest.fixture
async def scene(staff, clerks, open_campaign, category) -> Scene:  # type: ignore[no-untyped-def]
    """Three shortlisted candidates (安定区 ×2, 通渭县 ×1), criteria 60 + 40 set, six
    reviewer accounts (none on the panel yet); the campaign still in nominations."""
    await (
        Staff.update({Staff.display_name: LABELS["reviewer"]})
        .where(Staff.username == "reviewer")
        .run()
    )
    for username, county in EXTRA_REVIEWERS.items():
        await create_staff(username, PASSWORD, "reviewer", county, LABELS[username])
    candidates = {
        "A1": await shortlist(clerks["anding"], category, "安定区甲司法所"),
        "A2": await shortlist(clerks["anding"], category, "安定区乙司法所"),
        "T1": await shortlist(clerks["tongwei"], category, "通渭县丙司法所"),
    }
    admin = await admin_user()
    await review.save_criteria(
        actor_for(admin),
        open_campaign,
        category,
        [{"title": t, "max_points": p, "guidance": g} for t, p, g in CRITERIA],
    )
    reviewers = {name: await user(name) for name in LABELS}
    return Scene(open_campaign, category, admin, reviewers, candidates)


async def set_panel(scene: Scene, *names: str, per_candidate: int = 0) -> None:
    actor = actor_for(scene.admin)
    campaign = await scene.fresh_campaign()
    await review.set_panel(actor, campaign, [scene.reviewers[n].id for n in names])
    await review.set_options(actor, campaign, per_candidate, campaign.standardise_reviews)
    await review.auto_assign(actor, await scene.fresh_campaign())


async def start_review(
    scene: Scene, opens: dt.timedelta | None = None, closes: dt.timedelta | None = None
) -> Campaign:
    """The campaign in its reviewing phase; the window (relative to now) if given."""
    now = dt.datetime.now(dt.UTC)
    await (
        Campaign.update(
            {
                Campaign.phase: Phase.reviewing.value,
                Campaign.reviewing_opens_at: now + opens if opens is not None else None,
                Campaign.reviewing_closes_at: now + closes if closes is not None else None,
            }
        )
        .where(Campaign.id == scene.campaign.id)
        .run()
    )
    return await scene.fresh_campaign()


async def criteria_ids(scene: Scene) -> list[int]:
    return [c.id for c in await review.criteria_of(scene.category.id)]


async def assignment_of(scene: Scene, candidate: str, reviewer: str) -> Assignment:
    found = (
        await Assignment.objects()
        .where(
            (Assignment.nomination == scene.candidates[candidate])
            & (Assignment.reviewer == scene.reviewers[reviewer].id)
        )
        .first()
        .run()
    )
    assert found is not None, (candidate, reviewer)
    return found


def split(total: str) -> tuple[str, str]:
    """A reviewer total as the two criterion scores (at most 60, the rest at most 40)."""
    points = Decimal(total)
    first = min(points, Decimal(60))
    return str(first), str(points - first)


async def give(
    scene: Scene, candidate: str, reviewer: str, total: str, submit: bool = True
) -> None:
    """``reviewer`` scores ``candidate`` through the service (the campaign must be open)."""
    first, second = split(total)
    c1, c2 = await criteria_ids(scene)
    await review.save_scores(
        actor_for(scene.reviewers[reviewer]),
        scene.reviewers[reviewer],
        await assignment_of(scene, candidate, reviewer),
        await scene.fresh_campaign(),
        scene.category,
        {f"c{c1}": first, f"c{c2}": second},
        "",
        submit,
    )


async def results_by_name(scene: Scene) -> dict[str, review.CandidateResult]:
    found = await review.results(await scene.fresh_campaign())
    names = {v: k for k, v in scene.candidates.items()}
    return {names[r.nomination_id]: r for r in found[scene.category.id]}


async def actions(action: str) -> list[dict[str, Any]]:
    return (
        await AuditEntry.select(AuditEntry.actor_name, AuditEntry.after)
        .where(AuditEntry.action == action)
        .order_by(AuditEntry.id)
        .output(load_json=True)
        .run()
    )


@contextlib.asynccontextmanager
async def signed_in(client, username: str) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """Another browser on the same running app, signed in as ``username``."""
    transport = httpx.ASGITransport(app=client.app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local", follow_redirects=False
    ) as other:
        await login(other, username)
        yield other


async def flashed(client, response) -> str:  # type: ignore[no-untyped-def]
    """The page a redirect leads to (with its flash message)."""
    assert response.status_code in (302, 303), response.text[:500]
    page = await client.get(response.headers["location"])
    assert page.status_code == 200, page.text[:300]
    return page.text


def row_of(html: str, name: str) -> str:
    """The table row (``<tr>…</tr>``) that names ``name``."""
    for row in re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.S):
        if name in row:
            return row
    raise AssertionError(f"no row for {name!r}")


def input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, name
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def review_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = set()
    for route in app.routes:
        if not route.path.startswith("/staff/review"):
            continue
        for handler in route.route_handlers:
            if handler.fn.__qualname__.startswith("HTTPRoute.create_options_handler"):
                continue
            found.update((method, route.path) for method in handler.http_methods)
    return sorted(found)


def concrete(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), path)


# --- criteria -----------------------------------------------------------------------------


def rows(*items: tuple[str, str]) -> list[dict[str, str]]:
    return [{"title": t, "max_points": p, "guidance": ""} for t, p in items]


async def test_criteria_must_total_100_and_nothing_is_written_otherwise(scene: Scene) -> None:
    before = [(c.title, c.max_points) for c in await review.criteria_of(scene.category.id)]
    audited = len(await actions("review.criteria"))
    with pytest.raises(NominationError) as raised:
        await review.save_criteria(
            actor_for(scene.admin), scene.campaign, scene.category, rows(("甲", "50"), ("乙", "40"))
        )
    assert raised.value.errors == {"criteria": "各评分项满分合计须为 100 分（现为 90.0 分）。"}
    # Problems are reported at their fields (the row's index), all at once.
    with pytest.raises(NominationError) as raised:
        await review.save_criteria(
            actor_for(scene.admin),
            scene.campaign,
            scene.category,
            [
                {"title": "", "max_points": "30"},
                {"title": "乙", "max_points": "12.3"},
                {"title": "丙", "max_points": "0"},
                {"title": "丁", "max_points": "100.5"},
                {"title": "戊", "max_points": "-5"},
                {"title": "己", "max_points": ""},
            ],
        )
    errors = raised.value.errors
    assert set(errors) == {
        "title-0",
        "max_points-1",
        "max_points-2",
        "max_points-3",
        "max_points-4",
        "max_points-5",
    }
    assert "0.5" in errors["max_points-1"]
    assert errors["max_points-2"] == "分值须大于 0。"
    assert errors["max_points-5"] == "请填写满分分值。"
    after = [(c.title, c.max_points) for c in await review.criteria_of(scene.category.id)]
    assert after == before
    assert len(await actions("review.criteria")) == audited
    # Half points are allowed; empty rows are skipped.
    await review.save_criteria(
        actor_for(scene.admin),
        scene.campaign,
        scene.category,
        [*rows(("甲", "12.5"), ("乙", "87.5")), {"title": "", "max_points": "", "guidance": ""}],
    )
    saved = [(c.title, c.max_points) for c in await review.criteria_of(scene.category.id)]
    assert saved == [("甲", Decimal("12.5")), ("乙", Decimal("87.5"))]


async def test_criteria_form_shows_errors_at_their_fields(client, scene: Scene) -> None:
    await login(client, "admin")
    url = f"/staff/review/campaigns/{scene.slug}/criteria/{scene.category.key}"
    page = await client.get(url)
    assert page.status_code == 200
    assert input_value(page.text, "title-0") == "先进事迹"
    assert input_value(page.text, "max_points-0") == "60.0"
    response = await post_form(
        client,
        url,
        {"title-0": "甲", "max_points-0": "55", "title-1": "乙", "max_points-1": "40"},
    )
    assert response.status_code == 400
    assert "各评分项满分合计须为 100 分（现为 95.0 分）" in response.text
    assert input_value(response.text, "max_points-0") == "55"  # the input is kept
    response = await post_form(
        client,
        url,
        {"title-0": "甲", "max_points-0": "60.3", "title-1": "", "max_points-1": "40"},
    )
    assert response.status_code == 400
    assert re.search(r'class="field has-error"><label for="title-1"', response.text)
    assert re.search(r'class="field has-error"><label for="max_points-0"', response.text)
    stored = [c.title for c in await review.criteria_of(scene.category.id)]
    assert stored == ["先进事迹", "工作成效"]
    response = await post_form(
        client,
        url,
        {"title-0": "事迹", "max_points-0": "70.5", "title-1": "成效", "max_points-1": "29.5"},
    )
    assert response.status_code in (302, 303)
    assert "已保存" in await flashed(client, response)
    stored = [(c.title, c.max_points) for c in await review.criteria_of(scene.category.id)]
    assert stored == [("事迹", Decimal("70.5")), ("成效", Decimal("29.5"))]


async def test_criteria_are_fixed_once_review_starts(client, scene: Scene) -> None:
    campaign = await start_review(scene)
    with pytest.raises(NominationError, match="专家评审开始后"):
        await review.save_criteria(
            actor_for(scene.admin), campaign, scene.category, rows(("甲", "100"))
        )
    await login(client, "admin")
    response = await post_form(
        client,
        f"/staff/review/campaigns/{scene.slug}/criteria/{scene.category.key}",
        {"title-0": "甲", "max_points-0": "100"},
    )
    assert response.status_code == 400
    assert "专家评审开始后不能再修改评分标准" in response.text
    assert len(await review.criteria_of(scene.category.id)) == 2


# --- panel and assignments -------------------------------------------------------------------


async def assignments_by_candidate(scene: Scene) -> dict[str, set[str]]:
    names = {v: k for k, v in scene.candidates.items()}
    people = {u.id: name for name, u in scene.reviewers.items()}
    out: dict[str, set[str]] = {name: set() for name in scene.candidates}
    for row in await review.campaign_assignments(scene.campaign.id):
        if row["status"] == AssignmentStatus.assigned.value:
            out[names[row["nomination"]]].add(people[row["reviewer"]])
    return out


async def test_auto_assign_never_gives_a_reviewer_their_own_bureaus_candidate(
    scene: Scene,
) -> None:
    await set_panel(scene, *LABELS)
    got = await assignments_by_candidate(scene)
    everyone = set(LABELS)
    assert got == {
        "A1": everyone - {"rv-anding"},
        "A2": everyone - {"rv-anding"},
        "T1": everyone - {"reviewer"},  # the staff fixture's reviewer is of 通渭县
    }
    pairs = await Assignment.select(
        Assignment.nomination.bureau.as_alias("candidate_bureau"),
        Assignment.reviewer.bureau.as_alias("reviewer_bureau"),
    ).run()
    assert len(pairs) == 15
    assert all(p["candidate_bureau"] != p["reviewer_bureau"] for p in pairs)


async def test_auto_assign_respects_reviewers_per_candidate_and_reports_shortfall(
    client, scene: Scene
) -> None:
    await set_panel(scene, *LABELS, per_candidate=2)
    got = await assignments_by_candidate(scene)
    assert {name: len(people) for name, people in got.items()} == {"A1": 2, "A2": 2, "T1": 2}
    assert "rv-anding" not in got["A1"] | got["A2"] and "reviewer" not in got["T1"]
    # Asking for more than the five eligible reviewers each: all five, and the shortfall.
    await review.set_options(actor_for(scene.admin), await scene.fresh_campaign(), 6, False)
    plan = await review.auto_assign(actor_for(scene.admin), await scene.fresh_campaign())
    ids = scene.candidates
    assert plan.short == {ids["A1"]: 1, ids["A2"]: 1, ids["T1"]: 1}
    got = await assignments_by_candidate(scene)
    assert {name: len(people) for name, people in got.items()} == {"A1": 5, "A2": 5, "T1": 5}
    # Over HTTP, the city admin is told.
    await login(client, "admin")
    response = await post_form(client, f"/staff/review/campaigns/{scene.slug}/assign")
    assert "有 3 个对象的评审专家人数不足" in await flashed(client, response)


async def test_a_declared_conflict_unassigns_and_the_city_admin_sees_why(
    client, scene: Scene
) -> None:
    await set_panel(scene, "reviewer", "rv-longxi")
    await start_review(scene)
    mine = await assignment_of(scene, "A1", "reviewer")
    await login(client, "reviewer")
    url = f"/staff/review/assignments/{mine.id}/conflict"
    response = await post_form(client, url, {"conflict_reason": "  "})
    assert response.status_code == 400
    assert "请说明回避理由" in response.text
    assert (await assignment_of(scene, "A1", "reviewer")).status == "assigned"
    reason = "本人曾在该司法所挂职锻炼"
    response = await post_form(client, url, {"conflict_reason": reason})
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/staff/review"
    listing = await flashed(client, response)
    assert "已声明回避" in listing
    assert "已回避" in row_of(listing, "安定区甲司法所")
    found = await assignment_of(scene, "A1", "reviewer")
    assert (found.status, found.conflict_reason) == (AssignmentStatus.conflict.value, reason)
    assert [e["after"] for e in await actions("review.conflict")] == [{"reason": reason}]
    # The score page no longer takes scores; the candidate's files are no longer theirs.
    assert not await services.assigned_to(scene.reviewers["reviewer"], scene.candidates["A1"])
    c1, _ = await criteria_ids(scene)
    response = await post_form(
        client, f"/staff/review/assignments/{mine.id}", {f"c{c1}": "50", "action": "save"}
    )
    assert response.status_code == 400 and "已声明回避" in response.text
    # Planning again does not assign them back.
    await review.auto_assign(actor_for(scene.admin), await scene.fresh_campaign())
    assert (await assignments_by_candidate(scene))["A1"] == {"rv-longxi"}
    async with signed_in(client, "admin") as admin:
        overview = await admin.get(f"/staff/review/campaigns/{scene.slug}")
        assert overview.status_code == 200
        assert reason in row_of(overview.text, LABELS["reviewer"])


async def test_adding_an_own_bureau_reviewer_by_hand_is_refused(client, scene: Scene) -> None:
    await set_panel(scene, "rv-anding", "rv-longxi")
    count = await Assignment.count().run()
    with pytest.raises(NominationError, match="回避规则"):
        await review.add_assignment(
            actor_for(scene.admin),
            scene.campaign,
            scene.candidates["A1"],
            scene.reviewers["rv-anding"].id,
        )
    await login(client, "admin")
    response = await post_form(
        client,
        f"/staff/review/campaigns/{scene.slug}/assignments",
        {"nomination": scene.candidates["A2"], "reviewer": scene.reviewers["rv-anding"].id},
    )
    assert "回避规则：不能把本单位推荐的对象分配给该专家" in await flashed(client, response)
    assert await Assignment.count().run() == count
    # Another county's candidate may be added by hand; a reviewer off the panel may not.
    await review.set_options(actor_for(scene.admin), scene.campaign, 0, False)
    with pytest.raises(NominationError, match="加入评审专家名单"):
        await review.add_assignment(
            actor_for(scene.admin),
            scene.campaign,
            scene.candidates["T1"],
            scene.reviewers["rv-weiyuan"].id,
        )


# --- scoring --------------------------------------------------------------------------------


async def test_a_draft_keeps_its_values_and_submitting_needs_every_criterion_then_locks(
    client, scene: Scene
) -> None:
    await set_panel(scene, "reviewer")
    await start_review(scene, opens=dt.timedelta(hours=-1), closes=dt.timedelta(days=3))
    mine = await assignment_of(scene, "A1", "reviewer")
    c1, c2 = await criteria_ids(scene)
    url = f"/staff/review/assignments/{mine.id}"
    await login(client, "reviewer")
    response = await post_form(
        client, url, {f"c{c1}": "45.5", "comment": "材料扎实", "action": "save"}
    )
    page = await flashed(client, response)
    assert "已保存草稿" in page
    assert input_value(page, f"c{c1}") == "45.5"
    assert input_value(page, f"c{c2}") == ""
    assert "材料扎实" in page
    stored = await assignment_of(scene, "A1", "reviewer")
    assert review.stored_scores(stored) == {str(c1): "45.5"} and stored.submitted_at is None

    # Submitting with a criterion missing is refused at that criterion; the draft stays.
    response = await post_form(client, url, {f"c{c1}": "45.5", "action": "submit"})
    assert response.status_code == 400
    assert "请为「工作成效」打分" in response.text
    assert (await assignment_of(scene, "A1", "reviewer")).submitted_at is None
    # Out-of-range or non-half scores are refused at their field.
    response = await post_form(
        client, url, {f"c{c1}": "60.5", f"c{c2}": "12.25", "action": "submit"}
    )
    assert response.status_code == 400
    assert "分值须在 0 到 60 之间" in response.text and "分值须在 0 到 40 之间" in response.text

    response = await post_form(
        client, url, {f"c{c1}": "45.5", f"c{c2}": "30", "comment": "事迹突出", "action": "submit"}
    )
    page = await flashed(client, response)
    assert "评分已提交并锁定" in page
    assert "已提交（合计 75.5 分）" in page
    assert re.search(rf'<input[^>]*name="c{c1}"[^>]*disabled', page)
    locked = await assignment_of(scene, "A1", "reviewer")
    assert locked.submitted_at is not None
    assert review.stored_scores(locked) == {str(c1): "45.5", str(c2): "30"}
    assert [e["after"] for e in await actions("review.submit")] == [{"total": "75.5"}]

    # Further saves are refused and change nothing.
    for action in ("save", "submit"):
        response = await post_form(client, url, {f"c{c1}": "10", f"c{c2}": "10", "action": action})
        assert response.status_code == 400
        assert "评分已提交并锁定" in response.text
    again = await assignment_of(scene, "A1", "reviewer")
    assert review.stored_scores(again) == review.stored_scores(locked)
    assert again.submitted_at == locked.submitted_at
    response = await post_form(client, f"{url}/conflict", {"conflict_reason": "想起来了"})
    assert response.status_code == 400
    assert (await assignment_of(scene, "A1", "reviewer")).status == "assigned"


@pytest.mark.parametrize(
    ("phase", "opens", "closes"),
    [
        ("vetting", None, None),
        ("reviewing", dt.timedelta(hours=2), dt.timedelta(days=3)),
        ("reviewing", dt.timedelta(days=-3), dt.timedelta(minutes=-1)),
    ],
    ids=["before-the-phase", "before-the-window", "after-the-window"],
)
async def test_scoring_outside_the_review_window_is_refused(
    client, scene: Scene, phase: str, opens, closes
) -> None:
    await set_panel(scene, "reviewer")
    await start_review(scene, opens=opens, closes=closes)
    await Campaign.update({Campaign.phase: phase}).where(Campaign.id == scene.campaign.id).run()
    campaign = await scene.fresh_campaign()
    assert not review.review_open(campaign)
    mine = await assignment_of(scene, "A1", "reviewer")
    c1, c2 = await criteria_ids(scene)
    with pytest.raises(NominationError, match="不在专家评审时间内"):
        await give(scene, "A1", "reviewer", "80")
    await login(client, "reviewer")
    page = await client.get(f"/staff/review/assignments/{mine.id}")
    assert page.status_code == 200
    assert "不在专家评审时间内，暂不能评分" in page.text
    assert re.search(rf'<input[^>]*name="c{c1}"[^>]*disabled', page.text)
    assert "提交评分" not in page.text
    response = await post_form(
        client,
        f"/staff/review/assignments/{mine.id}",
        {f"c{c1}": "50", f"c{c2}": "30", "action": "submit"},
    )
    assert response.status_code == 400
    assert "不在专家评审时间内，不能评分" in response.text
    stored = await assignment_of(scene, "A1", "reviewer")
    assert review.stored_scores(stored) == {} and stored.submitted_at is None


async def test_reopening_needs_a_reason_unlocks_and_is_audited(client, scene: Scene) -> None:
    await set_panel(scene, "reviewer")
    await start_review(scene)
    await give(scene, "A1", "reviewer", "88")
    mine = await assignment_of(scene, "A1", "reviewer")
    await login(client, "admin")
    url = f"/staff/review/assignments/{mine.id}/reopen"
    response = await post_form(client, url, {"reason": " "})
    assert "请填写退回评分的理由" in await flashed(client, response)
    assert (await assignment_of(scene, "A1", "reviewer")).submitted_at is not None
    assert await actions("review.reopen") == []

    reason = "第二项评分与评语不一致，请复核"
    response = await post_form(client, url, {"reason": reason})
    assert response.headers["location"] == f"/staff/review/campaigns/{scene.slug}"
    assert "已退回评分" in await flashed(client, response)
    reopened = await assignment_of(scene, "A1", "reviewer")
    assert reopened.submitted_at is None
    assert review.stored_scores(reopened) == review.stored_scores(mine)  # kept for revision
    assert await actions("review.reopen") == [{"actor_name": "admin", "after": {"reason": reason}}]
    # Reopening what is not submitted is refused.
    response = await post_form(client, url, {"reason": reason})
    assert "尚未提交" in await flashed(client, response)
    # The reviewer may change and submit it again.
    await give(scene, "A1", "reviewer", "80")
    assert (await assignment_of(scene, "A1", "reviewer")).submitted_at is not None
    assert (await results_by_name(scene))["A1"].review_score == Decimal(80)


async def test_a_missing_score_withholds_the_review_score_until_waived(
    client, scene: Scene
) -> None:
    await set_panel(scene, "reviewer", "rv-longxi")
    await start_review(scene)
    await give(scene, "A1", "reviewer", "90")
    await give(scene, "A1", "rv-longxi", "70", submit=False)  # a draft is not a score
    result = (await results_by_name(scene))["A1"]
    assert (result.review_score, result.submitted, result.assigned) == (None, 1, 2)
    assert result.missing == [LABELS["rv-longxi"]]
    # A1 and A2 have both reviewers, T1 (通渭县) only 陇西: five assigned, one submitted.
    assert await review.missing_scores(scene.campaign.id) == 4
    await login(client, "admin")
    overview = await client.get(f"/staff/review/campaigns/{scene.slug}")
    row = row_of(overview.text, "安定区甲司法所")
    assert '<td class="num">—</td>' in row
    assert "1 / 2" in row and "未提交" in row

    late = await assignment_of(scene, "A1", "rv-longxi")
    url = f"/staff/review/assignments/{late.id}/waive"
    response = await post_form(client, url, {"reason": ""})
    assert "请填写免除该评分的理由" in await flashed(client, response)
    assert (await results_by_name(scene))["A1"].review_score is None

    reason = "专家因病无法完成评审"
    response = await post_form(client, url, {"reason": reason})
    page = await flashed(client, response)
    assert "已免除该评分" in page
    result = (await results_by_name(scene))["A1"]
    assert result.review_score == Decimal(90) and result.missing == []
    row = row_of(page, "安定区甲司法所")
    assert '<td class="num">90.00</td>' in row
    assert f"已免除（{reason}）" in row
    assert await actions("review.waive") == [{"actor_name": "admin", "after": {"reason": reason}}]
    # A submitted score cannot be waived.
    mine = await assignment_of(scene, "A1", "reviewer")
    response = await post_form(
        client, f"/staff/review/assignments/{mine.id}/waive", {"reason": reason}
    )
    assert "已提交，无需免除" in await flashed(client, response)


# --- who sees what ----------------------------------------------------------------------------

B_COMMENT = "乙专家的独家评语：成效显著"


async def blind_scene(scene: Scene) -> tuple[Assignment, Assignment]:
    """Reviewers A ("reviewer", 通渭县) and B (rv-longxi) both score 安定区甲司法所;
    B has submitted 58.5 + 37 = 95.5 with a comment, A has a draft of 41."""
    await set_panel(scene, "reviewer", "rv-longxi")
    await start_review(scene)
    c1, c2 = await criteria_ids(scene)
    b = await assignment_of(scene, "A1", "rv-longxi")
    await review.save_scores(
        actor_for(scene.reviewers["rv-longxi"]),
        scene.reviewers["rv-longxi"],
        b,
        await scene.fresh_campaign(),
        scene.category,
        {f"c{c1}": "58.5", f"c{c2}": "37"},
        B_COMMENT,
        True,
    )
    await give(scene, "A1", "reviewer", "41", submit=False)
    return await assignment_of(scene, "A1", "reviewer"), await assignment_of(
        scene, "A1", "rv-longxi"
    )


def assert_no_b_scores(text: str) -> None:
    for secret in (B_COMMENT, "58.5", "95.5", LABELS["rv-longxi"], "rv-longxi"):
        assert secret not in text, secret


async def test_a_reviewer_never_sees_another_reviewers_assignment_or_scores(
    client, scene: Scene
) -> None:
    mine, theirs = await blind_scene(scene)
    c1, c2 = await criteria_ids(scene)
    await login(client, "reviewer")
    # B's assignment does not exist for A: page and every POST.
    base = f"/staff/review/assignments/{theirs.id}"
    page = await client.get(base)
    assert page.status_code == 404
    assert_no_b_scores(page.text)
    for url, data in [
        (base, {f"c{c1}": "1", f"c{c2}": "1", "action": "save"}),
        (base, {f"c{c1}": "1", f"c{c2}": "1", "action": "submit"}),
        (f"{base}/conflict", {"conflict_reason": "冒充"}),
    ]:
        response = await post_form(client, url, data)
        assert response.status_code == 404, url
        assert_no_b_scores(response.text)
    after = await assignment_of(scene, "A1", "rv-longxi")
    assert (after.status, after.comment, after.submitted_at) == (
        "assigned",
        B_COMMENT,
        theirs.submitted_at,
    )
    assert review.stored_scores(after) == {str(c1): "58.5", str(c2): "37"}
    # What A can reach: their list and their own page, neither shows B's scores.
    listing = await client.get("/staff/review")
    assert listing.status_code == 200 and "安定区甲司法所" in listing.text
    assert_no_b_scores(listing.text)
    own = await client.get(f"/staff/review/assignments/{mine.id}")
    assert own.status_code == 200
    assert input_value(own.text, f"c{c1}") == "41"
    assert "当前合计 41.0 分" in own.text
    assert_no_b_scores(own.text)
    dashboard = await client.get("/staff")
    assert_no_b_scores(dashboard.text)
    # The city's pages and the workbook are not A's.
    for url in (
        f"/staff/review/campaigns/{scene.slug}",
        f"/staff/review/campaigns/{scene.slug}/scores.xlsx",
    ):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert_no_b_scores(response.text)
    # The city admin does see both.
    async with signed_in(client, "admin") as admin:
        overview = await admin.get(f"/staff/review/campaigns/{scene.slug}")
        assert LABELS["rv-longxi"] in overview.text


async def test_a_county_clerk_is_refused_every_review_page_and_sees_no_score(
    client, scene: Scene
) -> None:
    _, theirs = await blind_scene(scene)
    await login(client, "clerk")
    values = {
        "slug": scene.slug,
        "key": scene.category.key,
        "assignment_id": theirs.id,
    }
    routes = review_routes(client.app)
    assert len(routes) >= 15
    token = await csrf_token(client)
    for method, path in routes:
        url = concrete(path, values)
        if method == "GET":
            response = await client.get(url)
        else:
            response = await client.post(
                url, data={"_csrf_token": token, "reason": "x", "conflict_reason": "x"}
            )
        assert response.status_code == 403, (method, url, response.status_code)
        assert "您的角色无权执行此操作" in response.text
        assert_no_b_scores(response.text)
    assert (await assignment_of(scene, "A1", "rv-longxi")).submitted_at is not None
    # Their own candidate's pages and their export show no score.
    pages = [
        "/staff",
        f"/staff/nominations?campaign={scene.slug}",
        f"/staff/nominations/{scene.candidates['A1']}",
        f"/campaigns/{scene.slug}",
        f"/campaigns/{scene.slug}/candidates",
        f"/campaigns/{scene.slug}/candidates/{scene.candidates['A1']}",
        f"/campaigns/{scene.slug}/method",
    ]
    for url in pages:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert_no_b_scores(response.text)
        if not url.endswith("/method"):
            assert "评审得分" not in response.text, url
    # Nor does their candidate's history name its reviewers; the city's does.
    history = await client.get(f"/staff/nominations/{scene.candidates['A1']}")
    assert "确定入围" in history.text and "提交评分" not in history.text
    async with signed_in(client, "auditor") as auditor:
        history = await auditor.get(f"/staff/nominations/{scene.candidates['A1']}")
        assert "提交评分" in history.text and "rv-longxi" in history.text
    export = await client.get(f"/staff/nominations/export.xlsx?campaign={scene.slug}")
    assert export.status_code == 200
    cells = [
        str(c.value)
        for ws in load_workbook(io.BytesIO(export.content))
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]
    assert not any(B_COMMENT in c or c in ("95.5", "58.5") for c in cells)


async def test_no_review_page_shows_vote_counts(client, scene: Scene) -> None:
    mine, _ = await blind_scene(scene)
    async with signed_in(client, "admin") as admin:
        for url in (
            "/staff/review",
            f"/staff/review/campaigns/{scene.slug}",
            f"/staff/review/campaigns/{scene.slug}/criteria/{scene.category.key}",
        ):
            response = await admin.get(url)
            assert response.status_code == 200, url
            assert not VOTE_COUNT.search(response.text), url
    await login(client, "reviewer")
    for url in ("/staff/review", f"/staff/review/assignments/{mine.id}"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert not VOTE_COUNT.search(response.text), url
        assert "得票" not in response.text
    method = await client.get(f"/campaigns/{scene.slug}/method")
    assert not VOTE_COUNT.search(method.text)


# --- aggregation ------------------------------------------------------------------------------


async def test_review_scores_are_the_mean_or_the_trimmed_mean(client, scene: Scene) -> None:
    # Five reviewers of five other counties: A1 and A2 (安定区) get all five,
    # T1 (通渭县) the four not of 通渭县.
    await set_panel(scene, "reviewer", "rv-longxi", "rv-weiyuan", "rv-lintao", "rv-zhangxian")
    await start_review(scene)
    given = {
        "A1": {
            "reviewer": "70",
            "rv-longxi": "80",
            "rv-weiyuan": "85",
            "rv-lintao": "90",
            "rv-zhangxian": "99",
        },
        "T1": {"rv-longxi": "60", "rv-weiyuan": "70.5", "rv-lintao": "80", "rv-zhangxian": "90"},
    }
    for candidate, totals in given.items():
        for reviewer, total in totals.items():
            await give(scene, candidate, reviewer, total)
    results = await results_by_name(scene)
    # Five totals: drop 99 and 70, mean of 80, 85, 90.
    assert results["A1"].review_score == Decimal(85)
    assert (results["A1"].submitted, results["A1"].assigned) == (5, 5)
    # Four totals: the plain mean (60 + 70.5 + 80 + 90) / 4, exact.
    assert results["T1"].review_score == Decimal("75.125")
    assert (results["T1"].submitted, results["T1"].assigned) == (4, 4)
    assert results["A2"].review_score is None  # nobody has scored it yet
    ranking = [r.nomination_id for r in (await review.results(scene.campaign))[scene.category.id]]
    assert ranking == [scene.candidates[c] for c in ("A1", "T1", "A2")]
    await login(client, "admin")
    overview = await client.get(f"/staff/review/campaigns/{scene.slug}")
    assert '<td class="num">85.00</td>' in row_of(overview.text, "安定区甲司法所")
    assert '<td class="num">75.13</td>' in row_of(overview.text, "通渭县丙司法所")  # half up
    assert '<td class="num">—</td>' in row_of(overview.text, "安定区乙司法所")
    # Progress: 陇西 was assigned all three candidates and has scored two.
    assert '<td class="num">2 / 3</td>' in row_of(overview.text, LABELS["rv-longxi"])


async def test_standardising_keeps_the_ranking_of_a_uniformly_offset_pair(scene: Scene) -> None:
    # A harsh reviewer (陇西) and a lenient one (渭源) who gives every candidate 15 more.
    await set_panel(scene, "rv-longxi", "rv-weiyuan")
    await start_review(scene)
    harsh = {"A1": Decimal(60), "A2": Decimal("72.5"), "T1": Decimal(80)}
    for candidate, total in harsh.items():
        await give(scene, candidate, "rv-longxi", str(total))
        await give(scene, candidate, "rv-weiyuan", str(total + 15))

    def ranking(results: dict[str, review.CandidateResult]) -> list[str]:
        return sorted(results, key=lambda name: -results[name].review_score)  # type: ignore[operator]

    plain = await results_by_name(scene)
    assert {k: r.review_score for k, r in plain.items()} == {
        k: v + Decimal("7.5") for k, v in harsh.items()
    }
    assert ranking(plain) == ["T1", "A2", "A1"]

    await review.set_options(actor_for(scene.admin), await scene.fresh_campaign(), 0, True)
    standardised = await results_by_name(scene)
    assert ranking(standardised) == ranking(plain)
    listed = [r.nomination_id for r in (await review.results(scene.campaign))[scene.category.id]]
    assert listed == [scene.candidates[c] for c in ranking(plain)]
    # Standardisation did apply: the scores are mapped onto the panel's scale, whose
    # mean over all six totals is 470 / 6.
    assert standardised["T1"].review_score != plain["T1"].review_score
    scores = [r.review_score for r in standardised.values()]
    mean = review_math.CONTEXT.divide(sum(scores), Decimal(3))  # type: ignore[arg-type]
    assert review_math.display(mean, 6) == "78.333333"
    await review.set_options(actor_for(scene.admin), await scene.fresh_campaign(), 0, False)
    assert await results_by_name(scene) == plain


# --- the workbook and the public method page ---------------------------------------------------


async def test_the_scores_export_has_a_sheet_per_reviewer_and_a_summary_per_category(
    client, scene: Scene
) -> None:
    await set_panel(scene, "reviewer", "rv-longxi")
    await start_review(scene)
    await give(scene, "A1", "reviewer", "80.5")
    await give(scene, "A1", "rv-longxi", "90")
    await give(scene, "T1", "rv-longxi", "70", submit=False)
    await login(client, "admin")
    response = await client.get(f"/staff/review/campaigns/{scene.slug}/scores.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    wb = load_workbook(io.BytesIO(response.content))
    categories = await Category.objects().where(Category.campaign == scene.campaign.id).run()
    assert len(categories) == 2
    summaries = [f"汇总-{c.title}"[:28] for c in categories]
    assert sorted(wb.sheetnames) == sorted([*summaries, LABELS["reviewer"], LABELS["rv-longxi"]])

    summary = list(wb[f"汇总-{scene.category.title}"[:28]].iter_rows(values_only=True))
    assert summary[0] == ("排名", "对象", "推荐单位", "已评 / 应评", "评审得分", "缺评专家")
    # One row per candidate right under the (frozen) header: no empty rows.
    assert [row[1] for row in summary[1:]] == ["安定区甲司法所", "安定区乙司法所", "通渭县丙司法所"]
    for ws in wb:
        assert ws.freeze_panes == "A2", ws.title
        assert all(any(v is not None for v in row) for row in ws.iter_rows(values_only=True))
    by_name = {row[1]: row for row in summary[1:]}
    assert by_name["安定区甲司法所"][:5] == (1, "安定区甲司法所", "安定区", "2 / 2", 85.25)
    assert by_name["通渭县丙司法所"][3:] == ("0 / 1", None, LABELS["rv-longxi"])
    assert by_name["安定区乙司法所"][0] is None  # no score, no rank

    sheet = list(wb[LABELS["rv-longxi"]].iter_rows(values_only=True))
    assert sheet[0][:3] == ("类别", "对象", "推荐单位")
    assert sheet[0][3:5] == ("先进事迹（60.0）", "工作成效（40.0）")
    rows_by_name = {row[1]: row for row in sheet[1:]}
    assert set(rows_by_name) == {"安定区甲司法所", "安定区乙司法所", "通渭县丙司法所"}
    assert rows_by_name["安定区甲司法所"][3:7] == (60, 30, 90, "已提交")
    assert rows_by_name["通渭县丙司法所"][3:7] == (60, 10, 70, "未提交")
    mine = {row[1]: row for row in list(wb[LABELS["reviewer"]].iter_rows(values_only=True))[1:]}
    assert set(mine) == {"安定区甲司法所", "安定区乙司法所"}  # never their own county's
    assert mine["安定区甲司法所"][3:7] == (60, 20.5, 80.5, "已提交")
    # The auditor reads it too.
    async with signed_in(client, "auditor") as auditor:
        response = await auditor.get(f"/staff/review/campaigns/{scene.slug}/scores.xlsx")
        assert response.status_code == 200
        load_workbook(io.BytesIO(response.content))


async def test_the_public_method_page_lists_the_criteria_and_explains_the_trimmed_mean(
    client, scene: Scene
) -> None:
    response = await client.get(f"/campaigns/{scene.slug}/method")
    assert response.status_code == 200
    text = response.text
    for title, points, guidance in CRITERIA:
        row = row_of(text, title)
        assert f'<td class="num">{points}.0</td>' in row and guidance in row
    assert "“枫桥式”人民调解员评分标准" in text and "评分标准尚未公布" in text
    assert "5 人及以上时，去掉一个最高分和一个最低分后再取平均值" in text
    assert "评分标准化" not in text
    await review.set_options(actor_for(scene.admin), scene.campaign, 0, True)
    assert "评分标准化" in (await client.get(f"/campaigns/{scene.slug}/method")).text
    assert (await client.get("/campaigns/no-such-campaign/method")).status_code == 404
    await (
        Campaign.update({Campaign.phase: Phase.draft.value})
        .where(Campaign.id == scene.campaign.id)
        .run()
    )
    assert (await client.get(f"/campaigns/{scene.slug}/method")).status_code == 404


async def test_a_removed_panel_member_keeps_only_submitted_scores(scene: Scene) -> None:
    await set_panel(scene, "reviewer", "rv-longxi")
    await start_review(scene)
    await give(scene, "A1", "rv-longxi", "77")
    await review.set_panel(
        actor_for(scene.admin), await scene.fresh_campaign(), [scene.reviewers["reviewer"].id]
    )
    left = (
        await Assignment.select(Assignment.nomination)
        .where(Assignment.reviewer == scene.reviewers["rv-longxi"].id)
        .run()
    )
    assert [r["nomination"] for r in left] == [scene.candidates["A1"]]
    # Planning again keeps the former member's submitted score and adds nobody.
    await review.auto_assign(actor_for(scene.admin), await scene.fresh_campaign())
    assert (await assignments_by_candidate(scene))["A1"] == {"reviewer", "rv-longxi"}


async def test_criterion_rows_are_ordered_and_stored_exactly(scene: Scene) -> None:
    stored = (
        await Criterion.select(Criterion.title, Criterion.max_points, Criterion.position)
        .where(Criterion.category == scene.category.id)
        .order_by(Criterion.position)
        .run()
    )
    assert [(r["title"], r["max_points"], r["position"]) for r in stored] == [
        ("先进事迹", Decimal(60), 0),
        ("工作成效", Decimal(40), 1),
    ]
