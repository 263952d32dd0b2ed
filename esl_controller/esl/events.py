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
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from esl_controller.errors import EslProtocolError
from esl_controller.esl.frames import ascii_int

UNDEF = "_undef_"
ARRAY_PREFIX = "ARRAY::"
ARRAY_SEPARATOR = "|:"


class Event:
    """A decoded FreeSWITCH event: headers (decoded strings, or lists for json arrays) and body.

    Plain events are decoded lazily: the header block is split into lines first (so a
    value can never create a header) and each value is percent-decoded only when read,
    through :meth:`get` or the first access to :attr:`headers`.
    """

    __slots__ = ("_headers", "_encoded", "body", "format")

    def __init__(
        self,
        headers: dict[str, Any] | None = None,
        body: str = "",
        fmt: str = "plain",
        *,
        encoded: dict[str, str] | None = None,
    ) -> None:
        self._headers = headers
        self._encoded = encoded
        self.body = body
        self.format = fmt

    @property
    def headers(self) -> dict[str, Any]:
        """Every header, decoded (built once on first access)."""
        if self._headers is None:
            raw = self._encoded or {}
            self._headers = {k: (unquote(v) if "%" in v else v) for k, v in raw.items()}
        return self._headers

    def _lookup(self, name: str) -> Any:
        if self._headers is not None:
            return self._headers.get(name)
        value = self._encoded.get(name) if self._encoded is not None else None
        if value is not None and "%" in value:
            return unquote(value)
        return value

    @property
    def name(self) -> str:
        return str(self._lookup("Event-Name") or "")

    @property
    def subclass(self) -> str:
        return str(self._lookup("Event-Subclass") or "")

    @property
    def key(self) -> str:
        """Dispatch key: the subclass for CUSTOM events (``callcenter::info``), else the name."""
        name = self._lookup("Event-Name") or ""
        if name == "CUSTOM":
            return str(self._lookup("Event-Subclass") or "CUSTOM")
        return str(name)

    def get(self, name: str, default: str | None = None) -> str | None:
        """A header as text; ``_undef_`` and absent both give ``default``."""
        value = self._lookup(name)
        if value is None or value == UNDEF:
            return default
        if type(value) is str:
            return value
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
    text = head.decode("utf-8", "replace")
    try:
        encoded: dict[str, str] = dict(line.split(": ", 1) for line in text.split("\n"))
    except ValueError:
        # An empty line or "Name:" without its space: the careful path judges it.
        encoded = _plain_headers_per_line(text)
    body = ""
    inner = encoded.pop("Content-Length", None)
    if inner is not None:
        length = ascii_int(inner)
        if length is None:
            raise EslProtocolError(f"bad inner Content-Length: {inner[:40]!r}")
        body = rest[:length].decode("utf-8", "replace")
    return Event(None, body, "plain", encoded=encoded)


def _plain_headers_per_line(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in text.split("\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise EslProtocolError(f"malformed event header: {line[:80]!r}")
        if value[:1] == " ":
            value = value[1:]
        headers[name] = value
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
        # switch_event_xmlize URL-encodes header values but writes the body as plain
        # (XML-escaped) text, so it is not percent-decoded here. FreeSWITCH indents the
        # closing tag ("...\n  </body>"): the body is the first Content-Length *bytes*
        # (strlen) of the element text.
        text = body_el.text or ""
        length = ascii_int(length_el.text) if length_el is not None else None
        if length is not None:
            text = text.encode("utf-8")[:length].decode("utf-8", "replace")
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
