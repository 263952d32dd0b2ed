"""The simulator's event serializers give back FreeSWITCH's bytes.

Every event frame a real FreeSWITCH 1.10.12 sent in tests/fixtures/esl/*.jsonl is parsed
with the product's parser and serialized again with the simulator's serializer: the bytes
must be identical (outer envelope included). Smaller cases pin the encoder's rules.
"""

from __future__ import annotations

import json
import pathlib
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest

from esl_controller.esl.events import parse_event
from esl_controller.esl.frames import Frame, FrameDecoder
from esl_controller.simulator.wire import encode

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "esl"
FORMATS = {content_type: fmt for fmt, content_type in encode.CONTENT_TYPES.items()}


def _event_frames() -> list[tuple[str, int, Frame, bytes]]:
    found = []
    for path in sorted(FIXTURES.glob("*.jsonl")):
        decoder = FrameDecoder()
        for number, line in enumerate(path.read_text().splitlines()[1:], start=2):
            step = json.loads(line)
            if step["dir"] != "recv":
                continue
            raw = step["raw"].encode("utf-8")
            for frame in decoder.feed(raw):
                if frame.content_type in FORMATS:
                    found.append((path.name, number, frame, raw))
    return found


EVENT_FRAMES = _event_frames()


def _ordered_headers(fmt: str, payload: bytes) -> list[tuple[str, str]]:
    """Header names in wire order, repeats kept (FreeSWITCH repeats ``Hangup-Cause`` in
    CHANNEL_HANGUP_COMPLETE, which a dict cannot hold), values decoded as the parser does."""
    if fmt == "plain":
        head = payload.partition(b"\n\n")[0].decode("utf-8")
        pairs = [line.split(": ", 1) for line in head.split("\n")]
        return [(n, unquote(v)) for n, v in pairs if n != "Content-Length"]
    if fmt == "json":
        items = json.loads(payload, object_pairs_hook=list)
        return [
            (n, v if isinstance(v, str) else "ARRAY::" + "|:".join(v))
            for n, v in items
            if n not in ("Content-Length", "_body")
        ]
    root = ElementTree.fromstring(payload)  # noqa: S314 - recorded FreeSWITCH output
    return [(el.tag, unquote(el.text or "")) for el in root.findall("headers/*")]


def _has_body(fmt: str, payload: bytes) -> bool:
    """Whether FreeSWITCH serialized a body (an inner length, ``_body`` or ``<body>``)."""
    if fmt == "plain":
        head = payload.partition(b"\n\n")[0]
        return any(line.startswith(b"Content-Length: ") for line in head.split(b"\n"))
    if fmt == "json":
        return "_body" in json.loads(payload)
    return b"\n  <body>" in payload


def _reserialize(frame: Frame) -> bytes:
    fmt = FORMATS[frame.content_type]
    event = parse_event(frame.content_type, frame.body)
    headers = _ordered_headers(fmt, frame.body)
    # The product's parser agrees on every value (it keeps the last of a repeated header).
    assert dict(headers) == {
        n: v if isinstance(v, str) else "ARRAY::" + "|:".join(v) for n, v in event.headers.items()
    }
    body = event.body if _has_body(fmt, frame.body) else None
    return encode.event_frame(fmt, encode.SERIALIZERS[fmt](headers, body))


def test_fixtures_hold_every_format() -> None:
    formats = {FORMATS[frame.content_type] for _, _, frame, _ in EVENT_FRAMES}
    assert formats == {"plain", "json", "xml"}
    assert len(EVENT_FRAMES) > 250


@pytest.mark.parametrize(
    "frame,raw",
    [pytest.param(f, r, id=f"{name}:{line}") for name, line, f, r in EVENT_FRAMES],
)
def test_event_frame_round_trips_byte_for_byte(frame: Frame, raw: bytes) -> None:
    assert _reserialize(frame) == raw


def test_url_encode_follows_switch_url_encode() -> None:
    assert encode.url_encode("callcenter::info") == "callcenter%3A%3Ainfo"
    assert encode.url_encode("Tue, 24 Nov 2026") == "Tue,%2024%20Nov%202026"
    assert (
        encode.url_encode("[leg_timeout=10]loopback/7000") == "%5Bleg_timeout%3D10%5Dloopback/7000"
    )
    assert encode.url_encode("1.10.12+git~x") == "1.10.12%2Bgit~x"
    assert encode.url_encode('a#b&c;d<e>f?g@h\\i^j`k{l|m}n"o') == (
        "a%23b%26c%3Bd%3Ce%3Ef%3Fg%40h%5Ci%5Ej%60k%7Bl%7Cm%7Dn%22o"
    )
    assert encode.url_encode("line1\r\nline2\t") == "line1%0D%0Aline2%09"
    assert encode.url_encode("é\x7f") == "%C3%A9%7F"
    # An upper-case %XX already there is left alone; anything else gets its % encoded.
    assert encode.url_encode("100%41") == "100%41"
    assert encode.url_encode("100%4a") == "100%254a"
    assert encode.url_encode("100%") == "100%25"
    assert encode.url_encode("5%4") == "5%254"


def test_plain_body_and_empty_body() -> None:
    headers = [("Event-Name", "BACKGROUND_JOB"), ("Job-Command", "status")]
    assert encode.serialize_plain(headers, "+OK ok\n") == (
        b"Event-Name: BACKGROUND_JOB\nJob-Command: status\nContent-Length: 7\n\n+OK ok\n"
    )
    assert encode.serialize_plain(headers, "") == (
        b"Event-Name: BACKGROUND_JOB\nJob-Command: status\n\n"
    )
    assert encode.serialize_plain(headers, None) == encode.serialize_plain(headers, "")


def test_json_keeps_order_duplicates_arrays_and_empty_bodies() -> None:
    headers = [("B", 'x\ny\x01"é/'), ("A", "1"), ("A", "2"), ("L", "ARRAY::a|:b")]
    assert (
        encode.serialize_json(headers, "")
        == (
            '{"B":"x\\ny\\u0001\\"é/","A":"1","A":"2","L":["a","b"],'
            '"Content-Length":"0","_body":""}'
        ).encode()
    )
    assert encode.serialize_json([("A", "1")], None) == b'{"A":"1"}'


def test_xml_body_escaping_and_closing_tag_indent() -> None:
    out = encode.serialize_xml([("Job-Command", "create_uuid")], "a<b>&c\ré").decode()
    assert "  <Content-Length>9</Content-Length>\n" in out
    assert out.endswith("  <body>a&lt;b&gt;&amp;c&#xD;&#xE9;</body>\n</event>\n")
    out = encode.serialize_xml([("A", "x y")], "ok\n").decode()
    assert out == (
        "<event>\n  <headers>\n    <A>x%20y</A>\n  </headers>\n"
        "  <Content-Length>3</Content-Length>\n  <body>ok\n  </body>\n</event>\n"
    )
    assert encode.serialize_xml([("A", "1")], "").decode() == (
        "<event>\n  <headers>\n    <A>1</A>\n  </headers>\n</event>\n"
    )
    # "<!" makes the rest immune to escaping, as in switch_xml_ampencode.
    assert (
        "<body>&lt;x<![CDATA[<&>]]></body>"
        in encode.serialize_xml([], "<x<![CDATA[<&>]]>").decode()
    )
    multi = encode.serialize_xml([("L", "ARRAY::a b|:c")], None).decode()
    assert "    <L>a%20b</L>\n    <L>c</L>\n" in multi


def test_outer_frames_follow_quirk_2() -> None:
    assert encode.event_frame("json", b"{}") == (
        b"Content-Length: 2\nContent-Type: text/event-json\n\n{}"
    )
    assert encode.api_frame("+OK\n") == b"Content-Type: api/response\nContent-Length: 4\n\n+OK\n"
    assert encode.reply_frame("+OK Job-UUID: u", [("Job-UUID", "u")]) == (
        b"Content-Type: command/reply\nReply-Text: +OK Job-UUID: u\nJob-UUID: u\n\n"
    )
    assert len(encode.DISCONNECT_TEXT.encode()) == 67
    assert encode.disconnect_frame(encode.DISCONNECT_TEXT) == (
        b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
        + encode.DISCONNECT_TEXT.encode()
    )
