"""CAPTCHA challenges: drawn ahead of time into a pool, handed out once, answered once.

Drawing costs CPU (an image ~2–4 ms, a WAV ~300–500 ms), so it never happens on the
event loop: a background task keeps a pool in the shared store topped up, drawing
images in separate drawing processes (``PORTAL_CAPTCHA_DRAWERS`` per server process,
batches drawn side by side). Each pooled challenge is popped atomically, so it is handed
out exactly once; a request finding the pool empty waits briefly for the next drawing,
and only then is it a 503, never a reused challenge.

A handed-out challenge is identified by ``<raw id>.<issued at>.<signature>``: the
signature lets the portal tell an expired challenge from an unknown one without
keeping anything after it is used. The answer lives under ``live:<raw id>`` for five
minutes; answering takes it with ``get_delete``, so one attempt consumes it, right or
wrong, even when two attempts race. Its image and audio are served only while the
answer lives: a used challenge shows nothing more to solve.

The audio alternative shares the answer. It is rendered on its first request, in the
same worker process, and kept for the challenge's lifetime: only a few visitors ask
for it, and pre-drawing ~100 KB of WAV per challenge for everyone would cost more CPU
and memory than the whole vote path.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import ctypes
import hashlib
import hmac
import io
import logging
import multiprocessing
import multiprocessing.pool
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from portal.stores import Script, StateStore, StoreUnavailable

log = logging.getLogger("portal.captcha")
T = TypeVar("T")

LIFETIME = 300  # seconds a handed-out challenge may be answered
# How often a request waiting for an empty pool looks again (seconds).
POOL_POLL = 0.05
POOL_KEY = "captcha:pool"
# Letters and digits that are hard to confuse when drawn or spoken.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXY3456789"
# Digit-only challenges (care mode, or every form with PORTAL_CAPTCHA_DIGITS_ONLY): what an
# older voter types on a phone's number pad and hears in Mandarin (voting/voices).
DIGITS = "0123456789"
LENGTH = 4
# Digit-only challenges are pooled apart while the others are mixed: this share of the
# pool's size (care mode is asked for by a minority of voters).
DIGIT_SHARE = 4
DIGIT_POOL_KEY = "captcha:pool:digits"
# The image: drawn at the size the pages show it (no blurry upscaling), glyphs side by
# side without overlapping, dark on light (contrast ≥ MIN_CONTRAST), each glyph rotated
# and warped on its own and crossed by noise in its own colour, which is what keeps an
# off-the-shelf OCR from reading it (`python -m bench.captcha_options`, README).
IMAGE_SIZE = (200, 72)
FONT_SIZES = (46, 54)
PNG_COMPRESSION = 1  # zlib level: the noise compresses badly at any level
MIN_CONTRAST = 4.5  # WCAG AA for text, between the glyphs and the ground
GLYPH_GAP = 3  # pixels at least between two glyphs' boxes
VOICE_DIR = Path(__file__).resolve().parent / "voices"
BATCH = 32
# Images of pooled challenges expire if the pool is not drained in this time.
POOLED_IMAGE_LIFETIME = 24 * 3600

_pool: multiprocessing.pool.Pool | None = None
_drawers = 1  # processes in the pool


def _drawing_pool(processes: int = 1) -> multiprocessing.pool.Pool:
    """The server process's drawing processes, shared by every app instance (the first
    caller sets how many).

    A ``multiprocessing`` pool rather than a ``ProcessPoolExecutor``: its worker is a
    daemon, ended when the server process exits, and it exits by itself when the server
    is killed (its task pipe closes), so no drawing process ever outlives the server.
    """
    global _pool, _drawers
    if _pool is None:
        # "spawn": the server process runs threads and an event loop; forking it is unsafe.
        _pool = multiprocessing.get_context("spawn").Pool(
            processes=processes, initializer=_bind_to_parent
        )
        _drawers = processes
        atexit.register(_pool.terminate)
    return _pool


def _bind_to_parent() -> None:
    """In the drawing process: end with the server, however the server ends.

    Linux delivers SIGKILL to this process when its parent dies (prctl
    PR_SET_PDEATHSIG), so a replacement worker started while the server shuts down
    cannot outlive it; Ctrl-C to the process group is the server's to handle.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(0)


async def _draw(function: Callable[..., T], *args: Any) -> T:
    """Run ``function(*args)`` in a drawing process; wait without blocking the loop."""
    pending = _drawing_pool().apply_async(function, args)
    return await asyncio.get_running_loop().run_in_executor(None, pending.get)


def luminance(colour: tuple[int, ...]) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _channel(low: int, high: int) -> int:
    return low + secrets.randbelow(high - low + 1)


def glyph_colours() -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """A random dark glyph colour and light ground, at least MIN_CONTRAST apart."""
    while True:
        ground = tuple(_channel(236, 255) for _ in range(3))
        glyph = tuple(_channel(0, 96) for _ in range(3))
        if contrast(glyph, ground) >= MIN_CONTRAST:
            return glyph, ground  # type: ignore[return-value]


def _painter(size: tuple[int, int] = IMAGE_SIZE, font_sizes: tuple[int, ...] = FONT_SIZES):  # type: ignore[no-untyped-def]
    """The image drawer (imported in the drawing process only)."""
    from captcha.image import ImageCaptcha
    from PIL import Image, ImageDraw, ImageFilter

    class ClearImageCaptcha(ImageCaptcha):
        """The package's drawer with the glyphs side by side and opaque.

        The package overlaps its glyphs (a negative step between them) and pastes each
        through a mask made from its colour's lightness, so a dark glyph comes out pale:
        the contrast measured on the old images was 2.3–3.5:1. Here each glyph is pasted
        through its own alpha channel, and the glyphs are spread over the width with a
        random gap, never overlapping.
        """

        character_rotate = (-22, 22)

        def compose(
            self, chars: str, colour: tuple[int, int, int], ground: tuple[int, int, int]
        ) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
            """The glyphs on the ground, and each glyph's box (left, top, right, bottom)."""
            scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
            glyphs = [self._draw_character(c, scratch, (*colour, 255)) for c in chars]
            glyphs = [g.crop(g.getbbox()) if g.getbbox() else g for g in glyphs]
            needed = sum(g.size[0] for g in glyphs) + GLYPH_GAP * (len(glyphs) + 1)
            height = max(self._height, *(g.size[1] + 2 * GLYPH_GAP for g in glyphs))
            width = max(self._width, needed)
            image = Image.new("RGB", (width, height), ground)
            spare = width - needed
            # The spare width shared at random among the gaps (ends included).
            cuts = sorted(secrets.randbelow(spare + 1) for _ in range(len(glyphs)))
            shares = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
            boxes = []
            x = 0
            for glyph, share in zip(glyphs, shares, strict=True):
                x += GLYPH_GAP + share
                w, h = glyph.size
                y = GLYPH_GAP + secrets.randbelow(height - h - 2 * GLYPH_GAP + 1)
                image.paste(glyph, (x, y), glyph.getchannel("A"))
                boxes.append((x, y, x + w, y + h))
                x += w
            if image.size != (self._width, self._height):
                sx, sy = self._width / width, self._height / height
                image = image.resize((self._width, self._height), Image.Resampling.LANCZOS)
                boxes = [
                    (int(a * sx), int(b * sy), int(c * sx) + 1, int(d * sy) + 1)
                    for a, b, c, d in boxes
                ]
            return image, boxes

        def generate_image(self, chars: str, bg_color=None, fg_color=None):  # type: ignore[no-untyped-def]
            colour, ground = glyph_colours()
            image, _ = self.compose(chars, colour, ground)
            self.create_noise_dots(image, colour, width=2, number=40)
            self.create_noise_curve(image, colour)
            self.create_noise_curve(image, colour)
            return image.filter(ImageFilter.SMOOTH)

    return ClearImageCaptcha(width=size[0], height=size[1], font_sizes=font_sizes)


def draw_images(count: int, digits: bool = False) -> list[tuple[str, str, bytes]]:
    """In the drawing process: ``count`` new challenges as (raw id, answer, PNG), of
    digits only when ``digits``."""
    painter = _painter()
    alphabet = DIGITS if digits else ALPHABET
    challenges = []
    for _ in range(count):
        answer = "".join(secrets.choice(alphabet) for _ in range(LENGTH))
        png = io.BytesIO()
        painter.generate_image(answer).save(png, format="png", compress_level=PNG_COMPRESSION)
        challenges.append((secrets.token_hex(12), answer, png.getvalue()))
    return challenges


def draw_audio(answer: str) -> bytes:
    """In the drawing process: the spoken answer as WAV; digits in the project's own
    Mandarin voice, letters (mixed challenges) in the package's English one."""
    from captcha.audio import AudioCaptcha

    voices = str(VOICE_DIR) if answer.isdigit() else None
    return bytes(AudioCaptcha(voicedir=voices).generate(answer))


# Hand out a pooled challenge. KEYS: the pool, the prefixes of answers and of images.
# ARGV: the oldest drawing time still handed out, the answer's and the image's lifetime.
# Returns {raw id}, or {} when the pool is empty.
ISSUE_LUA = """
while true do
  local entry = redis.call('LPOP', KEYS[1])
  if not entry then
    return {}
  end
  local raw, answer, drawn = string.match(entry, '([^:]+):([^:]+):([^:]+)')
  if tonumber(drawn) >= tonumber(ARGV[1]) then
    redis.call('SET', KEYS[2] .. ':' .. raw, answer, 'EX', ARGV[2])
    redis.call('EXPIRE', KEYS[3] .. ':' .. raw, ARGV[3])
    return {raw}
  end
end
"""


async def issue_twin(store: StateStore, keys: list[str], args: list[Any]) -> list[Any]:
    """The hand-out script on the in-process store."""
    oldest, lifetime, image_lifetime = args
    while (entry := await store.pop(keys[0])) is not None:
        raw, answer, drawn_at = entry.decode().split(":")
        if int(drawn_at) >= oldest:
            await store.set(f"{keys[1]}:{raw}", answer, lifetime)
            await store.expire(f"{keys[2]}:{raw}", image_lifetime)
            return [raw.encode()]
    return []


ISSUE = Script("issue-captcha", ISSUE_LUA, issue_twin)


def solves(given: str, expected: bytes, test_answer: str | None) -> bool:
    """Does ``given`` (stripped, upper case) answer a challenge whose answer is
    ``expected``, or is it the test answer? (The vote's Redis script compares alike.)"""
    if hmac.compare_digest(given.encode(), expected.upper()):
        return True
    return bool(test_answer) and hmac.compare_digest(given.encode(), test_answer.encode())


class Outcome(Enum):
    correct = "correct"
    wrong = "wrong"
    expired = "expired"
    unknown = "unknown"


@dataclass(frozen=True)
class Challenge:
    captcha_id: str
    expires_in: int

    @property
    def image_url(self) -> str:
        return f"/api/v1/captcha/{self.captcha_id}/image.png"

    @property
    def audio_url(self) -> str:
        return f"/api/v1/captcha/{self.captcha_id}/audio.wav"


class CaptchaService:
    """The pool, hand-out and checking of challenges, on the app's shared store."""

    def __init__(
        self,
        store: StateStore,
        secret: str,
        *,
        pool_size: int = 200,
        test_answer: str | None = None,
        drawers: int = 1,
        digits_only: bool = False,
    ) -> None:
        self.store = store
        self.drawers = drawers
        self.digits_only = digits_only
        self._secret = hashlib.sha256(b"captcha|" + secret.encode()).digest()
        self.pool_size = pool_size
        self.test_answer = test_answer.strip().upper() if test_answer else None
        self._audio_lock = asyncio.Semaphore(2)

    # -- ids ---------------------------------------------------------------------------

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._secret, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")

    def _make_id(self, raw: str, issued_at: int) -> str:
        body = f"{raw}.{issued_at}"
        return f"{body}.{self._sign(body)}"

    def parse_id(self, captcha_id: str) -> tuple[str, int] | None:
        """(raw id, issued at) of a genuine challenge id, else ``None``."""
        parts = captcha_id.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        raw, issued, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{raw}.{issued}")):
            return None
        return raw, int(issued)

    # -- pool --------------------------------------------------------------------------

    def pools(self) -> list[tuple[str, bool, int]]:
        """(store key, of digits only, size) of each pool: one of digits only when every
        form asks for them, else the mixed pool and a smaller one of digits for care mode."""
        if self.digits_only:
            return [(POOL_KEY, True, self.pool_size)]
        return [(POOL_KEY, False, self.pool_size), (DIGIT_POOL_KEY, True, self.digit_pool_size)]

    @property
    def digit_pool_size(self) -> int:
        return self.pool_size // DIGIT_SHARE

    async def warm(self) -> None:
        """Start the drawing processes and load what they draw with, so that the first
        challenges after the server starts are drawn at once (the server waits for this
        before it takes requests)."""
        _drawing_pool(self.drawers)
        await asyncio.gather(*(_draw(draw_images, 0) for _ in range(_drawers)))

    async def fill(self) -> int:
        """Top the pools up to their sizes; return how many challenges were added.

        Up to one batch per drawing process is drawn at a time, each pooled as soon as
        it is drawn. The level is read again before each round: with several server
        processes filling one shared pool, each draws only what is still missing, so the
        pool does not grow to processes × size.
        """
        added = 0
        task = asyncio.current_task()
        for key, digits, size in self.pools():
            if task is not None and task.cancelling():
                raise asyncio.CancelledError  # a cancel swallowed by the store (below)
            while (missing := size - await self.store.length(key)) > 0:
                rounds = min(self.drawers, -(-missing // BATCH))
                sizes = [min(BATCH, missing - i * BATCH) for i in range(rounds)]
                batches = (self._draw_batch(n, key, digits) for n in sizes)
                added += sum(await asyncio.gather(*batches))
        return added

    async def _draw_batch(self, count: int, key: str = POOL_KEY, digits: bool = False) -> int:
        """Draw ``count`` challenges and put them in the pool under ``key``."""
        drawn = await _draw(draw_images, count, digits)
        await self.store.batch(
            [("set", f"captcha:img:{raw}", png, POOLED_IMAGE_LIFETIME) for raw, _a, png in drawn]
        )
        await self.store.push(
            key, *(f"{raw}:{answer}:{int(time.time())}" for raw, answer, _ in drawn)
        )
        return len(drawn)

    async def fill_forever(self, interval: float = 0.5) -> None:
        """The background task: keep the pool topped up until cancelled."""
        task = asyncio.current_task()
        while True:
            try:
                await self.fill()
            except StoreUnavailable:
                log.warning("CAPTCHA pool not refilled: store unavailable")
            except Exception:  # keep the pool alive; the next round retries
                log.exception("CAPTCHA pool refill failed")
            if task is not None and task.cancelling():
                # On Python 3.11 a cancel that lands just as a Redis command completes
                # can be swallowed (redis-py awaits asyncio.wait_for, which loses it):
                # stop anyway, or the app's shutdown waits for this task forever.
                raise asyncio.CancelledError
            await asyncio.sleep(interval)

    async def issue(self, digits: bool = False) -> Challenge | None:
        """Hand out one pooled challenge (of digits only when ``digits``, or always with
        ``digits_only``), or ``None`` when the pool is empty (one round trip: the pop,
        its answer made live, its image kept as long)."""
        now = int(time.time())
        # One drawn so long ago that its image may expire before it is answered is not
        # handed out.
        oldest = now - (POOLED_IMAGE_LIFETIME - LIFETIME * 2)
        pool = DIGIT_POOL_KEY if digits and not self.digits_only else POOL_KEY
        keys = [pool, "captcha:live", "captcha:img"]
        popped = await self.store.run(ISSUE, keys, [oldest, LIFETIME, LIFETIME + 60])
        if not popped:
            return None
        return Challenge(self._make_id(popped[0].decode(), now), LIFETIME)

    async def issue_within(self, seconds: float, digits: bool = False) -> Challenge | None:
        """``issue``, waiting up to ``seconds`` for the pool's next drawing when it is
        empty (a surge empties it faster than it is drawn): ``None`` only if it stays
        empty that long."""
        deadline = time.monotonic() + seconds
        while True:
            challenge = await self.issue(digits)
            if challenge is not None or time.monotonic() >= deadline:
                return challenge
            await asyncio.sleep(POOL_POLL)

    # -- media -------------------------------------------------------------------------

    async def _live(self, captcha_id: str, media: str) -> tuple[str, bytes, bytes | None] | None:
        """(raw id, answer, stored ``media``) of a challenge still to be answered, else
        ``None``: once an attempt has consumed it (or it expired), its image and audio
        are not served either."""
        parsed = self.parse_id(captcha_id)
        if parsed is None:
            return None
        raw = parsed[0]
        answer, stored = await self.store.get_many(
            [f"captcha:live:{raw}", f"captcha:{media}:{raw}"]
        )
        return None if answer is None else (raw, answer, stored)

    async def image(self, captcha_id: str) -> bytes | None:
        """The PNG of a live challenge."""
        live = await self._live(captcha_id, "img")
        return live[2] if live else None

    async def audio(self, captcha_id: str) -> bytes | None:
        """The spoken answer of a live challenge (rendered off the event loop once)."""
        live = await self._live(captcha_id, "wav")
        if live is None:
            return None
        raw, answer, cached = live
        if cached is not None:
            return cached
        async with self._audio_lock:
            wav = await _draw(draw_audio, answer.decode())
        await self.store.set(f"captcha:wav:{raw}", wav, expires_in=LIFETIME + 60)
        return wav

    # -- answers -----------------------------------------------------------------------

    def answer_key(self, captcha_id: str) -> tuple[str, int]:
        """The store key (of this service's store) holding the challenge's answer while
        it may be answered, and when it was handed out; for an id the portal did not
        sign, a key that never holds one."""
        parsed = self.parse_id(captcha_id)
        raw, issued_at = parsed or ("-", 0)
        return f"captcha:live:{raw}", issued_at

    @staticmethod
    def missing(issued_at: int) -> Outcome:
        """Why a challenge handed out at ``issued_at`` has no answer to take any more."""
        if issued_at and time.time() - issued_at >= LIFETIME:
            return Outcome.expired
        return Outcome.unknown  # answered before, never handed out, or not ours

    async def check(self, captcha_id: str, answer: str) -> Outcome:
        """Consume the challenge and say whether ``answer`` solves it."""
        key, issued_at = self.answer_key(captcha_id)
        expected = await self.store.get_delete(key)
        if expected is None:
            return self.missing(issued_at)
        given = answer.strip().upper()
        return Outcome.correct if solves(given, expected, self.test_answer) else Outcome.wrong
