"""The ESL frame parser fuzzed with generated event streams (hypothesis).

Events with random header names and values (``%``, newlines, ``Content-Length``, unicode,
injection attempts such as ``%0AEvent-Name:%20HEARTBEAT``) and optional bodies are
serialized exactly as FreeSWITCH writes them (the simulator's encoder, which follows
``switch_event_serialize``/``_json``/``switch_event_xmlize`` and matches the recorded
captures), mixed with api replies and log lines, cut at random points and fed to
:class:`FrameDecoder` and the event parsers. Every event must come back with exactly its
headers and body, in order: no event is split, merged or misparsed into another. Garbage
bytes spliced into such a stream may only ever raise :class:`EslProtocolError`, and every
frame completed before the garbage is still decoded exactly.

The helpers here are shared with ``bench/frame_fuzz.py``, which runs the same round trip
over at least 100,000 frames. tests/unit/test_parse_fuzz.py covers random bytes and
mutated real frames.
"""

from __future__ import annotations

import inspect
import itertools
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from esl_controller.errors import EslProtocolError
from esl_controller.esl import typed_events
from esl_controller.esl.events import PARSERS
from esl_controller.esl.frames import FrameDecoder
from esl_controller.simulator.wire.encode import (
    SERIALIZERS,
    api_frame,
    event_frame,
    reply_frame,
    typed_frame,
)

FUZZ = settings(max_examples=300, deadline=None)

# Header names FreeSWITCH really sends, plus caller-influenced ones (channel variables,
# SIP headers) whose names look like the framing's own.
REAL_NAMES = [
    "Event-Name", "Event-Subclass", "Event-Sequence", "Core-UUID", "Unique-ID",
    "Caller-Caller-ID-Name", "CC-Agent", "CC-Action", "CC-Count", "CC-Queue", "Job-UUID",
    "variable_Content-Length", "variable_sip_h_X-Event-Name", "Content-Type",
    "Reply-Text", "Event-Date-Timestamp", "variable_%41", "X-Empty",
]  # fmt: skip
NAME_CHARS = string.ascii_letters + string.digits + "-_"
# Values that have fooled ESL parsers: encoded and raw line breaks, a second header or a
# whole second event inside a value, bodies announced inside a value, lone and odd '%'.
TRICKY_VALUES = [
    "%0AEvent-Name:%20HEARTBEAT", "\nEvent-Name: HEARTBEAT", "\n\nContent-Length: 3\n\n",
    "Content-Length: 10", "Content-Type: text/event-plain", "%", "%%", "%4", "%zz", "100%",
    "%25", "%C3%A9", "%FF", "_undef_", "ARRAY::a|:b|:c", "", " ", "\r\n", "\x00", "²",
    "١٢", "Tue,%2024%20Nov", "a: b", ": ", "\t", "😀", "\ud7ff", "<event>", "&amp;", '"}',
]  # fmt: skip
# Bodies are the output of a command (BACKGROUND_JOB): anything, including framing.
TRICKY_BODIES = [
    "+OK\n", "", "\n\n", "Content-Length: 5\n\n12345", "-ERR no reply\n",
    "Content-Type: text/event-plain\nContent-Length: 0\n\n", "%0A%0A", "é\n",
]  # fmt: skip
FORMATS = ("plain", "json", "xml")


@dataclass(frozen=True)
class GenEvent:
    """An event as FreeSWITCH holds it before serializing: raw names and values."""

    fmt: str
    headers: tuple[tuple[str, str], ...]
    body: str | None


@dataclass(frozen=True)
class GenOther:
    """A frame that is not an event: api/response, command/reply or log/data."""

    kind: str
    text: str


GenFrame = GenEvent | GenOther


def xml_safe(text: str) -> str:
    """What XML 1.0 can carry as text (FreeSWITCH's xml events cannot carry the rest, and
    the parser normalizes CR): used for xml bodies only; xml header values are encoded."""
    return "".join(
        ch for ch in text if ch in "\t\n" or (" " <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
    )


def normalize(frame: GenFrame) -> GenFrame:
    """Make a generated frame one FreeSWITCH could send: unique names, no reserved ones,
    xml names that are XML tags, xml bodies that are XML text."""
    if not isinstance(frame, GenEvent):
        if frame.kind == "reply":  # Reply-Text is one literal line
            return GenOther("reply", frame.text.replace("\n", " ").replace("\r", " "))
        return frame
    seen: dict[str, str] = {}
    for name, value in frame.headers:
        if name in ("Content-Length", "_body") or not name:
            continue
        if frame.fmt == "xml":
            # Header names are element names there (FreeSWITCH's own are all valid).
            name = "".join(ch if ch in NAME_CHARS else "_" for ch in name)
            if not (name[0].isalpha() or name[0] == "_"):
                name = "X" + name
        seen.setdefault(name, value)
    body = frame.body
    if frame.fmt == "xml" and body is not None:
        body = xml_safe(body) or None  # an empty body is not written at all
    if frame.fmt == "plain" and body == "":
        body = None  # FreeSWITCH writes no inner Content-Length for an empty body
    return GenEvent(frame.fmt, tuple(seen.items()), body)


def serialize(frame: GenFrame) -> bytes:
    """One frame's bytes exactly as mod_event_socket writes them."""
    if isinstance(frame, GenEvent):
        payload = SERIALIZERS[frame.fmt](list(frame.headers), frame.body)
        return event_frame(frame.fmt, payload)
    if frame.kind == "api":
        return api_frame(frame.text)
    if frame.kind == "reply":
        return reply_frame(frame.text)
    return typed_frame("log/data", frame.text, [("Log-Level", "7")])


def expected(frame: GenFrame) -> tuple[object, ...]:
    """What the product must read back. Plain and xml header values are percent-decoded,
    and FreeSWITCH's encoder leaves an existing ``%XX`` as it is (no double encoding), so
    a raw value that already holds ``%0A`` is read as a newline: that is FreeSWITCH's
    meaning of the value, still one value of one header."""
    if isinstance(frame, GenEvent):
        if frame.fmt == "json":
            headers = dict(frame.headers)
        else:
            headers = {name: unquote(value) for name, value in frame.headers}
        return ("event", headers, frame.body or "")
    return (frame.kind, frame.text)


def read_back(frames: list[object]) -> list[tuple[object, ...]]:
    """Decoded frames in the shape of :func:`expected`."""
    out: list[tuple[object, ...]] = []
    for frame in frames:
        ctype = frame.content_type  # type: ignore[attr-defined]
        if ctype in PARSERS:
            event = PARSERS[ctype](frame.body)  # type: ignore[attr-defined]
            out.append(("event", dict(event.headers), event.body))
        elif ctype == "api/response":
            out.append(("api", frame.text))  # type: ignore[attr-defined]
        elif ctype == "command/reply":
            out.append(("reply", frame.headers.get("Reply-Text", "")))  # type: ignore[attr-defined]
        else:
            out.append(("log", frame.text))  # type: ignore[attr-defined]
    return out


def read_like_the_reader(
    stream: bytes, cuts: Iterator[int]
) -> tuple[list[tuple[object, ...]], bool]:
    """Feed the stream in pieces (as TCP may deliver it) the way the connection's reader
    does: frames completed before a corrupt spot are delivered, then the link ends.
    Returns what was read (``("unparsable",)`` for an event the parsers refused, which the
    handler drops) and whether the stream was found corrupt."""
    decoder = FrameDecoder()
    got: list[tuple[object, ...]] = []
    pos = 0
    while pos < len(stream):
        step = next(cuts)
        try:
            frames = decoder.feed(stream[pos : pos + step])
        except EslProtocolError:
            return got, True
        for frame in frames:
            try:
                got += read_back([frame])
            except EslProtocolError:
                got.append(("unparsable",))
        if decoder.error is not None:
            return got, True
        pos += step
    return got, decoder.buffered != 0


def decode_in_pieces(stream: bytes, cuts: list[int]) -> list[tuple[object, ...]]:
    """A well-formed stream read back: never corrupt, nothing left over."""
    got, corrupt = read_like_the_reader(stream, itertools.cycle(cuts or [len(stream) or 1]))
    assert not corrupt, "a well-formed stream was judged corrupt or left bytes over"
    return got


# -- strategies ---------------------------------------------------------------------------

names = st.one_of(
    st.sampled_from(REAL_NAMES), st.text(alphabet=NAME_CHARS, min_size=1, max_size=24)
)
unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
values = st.one_of(
    st.sampled_from(TRICKY_VALUES),
    unicode_text,
    st.lists(st.one_of(st.sampled_from(TRICKY_VALUES), unicode_text), max_size=4).map("".join),
)
bodies = st.one_of(
    st.none(),
    st.sampled_from(TRICKY_BODIES),
    st.lists(st.one_of(st.sampled_from(TRICKY_BODIES), unicode_text), max_size=4).map("".join),
)
events = st.builds(
    GenEvent,
    st.sampled_from(FORMATS),
    st.lists(st.tuples(names, values), max_size=12).map(tuple),
    bodies,
)
others = st.builds(
    GenOther, st.sampled_from(["api", "reply", "log"]), unicode_text.map(lambda t: t or "+OK")
)
streams = st.lists(st.one_of(events, events, others), min_size=1, max_size=8).map(
    lambda frames: [normalize(f) for f in frames]
)
cut_sizes = st.lists(st.integers(min_value=1, max_value=200), max_size=12)


@FUZZ
@given(streams, cut_sizes)
def test_every_event_reads_back_exactly_however_the_stream_is_cut(
    frames: list[GenFrame], cuts: list[int]
) -> None:
    want = [expected(f) for f in frames]
    got = decode_in_pieces(b"".join(serialize(f) for f in frames), cuts)
    assert got == want


@FUZZ
@given(streams, st.integers(min_value=0), st.binary(min_size=1, max_size=64), cut_sizes)
def test_garbage_in_a_stream_only_raises_protocol_errors(
    frames: list[GenFrame], where: int, garbage: bytes, cuts: list[int]
) -> None:
    encoded = [serialize(f) for f in frames]
    stream = b"".join(encoded)
    at = where % (len(stream) + 1)
    # Frames that end at or before the garbage must still decode exactly.
    intact = []
    end = 0
    for frame, data in zip(frames, encoded, strict=True):
        end += len(data)
        if end <= at:
            intact.append(expected(frame))
    dirty = stream[:at] + garbage + stream[at:]
    got, _corrupt = read_like_the_reader(dirty, itertools.cycle(cuts or [len(dirty)]))
    assert got[: len(intact)] == intact


@FUZZ
@given(events.map(normalize), st.sampled_from(["plain", "json", "xml"]))
def test_an_event_never_becomes_another_event(event: GenEvent, fmt: str) -> None:
    """The injection attempts in values and bodies stay inside their one event."""
    event = normalize(GenEvent(fmt, event.headers, event.body))
    got = decode_in_pieces(serialize(event) * 3, [7, 300])
    assert got == [expected(event)] * 3


# Every header the typed views read, so each builder meets hostile values in each field.
TYPED_FIELDS = sorted(
    set(re.findall(r'get\("([A-Za-z0-9_-]+)"', inspect.getsource(typed_events)))
    | {"CC-Agent", "CC-Queue", "CC-Count", "Event-Sequence", "Event-Date-Timestamp"}
)
DISPATCH = [("CUSTOM", "callcenter::info", action) for action in typed_events.CALLCENTER] + [
    (name, "", "") for name in typed_events.BY_KEY if "::" not in name
] + [("CUSTOM", name, "") for name in typed_events.BY_KEY if "::" in name]  # fmt: skip
absurd = st.one_of(
    st.sampled_from(["²", "9" * 30, "-" + "9" * 30, "-1", "0", "", "_undef_", "nan", "1e9",
                     "ARRAY::|:", "|", "@", "%00", "Available%0AEvent-Name:%20HEARTBEAT"]),
    values,
)  # fmt: skip


@FUZZ
@given(st.sampled_from(DISPATCH), st.dictionaries(st.sampled_from(TYPED_FIELDS), absurd))
def test_typed_views_take_absurd_fields_without_raising(
    kind: tuple[str, str, str], fields: dict[str, str]
) -> None:
    """Whatever FreeSWITCH (or something posing as it) puts in the fields the product
    reads, the typed view is built or skipped: never an exception that costs the event."""
    name, subclass, action = kind
    headers = [("Event-Name", name), ("Event-Subclass", subclass), ("CC-Action", action)]
    headers += [(k, v) for k, v in fields.items() if k not in ("Event-Name", "Event-Subclass")]
    if action:
        headers = [(k, v) for k, v in headers if k != "CC-Action" or v == action]
    for fmt in ("plain", "json"):
        (frame,) = FrameDecoder().feed(serialize(normalize(GenEvent(fmt, tuple(headers), None))))
        event = PARSERS[frame.content_type](frame.body)
        typed_events.typed_event(event)
