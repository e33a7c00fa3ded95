"""QR codes of the site's own URLs (share links, certificate checks), drawn as PNG."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.constants
import qrcode.image.pil


@lru_cache(maxsize=512)
def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG (drawn once per URL and process)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=8,
        border=2,
        image_factory=qrcode.image.pil.PilImage,
    )
    code.add_data(url)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
