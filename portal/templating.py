"""Jinja2 setup: the template folder and the filters pages use."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from portal.assets import STATIC_DIR as STATIC_DIR  # where the static files are
from portal.assets import static_url
from portal.audit import ACTION_LABELS
from portal.campaigns import zone
from portal.demo import story_years
from portal.identity import current_identity
from portal.origin import absolute_url
from portal.settings import PROJECT_ROOT
from portal.tables import PHASE_ORDER, CategoryKind, Phase, Role
from portal.text import mask_phone
from portal.view import switch_url, view_of
from portal.zones import zone_label

TEMPLATE_DIR = PROJECT_ROOT / "templates"


def localtime(
    value: dt.datetime | None, tz: str = "Asia/Shanghai", fmt: str = "%Y年%m月%d日 %H:%M"
) -> str:
    """A time in the campaign's zone, the way Chinese notices write it."""
    if value is None:
        return "未定"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zone(tz)).strftime(fmt)


def form_time(value: dt.datetime | None, tz: str = "Asia/Shanghai") -> str:
    """A time for a ``datetime-local`` input, in the campaign's zone."""
    if value is None:
        return ""
    return localtime(value, tz, "%Y-%m-%dT%H:%M")


def changes(value: Any) -> str:
    """An audit before/after summary, readable (Chinese stays Chinese)."""
    if isinstance(value, dict):
        return "；".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def json_list(value: Any) -> list:
    """A JSON list column as a list (Piccolo hands JSON columns back as text)."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "[]")
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def site_address(request: Any, path: str | None = None) -> str:
    """``path`` (default: the page's own) as a full URL on the site, for share tags; the
    bare path where the request's host cannot be read (an error page for a forged Host
    header must still render)."""
    path = path if path is not None else request.scope.get("path", "/")
    try:
        return absolute_url(request, path)
    except ValueError:
        return path


def _configure(env: Environment) -> None:
    env.filters.update(
        localtime=localtime,
        form_time=form_time,
        zone_label=zone_label,
        phase_label=Phase.label_of,
        kind_label=CategoryKind.label_of,
        role_label=Role.label_of,
        changes=changes,
        json_list=json_list,
        mask_phone=mask_phone,
    )
    env.globals.update(
        PHASES=PHASE_ORDER,
        ACTION_LABELS=ACTION_LABELS,
        site_identity=current_identity,
        site_address=site_address,
        static_url=static_url,
        page_view=view_of,
        view_switch=switch_url,
        demo_story_years=story_years,
    )


def template_config(directory: Path = TEMPLATE_DIR) -> TemplateConfig:
    return TemplateConfig(
        directory=directory,
        engine=JinjaTemplateEngine,
        engine_callback=lambda engine: _configure(engine.engine),
    )
