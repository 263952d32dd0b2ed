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
import time
from collections.abc import Callable
from typing import Any

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
        """Reader greenlet: bytes -> frames -> replies to waiters, events to the queue."""
        decoder = FrameDecoder()
        reason = "connection closed by FreeSWITCH"
        sock = self.sock
        while self._run and sock is not None:
            try:
                data = sock.recv(RECV_SIZE)
            except OSError as exc:
                reason = f"read failed: {exc}"
                break
            if not data:
                break
            self.last_frame_at = time.monotonic()
            try:
                frames = decoder.feed(data)
            except EslProtocolError as exc:
                reason = f"corrupt ESL stream: {exc}"
                break
            for frame in frames:
                self._route(frame)
        self.abort(reason)

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
            log.warning("%s: unexpected frame type %r", self.name, ctype)

    def process_events(self) -> None:
        """Handler greenlet: parse queued event frames and run the handler, in order."""
        while True:
            item = self._esl_event_queue.get()
            if item is _STOP:
                return
            frame: Frame = item
            if frame.content_type == "log/data":
                if self.on_log is not None:
                    self._safe(self.on_log, frame)
                continue
            try:
                event = PARSERS[frame.content_type](frame.body)
            except EslProtocolError as exc:
                log.warning("%s: dropped an unparsable event: %s", self.name, exc)
                continue
            if self.on_event is not None:
                self._safe(self.on_event, event)

    def _safe(self, handler: Callable[[Any], None], item: object) -> None:
        try:
            handler(item)
        except Exception:
            # One bad event must not kill the handler greenlet (greenswitch's reader dies
            # silently and the connection looks alive forever).
            log.exception("%s: event handler failed", self.name)

    # -- ending ----------------------------------------------------------------------

    def abort(self, reason: str) -> None:
        """End the connection (idempotent): fail waiters, stop greenlets, close the socket."""
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
            self._safe(self.on_lost, reason)

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
