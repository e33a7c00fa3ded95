"""Staff JSON API: the same services as the staff pages, for scripts and in-page calls.

Session-authenticated like the pages, so unsafe calls carry the CSRF token in the
``X-CSRFToken`` header.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from portal import phases
from portal.audit import Actor
from portal.auth import requires
from portal.tables import Role
from portal.web.api import ApiOperation, PhaseName, error_responses
from portal.web.lookups import campaign_or_404


class PhaseChange(msgspec.Struct):
    phase: str


class PhaseState(msgspec.Struct):
    slug: str
    phase: PhaseName


class StaffCampaignApi(Controller):
    path = "/api/staff/campaigns"
    tags = ["staff"]
    guards = [requires(Role.city_admin)]

    @post(
        "/{slug:str}/phase",
        status_code=HTTP_200_OK,
        summary="Move a campaign to a phase",
        responses=error_responses(
            (400, "Invalid request"),
            (401, "Not signed in"),
            (403, "`csrf_failed` (no valid `X-CSRFToken` header), or not a city admin"),
            (404, "Unknown campaign"),
            (409, "The move is refused"),
            (413, "too_large: the body is over 1 MiB"),
            (415, "invalid: the body is not sent as application/json"),
        ),
        operation_class=ApiOperation,
    )
    async def move_phase(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        data: JSONBody[PhaseChange],
    ) -> PhaseState:
        await campaign_or_404(slug, request.user)  # another organisation's: 404
        campaign = await phases.move_phase(actor, slug, data.phase)
        return PhaseState(slug=campaign.slug, phase=campaign.phase)
