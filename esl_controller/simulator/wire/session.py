"""One inbound ESL connection to the simulator, as mod_event_socket's listener runs it.

Commands are read and answered strictly in order by one reader greenlet (FreeSWITCH's
listener thread): an ``api`` command runs *inside* it, so a slow api command holds up
every later command of that connection, exactly as on a real switch. Everything the
connection sends (replies, events, log lines) goes through one outbound queue drained by
a writer greenlet, so frames never interleave and a slow client stalls only itself.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import gevent
import gevent.queue
from gevent.event import Event as GeventEvent

from esl_controller.simulator.wire import encode
from esl_controller.simulator.wire.bus import StampedEvent
from esl_controller.simulator.wire.subscriptions import Subscriptions

if TYPE_CHECKING:
    from esl_controller.simulator.wire.simulator import Simulator

log = logging.getLogger(__name__)

LOG_LEVELS = {
    "console": 0,
    "alert": 1,
    "crit": 2,
    "err": 3,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}
MAX_COMMAND_BYTES = 16 * 1024 * 1024
_CLOSE = object()


class Command:
    """A client command: its first line, the header lines after it, and a body."""

    __slots__ = ("line", "headers", "body", "raw")

    def __init__(self, line: str, headers: dict[str, str], body: str, raw: str = "") -> None:
        self.line = line
        self.headers = headers
        self.body = body
        # The first line as sent: mod_event_socket hands an api command's argument over
        # with its trailing spaces (console_complete reads them as "the next word").
        self.raw = raw or line


class EslSession:
    def __init__(self, sim: Simulator, sock: object, address: tuple[str, int]) -> None:
        self.sim = sim
        self.sock = sock
        self.address = address
        self.authed = False
        self.subs = Subscriptions()
        self.log_level: int | None = None
        self.closed = GeventEvent()
        self._out: gevent.queue.Queue = gevent.queue.Queue()
        self._writer: gevent.Greenlet | None = None

    # -- outbound --------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        if not self.closed.is_set():
            self._out.put(data)

    def _write_loop(self) -> None:
        sock = self.sock
        while True:
            item = self._out.get()
            self.sim.gate.wait()
            if item is _CLOSE:
                break
            chunks = [item]
            while not self._out.empty() and len(chunks) < 256:
                nxt = self._out.peek()
                if nxt is _CLOSE:
                    break
                chunks.append(self._out.get())
            try:
                sock.sendall(b"".join(chunks))  # type: ignore[attr-defined]
            except OSError:
                break
        self._hard_close()

    def deliver(self, event: StampedEvent) -> None:
        if not self.authed or not self.subs.wants(event):
            return
        fmt = self.subs.fmt
        payload = event.cache.get(fmt)
        if payload is None:
            payload = encode.SERIALIZERS[fmt](event.headers, event.body)
            event.cache[fmt] = payload
        self.send(encode.event_frame(fmt, payload))

    def deliver_log(self, level: int, frame: bytes) -> None:
        if self.authed and self.log_level is not None and level <= self.log_level:
            self.send(frame)

    # -- lifecycle -------------------------------------------------------------------

    def run(self) -> None:
        """Serve the connection until either side closes it."""
        self._writer = gevent.spawn(self._write_loop)
        self.sim.gate.wait()
        if not self.sim.acl_allows(self.address[0]):
            self.send(encode.typed_frame("text/rude-rejection", encode.RUDE_REJECTION_TEXT))
            self.close_after_flush()
            return
        self.send(b"Content-Type: auth/request\n\n")
        try:
            for command in self._read_commands():
                self.sim.gate.wait()
                if self.closed.is_set():
                    break
                if not self._dispatch(command):
                    break
        finally:
            self.close_after_flush()

    def close_after_flush(self) -> None:
        """Close once everything queued so far is written (goodbye, then FIN)."""
        if not self.closed.is_set():
            self._out.put(_CLOSE)
            if self._writer is not None and self._writer is not gevent.getcurrent():
                self._writer.join(timeout=5)
        self._hard_close()

    def _hard_close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.sim.forget(self)
        with contextlib.suppress(OSError):
            self.sock.close()  # type: ignore[attr-defined]

    def shutdown(self, text: str | None) -> None:
        """Close once what is queued is written: ``text`` as a disconnect notice first
        (mod_event_socket's ``kill_all_listeners`` on shutdown), or no word at all
        (``kill_listener`` without a message). Returns at once."""
        if self.closed.is_set():
            return
        if text is not None:
            self.send(encode.typed_frame("text/disconnect-notice", text))
        self._out.put(_CLOSE)

    def kill(self) -> None:
        """FreeSWITCH died: drop the socket without a goodbye."""
        self._hard_close()
        if self._writer is not None:
            self._writer.kill(block=False)

    # -- inbound ---------------------------------------------------------------------

    def _read_commands(self) -> Iterator[Command]:
        buf = b""
        sock = self.sock
        while not self.closed.is_set():
            sep = buf.find(b"\n\n")
            if sep < 0:
                crlf = buf.find(b"\r\n\r\n")
                if crlf >= 0:
                    block, buf = buf[:crlf].replace(b"\r\n", b"\n"), buf[crlf + 4 :]
                else:
                    if len(buf) > MAX_COMMAND_BYTES:
                        return
                    try:
                        data = sock.recv(65536)  # type: ignore[attr-defined]
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                    continue
            else:
                block, buf = buf[:sep], buf[sep + 2 :]
            text = block.decode("utf-8", "replace").strip("\r\n")
            if not text.strip():
                continue
            lines = text.split("\n")
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
            body = b""
            length = headers.get("Content-Length", headers.get("content-length", ""))
            if length.isdigit() and int(length) < MAX_COMMAND_BYTES:
                while len(buf) < int(length):
                    try:
                        data = sock.recv(65536)  # type: ignore[attr-defined]
                    except OSError:
                        return
                    if not data:
                        return
                    buf += data
                body, buf = buf[: int(length)], buf[int(length) :]
            yield Command(lines[0].strip(), headers, body.decode("utf-8", "replace"),
                          lines[0].rstrip("\r"))  # fmt: skip

    # -- commands --------------------------------------------------------------------

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.send(encode.reply_frame(text, extra))

    def _dispatch(self, command: Command) -> bool:
        """Run one command; False ends the connection."""
        line = command.line
        word, _, args = line.partition(" ")
        lower = word.lower()
        if lower in ("exit", "..."):
            self.reply("+OK bye")
            self._goodbye()
            return False
        if not self.authed:
            if lower == "auth":
                if args == self.sim.password:
                    self.authed = True
                    self.reply("+OK accepted")
                    return True
                self.reply("-ERR invalid")
                self._goodbye()
                return False
            self.reply("-ERR command not found")
            return True
        handler = self._handlers().get(lower)
        if handler is None:
            self.reply("-ERR command not found")
            return True
        handler(args.strip(), command)
        return True

    def _goodbye(self) -> None:
        self.send(encode.typed_frame("text/disconnect-notice", encode.DISCONNECT_TEXT))

    def _handlers(self) -> dict[str, Callable[[str, Command], None]]:
        return {
            "api": self._api,
            "bgapi": self._bgapi,
            "event": lambda a, c: self.reply(self.subs.subscribe(a.split())),
            "nixevent": lambda a, c: self.reply(self.subs.unsubscribe(a.split())),
            "noevents": lambda a, c: self.reply(self.subs.clear()),
            "filter": lambda a, c: self.reply(self.subs.filter_command(a)),
            "log": self._log,
            "nolog": self._nolog,
            "myevents": lambda a, c: self.reply("+OK Events Enabled"),
            "linger": lambda a, c: self.reply("-ERR not controlling a session"),
            "nolinger": lambda a, c: self.reply("-ERR not controlling a session"),
            "divert_events": lambda a, c: self.reply("-ERR not controlling a session."),
            "sendmsg": self._sendmsg,
            "sendevent": self._sendevent,
        }

    def _api(self, args: str, command: Command) -> None:
        whole = command.raw.lstrip().partition(" ")[2]
        self.send(encode.api_frame(self.sim.execute_api(whole if whole.strip() else args)))

    def _bgapi(self, args: str, command: Command) -> None:
        job_uuid = command.headers.get("Job-UUID") or str(uuid.uuid4())
        self.reply(f"+OK Job-UUID: {job_uuid}", [("Job-UUID", job_uuid)])
        gevent.spawn(self.sim.run_background_job, job_uuid, args)

    def _log(self, args: str, command: Command) -> None:
        word = args.strip() or "debug"
        level = int(word) if word.isdigit() else LOG_LEVELS.get(word.lower())
        if level is None or level > 7:
            self.reply("-ERR invalid log level")
            return
        self.log_level = level
        self.reply(f"+OK log level {word} [{level}]")

    def _nolog(self, args: str, command: Command) -> None:
        if self.log_level is None:
            self.reply("-ERR not loging")  # sic: FreeSWITCH's spelling
            return
        self.log_level = None
        self.reply("+OK no longer logging")

    def _sendmsg(self, args: str, command: Command) -> None:
        target = args.strip()
        if not self.sim.channel_exists(target):
            self.reply(f"-ERR invalid session id [{target}]")
            return
        self.sim.execute_sendmsg(target, command.headers, command.body)
        self.reply("+OK")

    def _sendevent(self, args: str, command: Command) -> None:
        self.reply(f"+OK {self.sim.fire_custom(args.strip(), command.headers, command.body)}")
