"""Stories (典型案例 and 先进事迹) and the candidates they are about."""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from nominations.tables import Nomination
from portal.labels import LabelledEnum
from portal.tables import Bureau, Campaign, Staff


class StoryKind(LabelledEnum):
    case = "case", "典型案例"  # a mediation case told as an example
    deeds = "deeds", "先进事迹"  # the deeds of an honouree


class StoryStatus(LabelledEnum):
    draft = "draft", "草稿"
    submitted = "submitted", "待发布"  # a county's story awaiting the city's publication
    returned = "returned", "退回修改"  # sent back to the county with a reason
    published = "published", "已发布"
    withdrawn = "withdrawn", "已撤下"  # taken down after publication; keeps its number


class Story(Table):
    """One story of the series. Its number (第N期) is given once, at first publication.

    A unique index on ``series_no`` (made by the migration: Piccolo adds table
    constraints with ALTER TABLE, which SQLite cannot do) makes numbering exact.
    """

    kind = Varchar(length=20, choices=StoryKind)
    title = Varchar(length=120)
    body = Text(default="")
    # Stored files: random names under the upload folder (see portal.media).
    cover = Varchar(length=80, default="")
    cover_thumbnail = Varchar(length=80, default="")
    # The county bureau the story is from; the city bureau for city-wide stories.
    bureau = ForeignKey(references=Bureau, null=False, index=True)
    campaign = ForeignKey(references=Campaign, null=True, default=None, index=True)
    status = Varchar(length=20, choices=StoryStatus, default=StoryStatus.draft, index=True)
    # Written by a county clerk: the city publishes it only once the county submits it.
    by_county = Boolean(default=False)
    series_no = Integer(null=True, default=None)
    # Why the city returned it to the county, or took it down.
    reason = Text(default="")
    # Page views flushed from the store (portal.visits).
    visits = Integer(default=0)
    created_by = ForeignKey(references=Staff, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    published_at = Timestamptz(null=True, default=None)


class StoryCandidate(Table, tablename="story_candidate"):
    """A candidate (a shortlisted nomination) a story is about; unique per pair."""

    story = ForeignKey(references=Story, null=False, index=True)
    candidate = ForeignKey(references=Nomination, null=False, index=True)
    position = Integer(default=0)
