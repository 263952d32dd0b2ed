"""FreeSWITCH events: parse ``text/event-plain|json|xml`` bodies into :class:`Event`.

Plain events are the tricky one. The body is itself a header block whose *values* are
URL-encoded by ``switch_event_serialize`` (header names are not). We split lines first and
percent-decode each value afterwards, so a caller-controlled value such as a caller-id
name containing ``%0AEvent-Name:%20HEARTBEAT`` stays one value and can never create a
header (greenswitch decodes the whole block first and is open to exactly that).

When a plain event carries a body (BACKGROUND_JOB's command output) its header block ends
with an inner ``Content-Length: N``, a blank line, then N bytes; json puts the same in a
``"_body"`` member, xml in a ``<body>`` element. In every format the body ends up in
:attr:`Event.body`, never inside a header.

``_undef_`` is how FreeSWITCH writes a header whose value is NULL (``Job-Owner-UUID`` on an
inbound socket); :meth:`Event.get` returns ``None`` for it. ``ARRAY::a|:b`` is a
multi-valued header; :meth:`Event.get_list` splits it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, unquote_to_bytes
from xml.etree import ElementTree

from esl_controller.errors import EslProtocolError

UNDEF = "_undef_"
ARRAY_PREFIX = "ARRAY::"
ARRAY_SEPARATOR = "|:"
_ENCODED_LINE_BREAK = re.compile(rb"%0[AaDd]")


class Event:
    """A decoded FreeSWITCH event: headers (decoded strings, or lists for json arrays) and body."""

    __slots__ = ("headers", "body", "format")

    def __init__(self, headers: dict[str, Any], body: str = "", fmt: str = "plain") -> None:
        self.headers = headers
        self.body = body
        self.format = fmt

    @property
    def name(self) -> str:
        return str(self.headers.get("Event-Name", ""))

    @property
    def subclass(self) -> str:
        return str(self.headers.get("Event-Subclass", ""))

    @property
    def key(self) -> str:
        """Dispatch key: the subclass for CUSTOM events (``callcenter::info``), else the name."""
        name = self.headers.get("Event-Name", "")
        if name == "CUSTOM":
            return str(self.headers.get("Event-Subclass", "CUSTOM"))
        return str(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """A header as text; ``_undef_`` and absent both give ``default``."""
        value = self.headers.get(name)
        if value is None or value == UNDEF:
            return default
        if isinstance(value, list):
            return ARRAY_SEPARATOR.join(value)
        return str(value)

    def get_list(self, name: str) -> list[str]:
        """A multi-valued header (``ARRAY::a|:b`` in plain, a JSON array in json)."""
        value = self.headers.get(name)
        if value is None or value == UNDEF:
            return []
        if isinstance(value, list):
            return [str(v) for v in value]
        if value.startswith(ARRAY_PREFIX):
            return value[len(ARRAY_PREFIX) :].split(ARRAY_SEPARATOR)
        return [value]

    def __repr__(self) -> str:
        return f"Event({self.key!r}, {len(self.headers)} headers, body={len(self.body)}B)"


def _decode(value: str) -> str:
    # Fast path: most values (uuids, numbers, plain words) have nothing encoded.
    return unquote(value) if "%" in value else value


def parse_plain(raw: bytes) -> Event:
    """Parse the body of a ``text/event-plain`` frame."""
    head, _sep, rest = raw.partition(b"\n\n")
    headers = _plain_headers_fast(head)
    if headers is None:
        headers = _plain_headers_per_line(head.decode("utf-8", "replace"))
    body = ""
    inner = headers.pop("Content-Length", None)
    if inner is not None:
        if not inner.isdigit():
            raise EslProtocolError(f"bad inner Content-Length: {inner[:40]!r}")
        body = rest[: int(inner)].decode("utf-8", "replace")
    return Event(headers, body, "plain")


def _plain_headers_fast(head: bytes) -> dict[str, Any] | None:
    """Decode the whole block at once when that cannot create or merge lines.

    Percent-decoding is local to each ``%XX``, so decoding the block equals decoding each
    value, *unless* a value holds an encoded line break (``%0A``/``%0D``): decoded first,
    it would become a header line of its own. Those blocks (rare: only caller-controlled
    text carries them) take the per-line path. One ``unquote`` per event instead of one
    per header is what keeps this parser faster than greenswitch's.
    """
    if b"%" in head:
        if _ENCODED_LINE_BREAK.search(head) is not None:
            return None
        head = unquote_to_bytes(head)
    text = head.decode("utf-8", "replace")
    try:
        return dict(line.split(": ", 1) for line in text.split("\n"))
    except ValueError:
        return None  # an empty line or "Name:" without a space: let the careful path judge


def _plain_headers_per_line(text: str) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise EslProtocolError(f"malformed event header: {line[:80]!r}")
        if value[:1] == " ":
            value = value[1:]
        headers[name] = _decode(value)
    return headers


def parse_json(raw: bytes) -> Event:
    """Parse the body of a ``text/event-json`` frame (values are not URL-encoded)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EslProtocolError(f"bad json event: {exc}") from exc
    if not isinstance(data, dict):
        raise EslProtocolError("json event is not an object")
    body = data.pop("_body", "")
    data.pop("Content-Length", None)
    headers: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, list):
            headers[str(name)] = [str(v) for v in value]
        else:
            headers[str(name)] = "" if value is None else str(value)
    return Event(headers, str(body), "json")


def parse_xml(raw: bytes) -> Event:
    """Parse the body of a ``text/event-xml`` frame (element text is URL-encoded)."""
    try:
        root = ElementTree.fromstring(raw)  # noqa: S314 - FreeSWITCH's own output, no DTDs
    except ElementTree.ParseError as exc:
        raise EslProtocolError(f"bad xml event: {exc}") from exc
    headers: dict[str, Any] = {}
    head = root.find("headers")
    if head is not None:
        for element in head:
            headers[element.tag] = _decode(element.text or "")
    body = ""
    body_el = root.find("body")
    length_el = root.find("Content-Length")
    if body_el is not None:
        text = _decode(body_el.text or "")
        # FreeSWITCH indents the closing tag ("...\n  </body>"): the body is exactly
        # Content-Length characters of the element text.
        if length_el is not None and (length_el.text or "").isdigit():
            text = text[: int(length_el.text or "0")]
        body = text
    return Event(headers, body, "xml")


PARSERS = {
    "text/event-plain": parse_plain,
    "text/event-json": parse_json,
    "text/event-xml": parse_xml,
}


def parse_event(content_type: str, raw: bytes) -> Event:
    """Parse an event frame body by its outer Content-Type."""
    parser = PARSERS.get(content_type)
    if parser is None:
        raise EslProtocolError(f"not an event content type: {content_type!r}")
    return parser(raw)
