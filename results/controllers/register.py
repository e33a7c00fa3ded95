"""The register of designations (名录) and the certificate check (证书查询): public pages,
the contract's API and the register workbook; the organiser's printable certificates
and the plaque list for the makers."""

from __future__ import annotations

import base64
from typing import Literal
from urllib.parse import quote, urlencode

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.errors import not_found
from portal.origin import absolute_url
from portal.sheets import xlsx_response
from portal.tables import BureauLevel, CategoryKind, Phase
from portal.web.api import ApiOperation, KindName, error_responses
from portal.web.lookups import campaign_or_404
from portal.web.qr import qr_png
from results import certificates, register
from results.controllers.staff import CITY_READERS
from results.honours import chinese_date, issuing_bureau
from results.register import Entry, Filters
from results.tables import DesignationStatus

StatusName = Literal["active", "expired", "revoked"]
PAGE_SIZE = 100
UNKNOWN_CERTIFICATE = "查无此证：没有编号为“{}”的荣誉证书，请核对编号（含年份和序号）后重试。"


class Designation(msgspec.Struct):
    certificate_no: str
    campaign: str
    year: int
    category: str
    kind: KindName
    name: str
    organisation: str
    county: str
    designated_on: str
    valid_until: str
    status: StatusName


class Certificate(msgspec.Struct):
    certificate_no: str
    name: str
    organisation: str
    title: str
    campaign: str
    designated_on: str
    valid_until: str
    status: StatusName
    revoked_on: str | None
    revocation_reason: str | None


def check_path(number: str) -> str:
    """The public check page of a certificate number (what its QR code leads to)."""
    return "/certificates/" + quote(number, safe="")


def _year(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


async def register_filters(
    year: FromQuery[str | None] = None,
    level: FromQuery[str | None] = None,
    bureau: FromQuery[str | None] = None,
    kind: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
) -> Filters:
    """The register page's filters from its query; unknown values are ignored."""
    return Filters(
        year=_year(year),
        level=level if level in register.LEVELS else "",
        bureau=(bureau or "").strip()[:100],
        kind=kind if kind in register.KINDS else "",
        status=status if status in register.STATUSES else "",
        q=(q or "").strip()[:50],
    )


class RegisterApi(Controller):
    path = "/api/v1"
    tags = ["register"]

    @get(
        "/designations",
        summary="The register of designations",
        description=(
            "Every designation of every published campaign, newest year first, in the "
            "organiser's certificate series. `bureau` matches the organiser or the "
            "nominating bureau by full name. `status` is `active` within the term, "
            "`expired` after `valid_until`, `revoked` after a revocation (撤销命名)."
        ),
        operation_id="listDesignations",
        responses=error_responses((400, "Invalid request")),
        operation_class=ApiOperation,
    )
    async def designations(
        self,
        campaign: FromQuery[str | None] = None,
        bureau: FromQuery[str | None] = None,
        kind: FromQuery[KindName | None] = None,
        status: FromQuery[StatusName | None] = None,
    ) -> list[Designation]:
        found = await register.entries(
            Filters(
                campaign=campaign or "", bureau=bureau or "", kind=kind or "", status=status or ""
            )
        )
        return [msgspec.convert(entry.listed(), Designation) for entry in found]

    @get(
        "/certificates/{certificate_no:str}",
        summary="Check a certificate number",
        description=(
            "The designation a certificate (荣誉证书) number belongs to, with its status; "
            "`revoked_on` and `revocation_reason` are null unless it was revoked."
        ),
        operation_id="getCertificate",
        responses=error_responses(
            (400, "Invalid request"), (404, "No certificate has this number")
        ),
        operation_class=ApiOperation,
    )
    async def certificate(self, certificate_no: FromPath[str]) -> Certificate:
        entry = await register.certificate(certificate_no)
        if entry is None:
            raise not_found(UNKNOWN_CERTIFICATE.format(register.normalise_number(certificate_no)))
        return msgspec.convert(entry.certificate(), Certificate)


class RegisterPages(Controller):
    include_in_schema = False
    dependencies = {"filters": Provide(register_filters)}

    @get("/register", name="register")
    async def register_page(
        self, filters: NamedDependency[Filters], page: FromQuery[str | None] = None
    ) -> Template:
        everything = await register.entries()
        found = [entry for entry in everything if filters.admits(entry)]
        pages = max(1, -(-len(found) // PAGE_SIZE))
        number = min(max(_year(page) or 1, 1), pages)
        return Template(
            "results/register.html",
            context={
                "filters": filters,
                "entries": found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
                "total": len(found),
                "page": number,
                "pages": pages,
                "years": sorted({e.year for e in everything}, reverse=True),
                "organisers": sorted({e.organiser for e in everything}),
                "levels": [lv for lv in BureauLevel if lv.value != "township"],
                "kinds": list(CategoryKind),
                "statuses": list(DesignationStatus),
                "counts": {
                    s.value: sum(e.status == s.value for e in everything) for s in DesignationStatus
                },
                "check_path": check_path,
                "query": urlencode({k: v for k, v in vars(filters).items() if v not in ("", None)}),
            },
        )

    @get("/register.xlsx", name="register_workbook")
    async def register_workbook(self, filters: NamedDependency[Filters]) -> Response:
        found = await register.entries(filters)
        content = await anyio.to_thread.run_sync(certificates.register_workbook, found)
        return xlsx_response(content, "register.xlsx")

    @get("/certificates", name="certificate_search")
    async def search(self, no: FromQuery[str | None] = None) -> Response:
        number = register.normalise_number(no or "")
        if number:
            return Redirect(check_path(number))
        return Template("results/certificate_check.html", context={"entry": None, "number": ""})

    @get("/certificates/{number:str}", name="certificate_check")
    async def check(self, number: FromPath[str]) -> Template:
        entry = await register.certificate(number)
        return Template(
            "results/certificate_check.html",
            context={"entry": entry, "number": register.normalise_number(number)},
            status_code=200 if entry else 404,
        )


def _qr_data_uri(request: Request, entry: Entry) -> str:
    png = qr_png(absolute_url(request, check_path(entry.certificate_no)))
    return "data:image/png;base64," + base64.b64encode(png).decode()


class CertificatePrinting(Controller):
    """The organiser's certificates to print (A4 landscape) and the plaque list."""

    path = "/staff/results/{slug:str}"
    include_in_schema = False
    guards = [CITY_READERS]

    async def _designees(self, request: Request, slug: str) -> tuple:
        campaign = await campaign_or_404(slug, request.user)
        if campaign.phase != Phase.published.value:
            raise not_found("该活动尚未正式命名，还没有荣誉证书。")
        return campaign, await register.entries(Filters(campaign=campaign.slug))

    async def _render(self, request: Request, campaign, entries: list[Entry]) -> Template:  # type: ignore[no-untyped-def]
        return Template(
            "results/certificates.html",
            context={
                "campaign": campaign,
                "bureau": await issuing_bureau(campaign),
                "items": [(e, _qr_data_uri(request, e)) for e in entries],
                "chinese_date": chinese_date,
                "check_url": lambda e: absolute_url(request, check_path(e.certificate_no)),
            },
        )

    @get("/certificates", name="certificates_print")
    async def batch(self, request: Request, slug: FromPath[str]) -> Template:
        campaign, entries = await self._designees(request, slug)
        return await self._render(request, campaign, entries)

    @get("/certificates/{designation_id:int}", name="certificate_print")
    async def one(
        self, request: Request, slug: FromPath[str], designation_id: FromPath[int]
    ) -> Template:
        campaign, entries = await self._designees(request, slug)
        chosen = [e for e in entries if e.id == designation_id]
        if not chosen:
            raise not_found("找不到该荣誉证书。")
        return await self._render(request, campaign, chosen)

    @get("/plaques.xlsx", name="plaques_workbook")
    async def plaques(self, request: Request, slug: FromPath[str]) -> Response:
        campaign, entries = await self._designees(request, slug)
        bureau = await issuing_bureau(campaign)
        content = await anyio.to_thread.run_sync(
            certificates.plaque_workbook, campaign, bureau, entries
        )
        return xlsx_response(content, f"{campaign.slug}-plaques.xlsx")
