"""Route handlers of the story series."""

from stories.controllers.public import StoryMedia, StoryPages
from stories.controllers.staff import StoryAdmin

ROUTES = [StoryPages, StoryMedia, StoryAdmin]
