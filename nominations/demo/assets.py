"""The demo nominations' files: an 800×600 photo (PIL) and a one-page approval form
(a hand-built PDF), stored through ``portal.media`` like a clerk's media.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from nominations.demo.builder import success_rate
from nominations.demo.corpus import CITY, MEDIATOR
from nominations.demo.plans import Plan
from portal import media

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
PHOTO_SIZE = (800, 600)
PALETTE = (
    (166, 38, 38),
    (180, 70, 40),
    (31, 78, 121),
    (26, 110, 110),
    (46, 104, 62),
    (94, 60, 130),
    (120, 84, 40),
    (60, 72, 88),
)


# --- files ----------------------------------------------------------------------------


@functools.cache
def _font_path() -> str | None:
    for path in FONT_PATHS:
        if Path(path).is_file():
            return path
    return None


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | None:
    path = _font_path()
    if path is None:
        return None
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return None


def photo_png(caption: str, subtitle: str, colour: tuple[int, int, int]) -> bytes:
    """An 800×600 picture: the caption large in white, or a plain emblem without a CJK font.

    Drawn in shades (0 = the colour, 255 = white) and stored as a palette PNG: a third
    of the bytes of an RGB one, so encoding and decoding it stays cheap.
    """
    width, height = PHOTO_SIZE
    image = Image.new("L", PHOTO_SIZE, 0)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width - 330, -150, width + 150, 330), fill=28)
    draw.ellipse((-160, height - 250, 220, height + 130), fill=28)
    big = _font(220 if len(caption) > 1 else 260)
    small = _font(max(24, min(40, (width - 80) // max(1, len(subtitle)))))
    if big is not None and small is not None:
        draw.text((width / 2, height / 2 - 40), caption, font=big, fill=255, anchor="mm")
        draw.text((width / 2, height - 90), subtitle, font=small, fill=255, anchor="mm")
    else:
        cx, cy, r = width / 2, height / 2, 170
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=255, width=14)
        draw.polygon([(cx, cy - 100), (cx + 100, cy), (cx, cy + 100), (cx - 100, cy)], fill=255)
    picture = Image.frombytes("P", PHOTO_SIZE, image.tobytes())
    picture.putpalette([round(c + (255 - c) * i / 255) for i in range(256) for c in colour])
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def _pdf_text(text: str) -> str:
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def document_pdf(lines: list[str]) -> bytes:
    """A one-page A4 PDF with the lines in the standard Chinese font STSong-Light.

    No font is embedded: readers substitute their own Song typeface (UniGB-UCS2-H).
    """
    text = ["BT", "/F1 18 Tf", "24 TL", "72 760 Td", f"{_pdf_text(lines[0])} Tj", "/F1 12 Tf"]
    text += ["T*", *(f"T* {_pdf_text(line)} Tj" for line in lines[1:]), "ET"]
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 7 0 R >>",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light "
        b"/Encoding /UniGB-UCS2-H /DescendantFonts [5 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> "
        b"/FontDescriptor 6 0 R /DW 1000 /W [1 95 500] >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def document_lines(
    plan: Plan, category_title: str, year: int, scope: str = CITY, nominators: str = "县区"
) -> list[str]:
    """The text of a nomination's approval form (推荐审批表), drawn into its demo PDF:
    ``scope`` is the organiser's area, ``nominators`` what its nominating bureaus are."""
    values = plan.values
    lines = [
        f"{year}年度{scope}“枫桥式”评选推荐审批表",
        f"推荐类别：{category_title}",
        f"推荐对象：{values['name']}",
        f"推荐单位：{plan.county}司法局",
        f"所在乡镇（街道）：{values['township']}",
    ]
    if plan.key == MEDIATOR:
        lines.append(f"所在调解组织：{values['committee']}（{values['position']}）")
    lines += [
        f"排查调处矛盾纠纷 {values['disputes_mediated']} 件，"
        f"调解成功 {values['disputes_resolved']} 件，成功率 {success_rate(values)}",
        f"司法确认 {values['judicial_confirmations']} 件，随手调 {values['on_the_spot']} 件",
        f"{nominators}司法局意见：经研究，同意推荐。",
        "（演示数据，由系统自动生成）",
    ]
    return lines


def store_files(
    plan: Plan, directory: Path, colour: tuple[int, int, int], lines: list[str]
) -> dict[str, Any]:
    """Write a plan's photo and document (blocking: run it in a worker thread)."""
    stored: dict[str, Any] = {}
    try:
        if plan.photo:
            png = photo_png(plan.caption, plan.values["name"], colour)
            stored["photo"], stored["thumbnail"] = media.save_photo(png, directory)
        if plan.document:
            data = document_pdf(lines)
            stored["document"] = (media.save_pdf(data, directory), len(data))
    except BaseException:
        _remove_files(directory, stored)
        raise
    return stored


def _remove_files(directory: Path, stored: dict[str, Any]) -> None:
    names = [stored.get("photo", ""), stored.get("thumbnail", "")]
    if "document" in stored:
        names.append(stored["document"][0])
    media.remove(directory, *names)


def remove_files(directory: Path, plans: list[Plan]) -> None:
    """Delete the photos and PDFs stored for ``plans`` (after a failed insert)."""
    for plan in plans:
        _remove_files(directory, plan.stored)
