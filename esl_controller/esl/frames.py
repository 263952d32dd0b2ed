"""ESL framing: turn the byte stream from FreeSWITCH into frames.

A frame is a block of ``Name: value`` lines ended by an empty line; when the block has
``Content-Length: N``, exactly N *bytes* of body follow. This is the outer envelope only:
``command/reply``, ``api/response``, ``text/event-*``, ``log/data``, ``auth/request``,
``text/disconnect-notice`` and ``text/rude-rejection`` all share it. Outer header values
are not URL-encoded (``Reply-Text: +OK Job-UUID: ...`` is literal); only the *inside* of a
``text/event-plain`` body is (see :mod:`esl_controller.esl.events`).

The decoder is incremental (bytes in, complete frames out) and never trusts the peer:
a malformed header block or an absurd Content-Length raises :class:`EslProtocolError`
instead of hanging or allocating without bound.

Every number read from the wire goes through :func:`ascii_int` (frames, event bodies,
typed events, replies): ``str.isdigit()`` also accepts ``²`` or ``٣`` (which ``int()``
refuses or reads as another number) and ``int()`` accepts ``" 1_0 "``; a peer must not be
able to turn either into an exception in a loop that has to keep running.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from esl_controller.errors import EslProtocolError

# mod_event_socket refuses inbound bodies over 16 MiB; FreeSWITCH's own output is far
# smaller. A bigger Content-Length means a corrupt stream, not a big event.
MAX_BODY_BYTES = 16 * 1024 * 1024
# A header block without its blank line after this many bytes is garbage.
MAX_HEADER_BYTES = 1024 * 1024


# FreeSWITCH's numbers are at most 64-bit (µs timestamps have 16 digits); a longer run
# of digits is garbage, and int() refuses more than 4300 digits with ValueError anyway.
MAX_DIGITS = 19


def ascii_int(value: str | None, *, signed: bool = False) -> int | None:
    """``value`` as an int when it is only ASCII digits (a leading ``-`` if ``signed``),
    else ``None``. Surrounding whitespace is ignored; nothing here raises."""
    if value is None:
        return None
    text = value.strip()
    digits = text[1:] if signed and text[:1] == "-" else text
    if not digits or len(digits) > MAX_DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return int(text)


@dataclass(slots=True)
class Frame:
    """One outer ESL frame: its headers (literal, in order) and its raw body bytes."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def text(self) -> str:
        """The body as text (FreeSWITCH sends UTF-8; bad bytes are replaced, not fatal)."""
        return self.body.decode("utf-8", "replace")


def parse_header_block(block: bytes) -> dict[str, str]:
    """Split an outer header block into a dict. Lines without a colon are rejected."""
    headers: dict[str, str] = {}
    for raw_line in block.split(b"\n"):
        line = raw_line[:-1] if raw_line.endswith(b"\r") else raw_line
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name:
            raise EslProtocolError(f"malformed header line: {line[:80]!r}")
        # "Name: value"; FreeSWITCH writes exactly one space, and "User-Data: " (empty
        # value) keeps its trailing space, so strip only that single separator space.
        if value.startswith(b" "):
            value = value[1:]
        headers[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return headers


def content_length(headers: dict[str, str]) -> int:
    """The body length announced by a header block, validated."""
    raw = headers.get("Content-Length")
    if raw is None:
        return 0
    length = ascii_int(raw)
    if length is None:
        raise EslProtocolError(f"bad Content-Length: {raw[:40]!r}")
    if length > MAX_BODY_BYTES:
        raise EslProtocolError(f"Content-Length {length} exceeds {MAX_BODY_BYTES}")
    return length


class FrameDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the frames completed by those bytes.

    When the stream turns out corrupt, the frames completed before the corrupt spot are
    still returned (what was received intact does not depend on how TCP split the reads)
    and the error is kept in :attr:`error`: the next ``feed`` raises it. A reader routes
    the frames it got, then checks :attr:`error`.
    """

    __slots__ = ("_buf", "_parts", "_held", "_pending", "error")

    def __init__(self) -> None:
        self._buf = b""
        # Reads of a long body (a whole floor's ``show channels``: tens of MB) are kept
        # apart and joined once the body is complete, not copied again on every read.
        self._parts: list[bytes] = []
        self._held = 0  # len(_buf) + the parts' lengths
        self._pending: tuple[dict[str, str], int] | None = None
        self.error: EslProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame (non-zero at EOF = cut frame)."""
        return self._held + (1 if self._pending else 0)

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by ``data``; raises :class:`EslProtocolError` when the
        stream was already known corrupt or is corrupt before any new frame completes."""
        if self.error is not None:
            raise self.error
        frames: list[Frame] = []
        try:
            return self._feed(data, frames)
        except EslProtocolError as exc:
            self.error = exc
            self._buf, self._parts, self._held = b"", [], 0
            if not frames:
                raise
            return frames

    def _feed(self, data: bytes, frames: list[Frame]) -> list[Frame]:
        if self._pending is not None and self._held + len(data) < self._pending[1]:
            self._parts.append(data)  # the body still incomplete: nothing to parse yet
            self._held += len(data)
            return frames
        if self._parts:
            buf = b"".join([self._buf, *self._parts, data])
            self._parts = []
        else:
            buf = self._buf + data if self._buf else data
        pos = 0
        end = len(buf)
        pending = self._pending
        while True:
            if pending is None:
                # Skip stray blank lines between frames (tolerated on input).
                while pos < end and buf[pos] in (10, 13):
                    pos += 1
                if pos >= end:
                    break
                stop = buf.find(b"\n\n", pos)
                if stop < 0:
                    stop_crlf = buf.find(b"\r\n\r\n", pos)
                    if stop_crlf < 0:
                        if end - pos > MAX_HEADER_BYTES:
                            raise EslProtocolError("header block too long")
                        break
                    stop, skip = stop_crlf, 4
                else:
                    skip = 2
                # The limit holds however the bytes were split across reads.
                if stop - pos > MAX_HEADER_BYTES:
                    raise EslProtocolError("header block too long")
                headers = parse_header_block(buf[pos:stop])
                pos = stop + skip
                if not headers:
                    continue
                pending = (headers, content_length(headers))
            headers, length = pending
            if end - pos < length:
                break
            frames.append(Frame(headers, buf[pos : pos + length]))
            pos += length
            pending = None
        self._pending = pending
        self._buf = buf[pos:] if pos < end else b""
        self._held = len(self._buf)
        return frames


def encode_frame(headers: dict[str, str], body: bytes = b"") -> bytes:
    """Serialize an outer frame as FreeSWITCH writes it (header order as given)."""
    head = "".join(f"{name}: {value}\n" for name, value in headers.items())
    return head.encode("utf-8") + b"\n" + body
