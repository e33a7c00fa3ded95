"""The site's identity: the name pages, feeds and share cards carry, who hosts it, and
the filing numbers a Chinese government site shows in its footer.

An installation is its own bureau's site, so nothing here names a city. The top
bureau's administrators set the identity on a staff page (``SiteIdentity``, one row);
what they leave empty falls back to a neutral default: the host (主办单位) to the
installation's top bureau (the active bureau without a parent), the site's name to
``SITE_NAME``.

Pages read the identity on every render, so it is kept per process for a few seconds
(``IDENTITY_TTL``): a change made in another process shows within that time, one query
per process and period, never one per page. The process that saves it forgets its copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from litestar import Request

from portal import audit, media
from portal.audit import Actor
from portal.db import write_transaction
from portal.errors import Invalid
from portal.pagecache import TtlCache
from portal.tables import Bureau, SiteIdentity
from portal.text import line_error

log = logging.getLogger("portal.identity")

SITE_NAME = "“枫桥式”评选"
IDENTITY_TTL = 10.0
_KEY = "site"
ICP_URL = "https://beian.miit.gov.cn/"
PSB_URL = "https://beian.mps.gov.cn/#/query/webSearch?code="

# The staff form: field → (label, longest, the shape it must have or None, example).
FIELDS: dict[str, tuple[str, int, re.Pattern[str] | None, str]] = {
    "site_name": ("网站名称", 40, None, "“枫桥式”评选"),
    "host": ("主办单位", 100, None, "XX市司法局"),
    "organiser": ("承办单位", 200, None, "XX市司法局人民参与和促进法治科"),
    "address": ("联系地址", 200, None, "XX市XX区XX路XX号"),
    "telephone": ("联系电话", 40, re.compile(r"[0-9+\-() ]{5,40}"), "0932-1234567"),
    "icp": (
        "ICP备案号",
        40,
        re.compile(r"\w{1,2}ICP备\d{6,10}号(-\d{1,3})?"),
        "陇ICP备12345678号-1",
    ),
    "psb": (
        "公安机关备案号",
        40,
        re.compile(r"\w{1,2}公网安备 ?\d{14}号"),
        "甘公网安备 62110202000001号",
    ),
    "site_code": ("网站标识码", 20, re.compile(r"[0-9A-Za-z]{10}"), "6211000001"),
}


@dataclass(frozen=True)
class Identity:
    """What the header, footer, titles and share metadata say."""

    site_name: str = SITE_NAME
    host: str = ""
    organiser: str = ""
    address: str = ""
    telephone: str = ""
    icp: str = ""
    psb: str = ""
    site_code: str = ""
    logo: str = ""
    # Every bureau's level by id: what a campaign's pages call its organiser and the
    # bureaus that nominate depends on the organiser's level (see ``Wording``).
    levels: dict[int, str] = field(default_factory=dict, compare=False)

    def wording(self, campaign: object) -> Wording:
        """The words for a campaign's organiser and its nominating bureaus."""
        level = self.levels.get(getattr(campaign, "organiser", None) or 0, "city")
        return WORDING.get(level, WORDING["city"])

    @property
    def title_suffix(self) -> str:
        """What follows a page's own title: the host, else the site's name."""
        return self.host or self.site_name

    @property
    def icp_url(self) -> str:
        return ICP_URL

    @property
    def psb_url(self) -> str:
        """The filing's page on the public-security filing site (by its 14 digits)."""
        return PSB_URL + "".join(re.findall(r"\d", self.psb))

    @property
    def logo_url(self) -> str:
        return f"/site/logo.jpg?v={self.logo.removeprefix('photo-')[:8]}" if self.logo else ""


@dataclass(frozen=True)
class Wording:
    """How a campaign's documents name its organiser and its nominating bureaus."""

    organiser: str  # 市司法局: the organiser as the notices name it
    nominators: str  # 县区司法局: the bureaus that nominate
    area: str  # 县区: the nominating areas, as a column says it
    scope: str  # 全市: the whole of the organiser's area


WORDING = {
    "province": Wording("省司法厅", "市州司法局", "市州", "全省"),
    "city": Wording("市司法局", "县区司法局", "县区", "全市"),
    "county": Wording("县司法局", "司法所", "乡镇", "全县"),
}

NEUTRAL = Identity()


async def load_identity() -> Identity:
    """The identity from the database: what the staff page set, else the defaults."""
    saved = await SiteIdentity.select().order_by(SiteIdentity.id).first().run()
    values = {name: (saved or {}).get(name) or "" for name in (*FIELDS, "logo")}
    if not values["host"]:
        top = (
            await Bureau.select(Bureau.name)
            .where(Bureau.parent.is_null(), Bureau.retired_at.is_null())
            .order_by(Bureau.position)
            .order_by(Bureau.id)
            .first()
            .run()
        )
        values["host"] = top["name"] if top else ""
    values["site_name"] = values["site_name"] or SITE_NAME
    levels = {r["id"]: r["level"] for r in await Bureau.select(Bureau.id, Bureau.level).run()}
    return Identity(**values, levels=levels)


async def saved_values() -> dict[str, str]:
    """What the staff page last saved, field by field (empty: the default applies)."""
    saved = await SiteIdentity.select().order_by(SiteIdentity.id).first().run()
    return {name: (saved or {}).get(name) or "" for name in FIELDS}


def clean(form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The form's values, trimmed, and its errors by field (empty when all are fine)."""
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    for name, (label, longest, shape, example) in FIELDS.items():
        value = values[name]
        if not value:
            continue
        if len(value) > longest:
            errors[name] = f"{label}不能超过 {longest} 个字。"
        elif hidden := line_error(label, value):
            errors[name] = hidden
        elif shape is not None and not shape.fullmatch(value):
            errors[name] = f"{label}的格式不对，应形如 {example}。"
    return values, errors


async def save_identity(
    actor: Actor,
    form: dict[str, str],
    logo: tuple[str, str] | None,
    directory: Path,
    logo_error: str = "",
) -> Identity:
    """Save what the staff page sent, with a new logo if one was sent (already checked
    by content and stored: ``portal.web.forms.stage_photo``); raise ``Invalid`` with
    the errors by field, and then keep nothing of it."""
    values, errors = clean(form)
    if logo_error:
        errors["logo"] = logo_error
    if errors:
        media.remove(directory, *(logo or ()))
        raise Invalid("请修改标出的内容。", errors)
    fields = (*FIELDS, "logo")
    try:
        async with write_transaction():
            row = await SiteIdentity.objects().order_by(SiteIdentity.id).first().run()
            row = row or SiteIdentity()
            before = {name: getattr(row, name) for name in fields}
            for name, value in values.items():
                setattr(row, name, value)
            if logo is not None:
                # The logo is shown small: its fitted copy is kept.
                row.logo = logo[1]
            row.updated_at = dt.datetime.now(dt.UTC)
            await row.save().run()
            after = {name: getattr(row, name) for name in fields}
            await audit.record(
                actor,
                "site.identity",
                ("site_identity", row.id),
                before={k: v for k, v in before.items() if v != after[k]},
                after={k: v for k, v in after.items() if v != before[k]},
                label="网站信息",
            )
    except BaseException:
        media.remove(directory, *(logo or ()))
        raise
    if logo is not None:
        media.remove(directory, logo[0], before["logo"])
    return await load_identity()


def forget(request: Request) -> None:
    """Drop this process's copy: the next page reads the identity anew."""
    request.app.state.identity.clear()


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
