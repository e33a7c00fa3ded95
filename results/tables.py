"""The combined ranking of a campaign (综合评定), its public notice and the objections."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from nominations.tables import Nomination
from portal.labels import LabelledEnum
from portal.tables import Bureau, Campaign, Category, Staff


class Tally(Table):
    """A campaign's tally: the method it used, and the notice and designation that followed.

    One row per campaign (unique index). The weights are copied from the campaign when
    the tally runs, so the published figures always state the method that made them.
    """

    campaign = ForeignKey(references=Campaign, null=False)
    review_weight = Numeric(digits=(3, 2))
    vote_weight = Numeric(digits=(3, 2))
    tallied_at = Timestamptz(default=TimestamptzNow())
    tallied_by = ForeignKey(references=Staff, null=True, default=None)
    # Set when the proposed list is published for public notice (公示).
    notice_starts_at = Timestamptz(null=True, default=None)
    notice_ends_at = Timestamptz(null=True, default=None)
    # Set when the city designates (命名): the campaign is then published.
    designated_at = Timestamptz(null=True, default=None)
    # The announcement's document number (文号), e.g. 定司发〔2023〕12号; optional.
    document_no = Varchar(length=60, default="")


class Standing(Table):
    """One shortlisted candidate's place in its category's ranking.

    The components are stored as computed at the tally (review score, counted votes);
    scores and ranks are recomputed from them whenever a candidate is excluded.
    """

    campaign = ForeignKey(references=Campaign, null=False, index=True)
    category = ForeignKey(references=Category, null=False, index=True)
    candidate = ForeignKey(references=Nomination, null=False)
    review_score = Numeric(digits=(6, 2))
    votes = Integer(default=0)
    vote_score = Numeric(digits=(6, 2))
    final_score = Numeric(digits=(6, 2))
    # 1..n among the candidates not excluded; None when excluded.
    rank = Integer(null=True, default=None)
    designated = Boolean(default=False)
    excluded_reason = Text(default="")
    excluded_at = Timestamptz(null=True, default=None)
    excluded_by = ForeignKey(references=Staff, null=True, default=None)


class ObjectionStatus(LabelledEnum):
    received = "received", "已受理"
    investigating = "investigating", "调查核实中"
    upheld = "upheld", "异议成立"
    dismissed = "dismissed", "异议不成立"


class ObjectionChannel(LabelledEnum):
    """How an objection reached the organiser: the online form, or recorded by staff."""

    online = "online", "网上"
    phone = "phone", "电话"
    letter = "letter", "信函"
    visit = "visit", "来访"


# Statuses that close an objection.
OBJECTION_HANDLED = frozenset({ObjectionStatus.upheld, ObjectionStatus.dismissed})


class Objection(Table):
    """An objection (异议) to a proposed designee, made under a real name during the notice.

    Names, phones and contents are never shown publicly: the public notice shows only
    how many objections were received and how many were handled.
    """

    campaign = ForeignKey(references=Campaign, null=False, index=True)
    candidate = ForeignKey(references=Nomination, null=False, index=True)
    receipt = Varchar(length=32, unique=True)
    real_name = Varchar(length=50)
    phone = Varchar(length=20)
    relation = Varchar(length=100)
    content = Text()
    # An optional evidence file under the upload folder (a checked photo or PDF).
    evidence = Varchar(length=80, default="")
    evidence_name = Varchar(length=200, default="")
    status = Varchar(length=20, choices=ObjectionStatus, default=ObjectionStatus.received)
    resolution = Text(default="")
    handled_by = ForeignKey(references=Staff, null=True, default=None)
    handled_at = Timestamptz(null=True, default=None)
    network = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    # Objections by telephone, letter or visit are recorded by a city admin: the day the
    # organiser received it (local date), the objector's address if they gave one, and
    # who recorded it. Online ones keep the defaults (received when created).
    channel = Varchar(length=10, choices=ObjectionChannel, default=ObjectionChannel.online)
    received_on = Date(null=True, default=None)
    address = Varchar(length=200, default="")
    recorded_by = ForeignKey(references=Staff, null=True, default=None)


class ObjectionAttachment(Table, tablename="objection_attachment"):
    """A file that came with an objection received off line (a scanned letter, a photo),
    checked by content as the online evidence is and served to the city only."""

    objection = ForeignKey(references=Objection, null=False, index=True)
    stored_name = Varchar(length=80)
    filename = Varchar(length=200)
    uploaded_at = Timestamptz(default=TimestamptzNow())


class DesignationStatus(LabelledEnum):
    active = "active", "有效"
    expired = "expired", "已到期"
    revoked = "revoked", "已撤销"


class Designation(Table):
    """A title awarded at a campaign's designation (命名), as the register (名录) keeps it.

    One row per designated candidate, written in the designation's transaction with its
    certificate number (荣誉证书编号) from the organiser's series: ``serial`` counts per
    organiser and campaign year, and both the number and (organiser, year, serial) carry
    unique indexes, so a number is never given twice nor reused. The status is derived:
    revoked when ``revoked_on`` is set, expired after ``valid_until``, else active.
    A revocation keeps the row (and the honour list marks the title as later revoked).
    """

    campaign = ForeignKey(references=Campaign, null=False, index=True)
    category = ForeignKey(references=Category, null=False)
    candidate = ForeignKey(references=Nomination, null=False)
    organiser = ForeignKey(references=Bureau, null=False, index=True)
    year = Integer()
    serial = Integer()
    certificate_no = Varchar(length=60)
    designated_on = Date()
    valid_until = Date()
    revoked_on = Date(null=True, default=None)
    revocation_reason = Text(default="")
    revoked_by = ForeignKey(references=Staff, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class RecheckVerdict(LabelledEnum):
    pending = "pending", "待结论"
    passed = "passed", "合格"
    rectify = "rectify", "限期整改"
    revoked = "revoked", "撤销命名"


class Recheck(Table):
    """An organiser's yearly re-check (年度复核) of its designations in their term.

    One per organiser and year (unique index): it covers every designation of the
    organiser that is active on the day it opens and was made before the re-check's
    year, whatever campaign made it (``results.rechecks`` says why).
    """

    organiser = ForeignKey(references=Bureau, null=False, index=True)
    # The year whose work is re-checked (the reports give that year's figures).
    year = Integer()
    title = Varchar(length=200)
    # What the notice asks of the nominating bureaus (shown above every report form).
    instructions = Text(default="")
    # The last day (Beijing time) a report counts as on time; later ones are marked late.
    deadline = Date()
    opened_at = Timestamptz(default=TimestamptzNow())
    opened_by = ForeignKey(references=Staff, null=True, default=None)


class RecheckItem(Table):
    """One designation in a re-check: the nominating bureau's report and the verdict.

    ``bureau`` is the designee's nominating bureau (copied at opening): it files the
    report. A verdict of 限期整改 names a deadline and a demand; the follow-up records
    what was done and the later verdict (``followup_verdict``: passed or revoked).
    """

    recheck = ForeignKey(references=Recheck, null=False, index=True)
    designation = ForeignKey(references=Designation, null=False, index=True)
    bureau = ForeignKey(references=Bureau, null=False, index=True)
    # The report: the year's figures (nomination "record" fields), a statement.
    figures = JSON(default={})
    statement = Text(default="")
    reported_at = Timestamptz(null=True, default=None)
    reported_by = ForeignKey(references=Staff, null=True, default=None)
    late = Boolean(default=False)
    # The organiser's verdict.
    verdict = Varchar(length=10, choices=RecheckVerdict, default=RecheckVerdict.pending)
    verdict_note = Text(default="")
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=Staff, null=True, default=None)
    rectify_by = Date(null=True, default=None)
    followup = Text(default="")
    followup_verdict = Varchar(length=10, default="")
    followup_at = Timestamptz(null=True, default=None)


class RecheckEvidence(Table, tablename="recheck_evidence"):
    """A PDF filed with a re-check report (checked by content as nomination files are)."""

    item = ForeignKey(references=RecheckItem, null=False, index=True)
    stored_name = Varchar(length=80)
    filename = Varchar(length=200)
    size = Integer(default=0)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    uploaded_by = ForeignKey(references=Staff, null=True, default=None)
