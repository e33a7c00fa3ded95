"""The site's identity: no city is written into the product; the installation's own
top bureau hosts the site, and an empty installation shows neutral defaults."""

from __future__ import annotations

import re
import subprocess

from portal.audit import Actor
from portal.bureaus import import_bureaus
from portal.settings import PROJECT_ROOT

BAIYIN = (
    "name,short_name,level,parent\n"
    "白银市司法局,白银市,city,\n"
    "白银区司法局,白银区,county,白银市司法局\n"
    "会宁县司法局,会宁县,county,白银市司法局\n"
)
PUBLIC_PAGES = ["/", "/login", "/stories", "/stories/feed.atom", "/no-such-page"]


def test_no_city_is_written_into_templates_or_application_code() -> None:
    """Demo data names Dingxi; templates and application code never do."""
    tracked = subprocess.run(
        ["git", "ls-files", "--", "*.py", "*.html", "*.txt", "*.css", "*.js"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    application = [
        path
        for path in tracked
        if not path.startswith(("tests/", "bench/"))
        and "demo" not in path.split("/")[-1]
        and "/demo/" not in f"/{path}"
    ]
    assert any(path.startswith("templates/") for path in application)
    named = [path for path in application if "定西" in (PROJECT_ROOT / path).read_text()]
    assert named == []


async def test_an_empty_installation_shows_the_neutral_identity_and_how_to_start(
    client, db
) -> None:
    for path in PUBLIC_PAGES:
        response = await client.get(path)
        assert response.status_code in (200, 404), path
        assert "定西" not in response.text, path
    home = (await client.get("/")).text
    assert re.search(r"<title>[^<]*“枫桥式”评选</title>", home)
    # The first page of a fresh installation says how to start.
    assert "开始使用" in home
    assert "portal bureaus import bureaus.csv" in home and "portal createuser admin" in home


async def test_the_top_bureau_of_the_installation_hosts_the_site(client, db, app) -> None:
    await import_bureaus(Actor.command_line(), BAIYIN.encode())
    for path in PUBLIC_PAGES:
        response = await client.get(path)
        assert "定西" not in response.text, path
    home = (await client.get("/")).text
    assert "<small>白银市司法局</small>" in home
    assert "开始使用" not in home
    assert "白银市司法局 主办" in home
    assert "· 白银市司法局</title>" in home
    feed = (await client.get("/stories/feed.atom")).text
    assert "<title>典型案例与先进事迹 · 白银市司法局</title>" in feed
    assert "<name>白银市司法局</name>" in feed
