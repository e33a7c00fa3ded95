"""Route handlers of the voting package."""

from voting.controllers.api import CaptchaApi, VoteApi

ROUTES = [CaptchaApi, VoteApi]
