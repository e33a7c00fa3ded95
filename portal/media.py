"""Checked storage of nomination files: photos (re-encoded) and supporting PDFs.

Every file is recognised by its content, never by its name or declared type, and is
refused with ``UploadRejected`` (a Chinese sentence saying what is accepted) unless it
passes. Photos are decoded by Pillow and re-encoded as plain JPEG, so nothing the
uploader put in the file — EXIF with GPS, comments, ICC or XMP data, a script appended
after the image — is ever served. PDFs are kept byte for byte after a header and
trailer check and a content check by pypdf in a bounded child process
(``portal.pdfscan``: no scripts, launch actions, embedded files or encryption);
serve them with ``Content-Disposition: attachment`` and ``nosniff``.

Stored names are random and follow one pattern (``photo-<hex>.jpg``,
``photo-<hex>-thumb.jpg``, ``doc-<hex>.pdf``); ``stored_path`` serves nothing else, so
a name taken from a URL cannot walk out of the upload folder.

The functions block (decoding a photo takes tens of milliseconds, so may checking a PDF,
which waits for the checking process): call them from a worker thread.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from portal import pdfscan
from portal.errors import Invalid

logger = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PDF_BYTES = 10 * 1024 * 1024
# Decoding costs about 4 bytes and tens of nanoseconds of CPU per pixel (a 40-megapixel
# PNG took ~4 s on the server): 25 megapixels still takes a 24 MP camera or phone picture
# (6000×4000, 5712×4284). Checked from the header, before any pixel is decoded.
MAX_PHOTO_PIXELS = 25_000_000
PHOTO_PIXELS_TEXT = f"{MAX_PHOTO_PIXELS // 10_000} 万像素"
PHOTO_LONG_SIDE = 1600
THUMBNAIL_BOX = (480, 480)
# Lists show thumbnails small (the honour list's and the vote page's tiles, about 100 px
# wide): a copy fitting this box serves them at twice that, for sharp phone screens.
SMALL_THUMBNAIL_BOX = (208, 208)
JPEG_QUALITY = 85

# Pillow's own guard runs inside Image.open: warn above this many pixels, raise above
# twice as many. Lowering it to our bound (never raising it) makes the library refuse
# the worst bombs before our check even sees them.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PHOTO_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS

# MPO is how Pillow names the multi-picture JPEGs some cameras and phones write.
_PHOTO_FORMATS = ("JPEG", "PNG", "WEBP")
_DECODED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})

_NAME_RE = re.compile(r"(?:photo-[0-9a-f]{32}(?:-thumb|-small)?\.jpg|doc-[0-9a-f]{32}\.pdf)")
_THUMB_SUFFIX, _SMALL_SUFFIX = "-thumb.jpg", "-small.jpg"
# Strict: the header at byte 0, as every PDF writer puts it. Readers tolerate up to
# 1 KB of leading junk, but a prefix is exactly how HTML/ZIP polyglots get through.
_PDF_HEADER_RE = re.compile(rb"%PDF-[12]\.[0-9]\s")
# Every PDF ends with "startxref <offset> %%EOF"; readers look in the last 1 KB.
_PDF_TRAILER_RE = re.compile(rb"startxref\s+[0-9]+\s+%%EOF")
_PDF_TAIL_BYTES = 1024
# The process that reads a PDF with pypdf: CPU seconds it may spend on one (ordinary
# documents take milliseconds, one of 50,000 objects about 1.5 s), and how long to wait
# for it on a busy machine.
PDF_CHECK_CPU_SECONDS = 3
PDF_CHECK_WAIT_SECONDS = 30
_PDF_REFUSALS = {
    pdfscan.ACTIVE: "PDF 文件含有脚本、嵌入文件或其他可执行内容，出于安全原因不予接收，"
    "请另存为普通 PDF（如用“打印为 PDF”）后再上传。",
    pdfscan.ENCRYPTED: "PDF 文件已加密，请去除密码保护后再上传。",
    pdfscan.DAMAGED: "PDF 文件已损坏或格式不规范，无法读取，请重新导出后再上传。",
    pdfscan.COMPLEX: "PDF 文件结构过于复杂，无法完成安全检查，请另存为普通 PDF 后再上传。",
}

_MEDIA_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}

_PHOTO_ACCEPTED = "只接受 JPEG、PNG 或 WebP 格式的照片，且不超过 5 MB。"
_PDF_ACCEPTED = "只接受 PDF 格式的文件，且不超过 10 MB。"


class UploadRejected(Invalid):
    """A file was refused; ``message`` tells the uploader (in Chinese) what is accepted.

    ``reason`` is a short code for logs and tests: ``empty``, ``too_large``, ``format``,
    ``pixels`` or ``damaged``; for PDFs also ``active`` (scripts, embedded files),
    ``encrypted`` or ``complex`` (too costly to check).
    """

    def __init__(self, message: str, reason: str = "format") -> None:
        super().__init__(message)
        self.reason = reason


def _refuse_photo(reason: str, detail: str = "") -> UploadRejected:
    return UploadRejected(f"{detail}{_PHOTO_ACCEPTED}", reason)


def _refuse_pdf(reason: str, detail: str = "") -> UploadRejected:
    return UploadRejected(f"{detail}{_PDF_ACCEPTED}", reason)


def upload_dir(var_dir: Path) -> Path:
    """The upload folder under ``var_dir``, created owner-only (0700) if missing."""
    path = Path(var_dir) / "uploads"
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return path
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    return path


def save_photo(data: bytes, directory: Path) -> tuple[str, str]:
    """Check and store a photo; return ``(photo_name, thumbnail_name)``.

    The photo is re-encoded as a JPEG of at most 1600 px on the long side, upright
    (EXIF orientation applied) and without any metadata; the thumbnail fits in
    480×480 and keeps the whole picture (crop it in CSS with ``object-fit: cover``).
    Raises ``UploadRejected`` for anything but a whole JPEG, PNG or WebP of at most
    5 MB and 25 megapixels; nothing is written then.
    """
    image = _decode_photo(data)
    try:
        photo = _jpeg_bytes(_clean_rgb(image, (PHOTO_LONG_SIDE, PHOTO_LONG_SIDE)))
        thumbnail = _jpeg_bytes(_clean_rgb(image, THUMBNAIL_BOX))
    except Exception:
        # Decoded but not convertible (an exotic mode or palette): not a usable photo.
        logger.info("photo decoded but could not be re-encoded", exc_info=True)
        raise _refuse_photo("damaged", "照片无法处理。") from None
    token = secrets.token_hex(16)
    photo_name = f"photo-{token}.jpg"
    thumbnail_name = f"photo-{token}-thumb.jpg"
    _write_atomically(Path(directory), photo_name, photo)
    try:
        _write_atomically(Path(directory), thumbnail_name, thumbnail)
    except BaseException:
        remove(directory, photo_name)
        raise
    return photo_name, thumbnail_name


def save_pdf(data: bytes, directory: Path) -> str:
    """Check and store a PDF unchanged; return its stored name.

    Accepted: at most 10 MB, starting with a ``%PDF-1.x`` or ``%PDF-2.x`` header at
    byte 0, ending with the ``startxref … %%EOF`` trailer within its last 1 KB, and
    passing ``portal.pdfscan``: readable by pypdf without repair, not encrypted,
    and without scripts, launch actions or embedded files. Raises ``UploadRejected``
    otherwise (a ZIP, an HTML page, a cut-off download, a PDF that runs JavaScript).
    """
    if not data:
        raise _refuse_pdf("empty", "文件是空的。")
    if len(data) > MAX_PDF_BYTES:
        raise _refuse_pdf("too_large", "文件超过 10 MB。")
    if not _PDF_HEADER_RE.match(data):
        raise _refuse_pdf("format", "该文件不是 PDF。")
    if not _PDF_TRAILER_RE.search(data[-_PDF_TAIL_BYTES:]):
        raise _refuse_pdf("damaged", "PDF 文件不完整或已损坏。")
    verdict = pdfscan.check(
        data, cpu_seconds=PDF_CHECK_CPU_SECONDS, wait_seconds=PDF_CHECK_WAIT_SECONDS
    )
    if verdict != pdfscan.OK:
        raise _refuse_pdf(verdict, _PDF_REFUSALS[verdict])
    name = f"doc-{secrets.token_hex(16)}.pdf"
    _write_atomically(Path(directory), name, data)
    return name


def small_thumbnail(directory: Path, thumbnail_name: str) -> str:
    """The stored name of a smaller copy of thumbnail ``thumbnail_name`` (fitting
    ``SMALL_THUMBNAIL_BOX``), drawn from it on first use and kept beside it
    (``photo-<hex>-small.jpg``; ``remove`` deletes it with its thumbnail).
    ``FileNotFoundError`` when there is no such thumbnail. Blocks: call from a thread."""
    source = stored_path(directory, thumbnail_name)
    if not thumbnail_name.endswith(_THUMB_SUFFIX):
        raise FileNotFoundError(errno.ENOENT, "没有这个文件", thumbnail_name)
    name = thumbnail_name.removesuffix(_THUMB_SUFFIX) + _SMALL_SUFFIX
    if not (Path(directory) / name).is_file():
        with Image.open(source) as image:
            image.load()
            data = _jpeg_bytes(_clean_rgb(image, SMALL_THUMBNAIL_BOX))
        _write_atomically(Path(directory), name, data)
    return name


def image_size(directory: Path, name: str | None) -> tuple[int, int] | None:
    """(width, height) of a stored photo, read from its header (pages give their
    ``<img>`` its size, so nothing moves while it loads); None if it cannot be read."""
    try:
        with Image.open(stored_path(directory, name or "")) as image:
            return image.size
    except (OSError, UnidentifiedImageError):
        return None


def stored_path(directory: Path, name: str) -> Path:
    """The path of a stored file; ``FileNotFoundError`` for any other name or a missing file.

    Only names this module generates are accepted, so ``../…`` and absolute paths
    never reach the file system.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise FileNotFoundError(errno.ENOENT, "没有这个文件", str(name))
    path = Path(directory) / name
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "没有这个文件", name)
    return path


def media_type(name: str) -> str:
    """The media type to serve a stored file with (``application/octet-stream`` if unknown)."""
    return _MEDIA_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")


def remove(directory: Path, *names: str) -> None:
    """Delete stored files, best effort: empty, unknown or missing names are ignored."""
    for name in names:
        if not name or not _NAME_RE.fullmatch(name):
            continue
        if name.endswith(_THUMB_SUFFIX):  # and its small copy, if one was drawn
            remove(directory, name.removesuffix(_THUMB_SUFFIX) + _SMALL_SUFFIX)
        try:
            (Path(directory) / name).unlink(missing_ok=True)
        except OSError:
            logger.warning("could not remove upload %s", name, exc_info=True)


def _decode_photo(data: bytes) -> Image.Image:
    """Open, bound and fully decode a photo, or raise ``UploadRejected``."""
    if not data:
        raise _refuse_photo("empty", "文件是空的。")
    if len(data) > MAX_PHOTO_BYTES:
        raise _refuse_photo("too_large", "照片超过 5 MB。")
    too_many_pixels = _refuse_photo(
        "pixels", f"照片像素过多（上限 {PHOTO_PIXELS_TEXT}），请缩小后再上传。"
    )
    try:
        # Lazy: reads the header only. `formats` keeps every other decoder out.
        image = Image.open(io.BytesIO(data), formats=_PHOTO_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except UnidentifiedImageError:
        raise _refuse_photo("format", "无法识别为照片。") from None
    except Exception:
        # A recognised header with nonsense after it: Pillow's plugins raise all sorts.
        raise _refuse_photo("damaged", "照片文件已损坏，无法读取。") from None
    if image.format not in _DECODED_FORMATS:
        raise _refuse_photo("format", "无法识别为照片。")
    width, height = image.size
    if width < 1 or height < 1:
        raise _refuse_photo("damaged", "照片文件已损坏，无法读取。")
    if width * height > MAX_PHOTO_PIXELS:
        raise too_many_pixels
    if image.format in {"JPEG", "MPO"}:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the result stays large enough.
        image.draft("RGB", (PHOTO_LONG_SIDE, PHOTO_LONG_SIDE))
    try:
        image.load()  # the whole file: a truncated or corrupt one fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except Exception:
        raise _refuse_photo("damaged", "照片文件不完整或已损坏，无法读取。") from None
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:
        # Unreadable EXIF does not make the picture unusable: keep it as stored.
        logger.info("ignoring unreadable EXIF orientation", exc_info=True)
        upright = image
    return upright if upright is not None else image


def _clean_rgb(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """A new RGB image fitting in ``box``: pixels only, no ``info`` carried over."""
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit greyscale PNG: scale to 8 bits (a plain convert would clip to white).
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = image.convert("RGB")
    flat.thumbnail(box, Image.Resampling.LANCZOS)
    clean = Image.new("RGB", flat.size)
    clean.paste(flat)
    return clean


def _jpeg_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    """Write to a hidden temporary file (0600) beside the target, then rename it in place."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
