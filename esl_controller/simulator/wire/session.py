"""One inbound ESL connection to the simulator, run as mod_event_socket's listener thread.

* One reader greenlet reads and answers commands strictly in order; an ``api`` command
  runs inside it, so a slow api command holds up every later command of the connection.
* FreeSWITCH writes queued events and log lines only *between* commands: whatever is fired
  while a command runs (its own events included) goes out after that command's reply.
  Events are serialized when written, in the connection's format at that moment.
* Everything goes through one outbound queue drained by a writer greenlet, so frames never
  interleave and a slow client stalls only itself. Up to ``event_queue_limit`` events (and
  as many log lines) may wait; past that each one is lost, and more than 500 losses in a
  row kill the listener with "killed listener because of lost events".
* Every way out (``exit``, bad password, EOF, no command within ``auth_timeout`` seconds,
  the bound channel hanging up) ends with the 67-byte disconnect notice, as FreeSWITCH's
  ``send_disconnect`` at the end of ``listener_run``; an ACL refusal sends
  ``text/rude-rejection`` first. ``kill()`` (a crash) sends nothing.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import gevent
import gevent.queue
from gevent.event import Event as GeventEvent

from esl_controller.simulator.wire import encode
from esl_controller.simulator.wire.bus import StampedEvent
from esl_controller.simulator.wire.commands import parse_command
from esl_controller.simulator.wire.packet import PacketReader, PacketTooLarge
from esl_controller.simulator.wire.subscriptions import Subscriptions

if TYPE_CHECKING:
    from esl_controller.simulator.wire.simulator import Simulator

MAX_MISSED = 500
REPLY, EVENT, LOG = 0, 1, 2
_CLOSE = object()


class EslSession:
    def __init__(self, sim: Simulator, sock: Any, address: tuple[str, int]) -> None:
        self.sim = sim
        self.sock = sock
        self.address = address
        self.authed = False
        self.subs = Subscriptions(reserved=lambda: sim.bus.subclasses)
        self.log_level: int | None = None
        self.linger: int | None = None  # seconds after the bound channel hangs up; -1: forever
        self.closed = GeventEvent()
        self._out: gevent.queue.Queue = gevent.queue.Queue()
        self._writer: gevent.Greenlet | None = None
        self._busy = False
        self._held_events: list[StampedEvent] = []
        self._held_logs: list[bytes] = []
        self._waiting = [0, 0, 0]  # per kind: queued, not yet written
        self._lost = [0, 0, 0]
        self._finishing = False
        self._channel_down = False

    # -- outbound --------------------------------------------------------------------

    def send(self, data: bytes, kind: int = REPLY) -> None:
        if not self.closed.is_set() and not self._finishing:
            self._waiting[kind] += 1
            self._out.put((kind, data))

    def reply(self, text: str) -> None:
        self.send(encode.reply_frame(text))

    def _room(self, kind: int) -> bool:
        """``switch_queue_trypush`` on a queue of ``event_queue_limit`` items."""
        waiting = self._waiting[kind] + len(self._held_events if kind == EVENT else self._held_logs)
        if waiting < self.sim.event_queue_limit:
            self._lost[kind] = 0
            return True
        self._lost[kind] += 1
        if self._lost[kind] > MAX_MISSED:
            self.kill_listener(encode.LOST_EVENTS_TEXT if kind == EVENT else encode.LOST_LOGS_TEXT)
        return False

    def deliver(self, event: StampedEvent) -> None:
        if not self.authed or self.closed.is_set():
            return
        if self.subs.wants(event) and self._room(EVENT):
            if self._busy:
                self._held_events.append(event)
            else:
                self._send_event(event)
        bound = self.subs.session_uuid
        if (
            bound is not None
            and event.name == "CHANNEL_HANGUP"
            and not self._channel_down
            and event.get("Unique-ID") == bound
        ):
            self._channel_down = True
            if not self._busy:
                self._handle_channel_down()

    def _send_event(self, event: StampedEvent) -> None:
        fmt = self.subs.fmt
        payload = event.cache.get(fmt)
        if payload is None:
            payload = encode.SERIALIZERS[fmt](event.headers, event.body)
            event.cache[fmt] = payload
        self.send(encode.event_frame(fmt, payload), EVENT)

    def deliver_log(self, level: int, frame: bytes) -> None:
        if not self.authed or self.log_level is None or level > self.log_level:
            return
        if self._room(LOG):
            if self._busy:
                self._held_logs.append(frame)
            else:
                self.send(frame, LOG)

    def flush_held(self, *, events: bool = False, logs: bool = False) -> None:
        """``flush_listener``: drop what was queued and not yet written (noevents, nolog)."""
        if events:
            self._held_events.clear()
        if logs:
            self._held_logs.clear()

    def _release_held(self) -> None:
        logs, self._held_logs = self._held_logs, []
        for frame in logs:
            if self.log_level is not None:
                self.send(frame, LOG)
        events, self._held_events = self._held_events, []
        for event in events:
            if self.subs.listening:
                self._send_event(event)

    def _write_loop(self) -> None:
        sock = self.sock
        while True:
            item = self._out.get()
            self.sim.gate.wait()
            if item is _CLOSE:
                break
            batch = [item]
            while not self._out.empty() and len(batch) < 256 and self._out.peek() is not _CLOSE:
                batch.append(self._out.get())
            try:
                sock.sendall(b"".join(data for _, data in batch))
            except OSError:
                break
            for kind, _ in batch:
                self._waiting[kind] -= 1
        self._hard_close()

    # -- lifecycle -------------------------------------------------------------------

    def run(self) -> None:
        """Serve the connection until either side ends it."""
        self._writer = gevent.spawn(self._write_loop)
        self.sim.gate.wait()
        if not self.sim.acl_allows(self.address[0]):
            self.send(encode.typed_frame("text/rude-rejection", encode.RUDE_REJECTION_TEXT))
            self.finish()
        else:
            self.send(b"Content-Type: auth/request\n\n")
            timer = gevent.spawn_later(self.sim.auth_timeout, self._auth_timeout)
            try:
                self._serve(timer)
            finally:
                timer.kill(block=False)
                self.finish()
        if self._writer is not None and self._writer is not gevent.getcurrent():
            self._writer.join(timeout=5)
        self.kill()

    def _serve(self, timer: gevent.Greenlet) -> None:
        reader = PacketReader(self._recv)
        while not self.closed.is_set() and not self._finishing:
            try:
                command = reader.read()
            except (PacketTooLarge, EOFError):
                return
            timer.kill(block=False)
            if command is None:
                return
            self.sim.gate.wait()
            if self.closed.is_set() or self._finishing:
                return
            self._busy = True
            try:
                running = parse_command(self, command)
            finally:
                self._busy = False
            if not running:
                return
            self._release_held()
            if self._channel_down:
                self._handle_channel_down()

    def _recv(self) -> bytes:
        try:
            return bytes(self.sock.recv(65536))
        except OSError:
            return b""

    def _auth_timeout(self) -> None:
        # read_packet(listener, &event, 25): no first command in time ends the listener.
        self.sim.gate.wait()
        self.finish()

    def _handle_channel_down(self) -> None:
        bound = self.subs.session_uuid
        if bound is None or self._finishing:
            return
        if self.linger is None:
            self.finish()
            return
        name = self.sim.channel_name(bound) or ""
        self.send(encode.linger_frame(bound, name, self.linger))
        if self.linger >= 0:
            gevent.spawn_later(self.linger, self.finish)

    def finish(self) -> None:
        """End like ``listener_run``: the disconnect notice, then close once written."""
        if self._finishing or self.closed.is_set():
            return
        text = encode.DISCONNECT_TEXT
        self.send(encode.disconnect_frame(text, self.subs.session_uuid))
        self._finishing = True
        self._out.put(_CLOSE)

    def kill_listener(self, message: str) -> None:
        """``kill_listener``: the notice written straight to the socket (whatever is still
        queued is dropped), then the socket shut down."""
        if self.closed.is_set():
            return
        if self._writer is not None and self._writer is not gevent.getcurrent():
            self._writer.kill(block=False)
        with contextlib.suppress(OSError):
            self.sock.settimeout(0.0)
            self.sock.send(encode.disconnect_frame(message, self.subs.session_uuid))
        self._hard_close()

    def _hard_close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        self.sim.forget(self)
        with contextlib.suppress(OSError):
            self.sock.close()

    def kill(self) -> None:
        """FreeSWITCH died: drop the socket without a goodbye."""
        self._hard_close()
        if self._writer is not None and self._writer is not gevent.getcurrent():
            self._writer.kill(block=False)
