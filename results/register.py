"""The register of designations (名录) and the certificates (荣誉证书) that prove them.

``designate`` (results.services) calls ``register_designees`` in its transaction: every
designated candidate gets one ``Designation`` with the next number of its organiser's
certificate series for the campaign's year, its term (``Campaign.term_years`` from the
designation date) and no revocation. Numbers come from the organiser's pattern
(``Bureau.certificate_pattern``, see ``portal.bureaus.certificate_number``) and are taken
under the organiser's lock with unique indexes behind it: never twice, never reused.

The register is the source of a higher level's nominees (``nominations.designees``)
and of the public certificate check; a designation's status is derived from its dates.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Max

from nominations.designees import Designee
from nominations.fields import organisation
from portal import bureaus
from portal.bureaus import MAX_CERTIFICATE_NUMBER, certificate_number
from portal.campaigns import zone
from portal.clock import utc_now
from portal.db import advisory_lock
from portal.tables import Bureau, BureauLevel, Campaign, CategoryKind, Phase
from results.tables import Designation, DesignationStatus, Standing, Tally

# PostgreSQL advisory lock namespace "Cert", keyed by the organiser: one series writer.
CERTIFICATES_LOCK = 0x43657274


# --- certificate numbers ------------------------------------------------------------------


def term_end(designated_on: dt.date, years: int) -> dt.date:
    """The last day of a term of ``years`` from ``designated_on`` (2022-12-05, 3 years:
    2025-12-04)."""
    try:
        end = designated_on.replace(year=designated_on.year + years)
    except ValueError:  # 29 February into a common year
        end = designated_on.replace(year=designated_on.year + years, day=28)
    return end - dt.timedelta(days=1)


async def series_owner(campaign: Campaign) -> Bureau | None:
    """The bureau whose series numbers the campaign's certificates: its organiser (the top
    bureau for a campaign made before campaigns had one)."""
    if campaign.organiser is not None:
        return await Bureau.objects().where(Bureau.id == campaign.organiser).first().run()
    return await Bureau.objects().where(Bureau.parent.is_null()).order_by(Bureau.id).first().run()


async def register_designees(campaign: Campaign, designated_at: dt.datetime) -> int:
    """Inside the designation's write transaction: a ``Designation`` with the next
    certificate numbers for every designated candidate not yet registered, in category
    order then rank. Returns how many were added."""
    owner = await series_owner(campaign)
    if owner is None:
        return 0
    await advisory_lock(CERTIFICATES_LOCK, owner.id)
    registered = {
        row["candidate"]
        for row in await Designation.select(Designation.candidate)
        .where(Designation.campaign == campaign.id)
        .run()
    }
    standings = (
        await Standing.select(
            Standing.candidate, Standing.category, Standing.rank, Standing.category.position
        )
        .where((Standing.campaign == campaign.id) & (Standing.designated == True))  # noqa: E712
        .run()
    )
    standings = [s for s in standings if s["candidate"] not in registered]
    if not standings:
        return 0
    standings.sort(key=lambda s: (s["category.position"], s["category"], s["rank"] or 0))
    last = (
        await Designation.select(Max(Designation.serial).as_alias("last"))
        .where((Designation.organiser == owner.id) & (Designation.year == campaign.year))
        .first()
        .run()
    )
    serial = (last or {}).get("last") or 0
    day = designated_at.astimezone(zone(campaign.timezone)).date()
    until = term_end(day, campaign.term_years or 3)
    rows = []
    for standing in standings:
        serial += 1
        rows.append(
            Designation(
                campaign=campaign.id,
                category=standing["category"],
                candidate=standing["candidate"],
                organiser=owner.id,
                year=campaign.year,
                serial=serial,
                certificate_no=certificate_number(owner, campaign.year, serial),
                designated_on=day,
                valid_until=until,
            )
        )
    await Designation.insert(*rows).run()
    return len(rows)


# --- reading the register -----------------------------------------------------------------


def status_of(valid_until: dt.date, revoked_on: dt.date | None, today: dt.date) -> str:
    """A designation's status on ``today``."""
    if revoked_on is not None:
        return DesignationStatus.revoked.value
    if today > valid_until:
        return DesignationStatus.expired.value
    return DesignationStatus.active.value


def today_in(tz: str = "Asia/Shanghai") -> dt.date:
    return utc_now().astimezone(zone(tz)).date()


@dataclass
class Entry:
    """One designation as the register, its API and the certificate check show it."""

    id: int
    certificate_no: str
    campaign: str
    campaign_title: str
    year: int
    category: str
    kind: str
    name: str
    organisation: str
    county: str
    organiser: str
    organiser_level: str
    candidate_id: int
    designated_on: dt.date
    valid_until: dt.date
    status: str
    revoked_on: dt.date | None
    revocation_reason: str
    document_no: str
    nominated_by: str = ""

    @property
    def status_label(self) -> str:
        return DesignationStatus.label_of(self.status)

    @property
    def kind_label(self) -> str:
        return CategoryKind.label_of(self.kind)

    @property
    def title(self) -> str:
        """The title the certificate confers: 2023年度“枫桥式”司法所."""
        return f"{self.year}年度{self.category}"

    def listed(self) -> dict[str, Any]:
        """The contract's register item."""
        return {
            "certificate_no": self.certificate_no,
            "campaign": self.campaign,
            "year": self.year,
            "category": self.category,
            "kind": self.kind,
            "name": self.name,
            "organisation": self.organisation,
            "county": self.county,
            "designated_on": self.designated_on.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "status": self.status,
        }

    def certificate(self) -> dict[str, Any]:
        """The contract's certificate check."""
        return {
            "certificate_no": self.certificate_no,
            "name": self.name,
            "organisation": self.organisation,
            "title": self.title,
            "campaign": self.campaign,
            "designated_on": self.designated_on.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "status": self.status,
            "revoked_on": self.revoked_on.isoformat() if self.revoked_on else None,
            "revocation_reason": self.revocation_reason or None,
        }


@dataclass
class Filters:
    """What a register query asks for; every field optional."""

    campaign: str = ""
    bureau: str = ""  # the organiser's or the nominating bureau's name
    kind: str = ""
    status: str = ""
    year: int | None = None
    level: str = ""  # the organiser's level
    q: str = ""  # a search in names, organisations and certificate numbers

    def admits(self, entry: Entry) -> bool:
        """Whether ``entry`` is one the filters ask for (a register read once can be
        filtered many ways)."""
        return (
            (not self.campaign or entry.campaign == self.campaign)
            and (not self.kind or entry.kind == self.kind)
            and (self.year is None or entry.year == self.year)
            and (not self.level or entry.organiser_level == self.level)
            and (not self.bureau or self.bureau in (entry.organiser, entry.nominated_by))
            and (not self.status or entry.status == self.status)
            and (
                not self.q
                or any(
                    self.q in text
                    for text in (entry.name, entry.organisation, entry.certificate_no)
                )
            )
        )


STATUSES = frozenset(s.value for s in DesignationStatus)
KINDS = frozenset(k.value for k in CategoryKind)
LEVELS = frozenset(level.value for level in BureauLevel)


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


async def entries(filters: Filters | None = None, *, ids: list[int] | None = None) -> list[Entry]:
    """Designations of published campaigns matching ``filters``, newest year first, then
    by certificate series."""
    filters = filters or Filters()
    query = Designation.select(
        Designation.id,
        Designation.certificate_no,
        Designation.year,
        Designation.serial,
        Designation.designated_on,
        Designation.valid_until,
        Designation.revoked_on,
        Designation.revocation_reason,
        Designation.candidate.as_alias("candidate_id"),
        Designation.candidate.name.as_alias("name"),
        Designation.candidate.township.as_alias("township"),
        Designation.candidate.committee.as_alias("committee"),
        Designation.candidate.bureau.short_name.as_alias("county"),
        Designation.candidate.bureau.name.as_alias("nominated_by"),
        Designation.category.title.as_alias("category"),
        Designation.category.kind.as_alias("kind"),
        Designation.campaign.slug.as_alias("campaign"),
        Designation.campaign.title.as_alias("campaign_title"),
        Designation.campaign.timezone.as_alias("timezone"),
        Designation.organiser.name.as_alias("organiser"),
        Designation.organiser.level.as_alias("organiser_level"),
    ).where(Designation.campaign.phase == Phase.published.value)
    if ids is not None:
        query = query.where(Designation.id.is_in(ids or [-1]))
    if filters.campaign:
        query = query.where(Designation.campaign.slug == filters.campaign)
    if filters.kind:
        query = query.where(Designation.category.kind == filters.kind)
    if filters.year is not None:
        query = query.where(Designation.year == filters.year)
    if filters.level:
        query = query.where(Designation.organiser.level == filters.level)
    rows = (
        await query.order_by(Designation.year, ascending=False)
        .order_by(Designation.organiser)
        .order_by(Designation.serial)
        .run()
    )
    today = today_in()
    documents = {
        t["campaign"]: t["document_no"]
        for t in await Tally.select(Tally.campaign.slug.as_alias("campaign"), Tally.document_no)
        .where(Tally.designated_at.is_not_null())
        .run()
    }
    found = []
    for r in rows:
        entry = Entry(
            id=r["id"],
            certificate_no=r["certificate_no"],
            campaign=r["campaign"],
            campaign_title=r["campaign_title"],
            year=r["year"],
            category=r["category"],
            kind=r["kind"],
            name=r["name"],
            organisation=organisation(r),
            county=r["county"] or "",
            organiser=r["organiser"],
            organiser_level=r["organiser_level"],
            candidate_id=r["candidate_id"],
            designated_on=_as_date(r["designated_on"]),
            valid_until=_as_date(r["valid_until"]),
            status=status_of(
                _as_date(r["valid_until"]),
                _as_date(r["revoked_on"]) if r["revoked_on"] else None,
                today,
            ),
            revoked_on=_as_date(r["revoked_on"]) if r["revoked_on"] else None,
            revocation_reason=r["revocation_reason"],
            document_no=documents.get(r["campaign"], ""),
            nominated_by=r["nominated_by"],
        )
        if filters.admits(entry):
            found.append(entry)
    return found


def normalise_number(text: str) -> str:
    """A certificate number as typed or scanned: spaces dropped, the look-alike brackets
    people type (〔〕 written as [] or （）) taken as the official ones."""
    text = re.sub(r"\s+", "", text or "")
    for plain, official in (("[", "〔"), ("]", "〕"), ("【", "〔"), ("】", "〕")):
        text = text.replace(plain, official)
    return text[:MAX_CERTIFICATE_NUMBER]


async def certificate(number: str) -> Entry | None:
    """The designation that holds certificate ``number``, or None."""
    number = normalise_number(number)
    if not number:
        return None
    row = (
        await Designation.select(Designation.id)
        .where(Designation.certificate_no == number)
        .first()
        .run()
    )
    if row is None:
        return None
    found = await entries(ids=[row["id"]])
    return found[0] if found else None


# --- the source of a higher level's nominees ---------------------------------------------


async def designees_of(bureau_id: int, kind: str) -> list[Designee]:
    """The bureau's designations of a kind that are not revoked (nominations look here for
    the designations from below; ``nominations.designees`` decides what is current)."""
    rows = (
        await Designation.select(
            Designation.candidate.as_alias("id"),
            Designation.candidate.name.as_alias("name"),
            Designation.candidate.township.as_alias("township"),
            Designation.candidate.committee.as_alias("committee"),
            Designation.category.title.as_alias("title"),
            Designation.campaign,
            Designation.campaign.slug.as_alias("slug"),
            Designation.campaign.finished_at.as_alias("finished_at"),
            Designation.year,
            Designation.designated_on,
            Designation.valid_until,
        )
        .where(
            (Designation.organiser == bureau_id)
            & (Designation.category.kind == kind)
            & Designation.revoked_on.is_null()
            & (Designation.campaign.phase == Phase.published.value)
        )
        .run()
    )
    if not rows:
        return []
    organiser = await Bureau.objects().where(Bureau.id == bureau_id).first().run()
    documents = {
        t["campaign"]: t["document_no"]
        for t in await Tally.select(Tally.campaign, Tally.document_no)
        .where(Tally.campaign.is_in(list({r["campaign"] for r in rows})))
        .run()
    }
    found = []
    for row in rows:
        name = organiser.name
        if row["finished_at"] is not None:
            name, _ = await bureaus.name_at(organiser, row["finished_at"])
        found.append(
            Designee(
                nomination_id=row["id"],
                name=row["name"],
                organisation=organisation(row),
                category=row["title"],
                campaign_slug=row["slug"],
                year=row["year"],
                designated_on=_as_date(row["designated_on"]),
                document_no=documents.get(row["campaign"], ""),
                designated_by=name,
                valid_until=_as_date(row["valid_until"]),
            )
        )
    return found
