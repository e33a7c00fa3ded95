"""The portal's own tables: bureaus, staff, campaigns and their categories, the audit log."""

from __future__ import annotations

from decimal import Decimal

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from portal.labels import LabelledEnum


class BureauLevel(LabelledEnum):
    """The levels of the tree, top down; an installation may have any run of them."""

    province = "province", "省（区、市）"
    city = "city", "市（州）"
    county = "county", "县（市、区）"
    township = "township", "乡镇（街道）"


class Bureau(Table):
    """A justice bureau or office in the organisation tree: a province's 司法厅 above a
    city's 司法局 above a county's 司法局 above its townships' judicial offices (司法所)."""

    name = Varchar(length=100, unique=True)
    # The area's name as lists say it (XX省, XX市, XX县).
    short_name = Varchar(length=50, default="")
    level = Varchar(length=10, choices=BureauLevel)
    # The pattern of the certificate numbers of the designations it makes, e.g.
    # "X司证〔{year}〕第{number:03d}号"; empty: the default from its short name.
    certificate_pattern = Varchar(length=100, default="")
    # NO ACTION, checked at the end of each statement: a bureau with children cannot go,
    # yet a whole subtree may be deleted in one statement.
    parent = ForeignKey(references="self", null=True, default=None, on_delete=OnDelete.no_action)
    position = Integer(default=0)
    # A retired bureau is kept for history; it is offered for nothing new.
    retired_at = Timestamptz(null=True, default=None)


class BureauName(Table, tablename="bureau_name"):
    """A name a bureau had until it was renamed: documents of that time show it."""

    bureau = ForeignKey(references=Bureau, null=False, on_delete=OnDelete.cascade)
    name = Varchar(length=100)
    short_name = Varchar(length=50, default="")
    # The moment the bureau was renamed away from this name.
    until = Timestamptz(index=True, index_method=IndexMethod.btree)


class SiteIdentity(Table, tablename="site_identity"):
    """What the site says of itself (one row, set by the top bureau's administrators);
    an empty field falls back to a neutral default (see ``portal.identity``)."""

    site_name = Varchar(length=40, default="")
    host = Varchar(length=100, default="")  # 主办单位
    organiser = Varchar(length=200, default="")  # 承办单位
    address = Varchar(length=200, default="")
    telephone = Varchar(length=40, default="")
    icp = Varchar(length=40, default="")  # ICP备案号
    psb = Varchar(length=40, default="")  # 公安机关备案号
    site_code = Varchar(length=20, default="")  # 网站标识码
    logo = Varchar(length=80, default="")  # the stored image's name
    updated_at = Timestamptz(default=TimestamptzNow())


class Role(LabelledEnum):
    city_admin = "city_admin", "管理员"
    county_clerk = "county_clerk", "经办人"
    reviewer = "reviewer", "评审专家"
    auditor = "auditor", "审计员"


class Staff(BaseUser, tablename="staff"):
    """A staff account. Passwords use Piccolo's salted PBKDF2-SHA256 (600,000 rounds)."""

    # BaseUser makes e-mail unique and required; staff log in by username, so it is optional.
    email = Varchar(length=255, unique=True, null=True, default=None)
    display_name = Varchar(length=100, default="")
    role = Varchar(length=20, choices=Role)
    bureau = ForeignKey(references=Bureau, null=False)
    # Password policy (portal/accounts.py): when the password was last set (None: before
    # the policy; it counts from then on), and whether it must be changed at the next
    # login (accounts an administrator or the command line created, or a reset).
    password_changed_at = Timestamptz(null=True, default=None)
    must_change_password = Boolean(default=False)
    # The network of the last successful login (``last_login`` is its time), and the
    # failed attempts on this account since it.
    last_login_network = Varchar(length=64, default="")
    failed_logins = Integer(default=0)
    # The second factor (portal/otp.py): the TOTP secret once enrolled ("" without), and
    # the SHA-256 hashes of its unused one-time recovery codes.
    otp_secret = Varchar(length=64, default="")
    otp_recovery = JSON(default=[])


class Phase(LabelledEnum):
    draft = "draft", "筹备中"
    nominating = "nominating", "推荐申报"
    vetting = "vetting", "资格审核"
    reviewing = "reviewing", "专家评审"
    voting = "voting", "网络投票"
    tallying = "tallying", "综合评定"
    notice = "notice", "结果公示"
    published = "published", "正式命名"


PHASE_ORDER = list(Phase)


class CategoryKind(LabelledEnum):
    judicial_office = "judicial_office", "司法所"
    mediation_committee = "mediation_committee", "人民调解委员会"
    mediator = "mediator", "人民调解员"


class Campaign(Table):
    """One yearly designation campaign and the time windows of its phases."""

    # The bureau that runs it; its direct subordinates nominate.
    organiser = ForeignKey(references=Bureau, null=True, default=None, on_delete=OnDelete.restrict)
    slug = Varchar(length=64, unique=True)
    title = Varchar(length=200)
    year = Integer()
    description = Text(default="")
    timezone = Varchar(length=64, default="Asia/Shanghai")
    phase = Varchar(length=20, choices=Phase, default=Phase.draft)
    nominating_opens_at = Timestamptz(null=True, default=None)
    nominating_closes_at = Timestamptz(null=True, default=None)
    reviewing_opens_at = Timestamptz(null=True, default=None)
    reviewing_closes_at = Timestamptz(null=True, default=None)
    voting_opens_at = Timestamptz(null=True, default=None)
    voting_closes_at = Timestamptz(null=True, default=None)
    notice_days = Integer(default=7)
    # Expert review: how many reviewers score each candidate (0: every eligible panel
    # member), and whether each reviewer's totals are standardised before averaging.
    reviewers_per_candidate = Integer(default=0)
    standardise_reviews = Boolean(default=False)
    # Public voting: caps per client network (IPv4 address, IPv6 /64) across every
    # cookie, so clearing cookies does not help — a day's votes in the whole campaign,
    # and vote attempts within one minute.
    network_votes_per_day = Integer(default=100)
    network_votes_per_minute = Integer(default=20)
    # The method of the combined ranking (评分方法), set before voting opens and locked
    # once it does: final score = review weight × review score + vote weight × vote score.
    review_weight = Numeric(digits=(3, 2), default=Decimal("0.70"))
    vote_weight = Numeric(digits=(3, 2), default=Decimal("0.30"))
    # When the campaign was published (its designation): its documents name bureaus as
    # they were named then.
    finished_at = Timestamptz(null=True, default=None)
    # A designation's term of validity (有效期) in years from the designation date.
    term_years = Integer(default=3)
    # Recommendation conditions (推荐条件): "refuse" a nomination that fails one, or
    # "flag" the failure to the organiser and let it be submitted.
    conditions_mode = Varchar(length=10, default="refuse")
    # The notice (公示): who takes objections by telephone, letter or visit, and whether
    # it publishes the scores and votes or only the names with unit and county.
    objection_contact = Varchar(length=50, default="")
    objection_phone = Varchar(length=30, default="")
    objection_address = Varchar(length=200, default="")
    notice_shows_scores = Boolean(default=True)
    # Page views of the public campaign pages that have been flushed from the store.
    visits = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class VisitDay(Table, tablename="visit_day"):
    """A campaign's page views on one local day (the campaign's time zone), as the visit
    counters were flushed that day. Kept only since per-day counting began: views before
    it exist only in ``Campaign.visits``. Unique (campaign, day) is an index made by the
    migration."""

    campaign = ForeignKey(references=Campaign, null=False, on_delete=OnDelete.cascade)
    day = Varchar(length=10)  # YYYY-MM-DD
    visits = Integer(default=0)


class Category(Table):
    """A designation category of a campaign, e.g. “枫桥式”司法所 with its quota."""

    campaign = ForeignKey(references=Campaign, null=False)
    key = Varchar(length=50)
    title = Varchar(length=100)
    kind = Varchar(length=30, choices=CategoryKind)
    quota = Integer()
    county_cap = Integer()
    votes_per_day = Integer(default=1)
    public_counts = Boolean(default=False)
    position = Integer(default=0)
    # Nominees must hold a current designation of the nominating bureau (the level
    # below): a province's category that accepts only units its cities designated.
    requires_designation = Boolean(default=False)
    # Recommendation conditions (推荐条件) a nominee must meet, as the notice words them:
    # a list of {"field", "op", "value", "wording"} comparisons on nomination figures
    # or {"declaration", "wording"} yes/no statements (nominations.conditions).
    conditions = JSON(default=[])

    # Unique (campaign, key) is a unique index made by the migration: Piccolo's
    # table constraints are added with ALTER TABLE, which SQLite cannot do.


class LoginLock(Table, tablename="login_lock"):
    """A network locked out of an account after failed logins (``network`` empty: the
    whole account, after locks from several networks). Kept by username, so that a name
    without an account is locked alike; lifted early by an administrator."""

    username = Varchar(length=100, index=True)
    network = Varchar(length=64, default="")
    locked_at = Timestamptz(default=TimestamptzNow())
    until = Timestamptz()
    lifted_at = Timestamptz(null=True, default=None)
    lifted_by = Varchar(length=100, default="")


class AuditEntry(Table, tablename="audit_entry"):
    """One staff action that changed data: who, what, which object, before/after, when, where."""

    at = Timestamptz(default=TimestamptzNow(), index=True, index_method=IndexMethod.btree)
    actor = ForeignKey(references=Staff, null=True, default=None)
    actor_name = Varchar(length=100)
    actor_role = Varchar(length=20, default="")
    action = Varchar(length=64, index=True)
    object_type = Varchar(length=40)
    object_id = Varchar(length=64)
    object_label = Varchar(length=200, default="")
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
    network = Varchar(length=64, default="")
    # The tamper-evident chain (``portal.audit.entry_hash``): the previous entry's hash
    # (in id order) and this entry's, which covers that and every field above.
    prev_hash = Varchar(length=64, default="")
    entry_hash = Varchar(length=64, default="")


class StaffMessage(Table, tablename="staff_message"):
    """An in-site message (站内消息) to one staff member: a nomination returned or
    shortlisted, a campaign in a new phase. Written in the transaction of the change it
    tells of; mailed afterwards when SMTP is configured (``portal.mail``)."""

    recipient = ForeignKey(references=Staff, null=False, on_delete=OnDelete.cascade, index=True)
    subject = Varchar(length=200)
    body = Text(default="")
    # Where the message leads on the site (a path such as /staff/nominations/12).
    href = Varchar(length=300, default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True, index_method=IndexMethod.btree)
    read_at = Timestamptz(null=True, default=None)
    # The e-mail outbox: "" (no address: nothing to mail), "pending", "sending", "sent",
    # "failed". A row is claimed pending → sending by one process only.
    mail_state = Varchar(length=10, default="", index=True)
    mailed_at = Timestamptz(null=True, default=None)
