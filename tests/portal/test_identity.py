"""The site's identity: no city is written into the product; the installation's own
top bureau hosts the site, and an empty installation shows neutral defaults."""

from __future__ import annotations

import io
import re
import subprocess

from PIL import Image

from portal import media
from portal.audit import Actor
from portal.bureaus import import_bureaus
from portal.settings import PROJECT_ROOT
from portal.tables import AuditEntry, SiteIdentity
from tests import factories
from tests.helpers import csrf_token, login

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


# --- the identity's staff page ------------------------------------------------------------

FILED = {
    "site_name": "白银市“枫桥式”评选",
    "host": "白银市司法局",
    "organiser": "白银市司法局人民参与和促进法治科",
    "address": "白银市白银区人民路1号",
    "telephone": "0943-8221234",
    "icp": "陇ICP备12345678号-1",
    "psb": "甘公网安备 62040202000123号",
    "site_code": "6204000001",
}


def png_logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (200, 200), (200, 30, 30, 255)).save(out, "PNG")
    return out.getvalue()


async def baiyin_admin(client) -> None:  # type: ignore[no-untyped-def]
    await import_bureaus(Actor.command_line(), BAIYIN.encode())
    await factories.accounts(("boss", "city_admin", "白银市司法局"))
    await login(client, "boss")


async def send(client, data: dict, logo: bytes | None = None):  # type: ignore[no-untyped-def]
    files = {"logo": ("标志.png", logo, "image/png")} if logo is not None else None
    body = {"_csrf_token": await csrf_token(client), **data}
    return await client.post("/staff/identity", data=body, files=files)


async def test_the_top_bureau_sets_the_identity_every_page_shows(client, db, settings) -> None:
    await baiyin_admin(client)
    saved = await send(client, FILED, png_logo())
    assert saved.status_code in (302, 303), saved.text[:2000]
    home = (await client.get("/")).text
    assert "<strong>白银市“枫桥式”评选</strong>" in home
    assert "白银市司法局人民参与和促进法治科 承办" in home
    assert "电话：0943-8221234" in home and "地址：白银市白银区人民路1号" in home
    assert "网站标识码：6204000001" in home
    icp = '<a href="https://beian.miit.gov.cn/" rel="noopener" target="_blank">'
    assert f"{icp}陇ICP备12345678号-1</a>" in home
    assert "https://beian.mps.gov.cn/#/query/webSearch?code=62040202000123" in home
    logo = re.search(r'<img class="brand-logo" src="([^"]+)"', home)
    assert logo, home[:3000]
    image = await client.get(logo.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).size[0] <= 480
    feed = (await client.get("/stories/feed.atom")).text
    assert "<name>白银市司法局</name>" in feed
    (entry,) = await AuditEntry.select(AuditEntry.action, AuditEntry.after).where(
        AuditEntry.action == "site.identity"
    )
    assert "icp" in str(entry["after"])
    # Only the kept copy of the logo remains among the uploads.
    assert len(list(media.upload_dir(settings.var_dir).glob("photo-*"))) == 1
    # Emptied fields fall back to the defaults: the host is the top bureau again.
    await send(client, {"site_name": "", "host": ""})
    home = (await client.get("/")).text
    assert "<strong>“枫桥式”评选</strong>" in home and "<small>白银市司法局</small>" in home
    assert "陇ICP备" not in home and 'class="brand-logo"' in home  # the logo is kept


async def test_a_bad_identity_is_refused_field_by_field_and_nothing_changes(
    client, db, settings
) -> None:
    await baiyin_admin(client)
    for field, value, message in (
        ("icp", "12345678", "ICP备案号的格式不对"),
        ("psb", "甘公网安备123号", "公安机关备案号的格式不对"),
        ("site_code", "62-04", "网站标识码的格式不对"),
        ("telephone", "请拨打", "联系电话的格式不对"),
        ("site_name", "评" * 41, "网站名称不能超过 40 个字"),
        ("host", "白银市\u200b司法局", "不可见字符"),
    ):
        page = await send(client, {**FILED, field: value})
        assert page.status_code == 400, field
        assert message in page.text, (field, page.text[:3000])
    page = await send(client, FILED, b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert page.status_code == 400 and 'id="e-logo"' in page.text
    assert await SiteIdentity.count() == 0
    assert list(media.upload_dir(settings.var_dir).glob("photo-*")) == []
    assert (await client.get("/site/logo.jpg")).status_code == 404


async def test_only_the_top_bureaus_administrators_set_the_identity(client, db) -> None:
    tree = (
        "name,short_name,level,parent\n甘肃省司法厅,甘肃省,province,\n"
        "白银市司法局,白银市,city,甘肃省司法厅\n"
    )
    await import_bureaus(Actor.command_line(), tree.encode())
    await factories.accounts(("baiyin-admin", "city_admin", "白银市司法局"))
    await login(client, "baiyin-admin")
    assert (await client.get("/staff/identity")).status_code == 403
    assert (await send(client, FILED)).status_code == 403
    assert await SiteIdentity.count() == 0
