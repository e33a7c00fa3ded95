"""Receipt pages: a voter checks what became of their vote (有效、待核查、已剔除)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_404_NOT_FOUND

from nominations.tables import Nomination
from portal.tables import Campaign
from voting.controllers.pages import cast_at_text
from voting.services import VotingService, receipt_hash, receipt_status
from voting.tables import VoteStatus

NOT_FOUND = "找不到该投票凭证。请核对凭证号码（20 位字母和数字，可不输入连字符）后重试。"
# What each status means for the voter.
EXPLANATIONS = {
    "counted": "这张票已计入候选对象的得票。",
    "held": "这张票因投票行为异常正在接受核查，核查通过前暂不计入得票；"
    "主办单位核查后将计入或剔除。",
    "excluded": "这张票经主办单位核查认定为刷票或违规投票，已被剔除，不计入得票。",
}


# Receipts use the letters A–Z and digits 2–7 only: a typed 0 or 8 was meant as O or B.
LOOKALIKES = str.maketrans("08", "OB")


def canonical(voting: VotingService, typed: str) -> str | None:
    return voting.normalise_receipt(typed.upper().translate(LOOKALIKES))


def lookup_page(typed: str = "", message: str = "", status: int = 200) -> Template:
    return Template(
        "voting/receipt.html",
        context={"typed": typed, "message": message, "found": None},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


class ReceiptPages(Controller):
    include_in_schema = False

    @get("/receipts", name="receipt_lookup")
    async def lookup(
        self, voting: NamedDependency[VotingService], receipt: FromQuery[str | None] = None
    ) -> Template | Redirect:
        typed = (receipt or "").strip()[:80]
        if not typed:
            return lookup_page()
        found = canonical(voting, typed)
        if found is None or await receipt_status(found) is None:
            return lookup_page(typed, NOT_FOUND, HTTP_404_NOT_FOUND)
        return Redirect(path=f"/receipts/{found}")

    @get("/receipts/{receipt:str}", name="receipt_detail")
    async def detail(
        self, voting: NamedDependency[VotingService], receipt: FromPath[str]
    ) -> Template:
        found = canonical(voting, receipt)
        row = await receipt_status(found) if found else None
        if row is None:
            return lookup_page(receipt[:80], NOT_FOUND, HTTP_404_NOT_FOUND)
        campaign = await Campaign.objects().where(Campaign.slug == row["campaign"]).first().run()
        candidate = (
            await Nomination.select(Nomination.name, Nomination.category.title.as_alias("category"))
            .where(Nomination.id == row["candidate_id"])
            .first()
            .run()
        )
        found = {
            **row,
            "status_label": VoteStatus.label_of(row["status"]),
            "explanation": EXPLANATIONS.get(row["status"], ""),
            "cast_at_text": cast_at_text(row["cast_at"]),
            "receipt_hash": receipt_hash(row["receipt"]),
            "campaign_title": campaign.title if campaign else row["campaign"],
            "candidate_name": candidate["name"] if candidate else "",
            "category": candidate["category"] if candidate else "",
        }
        return Template(
            "voting/receipt.html",
            context={"typed": row["receipt"], "message": "", "found": found},
            headers={"Cache-Control": "no-store"},
        )
