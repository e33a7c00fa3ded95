"""The site's icons: ``/favicon.ico``, the home-screen icon of phones
(``/apple-touch-icon.png``) and the web app icons (``/icon-192.png``, ``/icon-512.png``).

Drawn from the site's logo when its identity has one (fitted on a white square, kept
per process by the logo's name: a new logo has a new name); else the neutral defaults
committed under ``static/img/icons/``, drawn once by ``python -m portal.icons`` (the
header's round seal with 枫, when a CJK font is installed, else the seal alone).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from portal.settings import PROJECT_ROOT

ICON_DIR = PROJECT_ROOT / "static" / "img" / "icons"
# Name → (pixel size, format) of each icon; the ICO carries several sizes.
ICONS: dict[str, tuple[int, str]] = {
    "favicon.ico": (48, "ICO"),
    "apple-touch-icon.png": (180, "PNG"),
    "icon-192.png": (192, "PNG"),
    "icon-512.png": (512, "PNG"),
}
ICO_SIZES = [(16, 16), (32, 32), (48, 48)]
MEDIA_TYPES = {"ICO": "image/x-icon", "PNG": "image/png"}
RED = (166, 27, 27)
GOLD = (243, 210, 122)
FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def encode(image: Image.Image, name: str) -> bytes:
    """``image`` (square) as the icon ``name``."""
    size, kind = ICONS[name]
    out = io.BytesIO()
    if kind == "ICO":
        image.resize((size, size), Image.Resampling.LANCZOS).save(out, "ICO", sizes=ICO_SIZES)
    else:
        image.resize((size, size), Image.Resampling.LANCZOS).convert("RGB").save(
            out, "PNG", optimize=True
        )
    return out.getvalue()


def from_logo(path: Path, name: str) -> bytes:
    """The icon ``name`` drawn from the logo file at ``path``: fitted on white."""
    with Image.open(path) as logo:
        logo = logo.convert("RGBA")
        side = max(logo.size)
        square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
        square.paste(logo, ((side - logo.width) // 2, (side - logo.height) // 2), logo)
    return encode(square, name)


def draw_default(side: int = 512) -> Image.Image:
    """The neutral icon: a red square with the header's gold seal and 枫."""
    image = Image.new("RGBA", (side, side), (*RED, 255))
    draw = ImageDraw.Draw(image)
    margin = side // 8
    ring = max(2, side // 24)
    draw.ellipse((margin, margin, side - margin, side - margin), outline=GOLD, width=ring)
    font_path = next((p for p in FONTS if Path(p).exists()), None)
    if font_path:
        font = ImageFont.truetype(font_path, int(side * 0.46))
        draw.text((side / 2, side / 2), "枫", font=font, fill=GOLD, anchor="mm")
    return image


def default_icon(name: str) -> Path:
    return ICON_DIR / name


def main() -> None:
    """Draw the neutral icons into ``static/img/icons/``."""
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    image = draw_default()
    for name in ICONS:
        (ICON_DIR / name).write_bytes(encode(image, name))
        print(ICON_DIR.relative_to(PROJECT_ROOT) / name)


if __name__ == "__main__":
    main()
