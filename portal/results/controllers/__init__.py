"""Route handlers of the results: tally, notice and objections, honour lists."""

from portal.results.controllers.api import ResultsApi
from portal.results.controllers.honours import HonourPages
from portal.results.controllers.notice import NoticePages
from portal.results.controllers.objections_admin import ObjectionsAdmin
from portal.results.controllers.staff import ResultsAdmin

ROUTES = [ResultsApi, ResultsAdmin, HonourPages, NoticePages, ObjectionsAdmin]
