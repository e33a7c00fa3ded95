"""The site's identity: the name pages, feeds and share cards carry, and who hosts it.

An installation is its own bureau's site, so nothing here names a city. Until the
identity has a staff page of its own, the host (主办单位) is the installation's top
bureau (the active bureau without a parent); an empty installation shows the neutral
site name alone.

Pages read the identity on every render, so it is kept per process for a few seconds
(``IDENTITY_TTL``): an import by ``portal bureaus import`` in another process shows
within that time, one query per process and period, never one per page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar import Request

from portal.pagecache import TtlCache
from portal.tables import Bureau

log = logging.getLogger("portal.identity")

SITE_NAME = "“枫桥式”评选"
IDENTITY_TTL = 10.0
_KEY = "site"


@dataclass(frozen=True)
class Identity:
    """What the header, footer, titles and share metadata say."""

    site_name: str = SITE_NAME
    host: str = ""

    @property
    def title_suffix(self) -> str:
        """What follows a page's own title: the host, else the site's name."""
        return self.host or self.site_name


NEUTRAL = Identity()


async def load_identity() -> Identity:
    """The identity from the database: the top active bureau hosts the site."""
    top = (
        await Bureau.select(Bureau.name)
        .where(Bureau.parent.is_null(), Bureau.retired_at.is_null())
        .order_by(Bureau.position)
        .order_by(Bureau.id)
        .first()
        .run()
    )
    return Identity(host=top["name"] if top else "")


async def identity_of(request: Request) -> Identity:
    """The identity, loaded when the per-process copy is older than ``IDENTITY_TTL``.

    A database that cannot answer leaves the neutral identity for this request (and is
    asked again by the next): the page's own queries report the outage, not its header.
    """
    cache: TtlCache[str, Identity] = request.app.state.identity
    known = cache.get(_KEY)
    if known is not None:
        return known
    try:
        known = await load_identity()
    except Exception as error:  # any database failure: logged, never the page's
        log.warning("site identity not loaded: %s", type(error).__name__)
        return NEUTRAL
    cache.put(_KEY, known)
    return known


def current_identity(request: Request) -> Identity:
    """The identity for a template (sync): the loaded copy, else the neutral one (pages
    that never passed a handler, such as an unrouted 404)."""
    cache: TtlCache[str, Identity] | None = request.app.state.get("identity")
    return (cache.get(_KEY) if cache is not None else None) or NEUTRAL
