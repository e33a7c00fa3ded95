"""The Mandarin voice of the audio CAPTCHA: one recording of each digit 0–9.

The recordings are the project's own, spoken by Debian's ``espeak-ng`` with its Mandarin
voice (``-v cmn``), slowly, and committed under ``voting/voices/<digit>/cmn.wav``: the
layout the ``captcha`` package's ``AudioCaptcha(voicedir=...)`` reads (one folder per
character, any number of WAVs in it). Serving and CI need no ``espeak-ng``; only a
change of the voice does, and then::

    apt-get install espeak-ng
    python -m voting.voices

The package mixes its raw frames as 8 kHz, 8-bit unsigned mono (it writes that header
itself), so each recording is converted to exactly that here, with its silent lead and
tail cut: the pause between digits is the package's (1–3 s, random).
"""

from __future__ import annotations

import array
import io
import shutil
import subprocess
import sys
import wave
from pathlib import Path

VOICE_DIR = Path(__file__).resolve().parent / "voices"
# What each digit is called, the way a phone number is read aloud (一, not 幺).
SPOKEN = {
    "0": "零",
    "1": "一",
    "2": "二",
    "3": "三",
    "4": "四",
    "5": "五",
    "6": "六",
    "7": "七",
    "8": "八",
    "9": "九",
}
RATE = 8000  # Hz: what captcha.audio writes in its header
SPEED = 100  # espeak-ng words per minute (its default is 175): slow, for older listeners
PITCH = 45
# A sample this far from the 8-bit midpoint (128) counts as sound when trimming.
THRESHOLD = 6


def speak(text: str) -> bytes:
    """``text`` spoken by espeak-ng's Mandarin voice, as the WAV it writes."""
    command = [
        "espeak-ng",
        "-v",
        "cmn",
        "-s",
        str(SPEED),
        "-p",
        str(PITCH),
        "--stdout",
        text,
    ]
    return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout  # noqa: S603


def to_captcha_frames(wav: bytes) -> bytes:
    """A 16-bit mono WAV as 8 kHz, 8-bit unsigned mono frames, silence trimmed."""
    with wave.open(io.BytesIO(wav)) as source:
        if source.getsampwidth() != 2 or source.getnchannels() != 1:
            raise ValueError("espeak-ng should write 16-bit mono")
        rate = source.getframerate()
        samples = array.array("h", source.readframes(source.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    # Linear interpolation down to RATE.
    count = int(len(samples) * RATE / rate)
    step = rate / RATE
    out = bytearray(count)
    for i in range(count):
        position = i * step
        left = int(position)
        right = min(left + 1, len(samples) - 1)
        value = samples[left] + (samples[right] - samples[left]) * (position - left)
        out[i] = max(0, min(255, 128 + round(value / 256)))
    loud = [i for i, v in enumerate(out) if abs(v - 128) > THRESHOLD]
    if not loud:
        raise ValueError("the recording is silent")
    margin = RATE // 50  # keep 20 ms around the sound
    return bytes(out[max(0, loud[0] - margin) : loud[-1] + margin])


def write_voice(frames: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(1)
        target.setframerate(RATE)
        target.writeframes(frames)


def generate(directory: Path = VOICE_DIR) -> list[Path]:
    """Record every digit into ``directory``; return the files written."""
    written = []
    for digit, word in SPOKEN.items():
        path = directory / digit / "cmn.wav"
        write_voice(to_captcha_frames(speak(word)), path)
        written.append(path)
    return written


def main() -> None:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed to record the voice: apt-get install espeak-ng")
    for path in generate():
        with wave.open(str(path)) as recording:
            seconds = recording.getnframes() / recording.getframerate()
        print(f"{path.relative_to(VOICE_DIR.parent.parent)}  {seconds:.2f} s")


if __name__ == "__main__":
    main()
