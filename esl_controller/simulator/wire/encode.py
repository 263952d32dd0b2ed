"""Serialize events and frames exactly as mod_event_socket writes them.

* plain: ``switch_event_serialize`` URL-encodes each value with ``switch_url_encode``:
  bytes below space or above ``~`` and the characters of ``SWITCH_URL_UNSAFE``
  (CR, LF, space and ``#%&+:;<=>?@[\\]^`{|}"``) become ``%XX``; a ``%`` that already
  starts a ``%XX`` sequence is left alone. Commas, slashes and parentheses stay as they
  are (``Event-Date-GMT: Tue,%2024%20Nov...``). A body follows an inner
  ``Content-Length``; without one the block ends with a blank line.
* json: one compact object, every value a string, ``Content-Length`` + ``_body`` for a
  body, no trailing newline.
* xml: ``<event><headers>`` with URL-encoded element text, then ``<Content-Length>`` and
  ``<body>`` whose text is followed by the closing tag's indentation.

The outer envelope puts ``Content-Length`` before ``Content-Type`` for events but after it
for ``api/response``; ``command/reply`` has no length at all (README quirk 2).
"""

from __future__ import annotations

import json

_UNSAFE = set(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
_HEXDIGITS = set(b"0123456789abcdefABCDEF")
_ENCODE_TABLE = [
    (f"%{b:02X}" if (b < 0x20 or b > 0x7E or b in _UNSAFE) else chr(b)) for b in range(256)
]

Header = tuple[str, str]


def url_encode(value: str) -> str:
    """``switch_url_encode`` without double-encoding existing ``%XX`` sequences."""
    raw = value.encode("utf-8")
    if not any(_ENCODE_TABLE[b] != chr(b) for b in raw):
        return value
    out = []
    n = len(raw)
    for i, b in enumerate(raw):
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEXDIGITS and raw[i + 2] in _HEXDIGITS:
            out.append("%")
        else:
            out.append(_ENCODE_TABLE[b])
    return "".join(out)


def serialize_plain(headers: list[Header], body: str | None) -> bytes:
    lines = [f"{name}: {url_encode(value)}\n" for name, value in headers]
    if body is not None:
        data = body.encode("utf-8")
        return ("".join(lines) + f"Content-Length: {len(data)}\n\n").encode("utf-8") + data
    return ("".join(lines) + "\n").encode("utf-8")


def serialize_json(headers: list[Header], body: str | None) -> bytes:
    obj: dict[str, str] = {}
    for name, value in headers:
        obj[name] = value
    if body is not None:
        obj["Content-Length"] = str(len(body.encode("utf-8")))
        obj["_body"] = body
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _xml_text(value: str) -> str:
    return url_encode(value)


def serialize_xml(headers: list[Header], body: str | None) -> bytes:
    parts = ["<event>\n  <headers>\n"]
    for name, value in headers:
        parts.append(f"    <{name}>{_xml_text(value)}</{name}>\n")
    parts.append("  </headers>\n")
    if body is not None:
        length = len(body.encode("utf-8"))
        parts.append(f"  <Content-Length>{length}</Content-Length>\n")
        escaped = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(f"  <body>{escaped}\n  </body>\n")
    parts.append("</event>\n")
    return "".join(parts).encode("utf-8")


SERIALIZERS = {"plain": serialize_plain, "json": serialize_json, "xml": serialize_xml}
CONTENT_TYPES = {
    "plain": "text/event-plain",
    "json": "text/event-json",
    "xml": "text/event-xml",
}


def event_frame(fmt: str, payload: bytes) -> bytes:
    """The outer envelope of an event: Content-Length first, then Content-Type."""
    head = f"Content-Length: {len(payload)}\nContent-Type: {CONTENT_TYPES[fmt]}\n\n"
    return head.encode("ascii") + payload


def reply_frame(text: str, extra: list[Header] | None = None) -> bytes:
    """A ``command/reply``: no Content-Length, the reply in ``Reply-Text``."""
    lines = ["Content-Type: command/reply", f"Reply-Text: {text}"]
    lines += [f"{name}: {value}" for name, value in extra or []]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def api_frame(output: str) -> bytes:
    data = output.encode("utf-8")
    return f"Content-Type: api/response\nContent-Length: {len(data)}\n\n".encode() + data


def typed_frame(content_type: str, text: str, extra: list[Header] | None = None) -> bytes:
    """Content-Type, Content-Length, then extra headers (log/data, disconnect notice)."""
    data = text.encode("utf-8")
    lines = [f"Content-Type: {content_type}", f"Content-Length: {len(data)}"]
    lines += [f"{name}: {value}" for name, value in extra or []]
    return ("\n".join(lines) + "\n\n").encode("utf-8") + data


DISCONNECT_TEXT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
RUDE_REJECTION_TEXT = "Access Denied, go away.\n"
