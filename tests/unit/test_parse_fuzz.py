"""Random, truncated and corrupted frames against the parser: it returns frames or raises
EslProtocolError, never anything else, and never hangs (every input is finite and the
decoder only ever consumes it)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.errors import EslProtocolError
from esl_controller.esl.events import PARSERS, parse_event
from esl_controller.esl.frames import FrameDecoder, encode_frame
from tests.helpers.fixture_replay import FIXTURES, load

REAL_FRAMES = [
    step["raw"].encode()
    for name in ("commands", "call_answered_plain", "call_answered_json")
    for step in load(name).steps
    if step["dir"] == "recv"
][:80]
assert FIXTURES.is_dir()

FUZZ = settings(max_examples=300, deadline=None)


def feed_all(chunks: list[bytes]) -> None:
    decoder = FrameDecoder()
    try:
        for chunk in chunks:
            for frame in decoder.feed(chunk):
                if frame.content_type in PARSERS:
                    event = parse_event(frame.content_type, frame.body)
                    event.headers  # noqa: B018 - force full decoding
                    event.get("Event-Name")
    except EslProtocolError:
        pass


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=8))
def test_random_bytes(chunks: list[bytes]) -> None:
    feed_all(chunks)


@FUZZ
@given(st.sampled_from(REAL_FRAMES), st.integers(min_value=0), st.binary(max_size=40))
def test_truncated_and_mutated_real_frames(frame: bytes, cut: int, junk: bytes) -> None:
    cut %= len(frame) + 1
    feed_all([frame[:cut]])
    feed_all([frame[:cut] + junk + frame[cut:]])


@FUZZ
@given(st.sampled_from(REAL_FRAMES), st.sampled_from([b"-1", b"abc", b"99999999999", b"", b"1e3"]))
def test_corrupted_content_length(frame: bytes, length: bytes) -> None:
    corrupted = frame.replace(b"Content-Length: ", b"Content-Length: " + length + b"x", 1)
    feed_all([corrupted])


header_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=":"),
    min_size=1,
    max_size=20,
)
header_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=40,
).map(str.strip)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.dictionaries(header_names, header_values, min_size=1, max_size=5),
            st.binary(max_size=200),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=20),
)
def test_well_formed_frames_survive_any_split(frames, cuts) -> None:  # type: ignore[no-untyped-def]
    stream = b""
    expected = []
    for headers, body in frames:
        headers = {k: v for k, v in headers.items() if k != "Content-Length"}
        headers["Content-Length"] = str(len(body))
        stream += encode_frame(headers, body)
        expected.append((headers, body))
    decoder = FrameDecoder()
    got = []
    pos = 0
    i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        got += decoder.feed(stream[pos : pos + step])
        pos += step
        i += 1
    assert [(f.headers, f.body) for f in got] == expected
