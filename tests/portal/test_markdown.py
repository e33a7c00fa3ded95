"""Markdown from county clerks renders to HTML that cannot run anything."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from portal.markdown import render


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a\s[^>]*href="([^"]*)"', html)


def test_returns_markup_and_empty_text_renders_nothing() -> None:
    assert isinstance(render("**x**"), Markup)
    assert render("") == Markup("")
    assert render("  \n ") == Markup("")


def test_headings_lists_and_emphasis_render() -> None:
    html = render(
        "# 先进事迹\n\n## 调解成效\n\n- **化解**纠纷 *120* 件\n- 第二项\n\n1. 一\n2. 二\n"
    )
    assert "<h3>先进事迹</h3>" in html
    assert "<h4>调解成效</h4>" in html
    assert "<h1>" not in html and "<h2>" not in html
    assert "<ul>" in html and "<ol>" in html and html.count("<li>") == 4
    assert "<strong>化解</strong>" in html and "<em>120</em>" in html


def test_newlines_become_line_breaks() -> None:
    assert "<br>" in render("第一行\n第二行")


def test_tables_blockquotes_and_code_render() -> None:
    html = render("| 年度 | 件数 |\n| --- | --- |\n| 2023 | 120 |\n\n> 引用\n\n`code` ~~删除~~")
    for tag in ("<table>", "<th>", "<td>", "<blockquote>", "<code>", "<s>"):
        assert tag in html


def test_links_get_nofollow_noopener_noreferrer() -> None:
    html = render("[司法局](https://sfj.example.gov.cn/) 或 <mailto:office@example.org>")
    assert hrefs(html) == ["https://sfj.example.gov.cn/", "mailto:office@example.org"]
    assert html.count('rel="nofollow noopener noreferrer"') == 2


def test_script_tag_is_escaped() -> None:
    html = render("<script>alert(1)</script>")
    assert "<script" not in html
    assert "&lt;script&gt;" in html or "alert" not in html


def test_event_handler_is_inert() -> None:
    html = render('<img src=x onerror=alert(1)>\n\n<p onclick="alert(1)">x</p>')
    assert "<img" not in html and "<p onclick" not in html
    assert not re.search(r"<[^>]+\son\w+=", html)


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "<javascript:alert(1)>",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        '<a href="javascript:alert(1)">x</a>',
        "[x]: javascript:alert(1)\n\n[x]",
    ],
)
def test_dangerous_link_schemes_are_dropped(text: str) -> None:
    html = render(text)
    for href in hrefs(html):
        assert href.startswith(("http://", "https://", "mailto:")), href
    assert not re.search(r"<a\s[^>]*href=\"\s*(javascript|data|vbscript):", html, re.IGNORECASE)


def test_relative_and_scheme_less_links_lose_their_href() -> None:
    assert hrefs(render("[a](/admin/logout) [b](//evil.example/)")) == []


def test_images_are_not_embedded() -> None:
    html = render("![照片](https://example.org/x.png)")
    assert "<img" not in html
