"""Reading client commands off the socket as mod_event_socket's ``read_packet`` does.

* Blank lines before a command are skipped; a command ends at two LFs with nothing but
  CRs between them (``\\n\\n``, ``\\r\\n\\r\\n``, ``\\n\\r\\n``).
* The block is cut into lines at "the first CR of the rest, else the first LF", then
  every following CR/LF is skipped. The first line is the command; the others are
  ``Name: value`` headers (split at the first colon, spaces before the value dropped,
  lines without a colon ignored, repeated names kept).
* A ``Content-Length`` header (any case, ``atoi`` value) is followed by that many bytes
  of body. FreeSWITCH 1.10.12 would allocate any size; the simulator, like later
  releases, drops a connection that announces more than 16 MiB.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_BLOCK_BYTES = 10 * 1024 * 1024  # read_packet's max_len: the block is cut there
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
_BLOCK_END = re.compile(rb"\n\r*\n")
_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")


@dataclass(slots=True)
class Command:
    """One client command: its line, its header lines (in order) and its body."""

    line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""

    def header(self, name: str) -> str | None:
        """``switch_event_get_header``: names compare case-insensitively, first wins."""
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return None


class PacketTooLarge(Exception):
    """The client announced a body FreeSWITCH would refuse."""


def atoi(text: str) -> int:
    match = _INT_PREFIX.match(text)
    return int(match.group(1)) if match else 0


def strip_cr(text: str) -> str:
    """``strip_cr``: cut at the first CR, or if there is none at the first LF."""
    cut = text.find("\r")
    if cut < 0:
        cut = text.find("\n")
    return text if cut < 0 else text[:cut]


def _lines(text: str) -> list[str]:
    lines = []
    pos = 0
    end = len(text)
    while pos < end:
        line = strip_cr(text[pos:])
        lines.append(line)
        pos += len(line)
        while pos < end and text[pos] in "\r\n":
            pos += 1
    return lines


class PacketReader:
    """Incremental reader: ``recv`` gives bytes (empty at EOF); ``read()`` one command."""

    def __init__(self, recv: Callable[[], bytes]) -> None:
        self._recv = recv
        self._buf = b""

    def _fill(self) -> bool:
        data = self._recv()
        if not data:
            return False
        self._buf += data
        return True

    def read(self) -> Command | None:
        """The next command, or None when the peer closed the connection."""
        while True:
            self._buf = self._buf.lstrip(b"\r\n")
            match = _BLOCK_END.search(self._buf)
            if match is not None:
                block, self._buf = self._buf[: match.end()], self._buf[match.end() :]
                break
            if len(self._buf) >= MAX_BLOCK_BYTES:
                block, self._buf = self._buf[:MAX_BLOCK_BYTES], self._buf[MAX_BLOCK_BYTES:]
                break
            if not self._fill():
                return None
        lines = _lines(block.decode("utf-8", "replace"))
        command = Command(lines[0] if lines else "")
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                continue
            command.headers.append((name, value.lstrip(" ")))
            if name.lower() == "content-length":
                length = atoi(value)
                if length > MAX_CONTENT_LENGTH:
                    raise PacketTooLarge(value)
                if length > 0:
                    command.body = self._read_body(length)
        return command

    def _read_body(self, length: int) -> str:
        while len(self._buf) < length:
            if not self._fill():
                raise EOFError("connection closed inside a command body")
        body, self._buf = self._buf[:length], self._buf[length:]
        return body.decode("utf-8", "replace")
