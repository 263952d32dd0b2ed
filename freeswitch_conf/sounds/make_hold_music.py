"""Makes sounds/moh/callcenter-hold.wav, the call center's own music on hold.

The project's own work (MIT, like the rest of the repository): soft sine tones with a
few harmonics, a slow I-vi-IV-V progression in C major with an arpeggio above a quiet
bass, 8 kHz 16-bit mono, about 18 seconds that loop without a click (it starts and ends
in silence). Deterministic: running it again writes the same bytes.

    python3 freeswitch_conf/sounds/make_hold_music.py

Nothing but this script and Python's standard library went into the file.
"""

from __future__ import annotations

import math
import pathlib
import struct
import wave

RATE = 8000
BEAT = 0.55  # seconds (about 109 beats per minute)
PEAK = 0.30  # of full scale: gentle, well below clipping after the telephone codecs
OUT = pathlib.Path(__file__).resolve().parent / "moh" / "callcenter-hold.wav"

# MIDI note numbers. Each chord lasts 8 eighth notes; the arpeggio walks up and down.
CHORDS = [
    (48, [60, 64, 67, 72]),  # C
    (45, [57, 60, 64, 69]),  # Am
    (41, [53, 57, 60, 65]),  # F
    (43, [55, 59, 62, 67]),  # G
]
PATTERN = [0, 1, 2, 3, 2, 1, 2, 1]
ROUNDS = 2  # the progression twice; it ends on G, which leads back to C at the loop


def frequency(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def tone(note: int, start: float, length: float, level: float, buffer: list[float]) -> None:
    """A soft bell-like note: fundamental and two quiet harmonics, quick attack,
    exponential decay, and a short release so it never clicks."""
    f = frequency(note)
    first = int(start * RATE)
    count = int(length * RATE)
    attack = int(0.015 * RATE)
    release = int(0.05 * RATE)
    for i in range(count):
        t = i / RATE
        envelope = math.exp(-3.0 * t / length)
        if i < attack:
            envelope *= i / attack
        if i > count - release:
            envelope *= (count - i) / release
        value = (
            math.sin(2 * math.pi * f * t)
            + 0.25 * math.sin(2 * math.pi * 2 * f * t)
            + 0.08 * math.sin(2 * math.pi * 3 * f * t)
        )
        index = first + i
        if index < len(buffer):
            buffer[index] += level * envelope * value


def render() -> list[float]:
    eighth = BEAT / 2
    bar = eighth * len(PATTERN)
    total = bar * len(CHORDS) * ROUNDS + 0.6  # the last notes' tail, then the loop
    buffer = [0.0] * int(total * RATE)
    at = 0.0
    for _ in range(ROUNDS):
        for bass, notes in CHORDS:
            tone(bass, at, bar, 0.35, buffer)
            for step, pick in enumerate(PATTERN):
                tone(notes[pick], at + step * eighth, eighth * 1.8, 0.45, buffer)
            at += bar
    loudest = max(abs(v) for v in buffer) or 1.0
    return [v * PEAK / loudest for v in buffer]


def write(samples: list[float], path: pathlib.Path = OUT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", round(max(-1.0, min(1.0, v)) * 32767)) for v in samples)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


if __name__ == "__main__":
    write(render())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
