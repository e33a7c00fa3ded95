"""Nominations (推荐对象) and their supporting documents."""

from __future__ import annotations

import enum

from piccolo.columns import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.labels import LabelledEnum
from portal.tables import Bureau, Campaign, Category, Staff


class Status(LabelledEnum):
    draft = "draft", "草稿"
    submitted = "submitted", "已报送"
    returned = "returned", "退回修改"
    shortlisted = "shortlisted", "已入围"
    rejected = "rejected", "未通过"
    withdrawn = "withdrawn", "已撤回"


# Statuses that hold one of the county's places under the category's cap.
HOLDS_PLACE = frozenset({Status.submitted, Status.returned, Status.shortlisted})


class Nomination(Table):
    """One county's nomination of a unit or a mediator in a category."""

    campaign = ForeignKey(references=Campaign, null=False, index=True)
    category = ForeignKey(references=Category, null=False, index=True)
    bureau = ForeignKey(references=Bureau, null=False, index=True)
    status = Varchar(length=20, choices=Status, default=Status.draft, index=True)
    # While the nomination holds a place under the county's cap: its number, 1..cap.
    # A unique index on (category, bureau, place) makes the cap exact under concurrency.
    place = Integer(null=True, default=None)

    name = Varchar(length=100, default="")
    township = Varchar(length=50, default="")
    unit_type = Varchar(length=20, default="")
    address = Varchar(length=200, default="")
    gender = Varchar(length=10, default="")
    birth_year = Integer(null=True, default=None)
    committee = Varchar(length=100, default="")
    position = Varchar(length=50, default="")
    years_of_service = Integer(null=True, default=None)
    summary = Varchar(length=200, default="")
    deeds = Text(default="")
    disputes_mediated = Integer(null=True, default=None)
    disputes_resolved = Integer(null=True, default=None)
    judicial_confirmations = Integer(null=True, default=None)
    on_the_spot = Integer(null=True, default=None)
    entrusted_court = Integer(null=True, default=None)
    entrusted_police = Integer(null=True, default=None)
    entrusted_government = Integer(null=True, default=None)
    entrusted_petition = Integer(null=True, default=None)
    entrusted_other = Integer(null=True, default=None)
    criminal_escalations = Integer(null=True, default=None)
    mass_incidents = Integer(null=True, default=None)
    staff_count = Integer(null=True, default=None)
    # The recommendation form (推荐审批表): a mediator's particulars, past honours, and
    # the recommending bureau's opinion with its date (the seal is on the paper).
    political_status = Varchar(length=20, default="")
    ethnicity = Varchar(length=10, default="")
    education = Varchar(length=20, default="")
    honours = Text(default="")
    recommender_opinion = Text(default="")
    opinion_date = Date(null=True, default=None)
    contact_name = Varchar(length=50, default="")
    contact_phone = Varchar(length=20, default="")

    # The nominee's answers to the category's yes/no recommendation conditions
    # (nominations.conditions): declaration key → "yes" or "no".
    declarations = JSON(default={})

    # The nominating bureau's earlier designation of this nominee (its nomination in a
    # finished campaign of that bureau), when it was picked from the designated units.
    designation = ForeignKey(
        references="self", null=True, default=None, on_delete=OnDelete.set_null
    )

    # Stored files: random names under the upload folder (see portal.media).
    photo = Varchar(length=80, default="")
    thumbnail = Varchar(length=80, default="")

    decision_reason = Text(default="")
    created_by = ForeignKey(references=Staff, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    shortlisted_at = Timestamptz(null=True, default=None)


class DocumentKind(LabelledEnum):
    material = "material", "证明材料"
    sealed_form = "sealed_form", "盖章推荐审批表"


class Document(Table):
    """A supporting PDF of a nomination (never public): evidence, or the recommendation
    form as the county printed, sealed and scanned it (at most one)."""

    nomination = ForeignKey(references=Nomination, null=False, index=True)
    kind = Varchar(length=20, choices=DocumentKind, default=DocumentKind.material)
    stored_name = Varchar(length=80, unique=True)
    filename = Varchar(length=200)
    size = Integer()
    uploaded_at = Timestamptz(default=TimestamptzNow())


class Criterion(Table):
    """A scoring criterion of a category (title, guidance, maximum points); totals are /100."""

    category = ForeignKey(references=Category, null=False, index=True)
    title = Varchar(length=100)
    guidance = Text(default="")
    max_points = Numeric(digits=(5, 1))
    position = Integer(default=0)


class PanelMember(Table, tablename="panel_member"):
    """A reviewer chosen for a campaign's expert panel (unique per campaign)."""

    campaign = ForeignKey(references=Campaign, null=False, index=True)
    reviewer = ForeignKey(references=Staff, null=False)


class AssignmentStatus(enum.StrEnum):
    assigned = "assigned"
    conflict = "conflict"  # the reviewer declared a conflict of interest: unassigned


class Assignment(Table):
    """One reviewer's scoring of one shortlisted candidate (unique per pair).

    ``scores`` maps criterion ids to points as decimal strings ("12.5"), so totals are
    exact. A submitted score is locked until a city admin reopens it.
    """

    nomination = ForeignKey(references=Nomination, null=False, index=True)
    reviewer = ForeignKey(references=Staff, null=False, index=True)
    status = Varchar(length=20, choices=AssignmentStatus, default=AssignmentStatus.assigned)
    conflict_reason = Text(default="")
    scores = JSON(default="{}")
    comment = Text(default="")
    submitted_at = Timestamptz(null=True, default=None)
    # A city admin may waive a missing score (with a reason) so the candidate's review
    # score is computed from the others.
    waived_reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
