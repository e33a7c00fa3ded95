"""The campaign's official documents as Word files (.docx), laid out as GB/T 9704-2012
(党政机关公文格式) lays out the printed page: the designation decision (命名决定), the
public notice (公示) and the name list (名单) on its own.

A4, margins 37 mm top, 35 mm bottom, 28 mm left, 26 mm right; the body in 仿宋 三号
(16 pt) on a ~29 pt line, the title in 方正小标宋 二号 (22 pt), first-level headings in
黑体 and second-level ones in 楷体; the page number "— 1 —" in 宋体 四号 at the foot, on
the right of odd pages and the left of even ones. East Asian font names go in the
``w:eastAsia`` attribute of the run fonts, so Word uses them where installed and its
default Chinese font where not; Latin text and digits stay in Times New Roman.

The document's words (its paragraphs, the lists by division) come from
``results.honours`` and ``results.divisions``, the same as the web pages'; building
the file is CPU-bound: run it in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from urllib.parse import quote

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION_START
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from litestar import Response

from portal.campaigns import zone
from portal.identity import WORDING
from portal.tables import Campaign
from portal.zones import zone_label
from results.divisions import Division, DivisionOrder, by_division, division_order
from results.honours import (
    HonourList,
    Issuer,
    chinese_date,
    issuer_of,
    joined,
    listing,
    measure,
    name_list_title,
    ordinal,
)
from results.objections import NoticePeriod
from results.services import CategoryRanking, ranking

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# Fonts: (East Asian name, size in points).
SONG_TITLE = "方正小标宋简体"
FANGSONG = "仿宋"
HEITI = "黑体"
KAITI = "楷体"
SONG = "宋体"
LATIN = "Times New Roman"
BODY_PT = 16  # 三号
TITLE_PT = 22  # 二号
SMALL_PT = 14  # 四号: page numbers and the 版记
# 22 lines on the 225 mm high text area: 28.95 pt a line.
LINE = Pt(28.95)
CHAR = Pt(BODY_PT)  # one character of the body, for indents
RED = RGBColor(0xC0, 0x00, 0x00)
TEXT_WIDTH = Mm(210 - 28 - 26)


# --- what the documents say ---------------------------------------------------------------


def decision_paragraphs(honours: HonourList) -> list[str]:
    """The decision's body: the campaign, its procedure, the naming (名单附后), the hope.
    The printable page and the .docx both say exactly this."""
    issuer = honours.issuer or Issuer(honours.bureau, WORDING["city"])
    words, campaign = issuer.words, honours.campaign
    notice = (
        f"拟命名名单于{honours.notice_from}至{honours.notice_to}向社会公示。公示期满，经研究，"
        if honours.tally.notice_starts_at
        else "经研究，"
    )
    naming = "，".join(honours.decision_clauses())
    return [
        "为坚持和发展新时代“枫桥经验”，充分发挥司法所、人民调解组织和人民调解员在预防化解"
        f"矛盾纠纷、维护社会和谐稳定中的基础性作用，{honours.bureau}在{words.scope}组织开展了"
        f"{campaign.year}年度“枫桥式”评选命名活动。活动按照各{words.nominators}择优推荐、"
        f"{words.organiser}资格审核、专家评审、网络投票、综合评定的程序进行，"
        f"{notice}决定命名{naming}（名单附后）。",
        "希望受到命名的单位和个人珍惜荣誉、戒骄戒躁、再接再厉，充分发挥示范引领作用。"
        f"各{words.nominators}要认真总结推广先进典型的经验做法，广泛宣传先进事迹，引导广大"
        "司法行政干部和人民调解员学习先进、争当先进，把矛盾纠纷化解在基层、化解在萌芽状态，"
        "为推进更高水平的平安建设和法治建设作出新的更大贡献。",
    ]


@dataclass
class NoticeDocument:
    """The public notice of the proposed designees, read before building it."""

    campaign: Campaign
    issuer: Issuer
    period: NoticePeriod
    categories: list[CategoryRanking]
    order: DivisionOrder
    # Where objections are filed online: the notice's objection form.
    object_url: str

    @property
    def named(self) -> list[CategoryRanking]:
        return [item for item in self.categories if item.designated] or self.categories

    @property
    def title(self) -> str:
        """关于2023年度“枫桥式”……拟命名名单的公示."""
        titles = joined([item.category.title for item in self.named])
        return f"关于{self.campaign.year}年度{titles}拟命名名单的公示"

    @property
    def list_title(self) -> str:
        return name_list_title(self.campaign, [item.category for item in self.named], proposed=True)

    @property
    def divisions(self) -> list[Division]:
        return by_division(self.categories, self.order)

    @property
    def starts_on(self) -> str:
        return chinese_date(self.period.starts_at, self.campaign.timezone)

    @property
    def ends_on(self) -> str:
        return chinese_date(self.period.ends_at, self.campaign.timezone)

    def ends_at_time(self) -> str:
        """The moment the period ends, as people say it: 2023年12月5日18:00（北京时间）."""
        local = self.period.ends_at.astimezone(zone(self.campaign.timezone))
        return f"{self.ends_on}{local:%H:%M}（{zone_label(self.campaign.timezone)}）"

    def contact(self) -> str:
        """Where objections by telephone, letter and visit go, as the campaign states it."""
        campaign = self.campaign
        parts = [
            f"{label}：{value}"
            for label, value in (
                ("联系人", campaign.objection_contact),
                ("联系电话", campaign.objection_phone),
                ("来信来访地址", campaign.objection_address),
            )
            if value
        ]
        return "；".join(parts) + "。" if parts else ""

    def paragraphs(self) -> list[str]:
        """The notice's body."""
        words, campaign = self.issuer.words, self.campaign
        counts = []
        for item in self.named:
            if item.designated:
                counts.append(
                    f"{item.category.title}{len(item.designated)}{measure(item.category)}"
                )
        proposed = "、".join(counts)
        return [
            f"为坚持和发展新时代“枫桥经验”，{self.issuer.name}在{words.scope}组织开展了"
            f"{campaign.year}年度“枫桥式”评选命名活动。经各{words.nominators}择优推荐、"
            f"{words.organiser}资格审核、专家评审、网络投票和综合评定，拟命名{proposed}。"
            "现将拟命名名单予以公示（名单附后），接受社会监督。",
            f"公示期为{self.starts_on}至{self.ends_on}。公示期内，任何单位和个人对拟命名对象"
            f"有异议的，可通过电话、信函、来访或网上（{self.object_url}）实名提出，写明真实"
            f"姓名、联系电话和具体的事实和理由，可附证据材料；{self.ends_at_time()}后提出的"
            f"不再受理。{self.contact()}",
            f"{words.organiser}对每件异议调查核实；异议成立的，取消该对象的拟命名资格。"
            "异议人的个人信息严格保密。",
        ]


async def notice_document(
    campaign: Campaign, period: NoticePeriod, object_url: str
) -> NoticeDocument:
    """What the notice's .docx says (the current list of proposed designees)."""
    return NoticeDocument(
        campaign,
        await issuer_of(campaign),
        period,
        await ranking(campaign),
        await division_order(campaign),
        object_url,
    )


# --- the Word files -----------------------------------------------------------------------


def decision_docx(honours: HonourList) -> bytes:
    """The designation decision as .docx: 版头, title, 主送, body (名单附后), 附件说明,
    落款 with room for the seal, 附注, the attached name list and the 版记."""
    issuer = honours.issuer or Issuer(honours.bureau, WORDING["city"])
    doc = _new_document()
    _masthead(doc, honours.bureau, honours.tally.document_no or "")
    _title(doc, honours.title)
    _plain(doc, f"各{issuer.words.nominators}：", indent=False)
    for text in decision_paragraphs(honours):
        _plain(doc, text)
    _blank(doc)
    _plain(doc, f"附件：{honours.list_title}")
    _signature(doc, honours.bureau, honours.designated_on)
    _attachment(doc, honours.list_title, honours.divisions)
    _closing_block(doc, issuer.copies_to(), issuer.office, honours.designated_on)
    return _saved(doc)


def notice_docx(notice: NoticeDocument) -> bytes:
    """The public notice as .docx: title, body (名单附后), 附件说明, 落款, the attached
    list of proposed designees by division, and the 版记."""
    doc = _new_document()
    _title(doc, notice.title)
    for text in notice.paragraphs():
        _plain(doc, text)
    _blank(doc)
    _plain(doc, f"附件：{notice.list_title}")
    _signature(doc, notice.issuer.name, notice.starts_on)
    _attachment(doc, notice.list_title, notice.divisions)
    _closing_block(
        doc, notice.issuer.copies_to(nominators=True), notice.issuer.office, notice.starts_on
    )
    return _saved(doc)


def names_docx(honours: HonourList) -> bytes:
    """The name list on its own, as the decision attaches it: title, the issuer and date
    of the designation, the designees by division and category."""
    doc = _new_document()
    _title(doc, honours.list_title)
    _line(
        doc,
        f"（{honours.bureau}{honours.designated_on}命名）",
        KAITI,
        BODY_PT,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _blank(doc)
    _division_list(doc, honours.divisions)
    return _saved(doc)


def docx_response(data: bytes, filename: str) -> Response:
    """A .docx download named ``filename`` (UTF-8)."""
    return Response(
        content=data,
        media_type=DOCX,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store",
        },
    )


# --- layout -------------------------------------------------------------------------------


def _new_document() -> DocxDocument:
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    # The page number sits 7 mm below the text area (GB/T 9704 7.5).
    section.footer_distance = Mm(22)
    section.header_distance = Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN
    normal.font.size = Pt(BODY_PT)
    _east_asian(normal.element.get_or_add_rPr(), FANGSONG)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = LINE
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    # Odd pages number on the right, even ones on the left.
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)
    doc.core_properties.language = "zh-CN"
    return doc


def _east_asian(rpr, name: str) -> None:  # type: ignore[no-untyped-def]
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)
    fonts.set(qn("w:hint"), "eastAsia")


def _run(paragraph: Paragraph, text: str, font: str, size: float, color=None):  # type: ignore[no-untyped-def]
    run = paragraph.add_run(text)
    run.font.name = LATIN
    run.font.size = Pt(size)
    _east_asian(run._element.get_or_add_rPr(), font)
    if color is not None:
        run.font.color.rgb = color
    return run


def _line(
    doc: DocxDocument,
    text: str,
    font: str = FANGSONG,
    size: float = BODY_PT,
    *,
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
    first_line: int = 0,
    left: float = 0,
    right: float = 0,
    color: RGBColor | None = None,
) -> Paragraph:
    paragraph = doc.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if first_line:
        fmt.first_line_indent = Pt(size * first_line)
    if left:
        fmt.left_indent = Pt(left)
    if right:
        fmt.right_indent = Pt(right)
    if text:
        _run(paragraph, text, font, size, color)
    return paragraph


def _plain(doc: DocxDocument, text: str, indent: bool = True) -> Paragraph:
    """A body paragraph: 仿宋 三号, justified, two characters in."""
    return _line(doc, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, first_line=2 if indent else 0)


def _blank(doc: DocxDocument) -> Paragraph:
    return _line(doc, "")


def _title(doc: DocxDocument, text: str) -> None:
    paragraph = _line(doc, text, SONG_TITLE, TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.line_spacing = Pt(35)
    _blank(doc)


def _masthead(doc: DocxDocument, issuer: str, number: str) -> None:
    """版头: the issuer in red 小标宋, the document number, a red rule under it."""
    head = _line(doc, issuer, SONG_TITLE, 36, align=WD_ALIGN_PARAGRAPH.CENTER, color=RED)
    head.paragraph_format.line_spacing = Pt(54)
    head.runs[0].font.bold = True
    _blank(doc)
    rule = _line(doc, number, align=WD_ALIGN_PARAGRAPH.CENTER)
    rule.paragraph_format.space_after = Pt(24)
    _border(rule, "bottom", 16, "C00000")


def _signature(doc: DocxDocument, issuer: str, date: str) -> None:
    """落款: room for the seal (印章) over the issuer's name, centred on the date, the
    date four characters from the right (GB/T 9704 7.3.5.1)."""
    for _ in range(3):
        _blank(doc)
    date_right = 4 * BODY_PT
    issuer_right = max(0.0, date_right + (len(date) - len(issuer)) / 2 * BODY_PT)
    _line(doc, issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, right=issuer_right)
    _line(doc, date, align=WD_ALIGN_PARAGRAPH.RIGHT, right=date_right)


def _attachment(doc: DocxDocument, title: str, divisions: list[Division]) -> None:
    """The attached name list on a new page: 附件 in 黑体, its title, the list."""
    _line(doc, "附件", HEITI).paragraph_format.page_break_before = True
    _blank(doc)
    _title(doc, title)
    _division_list(doc, divisions)


def _division_list(doc: DocxDocument, divisions: list[Division]) -> None:
    """The designees by division (黑体 一、安定区), then category (楷体 （一）…), one a line."""
    if not divisions:
        _plain(doc, "（无）")
    for i, division in enumerate(divisions, start=1):
        heading = _line(doc, f"{ordinal(i)}、{division.name}", HEITI, first_line=2)
        heading.paragraph_format.keep_with_next = True
        for j, group in enumerate(division.groups, start=1):
            count = f"{len(group.rows)}{measure(group.category)}"
            sub = _line(
                doc, f"（{ordinal(j)}）{group.category.title}（{count}）", KAITI, first_line=2
            )
            sub.paragraph_format.keep_with_next = True
            for k, row in enumerate(group.rows, start=1):
                item = _line(doc, f"{k}. {listing(row, group.category)}", left=4 * BODY_PT)
                item.paragraph_format.first_line_indent = Pt(-1.5 * BODY_PT)


def _closing_block(doc: DocxDocument, copies_to: str, office: str, date: str) -> None:
    """版记 (GB/T 9704 7.4): 抄送 (when there is anyone to copy) and the printing office
    with the printing date, 四号 仿宋 between rules, at the end of the document."""
    _blank(doc)
    _blank(doc)
    first = None
    if copies_to:
        # The rules span the text width; the words stand one character in from them.
        first = _line(doc, f"抄送：{copies_to}。", size=SMALL_PT, first_line=1)
        _border(first, "top", 8)
        _border(first, "bottom", 4)
    printed = _line(doc, "", size=SMALL_PT, first_line=1)
    printed.paragraph_format.tab_stops.add_tab_stop(
        TEXT_WIDTH - Pt(SMALL_PT), WD_TAB_ALIGNMENT.RIGHT
    )
    _run(printed, f"{office}\t{date}印发", FANGSONG, SMALL_PT)
    if first is None:
        _border(printed, "top", 8)
    _border(printed, "bottom", 8)
    for paragraph in (first, printed):
        if paragraph is not None:
            paragraph.paragraph_format.keep_with_next = paragraph is first
            paragraph.paragraph_format.keep_together = True


def _page_number(paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """ "— 7 —" in 宋体 四号 with a PAGE field, one character in from the edge."""
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = Pt(SMALL_PT)
    else:
        fmt.left_indent = Pt(SMALL_PT)
    _run(paragraph, "— ", SONG, SMALL_PT)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None)):
        run = _run(paragraph, "", SONG, SMALL_PT)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
    _run(paragraph, "1", SONG, SMALL_PT)
    end = _run(paragraph, "", SONG, SMALL_PT)
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), "end")
    end._r.append(char)
    _run(paragraph, " —", SONG, SMALL_PT)


# pPr children that come after w:pBdr in the schema's sequence.
_AFTER_BORDER = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
    "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
    "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
    "w:pPrChange",
)  # fmt: skip


def _border(paragraph: Paragraph, edge: str, eighths: int, color: str = "000000") -> None:
    """A rule on one edge of the paragraph, ``eighths`` of a point thick."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.insert_element_before(borders, *_AFTER_BORDER)
    line = OxmlElement(f"w:{edge}")
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(eighths))
    line.set(qn("w:space"), "1")
    line.set(qn("w:color"), color)
    borders.append(line)


def _saved(doc: DocxDocument) -> bytes:
    doc.core_properties.created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
