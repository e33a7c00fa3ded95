"""Route handlers of the results: tally, notice and objections, honour lists."""

from results.controllers.api import ResultsApi
from results.controllers.documents import DocumentDownloads
from results.controllers.honours import HonourPages
from results.controllers.notice import NoticePages
from results.controllers.objections_admin import ObjectionsAdmin
from results.controllers.rechecks import DesignationAdmin, RecheckPages
from results.controllers.register import CertificatePrinting, RegisterApi, RegisterPages
from results.controllers.staff import ResultsAdmin
from results.controllers.statistics import StatisticsPages

ROUTES = [
    ResultsApi,
    ResultsAdmin,
    HonourPages,
    DocumentDownloads,
    NoticePages,
    ObjectionsAdmin,
    RegisterApi,
    RegisterPages,
    CertificatePrinting,
    StatisticsPages,
    RecheckPages,
    DesignationAdmin,
]
