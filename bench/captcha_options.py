"""`python -m bench.captcha_options`: what the `captcha` package's image options cost,
and how well an off-the-shelf OCR reads the result.

Drawing is the ceiling of the one-CAPTCHA-per-vote path (each challenge is drawn once,
in a drawing process), so the portal takes the cheapest options that stay hard to read
by machine. For each candidate (image size, font sizes, PNG compression) this draws
``--samples`` challenges of the portal's alphabet and length and reports the CPU time
per PNG (drawing and encoding, measured in this process: the options take turns over
``--rounds`` rounds and each keeps its fastest) and, where Debian's
``tesseract`` is installed, the share of challenges it reads whole and of characters it
reads right (upscaled ×3, one text line, the alphabet as its whitelist). The options the
portal uses are marked.
"""

from __future__ import annotations

import argparse
import io
import secrets
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from voting.captcha import (
    ALPHABET,
    FONT_SIZES,
    IMAGE_SIZE,
    LENGTH,
    PNG_COMPRESSION,
    _painter,
)


@dataclass(frozen=True)
class Option:
    size: tuple[int, int]
    font_sizes: tuple[int, ...] | None  # None: the package's (42, 50, 56)
    compression: int  # zlib level of the PNG (the package's default: 6)
    # The portal's drawer (glyphs side by side, opaque, dark on light: voting.captcha)
    # rather than the package's own (overlapping, pale).
    clear: bool = False

    def label(self) -> str:
        fonts = "/".join(map(str, self.font_sizes)) if self.font_sizes else "42/50/56"
        drawer = "portal's drawer" if self.clear else "package's drawer"
        size = f"{self.size[0]}×{self.size[1]}"
        return f"{drawer}, {size}, fonts {fonts}, PNG level {self.compression}"


OPTIONS = (
    Option((160, 60), None, 6),  # the package's defaults
    Option((160, 60), None, 1),
    Option((160, 60), (42, 50), 1),
    Option((130, 50), (36, 42), 1),
    Option((120, 45), (34, 40), 1),
    Option((100, 38), (28, 33), 1),
    Option(IMAGE_SIZE, FONT_SIZES, PNG_COMPRESSION, clear=True),
)


def draw(painter: object, option: Option, answer: str) -> bytes:
    image = painter.generate_image(answer)  # type: ignore[attr-defined]
    out = io.BytesIO()
    image.save(out, format="png", compress_level=option.compression)
    return out.getvalue()


def ocr(png: bytes) -> str:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    image = image.resize((image.width * 3, image.height * 3))
    scaled = io.BytesIO()
    image.save(scaled, format="png")
    read = subprocess.run(  # noqa: S603 - a fixed command line
        ["tesseract", "stdin", "stdout", "--psm", "7", "-c", f"tessedit_char_whitelist={ALPHABET}"],  # noqa: S607
        input=scaled.getvalue(),
        capture_output=True,
        check=False,
    )
    return "".join(ch for ch in read.stdout.decode() if ch in ALPHABET)


def painter_of(option: Option) -> object:
    from captcha.image import ImageCaptcha

    size = option.size
    if option.clear:
        return _painter(size, option.font_sizes or FONT_SIZES)
    return ImageCaptcha(width=size[0], height=size[1], font_sizes=option.font_sizes)


def cpu_ms(rounds: int, samples: int) -> dict[Option, float]:
    """CPU ms per PNG of each option: the options take turns, ``rounds`` times, and each
    keeps its fastest round (on a shared machine the slower ones measure the others)."""
    painters = {option: painter_of(option) for option in OPTIONS}
    best = dict.fromkeys(OPTIONS, float("inf"))
    answers = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(samples)]
    for option, painter in painters.items():
        draw(painter, option, answers[0])  # fonts loaded outside the timing
    for _ in range(rounds):
        for option, painter in painters.items():
            started = time.process_time()
            for answer in answers:
                draw(painter, option, answer)
            best[option] = min(best[option], (time.process_time() - started) * 1000 / samples)
    return best


def ocr_shares(option: Option, samples: int) -> tuple[float, float]:
    """(share read whole, share of characters read right) of ``samples`` challenges."""
    painter = painter_of(option)
    answers = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(samples)]
    read = [ocr(draw(painter, option, answer)) for answer in answers]
    whole = sum(got == answer for got, answer in zip(read, answers, strict=True)) / samples
    chars = sum(
        sum(a == b for a, b in zip(answer, got, strict=False))
        for got, answer in zip(read, answers, strict=True)
    )
    return whole, chars / (samples * LENGTH)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.captcha_options", description=__doc__)
    parser.add_argument("--samples", type=int, default=200, help="challenges per option")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per option")
    args = parser.parse_args(argv)
    with_ocr = shutil.which("tesseract") is not None
    if not with_ocr:
        print("tesseract not installed (apt-get install tesseract-ocr): CPU time only")
    chosen = Option(IMAGE_SIZE, FONT_SIZES, PNG_COMPRESSION, clear=True)
    timings = cpu_ms(args.rounds, max(1, args.samples // args.rounds))
    print("| options | CPU ms per PNG | OCR: whole | OCR: characters |")
    print("| --- | ---: | ---: | ---: |")
    for option in OPTIONS:
        mark = " (used)" if option == chosen else ""
        read = "– | –"
        if with_ocr:
            whole, chars = ocr_shares(option, args.samples)
            read = f"{whole:.1%} | {chars:.1%}"
        print(f"| {option.label()}{mark} | {timings[option]:.2f} | {read} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
