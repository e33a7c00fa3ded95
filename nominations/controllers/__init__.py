"""Route handlers of the nominations package."""

from nominations.controllers.conditions import ConditionsAdmin
from nominations.controllers.files import NominationFiles, PublicMedia
from nominations.controllers.pages import NominationPages
from nominations.controllers.recommendation import RecommendationForms
from nominations.controllers.review import (
    MethodPage,
    ReviewAdmin,
    ReviewAssignments,
    ReviewHome,
)
from nominations.controllers.sheets import NominationSheets

ROUTES = [
    NominationPages,
    ConditionsAdmin,
    NominationFiles,
    RecommendationForms,
    NominationSheets,
    PublicMedia,
    ReviewHome,
    ReviewAdmin,
    ReviewAssignments,
    MethodPage,
]
