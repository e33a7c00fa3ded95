"""Recommendation conditions (推荐条件): the rules, the organiser's page, the form as the
clerk types, submitting (refuse / flag), vetting, the Excel import, the public page and
the demo."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from nominations import conditions, services
from nominations.conditions import Condition, ConditionsInvalid
from nominations.services import NominationError
from nominations.tables import Nomination, Status
from portal.demo import DEMO_SLUG
from portal.tables import AuditEntry, Campaign, Category, CategoryKind, Phase
from tests import factories
from tests.factories import actor_for
from tests.helpers import login, post_form
from tests.nominations.conftest import UNIT
from tests.nominations.test_pages import (
    SHEET_ROW,
    Markup,
    download_template,
    fill,
    nominate,
    send_form,
    submitted,
    upload_workbook,
)

RULES = [
    {"field": "success_rate", "op": ">=", "value": 97, "wording": "调解成功率不低于97%"},
    {"field": "criminal_escalations", "op": "=", "value": 0, "wording": "未发生民转刑案件"},
    {"declaration": "d1", "wording": "本年度未发生因调解不当引发的群体性事件"},
]


@pytest.fixture
def folder(settings) -> Path:  # type: ignore[no-untyped-def]
    """The app's upload folder."""
    return Path(settings.var_dir) / "uploads"


@pytest.fixture
async def with_conditions(category: Category) -> Category:
    """The judicial-office category of the open campaign, with RULES."""
    await Category.update({Category.conditions: RULES}).where(Category.id == category.id).run()
    return await Category.objects().where(Category.id == category.id).first().run()


async def set_mode(campaign: Campaign, mode: str) -> None:
    await Campaign.update({Campaign.conditions_mode: mode}).where(Campaign.id == campaign.id).run()


# --- the rules ----------------------------------------------------------------------------


def test_parse_keeps_the_notice_wording_and_makes_one_when_missing() -> None:
    parsed = conditions.parse(
        [
            *RULES,
            {"field": "staff_count", "op": ">=", "value": "3", "wording": ""},
            {"field": "", "op": "", "value": "", "wording": ""},  # a blank form row
        ],
        CategoryKind.judicial_office,
    )
    assert [c.wording for c in parsed] == [
        "调解成功率不低于97%",
        "未发生民转刑案件",
        "本年度未发生因调解不当引发的群体性事件",
        "在编工作人员数不少于 3 人",
    ]
    assert parsed[0].as_json() == RULES[0]
    assert parsed[2].as_json() == RULES[2]
    rate = conditions.parse([{"field": "success_rate", "op": ">=", "value": "97.5%"}], "mediator")[
        0
    ]
    assert rate.value == Decimal("97.5") and rate.wording == "调解成功率不低于 97.5%"


def test_declarations_get_keys_that_do_not_clash() -> None:
    parsed = conditions.parse(
        [
            {"declaration": "", "wording": "甲"},
            {"declaration": "d1", "wording": "乙"},
            {"declaration": "", "wording": "丙"},
        ],
        "mediator",
    )
    assert [c.key for c in parsed] == ["d2", "d1", "d3"]


@pytest.mark.parametrize(
    ("item", "kind", "where", "words"),
    [
        ({"field": "years_of_service", "op": ">=", "value": 3}, "judicial_office", "1.field", "没有"),  # noqa: E501
        ({"field": "staff_count", "op": ">=", "value": 3}, "mediator", "1.field", "没有"),
        ({"field": "nonsense", "op": ">=", "value": 3}, "mediator", "1.field", "请选择"),
        ({"field": "success_rate", "op": "~", "value": 97}, "mediator", "1.op", "比较方式"),
        ({"field": "success_rate", "op": ">=", "value": ""}, "mediator", "1.value", "数值"),
        ({"field": "success_rate", "op": ">=", "value": "101"}, "mediator", "1.value", "0 到 100"),
        ({"field": "success_rate", "op": ">=", "value": "97.25"}, "mediator", "1.value", "一位小数"),  # noqa: E501
        ({"field": "years_of_service", "op": ">=", "value": "2.5"}, "mediator", "1.value", "整数"),
        ({"field": "years_of_service", "op": ">=", "value": "-1"}, "mediator", "1.value", "整数"),
        ({"declaration": "", "wording": ""}, "mediator", None, None),  # blank: skipped
        ({"field": "declaration", "wording": ""}, "mediator", "1.wording", "请填写条件表述"),
        ({"declaration": "x;drop", "wording": "甲"}, "mediator", "1.field", "标识无效"),
        ({"field": "success_rate", "op": ">=", "value": 97, "wording": "甲" * 201}, "mediator",
         "1.wording", "200"),
        ({"field": "success_rate", "op": ">=", "value": 97, "wording": "甲\u202e乙"}, "mediator",
         "1.wording", ""),
    ],
)  # fmt: skip
def test_bad_conditions_are_refused_by_row(item, kind, where, words) -> None:  # type: ignore[no-untyped-def]
    if where is None:
        assert conditions.parse([item], kind) == []
        return
    with pytest.raises(ConditionsInvalid) as info:
        conditions.parse([item], kind)
    assert where in info.value.errors
    assert words in info.value.errors[where]
    assert "第 1 条" in info.value.errors[where] or "条件表述" in info.value.errors[where]


def test_too_many_conditions() -> None:
    with pytest.raises(ConditionsInvalid, match="最多"):
        conditions.parse(
            [{"declaration": "", "wording": f"条件{i}"} for i in range(13)], "mediator"
        )


def test_evaluate_met_failed_and_unanswered() -> None:
    rules = conditions.parse(RULES, "judicial_office")
    values = {"disputes_mediated": 312, "disputes_resolved": 309, "criminal_escalations": 0}
    outcomes = conditions.evaluate(rules, values, {"d1": "yes"})
    assert [o.state for o in outcomes] == ["met", "met", "met"]
    assert outcomes[0].message == "现为 99.0%。" and outcomes[0].label == "符合"
    outcomes = conditions.evaluate(
        rules, {**values, "disputes_resolved": 300, "criminal_escalations": 2}, {"d1": "no"}
    )
    assert [o.state for o in outcomes] == ["failed", "failed", "failed"]
    assert outcomes[0].message == "现为 96.1%，要求不低于 97%。"
    assert outcomes[1].message == "现为 2 件，要求为 0 件。"
    assert outcomes[0].label == "不符合"
    outcomes = conditions.evaluate(rules, {"disputes_mediated": 0}, {})
    assert [o.state for o in outcomes] == ["unanswered"] * 3
    assert "请填写排查调处" in outcomes[0].message
    assert outcomes[1].message == "请填写民转刑案件（件）。"
    assert conditions.summary(outcomes) == "3 项待填写"


def test_a_rate_just_below_the_line_is_not_shown_as_meeting_it() -> None:
    rule = Condition("率", field="success_rate", op=">=", value=Decimal(97))
    outcome = conditions.judge(rule, {"disputes_mediated": 10000, "disputes_resolved": 9699}, {})
    assert outcome.state == "failed" and outcome.message.startswith("现为 96.9%")
    exact = conditions.judge(rule, {"disputes_mediated": 100, "disputes_resolved": 97}, {})
    assert exact.state == "met"


def test_stored_reads_json_text_and_ignores_a_broken_list() -> None:
    assert len(conditions.stored(json.dumps(RULES), "judicial_office")) == 3
    assert conditions.stored("[]", "mediator") == []
    assert conditions.stored("not json", "mediator") == []
    assert conditions.stored([{"field": "staff_count", "op": ">=", "value": 1}], "mediator") == []


def test_refusal_names_each_failed_condition() -> None:
    rules = conditions.parse(RULES, "judicial_office")
    outcomes = conditions.evaluate(
        rules, {"disputes_mediated": 100, "disputes_resolved": 90, "criminal_escalations": 0}, {}
    )
    message = conditions.refusal(conditions.unmet(outcomes))
    assert "调解成功率不低于97%" in message and "现为 90%" in message
    assert "群体性事件" in message and "待填写" in message
    assert "未发生民转刑案件" not in message


# --- the organiser's page -----------------------------------------------------------------


@pytest.fixture
async def draft_campaign(staff: dict[str, str]) -> tuple[Campaign, Category]:
    organiser = next(b["id"] for b in await factories.bureau_ids() if b["name"] == "定西市司法局")
    campaign, categories = await factories.campaign(
        [
            {
                "key": "mediator",
                "title": "“枫桥式”人民调解员",
                "kind": CategoryKind.mediator.value,
                "quota": 3,
                "county_cap": 2,
                "votes_per_day": 1,
            }
        ],
        slug="draft-2025",
        title="2025年度评选",
        year=2025,
        phase=Phase.draft.value,
        organiser=organiser,
    )
    return campaign, categories["mediator"]


def conditions_form(*rows: dict[str, str]) -> dict[str, str]:
    data = {"rows": str(len(rows))}
    for number, row in enumerate(rows, start=1):
        data.update({f"{part}-{number}": value for part, value in row.items()})
    return data


async def test_the_organiser_sets_conditions_while_the_campaign_is_a_draft(
    client, draft_campaign
) -> None:
    campaign, category = draft_campaign
    url = f"/staff/campaigns/{campaign.slug}/categories/{category.key}/conditions"
    await login(client, "admin")
    page = await client.get(url)
    assert page.status_code == 200 and "保存推荐条件" in page.text
    detail = await client.get(f"/staff/campaigns/{campaign.slug}")
    assert url in detail.text  # the category's link, registered by the nominations app
    response = await post_form(
        client,
        url,
        conditions_form(
            {
                "field": "years_of_service",
                "op": ">=",
                "value": "3",
                "wording": "从事调解工作3年以上",
            },
            {"field": "declaration", "wording": "遵纪守法，群众公认"},
            {"field": "", "op": "", "value": "", "wording": ""},
        ),
    )
    assert response.status_code in (302, 303), response.text[:500]
    row = await Category.select(Category.conditions).where(Category.id == category.id).first().run()
    assert json.loads(row["conditions"]) == [
        {"field": "years_of_service", "op": ">=", "value": 3, "wording": "从事调解工作3年以上"},
        {"declaration": "d1", "wording": "遵纪守法，群众公认"},
    ]
    entry = await AuditEntry.objects().where(AuditEntry.action == "category.conditions").first()
    assert entry is not None and entry.object_id == str(category.id)
    detail = await client.get(f"/staff/campaigns/{campaign.slug}")
    assert "推荐条件 2 条" in detail.text and "从事调解工作3年以上" in detail.text


async def test_bad_conditions_change_nothing_and_say_why(client, draft_campaign) -> None:
    campaign, category = draft_campaign
    url = f"/staff/campaigns/{campaign.slug}/categories/{category.key}/conditions"
    await login(client, "admin")
    response = await post_form(
        client,
        url,
        conditions_form({"field": "staff_count", "op": ">=", "value": "3", "wording": ""}),
    )
    assert response.status_code == 400
    assert "人民调解员没有“在编工作人员数”这一数据项" in response.text
    row = await Category.select(Category.conditions).where(Category.id == category.id).first().run()
    assert json.loads(row["conditions"]) == []
    assert not await AuditEntry.exists().where(AuditEntry.action == "category.conditions").run()


async def test_conditions_are_locked_once_nominating_opens(
    client, with_conditions, open_campaign
) -> None:
    url = f"/staff/campaigns/{open_campaign.slug}/categories/{with_conditions.key}/conditions"
    await login(client, "admin")
    page = await client.get(url)
    assert "不能再修改" in page.text and "保存推荐条件" not in page.text
    response = await post_form(client, url, conditions_form({"field": "", "wording": ""}))
    assert response.status_code == 400 and "不能再修改" in response.text
    row = (
        await Category.select(Category.conditions)
        .where(Category.id == with_conditions.id)
        .first()
        .run()
    )
    assert len(json.loads(row["conditions"])) == 3


async def test_only_the_organiser_sets_conditions(client, draft_campaign) -> None:
    campaign, category = draft_campaign
    url = f"/staff/campaigns/{campaign.slug}/categories/{category.key}/conditions"
    await login(client, "clerk")
    assert (await client.get(url)).status_code == 403
    response = await post_form(
        client, url, conditions_form({"field": "declaration", "wording": "甲"})
    )
    assert response.status_code == 403
    row = await Category.select(Category.conditions).where(Category.id == category.id).first().run()
    assert json.loads(row["conditions"]) == []


async def test_the_campaign_form_sets_the_mode_and_audits_it(client, draft_campaign) -> None:
    campaign, _ = draft_campaign
    await login(client, "admin")
    form = await client.get(f"/staff/campaigns/{campaign.slug}/edit")
    assert 'name="conditions_mode" type="radio" value="refuse" checked' in form.text
    data = {"slug": campaign.slug, "title": campaign.title, "year": "2025", "notice_days": "7"}
    bad = await post_form(
        client, f"/staff/campaigns/{campaign.slug}/edit", {**data, "conditions_mode": "maybe"}
    )
    assert bad.status_code == 400 and "不符合推荐条件时的处理方式" in bad.text
    ok = await post_form(
        client, f"/staff/campaigns/{campaign.slug}/edit", {**data, "conditions_mode": "flag"}
    )
    assert ok.status_code in (302, 303), ok.text[:500]
    row = (
        await Campaign.select(Campaign.conditions_mode)
        .where(Campaign.id == campaign.id)
        .first()
        .run()
    )
    assert row["conditions_mode"] == "flag"
    entry = await AuditEntry.objects().where(AuditEntry.action == "campaign.update").first()
    assert json.loads(entry.after)["conditions_mode"] == "flag"


# --- the form, as the clerk types ---------------------------------------------------------


async def test_the_new_form_lists_the_conditions_to_fill(client, clerks, with_conditions) -> None:
    await login(client, "clerk")
    page = await client.get(f"/staff/nominations/new?category={with_conditions.id}")
    assert page.status_code == 200
    assert "调解成功率不低于97%" in page.text and "待填写" in page.text
    assert 'name="declaration-d1" value="yes"' in page.text
    assert 'value="check"' in page.text and "/static/js/conditions.js" in page.text


async def test_check_without_javascript_shows_failures_and_stores_nothing(
    client, clerks, with_conditions
) -> None:
    await login(client, "clerk")
    response = await send_form(
        client,
        "/staff/nominations/new",
        {
            **UNIT,
            "disputes_resolved": "290",
            "criminal_escalations": "0",
            "declaration-d1": "yes",
            "category": str(with_conditions.id),
            "action": "check",
        },
    )
    assert response.status_code == 200
    assert "有 1 项推荐条件不符合" in response.text
    assert "现为 92.9%，要求不低于 97%" in response.text
    assert "不符合推荐条件的不能报送" in response.text
    assert 'value="290"' in response.text  # what was typed is kept
    assert await Nomination.count().run() == 0


async def test_the_check_route_answers_the_panel(client, clerks, with_conditions) -> None:
    await login(client, "clerk")
    response = await client.get(
        "/staff/nominations/conditions/check",
        params={**UNIT, "criminal_escalations": "1", "category": str(with_conditions.id)},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="conditions-status"')
    panel = Markup(response.text)
    states = [attrs["class"] for tag, attrs in panel.tags if tag == "li"]
    assert states == [
        "condition condition-met",
        "condition condition-failed",
        "condition condition-unanswered",
    ]
    assert "现为 1 件，要求为 0 件" in response.text
    assert await Nomination.count().run() == 0
    other = await client.get("/staff/nominations/conditions/check?category=999999")

    assert other.status_code == 404


async def test_the_declaration_is_saved_with_the_draft(
    client, clerks, with_conditions, folder
) -> None:
    clerk = clerks["anding"]
    draft = await nominate(clerk, with_conditions, folder, **{"declaration-d1": "yes"})
    row = await Nomination.objects().where(Nomination.id == draft.id).first().run()
    assert services.answers_of(row) == {"d1": "yes"}
    ctx = await services.load(clerk, draft.id)
    await services.update(actor_for(clerk), clerk, ctx, {**UNIT, "declaration-d1": "no"})
    row = await Nomination.objects().where(Nomination.id == draft.id).first().run()
    assert services.answers_of(row) == {"d1": "no"}


# --- submitting ---------------------------------------------------------------------------


async def test_refuse_mode_refuses_naming_the_failed_conditions(
    client, clerks, with_conditions, folder
) -> None:
    clerk = clerks["anding"]
    draft = await nominate(
        clerk, with_conditions, folder, criminal_escalations="1", **{"declaration-d1": "yes"}
    )
    with pytest.raises(NominationError) as info:
        await services.submit(actor_for(clerk), clerk, await services.load(clerk, draft.id))
    assert "未发生民转刑案件" in info.value.message
    assert "调解成功率" not in info.value.message  # met conditions are not named
    await login(client, "clerk")
    response = await post_form(client, f"/staff/nominations/{draft.id}/submit")
    assert response.status_code == 400
    assert "不符合推荐条件，不能报送" in response.text
    row = await Nomination.objects().where(Nomination.id == draft.id).first().run()
    assert row.status == Status.draft.value and row.place is None


async def test_refuse_mode_wants_the_declarations_answered(clerks, with_conditions, folder) -> None:
    clerk = clerks["anding"]
    draft = await nominate(clerk, with_conditions, folder, criminal_escalations="0")
    with pytest.raises(NominationError, match="群体性事件"):
        await services.submit(actor_for(clerk), clerk, await services.load(clerk, draft.id))
    ctx = await services.load(clerk, draft.id)
    await services.update(
        actor_for(clerk), clerk, ctx, {**UNIT, "criminal_escalations": "0", "declaration-d1": "yes"}
    )
    done = await services.submit(actor_for(clerk), clerk, await services.load(clerk, draft.id))
    assert done.status == Status.submitted.value


async def test_flag_mode_submits_and_shows_the_failure_to_the_city(
    client, clerks, with_conditions, open_campaign, folder
) -> None:
    await set_mode(open_campaign, "flag")
    clerk = clerks["anding"]
    flagged = await submitted(
        clerk, with_conditions, folder, name="安定区甲司法所", criminal_escalations="2",
        **{"declaration-d1": "yes"},
    )  # fmt: skip
    await submitted(
        clerk, with_conditions, folder, name="安定区乙司法所", criminal_escalations="0",
        **{"declaration-d1": "yes"},
    )  # fmt: skip
    assert flagged.status == Status.submitted.value
    entry = (
        await AuditEntry.objects()
        .where(
            (AuditEntry.action == "nomination.submit") & (AuditEntry.object_id == str(flagged.id))
        )
        .first()
    )
    assert json.loads(entry.after)["conditions_unmet"] == ["未发生民转刑案件"]
    await login(client, "admin")
    queue = await client.get(f"/staff/nominations?campaign={open_campaign.slug}")
    page = Markup(queue.text)
    header = page.row("名称") if any(r and r[0] == "名称" for r in page.rows) else None
    rows = {r[1] if r[0] == "" else r[0]: r for r in page.rows if r and "司法所" in "".join(r[:2])}
    bad = next(r for name, r in rows.items() if "安定区甲司法所" in name)
    good = next(r for name, r in rows.items() if "安定区乙司法所" in name)
    assert any(cell.startswith("不符合 1 项 未发生民转刑案件（现为 2 件") for cell in bad), bad
    assert any(cell == "符合全部 3 项" for cell in good), good
    assert header is None or "推荐条件" in header
    detail = await client.get(f"/staff/nominations/{flagged.id}")
    assert "有 1 项不符合推荐条件" in detail.text
    assert "现为 2 件，要求为 0 件" in detail.text


# --- the Excel import ---------------------------------------------------------------------


async def test_the_import_refuses_a_failing_row_by_row_and_column(
    client, clerks, with_conditions, open_campaign
) -> None:
    await login(client, "clerk")
    template = await download_template(client, with_conditions)
    rows = [
        {**SHEET_ROW, "name": "安定区甲司法所"},
        {**SHEET_ROW, "name": "安定区乙司法所", "criminal_escalations": 1},
        {
            **SHEET_ROW,
            "name": "安定区丙司法所",
            "disputes_resolved": 280,
            "criminal_escalations": None,
        },
    ]
    response = await upload_workbook(client, with_conditions, fill(template, rows))
    assert response.status_code == 400, response.text[:300]
    found = [r[:3] for r in Markup(response.text).rows if r and r[0].startswith("第")]
    assert found == [
        [
            "第 5 行",
            "民转刑案件（件）",
            "不符合推荐条件“未发生民转刑案件”：现为 1 件，要求为 0 件。",
        ],
        [
            "第 6 行",
            "调解成功（件）",
            "不符合推荐条件“调解成功率不低于97%”：现为 89.7%，要求不低于 97%。",
        ],
    ]
    assert await Nomination.count().run() == 0
    # Where failures are only flagged, the same file imports.
    await set_mode(open_campaign, "flag")
    response = await upload_workbook(client, with_conditions, fill(template, rows))
    assert response.status_code in (302, 303), response.text[:300]
    assert await Nomination.count().run() == 3


# --- the public page ----------------------------------------------------------------------


async def test_the_public_campaign_page_lists_the_conditions(
    client, with_conditions, open_campaign
) -> None:
    response = await client.get(f"/campaigns/{open_campaign.slug}")
    assert response.status_code == 200
    assert "推荐条件" in response.text
    for rule in RULES:
        assert rule["wording"] in response.text


# --- the demo -----------------------------------------------------------------------------


async def test_the_demo_nominations_meet_their_conditions_but_one_returned(demo_loaded) -> None:
    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    assert campaign.conditions_mode == "flag"
    categories = {
        c.id: c for c in await Category.objects().where(Category.campaign == campaign.id).run()
    }
    assert all(len(services.conditions_of(c)) >= 3 for c in categories.values())
    failing = []
    for row in await Nomination.objects().where(Nomination.campaign == campaign.id).run():
        unmet = conditions.unmet(services.outcomes_of(categories[row.category], row))
        if row.status in (Status.shortlisted.value, Status.submitted.value):
            assert unmet == [], (row.name, unmet)
        if any(o.state == "failed" for o in unmet):
            failing.append((row.status, row.criminal_escalations, unmet[0].condition.field))
    assert failing == [(Status.returned.value, 1, "criminal_escalations")]
    # Every demo campaign carries conditions.
    for slug in ("dingxi-2022", "gansu-2024"):
        other = await Campaign.objects().where(Campaign.slug == slug).first().run()
        if other is None:
            continue
        rows = await Category.objects().where(Category.campaign == other.id).run()
        assert rows and all(services.conditions_of(c) for c in rows)
