"""Route handlers of the voting package."""

from voting.controllers.api import CaptchaApi, VoteApi
from voting.controllers.brushing import BrushingDashboard
from voting.controllers.candidates import CandidateApi, CandidatePages
from voting.controllers.ledger_api import LedgerApi
from voting.controllers.pages import VotePages
from voting.controllers.receipts import ReceiptPages

ROUTES = [
    CandidateApi,
    CandidatePages,
    CaptchaApi,
    VoteApi,
    LedgerApi,
    VotePages,
    ReceiptPages,
    BrushingDashboard,
]
