"""Route handlers of the story series."""

from portal.stories.controllers.public import StoryMedia, StoryPages
from portal.stories.controllers.staff import StoryAdmin

ROUTES = [StoryPages, StoryMedia, StoryAdmin]
