"""The deeds editor in the browser: a clerk pastes from Word (HTML on the clipboard, as
Word and WPS put it there) and sees Markdown in the text box and, in the live preview,
the heading, bold and list the saved page will show; the saved page shows them too."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot
from tests.e2e.steps import (
    add_category,
    create_campaign,
    field,
    fill_nomination,
    jpeg,
    move_phase,
    pdf,
    sign_in,
    sign_out,
    submit_nomination,
)

SLUG = "e2e-editor"
# What Word puts on the clipboard, trimmed: its head of styles, MsoNormal paragraphs,
# <o:p>, a heading, and a list written as list paragraphs with the bullet in a span.
WORD_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<style>p.MsoNormal{mso-style-parent:"";margin:0cm;font-size:10.5pt}</style></head>
<body lang=ZH-CN><!--StartFragment-->
<h1 style='mso-line-height-rule:exactly'><span style='font-family:黑体'>典型案例</span></h1>
<p class=MsoNormal><b><span style='font-family:仿宋'>调解经过</span></b><o:p></o:p></p>
<p class=MsoNormal><b>一、基本情况：</b>张某与李某因宅基
地界址发生纠纷。<o:p></o:p></p>
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>
<![if !supportLists]><span style='font-family:Symbol'><span style='mso-list:Ignore'>·
<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;</span></span></span><![endif]>
走访双方当事人</p>
<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>
<![if !supportLists]><span style='font-family:Symbol'><span style='mso-list:Ignore'>·
<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;</span></span></span><![endif]>
现场勘查界址</p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<script>document.title = "pwned"</script>
<!--EndFragment--></body></html>"""
EXPECTED_MARKDOWN = (
    "# 典型案例\n\n**调解经过**\n\n**一、基本情况**：张某与李某因宅基地界址发生纠纷。\n\n"
    "- 走访双方当事人\n- 现场勘查界址"
)
PASTE = """([selector, html]) => {
  const area = document.querySelector(selector);
  area.focus();
  const data = new DataTransfer();
  data.setData("text/html", html);
  data.setData("text/plain", "典型案例 调解经过 走访双方当事人 现场勘查界址");
  const options = {clipboardData: data, bubbles: true, cancelable: true};
  area.dispatchEvent(new ClipboardEvent("paste", options));
}"""


def test_a_clerk_pastes_from_word_and_sees_the_result(page: Page, tmp_path: Path) -> None:
    sign_in(page, "city-admin")
    create_campaign(page, SLUG, "编辑器测试评选")
    add_category(page, SLUG)
    move_phase(page, SLUG, "推荐申报")
    sign_out(page)

    sign_in(page, "clerk-anding")
    page.goto(f"/staff/nominations?campaign={SLUG}")
    page.get_by_role("link", name="新建推荐").click()
    fill_nomination(
        page,
        "安定区编辑器测试司法所",
        "",
        jpeg(tmp_path / "photo.jpg", (60, 100, 140)),
        pdf(tmp_path / "evidence.pdf"),
    )
    deeds = field(page, "事迹材料")
    expect(page.get_by_role("toolbar", name="排版工具")).to_be_visible()
    page.evaluate(PASTE, ["#f-deeds", WORD_HTML])

    # The text box holds the Markdown the portal stores; Word's styles are gone.
    expect(deeds).to_have_value(EXPECTED_MARKDOWN)
    assert page.title() != "pwned"
    # The preview is the server's rendering: # is the deed's <h3>.
    preview = page.get_by_role("region", name=re.compile("预览"))
    expect(preview.locator("h3")).to_have_text("典型案例")
    expect(preview.locator("strong").first).to_have_text("调解经过")
    expect(preview.locator("ul > li")).to_have_text(["走访双方当事人", "现场勘查界址"])
    expect(preview).not_to_contain_text("mso")

    # The toolbar: a line made a subheading, a word made bold.
    deeds.press("End")
    deeds.press("Enter")
    deeds.press("Enter")
    deeds.press_sequentially("调解成效")
    page.get_by_role("button", name="标题").click()
    expect(deeds).to_have_value(EXPECTED_MARKDOWN + "\n\n## 调解成效")
    expect(preview.locator("h4")).to_have_text("调解成效")
    shot(page, "editor-pasted-from-word")

    nomination_id = submit_nomination(page)
    page.goto(f"/staff/nominations/{nomination_id}")
    deeds_shown = page.locator(".prose.deeds")
    expect(deeds_shown.locator("h3")).to_have_text("典型案例")
    expect(deeds_shown.locator("ul > li")).to_have_count(2)
    expect(deeds_shown.locator("strong").first).to_have_text("调解经过")


def test_without_scripts_the_deeds_are_a_plain_text_box(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=server, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, "clerk-anding")
        page.goto(f"/staff/nominations?campaign={SLUG}")
        page.get_by_role("link", name="新建推荐").click()
        expect(field(page, "事迹材料")).to_be_editable()
        expect(page.get_by_role("toolbar")).to_have_count(0)
        expect(page.get_by_text("可以直接从 Word、WPS 粘贴")).to_be_visible()
    finally:
        context.close()
