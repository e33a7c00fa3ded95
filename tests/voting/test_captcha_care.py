"""The CAPTCHA an older voter can answer: digits only (care mode, or every form with
PORTAL_CAPTCHA_DIGITS_ONLY), spoken by the project's own Mandarin recordings of 0–9,
and an image drawn large, dark on light and without overlapping glyphs."""

from __future__ import annotations

import io
import itertools
import wave
from pathlib import Path

import pytest
from PIL import Image

from portal.view import CARE_COOKIE
from tests.voting.conftest import live_answer, new_captcha, serve, voting_service
from voting import voices
from voting.captcha import (
    ALPHABET,
    DIGIT_POOL_KEY,
    DIGITS,
    GLYPH_GAP,
    IMAGE_SIZE,
    LENGTH,
    MIN_CONTRAST,
    POOL_KEY,
    VOICE_DIR,
    _painter,
    contrast,
    draw_audio,
    draw_images,
    glyph_colours,
)

pytestmark = pytest.mark.usefixtures("bureaus")
BEEPS = 2.0  # seconds at most of the package's beeps and silences around the digits


def seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 1)
        return audio.getnframes() / audio.getframerate()


def voice_lengths() -> list[float]:
    return [seconds((VOICE_DIR / d / "cmn.wav").read_bytes()) for d in DIGITS]


def test_the_voice_directory_holds_mandarin_recordings_of_every_digit() -> None:
    """One recording per digit 0–9 in the layout AudioCaptcha reads (a folder per
    character), made by espeak-ng's Mandarin voice (``voting/voices.py``): 8 kHz, 8-bit
    mono, sound in it, and none of them the package's English recording."""
    import captcha.audio

    assert sorted(p.name for p in VOICE_DIR.iterdir() if p.is_dir()) == list(DIGITS)
    assert dict(zip(DIGITS, "零一二三四五六七八九", strict=True)) == voices.SPOKEN
    english = Path(captcha.audio.DATA_DIR)
    for digit in DIGITS:
        recording = VOICE_DIR / digit / "cmn.wav"
        with wave.open(str(recording)) as audio:
            assert audio.getframerate() == voices.RATE == 8000
            frames = audio.readframes(audio.getnframes())
        assert 0.2 < len(frames) / 8000 < 2.0, digit
        assert max(abs(b - 128) for b in frames) > 40, f"{digit} is silent"
        package = english / digit
        if package.is_dir():
            for theirs in package.glob("*.wav"):
                assert theirs.read_bytes() != recording.read_bytes()


@pytest.mark.parametrize("answer", ["7", "2580", "0123456789"])
def test_the_audio_of_digits_is_a_wav_as_long_as_its_digits(answer: str) -> None:
    """Each digit is spoken (at 0.9–1.2 of its recorded pace) after a pause of 1–3 s:
    the WAV's length lies within what that many digits take, and no more."""
    wav = draw_audio(answer)
    lengths = voice_lengths()
    n = len(answer)
    shortest = n * (1.0 + min(lengths) * 0.9)
    longest = n * (3.0 + max(lengths) * 1.2) + BEEPS
    assert shortest <= seconds(wav) <= longest


def test_digits_are_spoken_from_the_projects_voice_not_the_packages() -> None:
    """Mixed challenges keep the package's voice (it has letters); digits use ours."""
    from captcha.audio import AudioCaptcha

    ours = AudioCaptcha(voicedir=str(VOICE_DIR))
    ours.load()
    assert sorted(ours.choices) == list(DIGITS)


def test_the_image_is_large_clear_and_its_glyphs_do_not_overlap() -> None:
    painter = _painter()
    for _ in range(40):
        colour, ground = glyph_colours()
        assert contrast(colour, ground) >= MIN_CONTRAST
        image, boxes = painter.compose("8A3K", colour, ground)
        assert image.size == IMAGE_SIZE
        assert len(boxes) == 4
        for first, second in itertools.pairwise(boxes):
            right, next_left = first[2], second[0]
            assert right <= next_left, boxes  # side by side, never on top of each other
        assert boxes[0][0] >= 0 and boxes[-1][2] <= IMAGE_SIZE[0] + 1
    assert GLYPH_GAP > 0


def test_the_drawn_png_has_dark_glyphs_on_a_light_ground() -> None:
    """Measured on the PNGs as served: the ground (the commonest colour) against the
    darkest pixels (the glyphs' cores) is at least 4.5:1."""
    for digits in (False, True):
        for _raw, answer, png in draw_images(12, digits):
            assert len(answer) == LENGTH
            # A mixed challenge may happen to draw digits only: its alphabet is what counts.
            assert set(answer) <= set(DIGITS if digits else ALPHABET)
            image = Image.open(io.BytesIO(png)).convert("RGB")
            assert image.size == IMAGE_SIZE
            colours = image.getcolors(IMAGE_SIZE[0] * IMAGE_SIZE[1])
            ground = max(colours)[1]
            darkest = min(colours, key=lambda c: sum(c[1]))[1]
            assert contrast(ground, darkest) >= MIN_CONTRAST


async def test_care_mode_gets_a_digit_challenge_spoken_in_mandarin(api) -> None:
    """The care cookie asks the API (and the forms) for digits; without it, the mixed
    alphabet; the digit pool is filled beside the mixed one."""
    service = voting_service(api).captcha
    api.cookies.set(CARE_COOKIE, "1")
    captcha = await new_captcha(api)
    answer = await live_answer(api, captcha["captcha_id"])
    assert len(answer) == LENGTH and answer.isdigit()
    audio = await api.get(captcha["audio_url"])
    assert audio.status_code == 200
    lengths = voice_lengths()
    assert LENGTH * (1.0 + min(lengths) * 0.9) <= seconds(audio.content)
    assert seconds(audio.content) <= LENGTH * (3.0 + max(lengths) * 1.2) + BEEPS
    # The replay is the same recording (kept for the challenge's life).
    assert (await api.get(captcha["audio_url"])).content == audio.content
    assert await service.store.length(DIGIT_POOL_KEY) <= service.digit_pool_size
    api.cookies.delete(CARE_COOKIE)
    mixed = [await live_answer(api, (await new_captcha(api))["captcha_id"]) for _ in range(8)]
    assert not all(a.isdigit() for a in mixed)


async def test_the_digits_only_setting_makes_every_challenge_digits(build_app) -> None:
    app = build_app(captcha_digits_only=True)
    async with serve(app) as client:
        service = voting_service(client).captcha
        assert service.pools() == [(POOL_KEY, True, service.pool_size)]
        for _ in range(5):
            captcha = await new_captcha(client)
            assert (await live_answer(client, captcha["captcha_id"])).isdigit()


async def test_care_mode_votes_on_the_plain_form_with_plain_words(client, voting_campaign) -> None:
    """In care mode the vote page loads no dialog (each vote on its own screen), its
    buttons say 投一票, and the form asks for 4 digits on the number pad with the audio
    one tap away (native player, replay)."""
    from tests.voting.test_pages import SLUG, form_url

    candidate = voting_campaign["candidates"]["judicial-office"][0]
    client.cookies.set(CARE_COOKIE, "1")
    page = (await client.get(f"/campaigns/{SLUG}/vote")).text
    assert "js/vote.js" not in page
    assert ">投一票<" in page
    form = (await client.get(form_url(candidate))).text
    assert "请输入图中的 4 个数字" in form
    assert 'inputmode="numeric"' in form
    assert '<audio class="captcha-player" controls preload="none"' in form
    assert "换一张验证码" in form and "再听一遍" in form and ">投一票<" in form
    client.cookies.delete(CARE_COOKIE)
    plain = (await client.get(form_url(candidate))).text
    assert "请输入图中的验证码" in plain and "确认投票" in plain
    assert "js/vote.js" in (await client.get(f"/campaigns/{SLUG}/vote")).text


async def test_the_page_cache_keeps_each_view_apart(build_app, voting_campaign) -> None:
    """Anonymous vote pages are cached: a care-mode visitor never gets the standard page
    cached a moment before, nor the other way round."""
    from tests.voting.test_pages import SLUG

    app = build_app(page_cache_seconds=60)
    async with serve(app) as client:
        plain = (await client.get(f"/campaigns/{SLUG}/vote")).text
        client.cookies.set(CARE_COOKIE, "1")
        care = (await client.get(f"/campaigns/{SLUG}/vote")).text
        client.cookies.delete(CARE_COOKIE)
        again = (await client.get(f"/campaigns/{SLUG}/vote")).text
    assert '<html lang="zh-CN" class="text-md">' in plain
    assert '<html lang="zh-CN" class="care text-md">' in care
    assert '<html lang="zh-CN" class="text-md">' in again
