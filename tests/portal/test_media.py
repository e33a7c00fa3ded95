"""Checked storage of nomination photos and PDFs: every file here is made by the test."""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms
from pypdf import PdfWriter

from portal import media, pdfscan
from portal.media import UploadRejected

ACCEPTS_PHOTOS = "只接受 JPEG、PNG 或 WebP 格式的照片，且不超过 5 MB。"
ACCEPTS_PDFS = "只接受 PDF 格式的文件，且不超过 10 MB。"


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return media.upload_dir(tmp_path / "var")


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480), mode: str = "RGB", **save) -> bytes:
    """A picture with some structure (a gradient), so encoders produce real scan data."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def two_colour_jpeg(orientation: int) -> bytes:
    """200×100: red left half, blue right half, with an EXIF orientation tag."""
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    image.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width``×``height``, every chunk CRC valid."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def minimal_pdf(padding: int = 0) -> bytes:
    """A small but well-formed one-page PDF (correct xref offsets); ``padding`` bytes of
    comment lines make it as large as a test needs."""
    return one_page_pdf(padding=padding)


def one_page_pdf(
    catalog: bytes = b"",
    page: bytes = b"",
    more: tuple[bytes, ...] = (),
    *,
    trailer: bytes = b"",
    padding: int = 0,
) -> bytes:
    """A one-page PDF with a classic cross-reference table: ``catalog`` and ``page`` are
    added to the catalog (object 1) and page (object 3) dictionaries, ``more`` are the
    objects 4, 5, … and ``trailer`` goes into the trailer dictionary."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R%s >>" % catalog,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]%s >>" % page,
        *more,
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    while padding > 0:
        line = b"%" + b"x" * min(padding, 4094) + b"\n"
        out += line
        padding -= len(line)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def object_stream_pdf(extra: bytes) -> bytes:
    """A one-page PDF 1.7 whose objects, ``extra`` (object 4, referenced by nothing) among
    them, sit in a compressed object stream listed by a cross-reference stream."""
    inside = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        extra,
    ]
    body = b""
    index = []
    for number, obj in enumerate(inside, start=1):
        index.append(b"%d %d" % (number, len(body)))
        body += obj + b"\n"
    head = b" ".join(index) + b"\n"
    packed = zlib.compress(head + body)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    stream_at = len(out)
    out += b"5 0 obj\n<< /Type /ObjStm /N 4 /First %d /Filter /FlateDecode /Length %d >>\n" % (
        len(head),
        len(packed),
    )
    out += b"stream\n" + packed + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = [(0, 0, 65535), *((2, 5, i) for i in range(4)), (1, stream_at, 0), (1, xref_at, 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\n" % len(table)
    out += b"stream\n" + table + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"


def javascript_pdf() -> bytes:
    """Runs a script when opened."""
    return one_page_pdf(b" /OpenAction " + JS)


def encrypted_pdf() -> bytes:
    """Encrypted by pypdf (RC4), with an owner password and an empty user password."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password="", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def open_stored(directory: Path, name: str) -> Image.Image:
    image = Image.open(media.stored_path(directory, name))
    image.load()
    return image


def assert_no_metadata(image: Image.Image) -> None:
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert len(image.getexif()) == 0
    for key in ("exif", "icc_profile", "xmp", "comment"):
        assert key not in image.info, key


# -- the folder -------------------------------------------------------------------------


def test_upload_dir_is_created_owner_only(tmp_path: Path) -> None:
    path = media.upload_dir(tmp_path / "var")
    assert path == tmp_path / "var" / "uploads"
    assert path.is_dir()
    assert path.stat().st_mode & 0o777 == 0o700
    assert media.upload_dir(tmp_path / "var") == path  # again: no error


# -- photos accepted ------------------------------------------------------------------


def test_jpeg_loses_exif_gps_and_icc_and_gets_a_thumbnail(directory: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (35.0, 34.0, 51.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (104.0, 37.0, 12.0)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = image_bytes("JPEG", (800, 600), exif=exif, icc_profile=srgb, comment=b"taken at home")
    # The test file really carries what must be stripped.
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "icc_profile" in source.info and "comment" in source.info

    photo_name, thumb_name = media.save_photo(data, directory)

    assert re.fullmatch(r"photo-[0-9a-f]{32}\.jpg", photo_name)
    assert thumb_name == photo_name.removesuffix(".jpg") + "-thumb.jpg"
    assert listing(directory) == sorted([photo_name, thumb_name])  # no temporary left
    photo = open_stored(directory, photo_name)
    assert_no_metadata(photo)
    assert photo.size == (800, 600)
    assert b"PhoneCo" not in media.stored_path(directory, photo_name).read_bytes()
    thumb = open_stored(directory, thumb_name)
    assert_no_metadata(thumb)
    assert thumb.size == (480, 360)
    for name in (photo_name, thumb_name):
        mode = media.stored_path(directory, name).stat().st_mode & 0o777
        assert mode in {0o600, 0o640}
        assert media.media_type(name) == "image/jpeg"


@pytest.mark.parametrize(
    ("fmt", "mode"), [("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("WEBP", "RGB")]
)
def test_png_and_webp_are_accepted_and_stored_as_jpeg(directory: Path, fmt: str, mode: str) -> None:
    photo_name, thumb_name = media.save_photo(image_bytes(fmt, (600, 800), mode), directory)
    photo = open_stored(directory, photo_name)
    assert_no_metadata(photo)
    assert photo.size == (600, 800)
    assert open_stored(directory, thumb_name).size == (360, 480)


def test_large_photo_is_downscaled_to_1600_on_the_long_side(directory: Path) -> None:
    photo_name, thumb_name = media.save_photo(image_bytes("JPEG", (3200, 1800)), directory)
    assert open_stored(directory, photo_name).size == (1600, 900)
    assert open_stored(directory, thumb_name).size == (480, 270)


def test_exif_orientation_is_applied(directory: Path) -> None:
    # Orientation 6: the stored pixels must be turned 90° clockwise to be upright, so
    # the red left half ends up on top.
    photo_name, _ = media.save_photo(two_colour_jpeg(6), directory)
    photo = open_stored(directory, photo_name)
    assert photo.size == (100, 200)
    top, bottom = photo.getpixel((50, 40)), photo.getpixel((50, 160))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


# -- photos refused, nothing written --------------------------------------------------


def refuse_photo(data: bytes, directory: Path) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        media.save_photo(data, directory)
    assert listing(directory) == []
    assert caught.value.message == str(caught.value)
    assert caught.value.message.endswith(ACCEPTS_PHOTOS)
    return caught.value


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"#!/bin/sh\nrm -rf /\n", id="script-named-jpg"),
        pytest.param(
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
            id="svg",
        ),
        pytest.param(image_bytes("GIF", (64, 64), "P"), id="gif"),
        pytest.param(image_bytes("BMP", (64, 64)), id="bmp"),
        pytest.param(image_bytes("TIFF", (64, 64)), id="tiff"),
        pytest.param(minimal_pdf(), id="pdf"),
    ],
)
def test_what_is_not_a_jpeg_png_or_webp_is_refused(directory: Path, data: bytes) -> None:
    assert refuse_photo(data, directory).reason == "format"


def test_empty_photo_is_refused(directory: Path) -> None:
    assert refuse_photo(b"", directory).reason == "empty"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_photo_is_refused(directory: Path, fmt: str) -> None:
    data = image_bytes(fmt, (400, 300))
    assert refuse_photo(data[: len(data) // 2], directory).reason == "damaged"


def test_png_header_claiming_400_megapixels_is_refused_before_decoding(
    directory: Path,
) -> None:
    data = png_header_only(20000, 20000)
    assert len(data) < 200
    assert Image.open(io.BytesIO(png_header_only(200, 200))).size == (200, 200)  # CRCs ok
    rejected = refuse_photo(data, directory)
    assert rejected.reason == "pixels"
    assert "2500 万像素" in rejected.message


@pytest.mark.parametrize("size", [(6000, 4500), (8000, 5000)], ids=["27MP", "40MP"])
def test_over_the_pixel_bound_is_refused_before_decoding(
    directory: Path, size: tuple[int, int]
) -> None:
    # Past our bound but below twice Pillow's limit, so Pillow only warns on opening and
    # our own check must refuse it. The file holds 64 bytes of pixel data: decoding it
    # would have failed as "damaged", so "pixels" means nothing was decoded.
    with pytest.warns(Image.DecompressionBombWarning):
        rejected = refuse_photo(png_header_only(*size), directory)
    assert rejected.reason == "pixels"
    assert "2500 万像素" in rejected.message


def test_pixel_bound_holds_where_warnings_are_errors(directory: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert refuse_photo(png_header_only(6000, 4500), directory).reason == "pixels"


def test_a_24_megapixel_phone_photo_is_within_the_bound(directory: Path) -> None:
    photo_name, _ = media.save_photo(image_bytes("JPEG", (5712, 4284), quality=50), directory)
    assert open_stored(directory, photo_name).size == (1600, 1200)


def test_photo_over_5_mb_is_refused_before_decoding(directory: Path) -> None:
    noise = Image.frombytes("RGB", (1500, 1500), os.urandom(1500 * 1500 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert len(data) > 6 * 1024 * 1024
    rejected = refuse_photo(data, directory)
    assert rejected.reason == "too_large"
    assert "5 MB" in rejected.message


def test_image_with_script_appended_is_stored_without_it(directory: Path) -> None:
    data = image_bytes("JPEG", (320, 240)) + b"<script>alert(1)</script>"
    photo_name, _ = media.save_photo(data, directory)
    assert b"<script>" not in media.stored_path(directory, photo_name).read_bytes()


# -- PDFs -----------------------------------------------------------------------------


def test_minimal_pdf_is_stored_unchanged(directory: Path) -> None:
    data = minimal_pdf()
    name = media.save_pdf(data, directory)
    assert re.fullmatch(r"doc-[0-9a-f]{32}\.pdf", name)
    assert listing(directory) == [name]
    path = media.stored_path(directory, name)
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 in {0o600, 0o640}
    assert media.media_type(name) == "application/pdf"


def test_pdf_2_0_is_accepted(directory: Path) -> None:
    assert media.save_pdf(minimal_pdf().replace(b"%PDF-1.7", b"%PDF-2.0", 1), directory)


def refuse_pdf(data: bytes, directory: Path) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        media.save_pdf(data, directory)
    assert listing(directory) == []
    assert caught.value.message.endswith(ACCEPTS_PDFS)
    return caught.value


def zip_named_pdf() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.pdf", minimal_pdf())
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(zip_named_pdf(), id="zip"),
        pytest.param(b"<!doctype html><html><body><script>alert(1)</script>", id="html"),
        pytest.param(b"<html>" + minimal_pdf(), id="html-before-pdf-header"),
        pytest.param(image_bytes("JPEG", (64, 64)), id="jpeg"),
        pytest.param(minimal_pdf().replace(b"%PDF-1.7", b"%PDF-9.1", 1), id="bad-version"),
    ],
)
def test_what_is_not_a_pdf_is_refused(directory: Path, data: bytes) -> None:
    assert refuse_pdf(data, directory).reason == "format"


def test_pdf_cut_short_is_refused(directory: Path) -> None:
    data = minimal_pdf()
    assert refuse_pdf(data[: len(data) - 30], directory).reason == "damaged"


def test_empty_pdf_is_refused(directory: Path) -> None:
    assert refuse_pdf(b"", directory).reason == "empty"


def test_pdf_over_10_mb_is_refused(directory: Path) -> None:
    data = minimal_pdf(padding=11 * 1024 * 1024)
    assert len(data) > 11 * 1024 * 1024
    rejected = refuse_pdf(data, directory)
    assert rejected.reason == "too_large"
    assert "10 MB" in rejected.message


# -- what a PDF may carry -------------------------------------------------------------

LINK = b"<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A %s >>"
LINK_ON_PAGE = {"page": b" /Annots [4 0 R]"}


def link_to(uri: bytes) -> dict:
    return {**LINK_ON_PAGE, "more": (LINK % b"<< /S /URI /URI (%s) >>" % uri,)}


ACTIVE_PDFS = [
    pytest.param({"catalog": b" /OpenAction " + JS}, id="open-action-javascript"),
    pytest.param(
        {"catalog": b" /Names << /JavaScript 4 0 R >>", "more": (b"<< /Names [(a) 5 0 R] >>", JS)},
        id="document-javascript",
    ),
    pytest.param({"page": b" /AA << /O %s >>" % JS}, id="page-open-javascript"),
    pytest.param({"more": (JS,)}, id="javascript-in-an-unreferenced-object"),
    pytest.param(
        {
            "catalog": b" /Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>",
            "more": (
                b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
                b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream",
            ),
        },
        id="embedded-file",
    ),
    pytest.param(
        {**LINK_ON_PAGE, "more": (LINK % b"<< /S /Launch /F (cmd.exe) >>",)},
        id="launch-in-a-link",
    ),
    pytest.param(
        {**LINK_ON_PAGE, "more": (LINK % b"<< /S /L#61unch /F (cmd.exe) >>",)},
        id="launch-spelt-with-a-hex-escape",
    ),
    pytest.param(
        {**LINK_ON_PAGE, "more": (LINK % b"<< /S /SubmitForm /F (https://x.example/) >>",)},
        id="submit-form",
    ),
    pytest.param(
        {
            "catalog": b" /AcroForm << /Fields [] /XFA 4 0 R >>",
            "more": (b"<< /Length 7 >>\nstream\n<xdp/>\nendstream",),
        },
        id="xfa-form",
    ),
    pytest.param(link_to(b"javascript:app.alert\\(1\\)"), id="javascript-link"),
    pytest.param(link_to(b"\\\\\\\\attacker.example\\\\share"), id="windows-share-link"),
    pytest.param(link_to(b"file:///C:/Windows/System32/calc.exe"), id="file-link"),
]


@pytest.mark.parametrize("parts", ACTIVE_PDFS)
def test_pdf_that_runs_or_opens_something_is_refused(directory: Path, parts: dict) -> None:
    rejected = refuse_pdf(one_page_pdf(**parts), directory)
    assert rejected.reason == "active"
    assert rejected.message.startswith("PDF 文件含有脚本、嵌入文件或其他可执行内容")


def test_javascript_inside_a_compressed_object_stream_is_refused(directory: Path) -> None:
    data = object_stream_pdf(JS)
    assert b"JavaScript" not in data  # only found by reading the stream
    assert refuse_pdf(data, directory).reason == "active"
    assert media.save_pdf(object_stream_pdf(b"<< /Producer (scanner) >>"), directory)


def test_pdf_with_web_and_mail_links_opening_at_its_page_is_accepted(directory: Path) -> None:
    data = one_page_pdf(
        b" /OpenAction [3 0 R /Fit] /URI << /Base (https://www.example.com/) >>",
        b" /Annots [4 0 R 5 0 R]",
        (
            LINK % b"<< /S /URI /URI (https://www.example.com/a?b=1) >>",
            LINK % b"<< /S /URI /URI (mailto:office@example.com) >>",
        ),
    )
    name = media.save_pdf(data, directory)
    assert media.stored_path(directory, name).read_bytes() == data


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encrypted_pdf(), id="rc4-by-pypdf"),
        pytest.param(
            one_page_pdf(
                more=(
                    b"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -4 "
                    b"/CF << /StdCF << /CFM /AESV3 /AuthEvent /DocOpen /Length 32 >> >> "
                    b"/StmF /StdCF /StrF /StdCF /O <%s> /U <%s> /OE <%s> /UE <%s> /Perms <%s> >>"
                    % (b"00" * 48, b"00" * 48, b"00" * 32, b"00" * 32, b"00" * 16),
                ),
                trailer=b" /Encrypt 4 0 R /ID [<%s> <%s>]" % (b"ab" * 16, b"ab" * 16),
            ),
            id="aes-256",
        ),
    ],
)
def test_encrypted_pdf_is_refused(directory: Path, data: bytes) -> None:
    rejected = refuse_pdf(data, directory)
    assert rejected.reason == "encrypted"
    assert "已加密" in rejected.message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            minimal_pdf().replace(b"1 0 obj", b"%moved\n1 0 obj", 1), id="xref-offsets-wrong"
        ),
        pytest.param(
            minimal_pdf().replace(b"/Type /Catalog", b"/Type /Catalog /Type /Pages", 1),
            id="key-given-twice",
        ),
    ],
)
def test_pdf_that_needs_repairs_is_refused(directory: Path, data: bytes) -> None:
    rejected = refuse_pdf(data, directory)
    assert rejected.reason == "damaged"
    assert "已损坏或格式不规范" in rejected.message


def test_pdf_that_costs_too_much_to_read_is_refused(directory: Path, monkeypatch) -> None:
    # One 8 MB array of arrays: pypdf needs ~10 s of CPU to read it.
    row = b"[" + b" ".join([b"1"] * 4000) + b"]"
    data = one_page_pdf(b" /Extra [%s]" % b" ".join([row] * 1000))
    monkeypatch.setattr(media, "PDF_CHECK_CPU_SECONDS", 1)
    rejected = refuse_pdf(data, directory)
    assert rejected.reason == "complex"
    assert "结构过于复杂" in rejected.message
    # The checking process was ended; the next PDF gets a new one.
    assert media.save_pdf(minimal_pdf(), directory)


def test_a_checking_process_that_died_is_replaced(directory: Path) -> None:
    media.save_pdf(minimal_pdf(), directory)
    child = pdfscan._child
    assert child is not None
    child.kill()
    child.wait()
    assert media.save_pdf(minimal_pdf(), directory)
    assert pdfscan._child is not None and pdfscan._child.pid != child.pid


def test_a_checking_process_that_fails_by_itself_is_an_error(directory: Path, monkeypatch) -> None:
    # Without a verdict and not ended by a limit (here: not Python at all), every PDF
    # would be refused: say so loudly instead.
    monkeypatch.setattr(pdfscan, "_child", None)
    monkeypatch.setattr(pdfscan, "_COMMAND", ["/bin/false"])
    with pytest.raises(RuntimeError, match="exit status 1"):
        media.save_pdf(minimal_pdf(), directory)
    assert listing(directory) == []


# -- reading back and removing --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "/etc/passwd",
        "secret_key",
        "",
        "photo-" + "0" * 32 + ".jpg",  # the right shape, but not there
        "photo-" + "0" * 32 + ".jpg\n",
        "photo-" + "A" * 32 + ".jpg",
        "../uploads/doc-" + "0" * 32 + ".pdf",
    ],
)
def test_stored_path_refuses_unknown_names(directory: Path, name: str) -> None:
    (directory.parent / "secret_key").write_text("x")
    with pytest.raises(FileNotFoundError):
        media.stored_path(directory, name)


def test_stored_path_does_not_serve_temporary_files(directory: Path) -> None:
    (directory / ".upload-abc.tmp").write_bytes(b"x")
    with pytest.raises(FileNotFoundError):
        media.stored_path(directory, ".upload-abc.tmp")


def test_media_type_of_other_names() -> None:
    assert media.media_type("x.png") == "image/png"
    assert media.media_type("x.webp") == "image/webp"
    assert media.media_type("x.exe") == "application/octet-stream"


def test_remove_is_best_effort_and_only_touches_stored_names(directory: Path) -> None:
    photo_name, thumb_name = media.save_photo(image_bytes("PNG", (64, 64)), directory)
    pdf_name = media.save_pdf(minimal_pdf(), directory)
    keep = directory.parent / "secret_key"
    keep.write_text("x")
    media.remove(directory, photo_name, thumb_name, "", "../secret_key", pdf_name, pdf_name)
    assert listing(directory) == []
    assert keep.exists()


def test_a_small_thumbnail_is_drawn_once_and_removed_with_its_thumbnail(
    directory: Path,
) -> None:
    photo_name, thumb_name = media.save_photo(image_bytes("JPEG", (800, 600)), directory)
    small = media.small_thumbnail(directory, thumb_name)
    assert small == photo_name.removesuffix(".jpg") + "-small.jpg"
    assert open_stored(directory, small).size == (208, 156)
    assert_no_metadata(open_stored(directory, small))
    drawn = media.stored_path(directory, small).stat().st_mtime_ns
    assert media.small_thumbnail(directory, thumb_name) == small  # kept, not drawn again
    assert media.stored_path(directory, small).stat().st_mtime_ns == drawn
    with pytest.raises(FileNotFoundError):
        media.small_thumbnail(directory, photo_name)  # only from a thumbnail
    media.remove(directory, photo_name, thumb_name)
    assert listing(directory) == []


def test_transparent_png_is_flattened_on_white(directory: Path) -> None:
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (255, 0, 0, 0)).save(out, "PNG")
    photo_name, _ = media.save_photo(out.getvalue(), directory)
    assert min(open_stored(directory, photo_name).getpixel((32, 32))) > 245


def test_16_bit_greyscale_png_keeps_its_tones(directory: Path) -> None:
    out = io.BytesIO()
    Image.new("I;16", (64, 64), 32768).save(out, "PNG")
    photo_name, _ = media.save_photo(out.getvalue(), directory)
    red, green, blue = open_stored(directory, photo_name).getpixel((32, 32))
    assert 120 < red < 136 and red == green == blue
