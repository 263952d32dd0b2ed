"""Frame fuzz bench: the round trip of tests/faults/test_frame_fuzz.py over >= 100,000 frames.

Generates event streams (plain, json and xml events with hostile header names, values and
bodies, mixed with api replies, command replies and log lines), serializes them exactly
as FreeSWITCH does, cuts the byte stream at random points and decodes it with the
product's FrameDecoder and event parsers. Every frame must read back exactly; it also
splices random garbage into streams and checks that nothing but EslProtocolError is ever
raised and that the frames before the garbage still read back.

Prints frames/s and the counts; exits 1 on any mismatch or unexpected exception.
Not a test (``make test`` runs the hypothesis version): ``python bench/frame_fuzz.py
[--frames N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import pathlib
import random
import sys
import time
import traceback
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.test_frame_fuzz import (  # noqa: E402
    FORMATS,
    NAME_CHARS,
    REAL_NAMES,
    TRICKY_BODIES,
    TRICKY_VALUES,
    GenEvent,
    GenFrame,
    GenOther,
    expected,
    normalize,
    read_like_the_reader,
    serialize,
)

# Mostly printable text with a share of anything-goes code points (no surrogates).
_PRINTABLE = [chr(c) for c in range(32, 127)]


def random_text(rng: random.Random, limit: int = 40) -> str:
    out = []
    for _ in range(rng.randrange(limit + 1)):
        roll = rng.random()
        if roll < 0.7:
            out.append(rng.choice(_PRINTABLE))
        elif roll < 0.8:
            out.append(chr(rng.randrange(0, 32)))
        else:
            code = rng.randrange(0x80, 0x110000)
            out.append(chr(code) if not 0xD800 <= code <= 0xDFFF else "\ufffd")
    return "".join(out)


def random_value(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(TRICKY_VALUES)
    if roll < 0.6:
        return random_text(rng)
    return "".join(
        rng.choice(TRICKY_VALUES) if rng.random() < 0.5 else random_text(rng, 10)
        for _ in range(rng.randrange(5))
    )


def random_frame(rng: random.Random) -> GenFrame:
    if rng.random() < 0.2:
        return normalize(GenOther(rng.choice(["api", "reply", "log"]), random_text(rng) or "+OK"))
    headers = []
    for _ in range(rng.randrange(13)):
        if rng.random() < 0.5:
            name = rng.choice(REAL_NAMES)
        else:
            name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randrange(1, 25)))
        headers.append((name, random_value(rng)))
    body: str | None = None
    roll = rng.random()
    if roll < 0.2:
        body = rng.choice(TRICKY_BODIES)
    elif roll < 0.4:
        body = "".join(
            rng.choice(TRICKY_BODIES) if rng.random() < 0.5 else random_text(rng)
            for _ in range(rng.randrange(5))
        )
    return normalize(GenEvent(rng.choice(FORMATS), tuple(headers), body))


def pieces(rng: random.Random) -> Iterator[int]:
    while True:
        yield rng.randrange(1, 400)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)  # noqa: S311 - fuzzing, not security

    frames_done = 0
    mismatches = 0
    garbage_runs = 0
    corrupt_streams = 0
    unparsable = 0
    unexpected = 0
    started = time.perf_counter()
    decode_seconds = 0.0
    while frames_done < args.frames:
        batch = [random_frame(rng) for _ in range(rng.randrange(1, 30))]
        encoded = [serialize(f) for f in batch]
        stream = b"".join(encoded)
        want = [expected(f) for f in batch]
        t0 = time.perf_counter()
        try:
            got, corrupt = read_like_the_reader(stream, pieces(rng))
        except Exception:
            unexpected += 1
            traceback.print_exc()
            got, corrupt = [], True
        decode_seconds += time.perf_counter() - t0
        if got != want or corrupt:
            mismatches += 1
            if mismatches <= 3:
                print(f"MISMATCH (seed {seed}):\n  want {want!r}\n  got  {got!r}")
        frames_done += len(batch)

        # The same stream with garbage spliced in: protocol errors only, intact prefix.
        at = rng.randrange(len(stream) + 1)
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        intact, end = [], 0
        for frame, data in zip(batch, encoded, strict=True):
            end += len(data)
            if end <= at:
                intact.append(expected(frame))
        garbage_runs += 1
        try:
            seen, corrupt = read_like_the_reader(stream[:at] + garbage + stream[at:], pieces(rng))
        except Exception:
            unexpected += 1
            traceback.print_exc()
            seen, corrupt = [], True
        corrupt_streams += corrupt
        unparsable += seen.count(("unparsable",))
        if seen[: len(intact)] != intact:
            mismatches += 1
            if mismatches <= 3:
                print(f"PREFIX MISMATCH after garbage (seed {seed}): {seen!r} vs {intact!r}")

    elapsed = time.perf_counter() - started
    print(f"seed {seed}")
    print(f"frames round-tripped: {frames_done}  (streams with garbage: {garbage_runs})")
    print(f"decode+parse: {frames_done / decode_seconds:,.0f} frames/s "
          f"(whole run incl. generation: {frames_done / elapsed:,.0f} frames/s)")  # fmt: skip
    print(f"mismatches: {mismatches}  unexpected exceptions: {unexpected}")
    print(f"garbage verdicts (expected): {corrupt_streams} streams judged corrupt, "
          f"{unparsable} events refused by the parsers")  # fmt: skip
    return 1 if mismatches or unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
