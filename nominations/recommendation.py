"""The recommendation form (推荐审批表): one nominee on one A4 sheet, as the county prints
it, seals it and scans it back.

``form_of`` says what the form shows (the printable page and the .docx both lay out
exactly this); ``docx_bytes`` writes the Word version; ``attach_sealed_form`` keeps the
scan the county uploads, one per nomination.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

from docx import Document as new_docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from nominations import fields, services
from nominations.services import Context, NominationError
from nominations.tables import Document, DocumentKind, Nomination
from portal import audit
from portal import campaigns as campaign_svc
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.db import unique_or, write_transaction
from portal.tables import CategoryKind

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FANGSONG = "仿宋"
HEITI = "黑体"
LATIN = "Times New Roman"
BLANK_DATE = "年    月    日"
SEAL = "（盖章）"
# What the form asks of the basic particulars beyond the nomination's own fields.
_LEFT_OUT = frozenset({"summary", "deeds", "honours", "recommender_opinion", "opinion_date"})


@dataclass
class RecommendationForm:
    """What one recommendation form says, in the order it says it."""

    title: str  # “枫桥式”人民调解员推荐审批表
    campaign: str  # the campaign's title, above the form's
    bureau: str  # the recommending bureau (推荐单位)
    organiser: str  # whose 审核意见 the last row awaits
    name: str
    kind: CategoryKind
    particulars: list[tuple[str, str]] = field(default_factory=list)  # 基本情况
    honours: list[str] = field(default_factory=list)
    summary: str = ""
    deeds: list[str] = field(default_factory=list)  # 主要事迹（摘要）, plain paragraphs
    figures: list[tuple[str, str]] = field(default_factory=list)  # 工作数据
    opinion: list[str] = field(default_factory=list)  # 推荐单位意见, by line
    opinion_date: str = ""  # 2026年3月15日, or "" for the blank to write by hand

    @property
    def date_line(self) -> str:
        return self.opinion_date or BLANK_DATE

    @property
    def filename(self) -> str:
        return f"{self.name or '推荐对象'}推荐审批表.docx"


def _shown(spec: fields.Field, value: Any) -> str:
    if value in (None, ""):
        return ""
    if spec.kind == "choice" and spec.choices:
        return spec.choices.get(value, str(value))
    if spec.kind == "date":
        return fields.date_label(value)
    return str(value)


_MARKUP = re.compile(r"^\s*(#{1,6}\s+|[-*+]\s+|>\s*|\d+[.、)]\s*)")


def plain_paragraphs(markdown: str) -> list[str]:
    """The deeds (Markdown) as the paragraphs of a paper form: headings, list items and
    quotes become plain lines; emphasis and link markup are dropped, their text kept."""
    paragraphs = []
    for line in (markdown or "").replace("\r\n", "\n").split("\n"):
        text = _MARKUP.sub("", line)
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](url) → text
        text = text.replace("**", "").replace("__", "").strip()
        if text:
            paragraphs.append(text)
    return paragraphs


async def form_of(ctx: Context) -> RecommendationForm:
    """The recommendation form of a nomination as it stands now."""
    n, kind = ctx.nomination, CategoryKind(ctx.category.kind)
    specs = fields.fields_for(kind)
    organiser = await campaign_svc.organiser_of(ctx.campaign)
    figures: list[tuple[str, str]] = []
    for spec in specs:
        if spec.group != "record":
            continue
        figures.append((spec.label, _shown(spec, getattr(n, spec.key))))
        if spec.key == "disputes_resolved":
            rate = fields.success_rate(n.disputes_mediated, n.disputes_resolved)
            figures.append(("调解成功率", rate or ""))
    return RecommendationForm(
        title=f"{ctx.category.title}推荐审批表",
        campaign=ctx.campaign.title,
        bureau=ctx.bureau.name,
        organiser=organiser.name if organiser else "主办单位",
        name=n.name,
        kind=kind,
        particulars=[
            (spec.label, _shown(spec, getattr(n, spec.key)))
            for spec in specs
            if spec.group in ("basic", "contact") and spec.key not in _LEFT_OUT
        ],
        honours=[line.strip() for line in (n.honours or "").split("\n") if line.strip()],
        summary=n.summary,
        deeds=plain_paragraphs(n.deeds),
        figures=figures,
        opinion=[
            line.strip() for line in (n.recommender_opinion or "").split("\n") if line.strip()
        ],
        opinion_date=fields.date_label(n.opinion_date),
    )


def pairs(items: list[tuple[str, str]], per_row: int = 2) -> list[list[tuple[str, str]]]:
    """Label/value pairs laid out ``per_row`` to a table row (the last row padded)."""
    rows = [items[i : i + per_row] for i in range(0, len(items), per_row)]
    if rows and len(rows[-1]) < per_row:
        rows[-1] = rows[-1] + [("", "")] * (per_row - len(rows[-1]))
    return rows


# --- the Word version ---------------------------------------------------------------------


def _font(run: Any, east_asian: str, size: float, bold: bool = False) -> None:
    """Chinese text needs its font named in ``w:eastAsia``; Word ignores the Latin name
    for it. A machine without 仿宋 or 黑体 substitutes its own Song or Hei face."""
    run.font.name = LATIN
    run.font.size = Pt(size)
    run.font.bold = bold
    r_pr = run._element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)


def _write(
    paragraph: Paragraph,
    text: str,
    *,
    font: str = FANGSONG,
    size: float = 12,
    bold: bool = False,
    align: Any = None,
) -> Paragraph:
    run = paragraph.add_run(text)
    _font(run, font, size, bold)
    if align is not None:
        paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(0)
    return paragraph


def _cell(cell: _Cell, lines: list[str] | str, *, label: bool = False, align: Any = None) -> _Cell:
    texts = [lines] if isinstance(lines, str) else (lines or [""])
    first = cell.paragraphs[0]
    for index, text in enumerate(texts):
        paragraph = first if index == 0 else cell.add_paragraph()
        _write(
            paragraph,
            text,
            font=HEITI if label else FANGSONG,
            size=12,
            align=WD_ALIGN_PARAGRAPH.CENTER if label else align,
        )
    return cell


def _merged(table: Any, row: int, start: int, end: int) -> _Cell:
    return table.cell(row, start).merge(table.cell(row, end))


def _signed(cell: _Cell, body: list[str], date_line: str, min_lines: int = 4) -> None:
    """An opinion box: the text, room for the seal, then 盖章 and the date on the right."""
    _cell(cell, body or [""])
    for _ in range(max(0, min_lines - len(body))):
        _write(cell.add_paragraph(), "")
    _write(cell.add_paragraph(), SEAL, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _write(cell.add_paragraph(), date_line, align=WD_ALIGN_PARAGRAPH.RIGHT)


def docx_bytes(form: RecommendationForm, photo: bytes | None = None) -> bytes:
    """The recommendation form as a Word document: A4, 黑体 title and labels, 仿宋 text,
    one table in the paper form's order, with the seal areas of both bureaus."""
    document = new_docx()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    section.left_margin, section.right_margin = Mm(22), Mm(20)

    _write(document.add_paragraph(), form.campaign, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _write(
        document.add_paragraph(), form.title, font=HEITI, size=18, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    _write(document.add_paragraph(), f"推荐单位（盖章）：{form.bureau}", size=12)

    width = 4  # label, value, label, value
    table = document.add_table(rows=0, cols=width)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER

    def row() -> int:
        table.add_row()
        return len(table.rows) - 1

    def section_row(title: str) -> None:
        index = row()
        _cell(_merged(table, index, 0, width - 1), title, label=True)

    def pair_rows(items: list[tuple[str, str]]) -> None:
        for pair in pairs(items):
            index = row()
            for column, (label, value) in enumerate(pair):
                _cell(table.cell(index, column * 2), label, label=True)
                _cell(table.cell(index, column * 2 + 1), value)

    def long_row(label: str, lines: list[str]) -> None:
        index = row()
        _cell(table.cell(index, 0), label, label=True)
        _cell(_merged(table, index, 1, width - 1), lines or [""])

    section_row("基本情况")
    pair_rows([("名称" if form.kind is not CategoryKind.mediator else "姓名", form.name)])
    pair_rows([item for item in form.particulars if item[0] != fields.FIELDS_BY_KEY["name"].label])
    long_row("曾获荣誉", form.honours or ["无"])
    if photo:
        index = row()
        _cell(table.cell(index, 0), "照片", label=True)
        picture = _merged(table, index, 1, width - 1)
        picture.paragraphs[0].add_run().add_picture(io.BytesIO(photo), width=Mm(30))
    section_row("主要事迹（摘要）")
    index = row()
    _cell(_merged(table, index, 0, width - 1), [form.summary, *form.deeds])
    section_row("工作数据")
    pair_rows(form.figures)
    index = row()
    _cell(table.cell(index, 0), "推荐单位意见", label=True)
    _signed(_merged(table, index, 1, width - 1), form.opinion, form.date_line)
    index = row()
    _cell(table.cell(index, 0), f"审核意见\n（{form.organiser}）", label=True)
    _signed(_merged(table, index, 1, width - 1), [], BLANK_DATE)

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- the sealed scan ----------------------------------------------------------------------

ONE_SEALED_FORM = "该推荐对象的盖章推荐审批表正在由他人上传，请刷新页面后查看。"


async def sealed_form_of(nomination_id: int) -> Document | None:
    """The nomination's sealed recommendation form, if the county has uploaded it."""
    found = await services.documents_of(nomination_id, kind=DocumentKind.sealed_form)
    return found[0] if found else None


async def sealed_ids(campaign_id: int) -> set[int]:
    """The campaign's nominations with a sealed recommendation form attached."""
    rows = (
        await Document.select(Document.nomination)
        .where(
            (Document.kind == DocumentKind.sealed_form.value)
            & (Document.nomination.campaign == campaign_id)
        )
        .run()
    )
    return {r["nomination"] for r in rows}


async def attach_sealed_form(
    actor: Actor, user: StaffUser, ctx: Context, stored_name: str, filename: str, size: int
) -> str | None:
    """Keep the checked PDF as the nomination's sealed recommendation form, replacing an
    earlier one; returns the stored name of the replaced file for the caller to delete.
    Whoever may edit the nomination may upload it (the county before submitting, the
    city while vetting)."""
    if not services.may_edit(user, ctx):
        raise NominationError("当前状态下不能上传盖章推荐审批表。")
    nomination: Nomination = ctx.nomination
    with unique_or(NominationError(ONE_SEALED_FORM)):
        async with write_transaction():
            earlier = await sealed_form_of(nomination.id)
            if earlier is not None:
                await Document.delete().where(Document.id == earlier.id).run()
            await Document.insert(
                Document(
                    nomination=nomination.id,
                    kind=DocumentKind.sealed_form.value,
                    stored_name=stored_name,
                    filename=filename[:200],
                    size=size,
                )
            ).run()
            await audit.record(
                actor,
                "nomination.sealed_form",
                nomination,
                before={"sealed_form": earlier.filename} if earlier else None,
                after={"sealed_form": filename},
            )
    return earlier.stored_name if earlier else None
