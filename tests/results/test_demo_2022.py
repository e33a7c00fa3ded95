"""The demo's finished 2022 campaign: published, every step done by the real services.

The campaign is loaded as ``portal demo`` loads it (``results.demo``, after the
bureaus and demo staff; tests/portal/test_cli.py runs the whole demo twice); the checks
read what the services left behind: standings, the ledger, the objection, the stories,
the audit log, and the public pages and results API.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import chinese_calendar
import pytest
from click.testing import CliRunner

from nominations.demo.plans import build_plans
from nominations.tables import Assignment, Nomination, Status
from portal.cli import main
from portal.demo import ensure_bureaus, ensure_staff, story_years
from portal.tables import AuditEntry, Campaign, Phase, Staff
from results import demo
from results import services as results
from results.tables import Objection, Standing, Tally
from stories.tables import Story, StoryCandidate
from voting.demo import BURST_NETWORK
from voting.ledger import first_break
from voting.tables import Vote

# The year the story's 2022 is shown in (every demo date moves by whole years).
SHOWN_YEAR = 2022 + story_years()

CST = dt.timezone(dt.timedelta(hours=8))
QUOTAS = {"judicial-office": 5, "mediation-committee": 10, "mediator": 14}
SHORTLISTED = {"judicial-office": 10, "mediation-committee": 18, "mediator": 24}


async def load_finished(var_dir: Path) -> Campaign:
    await ensure_bureaus()
    await ensure_staff()
    await demo.ensure_finished_campaign(var_dir)
    return await Campaign.objects().where(Campaign.slug == demo.SLUG).first().run()


@pytest.fixture
async def finished(db: None, tmp_path: Path) -> Campaign:
    return await load_finished(tmp_path)


async def ledger(campaign_id: int) -> list[dict]:
    return await Vote.select().where(Vote.campaign == campaign_id).order_by(Vote.seq).run()


def stored_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


async def snapshot(campaign_id: int) -> dict:
    """What a second load must leave exactly as it was."""
    return {
        "campaign": await Campaign.select().where(Campaign.id == campaign_id).run(),
        "nominations": await Nomination.select(Nomination.id, Nomination.name, Nomination.photo)
        .where(Nomination.campaign == campaign_id)
        .order_by(Nomination.id)
        .run(),
        "assignments": await Assignment.count(),
        "votes": [
            (r["seq"], r["receipt"], r["status"], r["chain_hash"])
            for r in await ledger(campaign_id)
        ],
        "standings": await Standing.select().order_by(Standing.id).run(),
        "tally": await Tally.select().run(),
        "objections": await Objection.select().run(),
        "stories": await Story.select(Story.id, Story.status, Story.series_no).run(),
        "audit": await AuditEntry.count(),
    }


async def test_the_finished_campaign_is_published_and_shown_with_every_step_done(
    finished: Campaign, client, tmp_path: Path
) -> None:
    campaign = finished
    assert campaign.phase == Phase.published.value
    assert (campaign.year, campaign.timezone, campaign.title) == (2022, "Asia/Shanghai", demo.TITLE)
    for name in ("nominating", "reviewing", "voting"):
        for edge in ("opens", "closes"):
            assert getattr(campaign, f"{name}_{edge}_at").astimezone(CST).year == SHOWN_YEAR

    # Shortlisted candidates of all seven counties, none of them a 2023 candidate.
    rows = await Nomination.select(
        Nomination.id,
        Nomination.name,
        Nomination.status,
        Nomination.summary,
        Nomination.deeds,
        Nomination.photo,
        Nomination.category.key.as_alias("key"),
        Nomination.bureau.short_name.as_alias("county"),
    ).where(Nomination.campaign == campaign.id)
    shortlisted = [r for r in rows if r["status"] == Status.shortlisted.value]
    assert Counter(r["key"] for r in shortlisted) == SHORTLISTED
    assert len({r["county"] for r in shortlisted}) == 7
    assert all(r["summary"] and r["deeds"] and r["photo"] for r in shortlisted)
    assert all("2022年" in r["deeds"] for r in shortlisted)
    names_2023 = {plan.values["name"] for plan in build_plans(2023, list(demo.TOWNS))}
    assert not {r["name"] for r in rows} & names_2023

    # The tally: each category designates exactly its quota, one committee excluded with
    # the reason, and the one after the quota moved up.
    tally = await results.tally_of(campaign.id)
    assert tally.document_no == demo.DOCUMENT_NO
    assert tally.tallied_at == demo.TALLY_AT
    assert tally.notice_starts_at == demo.NOTICE_AT
    # Five working days from the day after publication, ending at 18:00 Beijing time.
    assert campaign.notice_days == demo.NOTICE_DAYS == 5
    ends = tally.notice_ends_at.astimezone(demo.CST)
    counted_days = chinese_calendar.get_workdays(
        demo.NOTICE_AT.date() + dt.timedelta(days=1), ends.date()
    )
    assert ends.time() == dt.time(18) and len(counted_days) == 5
    assert counted_days[-1] == ends.date()
    assert tally.designated_at == demo.DESIGNATED_AT > tally.notice_ends_at
    ranking = {item.category.key: item for item in await results.ranking(campaign)}
    assert {key: len(item.designated) for key, item in ranking.items()} == QUOTAS
    excluded = [r for item in ranking.values() for r in item.rows if r.excluded_reason]
    assert len(excluded) == 1
    (out,) = excluded
    assert out.excluded_reason == demo.EXCLUSION and "与台账不符" in out.excluded_reason
    assert out.rank is None and not out.designated
    committees = ranking["mediation-committee"].rows
    assert out in committees
    ranked = [r for r in committees if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert [r.designated for r in ranked] == [True] * 10 + [False] * (len(ranked) - 10)
    # Without the exclusion it would have been designated: its final score beats the
    # last designee's.
    assert out.final_score > ranked[9].final_score

    # The ledger: one chain, the burst excluded at review, nothing held; the counted
    # votes per candidate are the standings' votes.
    votes = await ledger(campaign.id)
    assert 3000 <= len(votes) <= 5000
    assert first_break(votes) is None
    statuses = Counter(v["status"] for v in votes)
    assert statuses["held"] == 0 and 50 <= statuses["excluded"] <= 150
    assert {v["network"] for v in votes if v["status"] == "excluded"} == {BURST_NETWORK}
    assert all(demo.VOTING[0] <= v["cast_ts"] <= demo.VOTING[1] for v in votes)
    counted = Counter(v["candidate"] for v in votes if v["status"] == "counted")
    standings = {r.candidate_id: r.votes for item in ranking.values() for r in item.rows}
    assert standings == {r["id"]: counted[r["id"]] for r in shortlisted}

    # One objection, to a proposed mediator, received during the notice and dismissed.
    (objection,) = await Objection.objects().where(Objection.campaign == campaign.id)
    assert objection.status == "dismissed" and "异议不成立" in objection.resolution
    assert tally.notice_starts_at < objection.created_at < objection.handled_at
    assert objection.handled_at < tally.notice_ends_at
    admin = await Staff.objects().where(Staff.username == "city-admin").first()
    assert objection.handled_by == admin.id
    assert objection.candidate in {r.candidate_id for r in ranking["mediator"].designated}
    assert await results.open_objections(campaign.id) == 0

    # The audit log: every step of the city admin, dated when it happened (in the
    # story's 2022, as every demo date is shown: moved by whole years).
    entries = await AuditEntry.select().where(AuditEntry.actor == admin.id).order_by(AuditEntry.id)
    actions = [e["action"] for e in entries]
    assert actions == [
        "vote.exclude",
        "campaign.phase",
        "results.tally",
        "results.exclude",
        "campaign.phase",
        "objection.investigating",
        "objection.dismissed",
        "campaign.phase",
    ]
    assert all(e["at"].astimezone(CST).year == SHOWN_YEAR for e in entries)
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    # A dozen published stories, numbered 1..N, about the campaign's candidates.
    stories = await Story.objects().where(Story.campaign == campaign.id).order_by(Story.series_no)
    published = [s for s in stories if s.status == "published"]
    assert len(published) >= 12
    assert [s.series_no for s in published] == list(range(1, len(published) + 1))
    linked = await StoryCandidate.select(StoryCandidate.candidate).where(
        StoryCandidate.story.is_in([s.id for s in published])
    )
    assert linked and {row["candidate"] for row in linked} <= {r["id"] for r in shortlisted}

    # The results API answers with the published ranking.
    response = await client.get(f"/api/v1/campaigns/{demo.SLUG}/results")
    assert response.status_code == 200
    body = response.json()
    assert body["phase"] == "published"
    assert {c["key"]: c["quota"] for c in body["categories"]} == QUOTAS
    for category in body["categories"]:
        assert sum(r["designated"] for r in category["ranking"]) == category["quota"]
        for row in category["ranking"]:
            assert row["votes"] == counted[row["candidate_id"]]
            assert row["excluded"] == (row["candidate_id"] == out.candidate_id)

    # The public pages show the finished year.
    designees = [r for item in ranking.values() for r in item.designated]

    honours = await client.get(f"/campaigns/{demo.SLUG}/honours")
    announcement = await client.get(f"/campaigns/{demo.SLUG}/announcement")
    for page in (honours, announcement):
        assert page.status_code == 200
        assert all(r.name in page.text for r in designees)
        assert out.name not in page.text
    day = demo.DESIGNATED_AT
    assert demo.DOCUMENT_NO in announcement.text
    assert f"{day.year}年{day.month}月{day.day}日" in announcement.text
    assert (day.month, day.day) == (12, 2)
    thumbnail = await client.get(f"/media/candidates/{designees[0].candidate_id}/thumbnail.jpg")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"

    notice = await client.get(f"/campaigns/{demo.SLUG}/notice")
    assert notice.status_code == 200
    assert "已受理异议" in notice.text and "已办结" in notice.text
    assert demo.OBJECTOR["real_name"] not in notice.text  # never public
    # Where objections by telephone, letter or visit go.
    assert "市司法局人民参与和促进法治科" in notice.text and "0932-8212345" in notice.text

    # The ledger's head is published with the results, on the notice, the honour list
    # and in the decision; the CLI holds a download to it and refuses a truncated copy.
    head = body["ledger_head"]
    assert head == {"seq": votes[-1]["seq"], "chain_hash": votes[-1]["chain_hash"]}
    published = f"{head['seq']}:{head['chain_hash']}"
    for page in (notice, honours, announcement):
        assert f"投票记录链尾：第 {head['seq']} 条" in page.text
        assert f"<code>{head['chain_hash']}</code>" in page.text
        assert f"portal verify-ledger ledger.csv --head {published}" in page.text
    download = await client.get(f"/api/v1/campaigns/{demo.SLUG}/ledger.csv")
    assert download.status_code == 200
    ledger_csv = tmp_path / "ledger.csv"
    ledger_csv.write_bytes(download.content)
    truncated = tmp_path / "truncated.csv"
    truncated.write_bytes(b"".join(download.content.splitlines(keepends=True)[:-1]))
    for copy, code in ((ledger_csv, 0), (truncated, 1)):
        result = CliRunner().invoke(main, ["verify-ledger", str(copy), "--head", published])
        assert result.exit_code == code, result.output

    home = await client.get("/")
    assert home.status_code == 200
    assert demo.TITLE in home.text and f"/campaigns/{demo.SLUG}/honours" in home.text

    stories = await client.get("/stories")
    assert stories.status_code == 200
    latest = (
        await Story.objects()
        .where(Story.status == "published")
        .order_by(Story.series_no, ascending=False)
        .first()
    )
    assert latest.series_no >= 12 and latest.title in stories.text
    story = await client.get(f"/stories/{latest.id}")
    assert story.status_code == 200 and latest.title in story.text


async def test_loading_again_changes_nothing_and_an_interrupted_load_resumes(
    db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A load stopped after the tally (the notice fails) leaves the campaign tallying...
    async def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(results, "open_notice", fails)
    with pytest.raises(RuntimeError, match="interrupted"):
        await load_finished(tmp_path)
    campaign = await Campaign.objects().where(Campaign.slug == demo.SLUG).first()
    assert campaign.phase == Phase.tallying.value
    monkeypatch.undo()

    # ...and the next load finishes it, without a second exclusion or vote.
    votes = await Vote.count().where(Vote.campaign == campaign.id)
    campaign = await load_finished(tmp_path)
    assert campaign.phase == Phase.published.value
    assert await Vote.count().where(Vote.campaign == campaign.id) == votes
    assert await Standing.count().where(Standing.excluded_reason != "") == 1

    before = await snapshot(campaign.id)
    files = stored_files(tmp_path)
    await demo.ensure_finished_campaign(tmp_path)
    assert await snapshot(campaign.id) == before
    assert stored_files(tmp_path) == files
