"""One inbound ESL connection: greenswitch's connection and greenlet model, made safe.

We keep greenswitch's shape (``InboundESL``: one greenlet reads the socket, another runs
handlers from a queue, replies are matched to commands FIFO) and replace the parts that
break in production (reference §4):

* framing by our :class:`FrameDecoder` (bodies by byte length, per-value decoding, json
  and xml events, no header injection) instead of decode-then-split;
* every command has a timeout: greenswitch's ``send()`` waits forever when FreeSWITCH goes
  away mid-command; here it raises :class:`EslTimeout`, and a lost connection fails every
  waiting command at once with :class:`EslConnectionLost`;
* EOF, ``text/disconnect-notice``, a corrupt stream or a watchdog verdict all end the
  connection the same way, once, and tell the owner through ``on_lost``;
* connect errors are typed: unreachable, rejected by ACL (``text/rude-rejection``), bad
  password (``-ERR invalid``).

ESL has no correlation id on replies: FreeSWITCH answers commands strictly in the order
it read them, so a lock covers "append the waiter, write the command" to keep the two
orders identical when several greenlets send at once.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import gevent
import gevent.lock
import gevent.socket
from gevent.event import AsyncResult
from gevent.event import Event as GeventEvent
from greenswitch.esl import InboundESL

from esl_controller.errors import (
    EslAuthFailed,
    EslConnectionLost,
    EslProtocolError,
    EslRejected,
    EslTimeout,
    EslUnreachable,
    InvalidArgument,
)
from esl_controller.esl.events import PARSERS, Event
from esl_controller.esl.frames import Frame, FrameDecoder

log = logging.getLogger(__name__)

RECV_SIZE = 256 * 1024
# Frames handled in a row before the handler lets the other greenlets run (a floor of
# 10,000 agents signing in is a backlog of tens of thousands of events).
YIELD_EVERY = 200
# "Event-Name: X" (plain) and '"Event-Name": "X"' (json) alike, for log lines only.
_DESCRIBE_RE = re.compile(rb'"?(Event-Name|Event-Subclass|Event-Sequence)"?:\s*"?([^"\n,]{0,60})')
_STOP = object()

EventHandler = Callable[[Event], None]
LogHandler = Callable[[Frame], None]


class EslConnection(InboundESL):
    """An authenticated inbound ESL connection with command timeouts and loss detection."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        connect_timeout: float = 5.0,
        command_timeout: float = 10.0,
        on_event: EventHandler | None = None,
        on_log: LogHandler | None = None,
        on_lost: Callable[[str], None] | None = None,
        name: str = "esl",
    ) -> None:
        super().__init__(host, port, password, timeout=connect_timeout)
        self._commands_sent: list[AsyncResult] = []
        self.command_timeout = command_timeout
        self.name = name
        self.on_event = on_event
        self.on_log = on_log
        self.on_lost = on_lost
        self.lost = GeventEvent()
        self.lost_reason: str | None = None
        self.last_frame_at = time.monotonic()
        self.sock: gevent.socket.socket | None = None
        self._rejected = False
        self._send_lock = gevent.lock.Semaphore()
        # Watched by the client's supervisor: a handler on one item for too long while
        # events wait is stalled, and the link is reset rather than silently frozen.
        self.handler_busy = False
        self.handler_progress_at = time.monotonic()
        self.dropped_frames = 0

    # -- connect ---------------------------------------------------------------------

    def connect(self) -> None:
        """Open the socket, wait for ``auth/request`` and authenticate; typed errors."""
        try:
            self.sock = gevent.socket.create_connection(
                (self.host, self.port), timeout=self.timeout
            )
        except OSError as exc:
            raise EslUnreachable(
                f"cannot reach FreeSWITCH ESL at {self.host}:{self.port}: {exc}"
            ) from exc
        self.sock.settimeout(None)
        self.connected = True
        self.last_frame_at = time.monotonic()
        self.start_event_handlers()
        if not self._auth_request_event.wait(timeout=self.timeout):
            self.abort("no auth/request")
            raise EslTimeout(f"FreeSWITCH at {self.host}:{self.port} sent no auth/request")
        if self._rejected:
            self.abort("rejected by ACL")
            raise EslRejected(
                f"FreeSWITCH at {self.host}:{self.port} rejected this host "
                "(apply-inbound-acl in event_socket.conf.xml)"
            )
        if self.lost.is_set():
            raise EslConnectionLost(f"connection closed before auth: {self.lost_reason}")
        reply = self.send(f"auth {self.password}")
        if reply.headers.get("Reply-Text") != "+OK accepted":
            self.abort("authentication failed")
            raise EslAuthFailed(
                f"FreeSWITCH at {self.host}:{self.port} refused the ESL password "
                "(-ERR invalid); set ESL_PASSWORD to event_socket.conf.xml's password"
            )

    # -- commands --------------------------------------------------------------------

    def send(
        self,
        data: str,
        timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Frame:
        """Send one command and wait for its ``command/reply`` or ``api/response`` frame."""
        lines = [data, *(f"{k}: {v}" for k, v in (headers or {}).items())]
        for line in lines:
            if "\n" in line or "\r" in line:
                # Builders already refuse these; this is the last line of defence: a
                # newline here would start a second ESL command.
                raise InvalidArgument("ESL command contains a line break")
        if not self.connected or self.lost.is_set():
            raise EslConnectionLost(f"{self.name}: not connected to FreeSWITCH")
        waiter: AsyncResult = AsyncResult()
        payload = ("\n".join(lines) + "\n\n").encode("utf-8")
        with self._send_lock:
            self._commands_sent.append(waiter)
            try:
                assert self.sock is not None
                self.sock.sendall(payload)
            except OSError as exc:
                self.abort(f"write failed: {exc}")
        limit = self.command_timeout if timeout is None else timeout
        try:
            reply: Frame = waiter.get(timeout=limit)
        except gevent.Timeout:
            word = data.split(" ", 2)[:2]
            raise EslTimeout(
                f"{self.name}: no reply to {' '.join(word)!r} within {limit:g}s"
            ) from None
        return reply

    # -- reading ---------------------------------------------------------------------

    def receive_events(self) -> None:
        """Reader greenlet: bytes -> frames -> replies to waiters, events to the queue.

        A corrupt outer stream (framing lost: nothing after it can be trusted) ends the
        connection at once so the owner reconnects and resyncs; so does any unexpected
        error here. The reader never ends without ending the connection.
        """
        reason = "reader stopped"
        try:
            reason = self._read_loop()
        except Exception as exc:
            log.exception("%s: reader failed", self.name)
            reason = f"reader failed: {type(exc).__name__}: {exc}"
        finally:
            # Also on GreenletExit: a killed reader must not leave a live-looking link.
            self.abort(reason)

    def _read_loop(self) -> str:
        decoder = FrameDecoder()
        sock = self.sock
        while self._run and sock is not None:
            try:
                data = sock.recv(RECV_SIZE)
            except OSError as exc:
                return f"read failed: {exc}"
            if not data:
                if decoder.buffered:
                    # FreeSWITCH stopped (or was killed) halfway through writing a frame.
                    return f"connection closed by FreeSWITCH mid-frame ({decoder.buffered} bytes)"
                return "connection closed by FreeSWITCH"
            self.last_frame_at = time.monotonic()
            try:
                frames = decoder.feed(data)
            except EslProtocolError as exc:
                frames = []
                decoder.error = exc
            # Frames completed before a corrupt spot were received intact: deliver them.
            for frame in frames:
                self._route(frame)
            if len(frames) >= YIELD_EVERY:
                gevent.sleep(0)  # recv() with data waiting never yields either
            if decoder.error is not None:
                log.error("%s: corrupt ESL stream, reconnecting: %s", self.name, decoder.error)
                return f"corrupt ESL stream: {decoder.error}"
        return self.lost_reason or "stopped"

    def _route(self, frame: Frame) -> None:
        ctype = frame.content_type
        if ctype in PARSERS or ctype == "log/data":
            self._esl_event_queue.put(frame)
        elif ctype in ("command/reply", "api/response"):
            if self._commands_sent:
                self._commands_sent.pop(0).set(frame)
            else:
                log.warning("%s: reply with no command waiting: %r", self.name, frame.headers)
        elif ctype == "auth/request":
            self._auth_request_event.set()
        elif ctype == "text/disconnect-notice":
            # Outbound sockets get "Content-Disposition: linger" here and stay open; an
            # inbound connection is always being closed by FreeSWITCH.
            if frame.headers.get("Content-Disposition") != "linger":
                self.abort("FreeSWITCH sent a disconnect notice")
        elif ctype == "text/rude-rejection":
            self._rejected = True
            self._auth_request_event.set()
        else:
            log.warning("%s: unexpected frame type %r", self.name, ctype[:80])

    def process_events(self) -> None:
        """Handler greenlet: parse queued event frames and run the handler, in order.

        One unparsable frame or one failing handler call costs that frame only (logged
        with the event's name and sequence). Anything escaping that, which would leave
        events piling up with nobody applying them, ends the connection instead.
        """
        reason = "event handler stopped"
        try:
            self._handle_loop()
        except Exception as exc:
            log.exception("%s: event handler loop failed", self.name)
            reason = f"event handler failed: {type(exc).__name__}: {exc}"
        finally:
            self.handler_busy = False
            self.abort(reason)

    def _handle_loop(self) -> None:
        queue = self._esl_event_queue
        handled = 0
        while True:
            self.handler_busy = False
            item = queue.get()
            self.handler_busy = True
            self.handler_progress_at = time.monotonic()
            if item is _STOP:
                return
            self._handle(item)
            handled += 1
            if handled % YIELD_EVERY == 0 and not queue.empty():
                gevent.sleep(0)  # a get() with frames waiting never lets others run

    def _handle(self, frame: Frame) -> None:
        if frame.content_type == "log/data":
            if self.on_log is not None:
                self._safe(self.on_log, frame, frame)
            return
        try:
            event = PARSERS[frame.content_type](frame.body)
        except Exception as exc:
            # EslProtocolError is the expected verdict; anything else is a parser bug
            # and still costs only this frame.
            log.warning("%s: dropped an unparsable event (%s): %s", self.name, describe(frame), exc)
            self.dropped_frames += 1
            return
        if self.on_event is not None:
            self._safe(self.on_event, event, frame)

    def _safe(self, handler: Callable[[Any], None], item: object, frame: Frame) -> None:
        try:
            handler(item)
        except Exception:
            # One bad event must not kill the handler greenlet (greenswitch's reader dies
            # silently and the connection looks alive forever).
            log.exception("%s: event handler failed on %s", self.name, describe(frame))
            self.dropped_frames += 1

    def handler_stalled_for(self) -> float:
        """Seconds the handler has been on one item while others wait (0 when fine)."""
        if not self.handler_busy or self.pending_events() == 0:
            return 0.0
        return time.monotonic() - self.handler_progress_at

    def pending_events(self) -> int:
        """Event frames received and not yet handled."""
        return int(self._esl_event_queue.qsize())

    def greenlets_dead(self) -> str | None:
        """Which of the reader and handler greenlets ended while the link is up, if any."""
        if self.lost.is_set():
            return None
        for label, greenlet in (
            ("reader", self._receive_events_greenlet),
            ("event handler", self._process_events_greenlet),
        ):
            if greenlet is not None and greenlet.dead:
                return label
        return None

    # -- ending ----------------------------------------------------------------------

    def abort(self, reason: str, *, kill_handler: bool = False) -> None:
        """End the connection (idempotent): fail waiters, stop greenlets, close the socket.

        The handler normally drains the events already received and then stops;
        ``kill_handler`` (a stalled handler) kills it instead, so a stuck greenlet cannot
        wake up later and apply stale events after the resync.
        """
        if kill_handler:
            handler = self._process_events_greenlet
            if handler is not None and handler is not gevent.getcurrent():
                handler.kill(block=False)
        if self.lost.is_set():
            return
        self.lost_reason = reason
        self.connected = False
        self._run = False
        self.lost.set()
        error = EslConnectionLost(f"{self.name}: {reason}")
        waiters: list[AsyncResult] = self._commands_sent
        self._commands_sent = []
        for waiter in waiters:
            waiter.set_exception(error)
        self._auth_request_event.set()
        self._esl_event_queue.put(_STOP)
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        if self.on_lost is not None:
            try:
                self.on_lost(reason)
            except Exception:
                log.exception("%s: on_lost hook failed", self.name)

    def stop(self) -> None:
        """Say ``exit`` if still connected, then close and reap both greenlets."""
        if self.connected and not self.lost.is_set():
            with contextlib.suppress(Exception):  # a best-effort goodbye
                self.send("exit", timeout=1.0)
        self.abort("stopped")
        for greenlet in (self._receive_events_greenlet, self._process_events_greenlet):
            if greenlet is not None and greenlet is not gevent.getcurrent():
                greenlet.join(timeout=2.0)

    def idle_for(self) -> float:
        """Seconds since the last byte arrived (the heartbeat watchdog reads this)."""
        return time.monotonic() - self.last_frame_at


def describe(frame: Frame) -> str:
    """``Event-Name``/``Event-Subclass``/``Event-Sequence`` of an event frame for a log
    line, read from the raw body so it works when the frame does not parse."""
    found: dict[str, str] = {}
    for match in _DESCRIBE_RE.finditer(frame.body[:65536]):
        name = match.group(1).decode("ascii")
        found.setdefault(name, unquote(match.group(2).decode("utf-8", "replace"))[:60])
    name = found.get("Event-Subclass") or found.get("Event-Name") or "?"
    sequence = found.get("Event-Sequence", "?")
    return f"{frame.content_type} {name!r} seq {sequence!r}, {len(frame.body)} bytes"
