"""Serialize events and frames exactly as mod_event_socket writes them.

* plain (``switch_event_serialize``): each value goes through ``switch_url_encode``:
  bytes below space or above ``~`` and the characters of ``SWITCH_URL_UNSAFE``
  (CR, LF, space and ``#%&+:;<=>?@[\\]^`{|}"``) become ``%XX``; a ``%`` that already
  starts a ``%XX`` sequence *in upper-case hex* is left alone (``%2b`` is re-encoded).
  Commas, slashes and parentheses stay as they are (``Tue,%2024%20Nov...``). A non-empty
  body follows an inner ``Content-Length``; otherwise the block ends with a blank line.
* json (``switch_event_serialize_json``, cJSON unformatted): one object in header order
  (a repeated header is a repeated key), every value a string, ``ARRAY::`` headers as
  arrays, ``Content-Length`` + ``_body`` whenever there is a body (even an empty one),
  no trailing newline.
* xml (``switch_event_xmlize`` + ``switch_xml_toxml``): ``<event><headers>`` with the
  URL-encoded value as element text, then ``<Content-Length>`` and ``<body>`` for a
  non-empty body. The body is XML-escaped by ``switch_xml_ampencode`` (``& < >``, CR as
  ``&#xD;``, non-ASCII as ``&#xNN;``, and nothing at all after a ``<!``), and when it
  ends with a newline the closing tag is indented: ``...\\n  </body>``.

The outer envelope puts ``Content-Length`` before ``Content-Type`` for events but after it
for ``api/response``; ``command/reply`` has no length at all (README quirk 2).
"""

from __future__ import annotations

import json

_UNSAFE = set(b'\r\n #%&+:;<=>?@[\\]^`{|}"')
# switch_url_encode_opt checks the two characters after '%' against "0123456789ABCDEF".
_UPPER_HEX = set(b"0123456789ABCDEF")
_ENCODE_TABLE = [
    (f"%{b:02X}" if (b < 0x20 or b > 0x7E or b in _UNSAFE) else chr(b)) for b in range(256)
]
_SAFE_CHARS = frozenset(chr(b) for b in range(256) if _ENCODE_TABLE[b] == chr(b))

ARRAY_PREFIX = "ARRAY::"
ARRAY_SEPARATOR = "|:"

Header = tuple[str, str]


def url_encode(value: str) -> str:
    """``switch_url_encode``: no double encoding of an existing upper-case ``%XX``."""
    if _SAFE_CHARS.issuperset(value):
        return value
    raw = value.encode("utf-8")
    out = []
    n = len(raw)
    for i, b in enumerate(raw):
        if b == 0x25 and i + 2 < n and raw[i + 1] in _UPPER_HEX and raw[i + 2] in _UPPER_HEX:
            out.append("%")
        else:
            out.append(_ENCODE_TABLE[b])
    return "".join(out)


def array_items(value: str) -> list[str] | None:
    """The items of an ``ARRAY::a|:b`` value (FreeSWITCH's multi-valued header), else None."""
    if value.startswith(ARRAY_PREFIX):
        return value[len(ARRAY_PREFIX) :].split(ARRAY_SEPARATOR)
    return None


def serialize_plain(headers: list[Header], body: str | None) -> bytes:
    # An array header is written from its rebuilt "ARRAY::a|:b" value, URL-encoded whole.
    lines = [f"{name}: {url_encode(value) or '_undef_'}\n" for name, value in headers]
    if body:
        data = body.encode("utf-8")
        return ("".join(lines) + f"Content-Length: {len(data)}\n\n").encode("utf-8") + data
    return ("".join(lines) + "\n").encode("utf-8")


def _json_str(text: str) -> str:
    # cJSON escapes '"', '\\', \b \f \n \r \t and other control characters as \u00xx
    # (lower-case hex) and writes everything else, UTF-8 included, as is: so does Python.
    return json.dumps(text, ensure_ascii=False)


def serialize_json(headers: list[Header], body: str | None) -> bytes:
    members = []
    for name, value in headers:
        items = array_items(value)
        if items is None:
            members.append(f"{_json_str(name)}:{_json_str(value)}")
        else:
            members.append(f"{_json_str(name)}:[{','.join(_json_str(i) for i in items)}]")
    if body is not None:
        length = len(body.encode("utf-8"))
        members.append(f'"Content-Length":"{length}"')
        members.append(f'"_body":{_json_str(body)}')
    return ("{" + ",".join(members) + "}").encode("utf-8")


def xml_text(text: str) -> str:
    """``switch_xml_ampencode`` for element text, with UTF-8 encoding on."""
    out = []
    for i, ch in enumerate(text):
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            if text[i + 1 : i + 2] == "!":
                # A "<!" makes the rest of the text immune: copied raw (CDATA, comments).
                out.append(text[i:])
                break
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "\r":
            out.append("&#xD;")
        elif ord(ch) > 0x7F:
            out.append(f"&#x{ord(ch):X};")
        else:
            out.append(ch)
    return "".join(out)


def serialize_xml(headers: list[Header], body: str | None) -> bytes:
    parts = ["<event>\n  <headers>\n"]
    for name, value in headers:
        items = array_items(value)
        for item in [value] if items is None else items:
            parts.append(f"    <{name}>{xml_text(url_encode(item))}</{name}>\n")
    parts.append("  </headers>\n")
    if body:
        length = len(body.encode("utf-8"))
        parts.append(f"  <Content-Length>{length}</Content-Length>\n")
        text = xml_text(body)
        # switch_xml_toxml indents a closing tag that follows a newline.
        closing = "  </body>\n" if text.endswith("\n") else "</body>\n"
        parts.append(f"  <body>{text}{closing}")
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


def disconnect_frame(text: str, session_uuid: str | None = None) -> bytes:
    """``send_disconnect``: a listener bound to a channel names it before the length."""
    data = text.encode("utf-8")
    head = "Content-Type: text/disconnect-notice\n"
    if session_uuid is not None:
        head += f"Controlled-Session-UUID: {session_uuid}\nContent-Disposition: disconnect\n"
    return (head + f"Content-Length: {len(data)}\n\n").encode("utf-8") + data


def linger_frame(session_uuid: str, channel_name: str, linger: int) -> bytes:
    """The notice a lingering listener gets when its channel hangs up (no body)."""
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {linger}\n"
        "Content-Length: 0\n\n"
    ).encode()


DISCONNECT_TEXT = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
SHUTDOWN_TEXT = "The system is being shut down.\n"
LOST_EVENTS_TEXT = "killed listener because of lost events\n"
LOST_LOGS_TEXT = "killed listener because of lost log lines\n"
RUDE_REJECTION_TEXT = "Access Denied, go away.\n"
