"""Random, truncated and corrupted frames against the parser: it returns frames or raises
EslProtocolError, never anything else, and never hangs (every input is finite and the
decoder only ever consumes it). Numbers on the wire are ASCII digits or nothing.
(tests/faults/test_frame_fuzz.py checks that generated events round-trip exactly.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.errors import EslProtocolError
from esl_controller.esl import replies
from esl_controller.esl.events import PARSERS, parse_event
from esl_controller.esl.frames import FrameDecoder, ascii_int, encode_frame
from esl_controller.esl.typed_events import to_int, typed_event
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


# -- numbers: ASCII digits only ---------------------------------------------------------

# str.isdigit() accepts all of these; int() refuses the first two and reads the others as
# numbers FreeSWITCH never writes.
NOT_ASCII_NUMBERS = ["²", "1²", "١٢", "１２", "1_0", "+5", " ", "", "9" * 20, "9" * 5000]


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_numbers_are_ascii_digits_only(text: str) -> None:
    assert ascii_int(text) is None
    assert to_int(text) is None
    assert to_int(f"-{text}") is None
    with pytest.raises(EslProtocolError):
        replies.count(text)


def test_ascii_numbers_still_parse() -> None:
    assert ascii_int(" 42\n") == 42
    assert to_int("-1") == -1
    assert ascii_int("-1") is None  # a length is never negative
    assert to_int("1795514463677475") == 1795514463677475
    assert replies.count("3\n") == 3


@pytest.mark.parametrize("length", NOT_ASCII_NUMBERS)
def test_bad_outer_content_length_is_a_protocol_error(length: str) -> None:
    frame = f"Content-Type: text/event-plain\nContent-Length: {length}\n\n".encode()
    with pytest.raises(EslProtocolError):
        FrameDecoder().feed(frame)


@pytest.mark.parametrize("length", NOT_ASCII_NUMBERS)
def test_bad_inner_content_length_is_a_protocol_error(length: str) -> None:
    body = f"Event-Name: BACKGROUND_JOB\nContent-Length: {length}\n\n+OK\n".encode()
    with pytest.raises(EslProtocolError):
        parse_event("text/event-plain", body)


def test_unicode_digit_in_xml_content_length_keeps_the_whole_body() -> None:
    xml = (
        "<event><headers><Event-Name>BACKGROUND_JOB</Event-Name></headers>"
        "<Content-Length>²</Content-Length><body>+OK done</body></event>"
    ).encode()
    event = parse_event("text/event-xml", xml)
    assert event.name == "BACKGROUND_JOB"
    assert event.body == "+OK done"


def test_unicode_digits_in_callcenter_numbers_read_as_missing() -> None:
    body = (
        b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nEvent-Sequence: %C2%B2\n"
        b"CC-Action: members-count\nCC-Queue: support%40default\nCC-Count: %C2%B2\n"
    )
    view = typed_event(parse_event("text/event-plain", body))
    assert view is not None
    assert view.meta.sequence is None
    assert view.count is None  # type: ignore[attr-defined]
