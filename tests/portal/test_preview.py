"""The editor's live preview: the server's own rendering of the text as typed."""

from __future__ import annotations

import pytest

from portal.markdown import render
from tests.helpers import csrf_token, login

URL = "/staff/markdown/preview"
DEEDS = (
    "## 调解经过\n\n**张某**与李某因宅基地发生纠纷。\n\n- 走访双方\n- 现场勘查\n\n"
    "1. 第一次调解\n2. 达成协议\n\n> 群众评价：调解员办事公道。\n\n第一行\n第二行"
)


async def preview(client, text: str, token: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"x-csrftoken": token if token is not None else await csrf_token(client)}
    return await client.post(URL, data={"text": text}, headers=headers)


@pytest.mark.parametrize("role", ["county_clerk", "city_admin"])
async def test_preview_is_the_pages_rendering(client, staff, role: str) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff[role])
    response = await preview(client, DEEDS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.text == str(render(DEEDS))
    for tag in ("<h4>调解经过</h4>", "<strong>张某</strong>", "<ul>", "<ol>", "<blockquote>"):
        assert tag in response.text


async def test_preview_strips_scripts_and_unsafe_links(client, staff) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["county_clerk"])
    text = (
        '<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n'
        "[点我](javascript:alert(3))\n\n**正文**"
    )
    response = await preview(client, text)
    assert response.status_code == 200
    assert response.text == str(render(text))
    assert "<script" not in response.text and "<img" not in response.text
    assert 'href="javascript' not in response.text
    assert "<strong>正文</strong>" in response.text


async def test_empty_text_previews_nothing(client, staff) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["county_clerk"])
    response = await preview(client, "   ")
    assert response.status_code == 200 and response.text == ""


async def test_preview_needs_the_csrf_token(client, staff) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["county_clerk"])
    response = await preview(client, "**x**", token="forged")
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["reviewer", "auditor"])
async def test_only_writers_may_preview(client, staff, role: str) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff[role])
    assert (await preview(client, "**x**")).status_code == 403


async def test_anonymous_may_not_preview(client, staff) -> None:  # type: ignore[no-untyped-def]
    response = await preview(client, "**x**")
    assert response.status_code in (401, 302, 303)
