"""The printed decision and its Word file, as a bureau's clerk gets them: the demo's
2022 campaign is designated; its decision prints on A4 with the attached name list on
a page of its own and the 版记, and its Word version downloads from the page."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, shot

SLUG = "dingxi-2022"


def test_printed_decision_and_its_word_file(page: Page) -> None:
    page.goto(f"/campaigns/{SLUG}/announcement")
    expect(page.locator(".doc-attachments")).to_contain_text("附件：2022年度")
    divisions = page.locator(".doc-division h3")
    first = divisions.first.inner_text()
    assert first.startswith("一、")
    expect(page.locator(".doc-imprint")).to_contain_text("印发")
    shot(page, "documents-decision")

    page.emulate_media(media="print")
    expect(page.locator(".doc-toolbar")).to_be_hidden()
    shot(page, "documents-decision-print")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / "documents-decision.pdf"), prefer_css_page_size=True)
    # The decision, then the attached list on a new page (and the 版记).
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page") >= 2

    page.emulate_media(media="screen")
    with page.expect_download() as started:
        page.get_by_role("link", name="下载 Word 版").click()
    download = started.value
    assert download.suggested_filename.endswith(".docx")
    doc = Document(io.BytesIO(Path(download.path()).read_bytes()))
    text = [p.text for p in doc.paragraphs if p.text.strip()]
    assert first in text
    assert any(line.endswith("印发") for line in text)
