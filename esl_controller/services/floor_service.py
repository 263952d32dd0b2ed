"""The floor service: one greenlet owns the :class:`Floor`, fed by live events and resyncs.

Live events arrive from the ESL event connection; a resync (after every connect) reads
FreeSWITCH's lists over the command connection. Both are put on one queue that a single
owner greenlet drains, so the model is only ever changed by one greenlet, in order.
Listeners (Socket.IO fan-out, the recorder) get the change records from that greenlet
and must not block it: they enqueue and return.

A resync never replaces the floor. The event connection is subscribed before the lists
are read; from then on live events are buffered, the lists are reconciled into the
existing floor (what only the product knows stays), and the buffered events are applied
after them. The reducers are idempotent for what the lists already showed (a caller who
joined while the lists were read is counted once), so nothing is lost or applied twice.

The owner greenlet is supervised: one failing reducer costs that event (logged with it),
never the loop; a dead owner is restarted; an owner that makes no progress while events
wait is reported by :meth:`problem` (``/health`` answers 503 with the reason).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.queue

from esl_controller.domain.floor import Floor
from esl_controller.domain.model import (
    Change,
    Intent,
    Notice,
    Presence,
    RegistrationsLeft,
    Snapshot,
)
from esl_controller.domain.resync import agent_events, member_events
from esl_controller.errors import CallCenterError
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.commands import channels as ch
from esl_controller.esl.commands.base import ApiCall
from esl_controller.esl.events import Event
from esl_controller.esl.typed_events import typed_event

log = logging.getLogger(__name__)

Listener = Callable[[list[Change]], None]
# Live events held while a resync reads the lists; past this the buffer is applied as it
# is (a resync that takes this long has failed in all but name).
MAX_BUFFERED = 200_000
# Inputs applied in a row before the owner lets the other greenlets run.
YIELD_EVERY = 200


class FloorService:
    def __init__(
        self,
        api: ApiCall,
        *,
        service_level_seconds: float = 20.0,
        stall_after: float = 10.0,
    ) -> None:
        self.api = api
        self.service_level_seconds = service_level_seconds
        self.stall_after = stall_after
        self.floor = Floor(service_level_seconds)
        self.listeners: list[Listener] = []
        self.resyncs = 0
        self.failed_events = 0
        self.restarts = 0
        self._seq = itertools.count(1)
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._owner: gevent.Greenlet | None = None
        self._watchdog: gevent.Greenlet | None = None
        self._buffer: list[object] | None = None
        self._progress_at = time.monotonic()
        self._running = False

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._owner = gevent.spawn(self._run)
        self._watchdog = gevent.spawn(self._watch)

    def stop(self) -> None:
        self._running = False
        for greenlet in (self._watchdog, self._owner):
            if greenlet is not None:
                greenlet.kill(block=False)
        self._owner = self._watchdog = None

    def snapshot(self) -> Snapshot:
        return self.floor.snapshot()

    def ringing_leg(self, agent: str) -> str | None:
        """The channel ringing the agent's phone (a queue offer or the agent's own leg of
        a dial-out), if any."""
        return self.floor.ringing.get(agent)

    def backlog(self) -> int:
        return int(self._inbox.qsize())

    def problem(self) -> str | None:
        """Why the floor cannot be trusted right now, or None."""
        if not self._running:
            return None
        if self._owner is None or self._owner.dead:
            return "the floor's owner greenlet is not running"
        idle = time.monotonic() - self._progress_at
        if self.backlog() and idle > self.stall_after:
            return f"the floor has applied nothing for {idle:.0f}s with {self.backlog()} waiting"
        return None

    # -- inputs (any greenlet) -------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """ESL event handler: parse to a typed view here, apply in the owner greenlet."""
        try:
            view = typed_event(event)
        except Exception:
            self.failed_events += 1
            log.exception("could not read %r (dropped)", event)
            return
        if view is not None:
            self._inbox.put(("event", view))

    def registrations_left(self, answer: RegistrationsLeft) -> None:
        """PhoneWatch's answer to a ``phone_check``: applied in order with live events."""
        self._inbox.put(("event", answer))

    def mark_transferred(self, call_uuid: str, destination: str | None = None) -> None:
        """Record that the product transferred the call away (outcome "transferred")."""
        self._inbox.put(("transferred", (call_uuid, time.time(), destination)))

    def unmark_transferred(self, call_uuid: str) -> None:
        self._inbox.put(("transferred", (call_uuid, None)))

    def intend(
        self,
        agent: str,
        status: str,
        reason: str | None,
        *,
        by: str | None = None,
        signed_in: bool | None = None,
    ) -> int:
        """The product is about to set ``agent``'s status: record the choice (and why)
        before the command goes out, so its event finds it. Returns the intent's sequence,
        for :meth:`withdraw` if the command fails."""
        seq = next(self._seq)
        intent = Intent(seq, status, reason, by, time.time())
        self._inbox.put(("intend", (agent, intent, signed_in)))
        return seq

    def notice(self, agent: str, text: str) -> None:
        """Tell the agent's page (and supervisors) something in a short banner."""
        self._inbox.put(("notice", Notice(agent, text, time.time())))

    def set_service_levels(self, levels: dict[str, float]) -> None:
        """Each queue's service-level threshold in seconds (the product's queues)."""
        self._inbox.put(("service_levels", dict(levels)))

    def withdraw(self, agent: str, seq: int) -> None:
        self._inbox.put(("withdraw", (agent, seq)))

    def load_presence(self, rows: list[Presence]) -> None:
        """Who was signed in, as the database remembers it (at start)."""
        if rows:
            # Never lower: rows may come later too (an agent moved here from another
            # node's floor), after this floor has numbered choices of its own.
            top = max(max(row.seq for row in rows) + 1, next(self._seq))
            self._seq = itertools.count(top)
        self._inbox.put(("presence", rows))

    def on_connected(self) -> None:
        """The ESL client's hook (events already subscribed): buffer live events, read
        FreeSWITCH's lists, reconcile them into the floor, then apply the buffer."""
        self._inbox.put(("resync_begin", None))
        try:
            agents = replies.json_api(self.api(cc.json_query("agent list")))
            queues = replies.json_api(self.api(cc.json_query("queue list")))
            members: list[dict[str, str]] = []
            for queue in queues:
                name = queue.get("name", "")
                if name:
                    reply = self.api(cc.json_query("queue list members", name))
                    members += replies.json_api(reply)
            legs = self._live_legs()
        except CallCenterError as exc:
            log.warning("resync failed: %s", exc)
            self._inbox.put(("resync_failed", None))
            return
        events = agent_events(agents) + member_events(members)
        names = [q.get("name", "") for q in queues if q.get("name")]
        self._inbox.put(("resync", (names, events, legs)))

    def _live_legs(self) -> set[str] | None:
        try:
            rows = replies.show_json(self.api(ch.show("channels")), columns=("uuid",))
        except CallCenterError as exc:
            log.warning("resync: channels unreadable (%s); calls judged by members only", exc)
            return None
        return {row.get("uuid", "") for row in rows if row.get("uuid")}

    # -- the owner greenlet ----------------------------------------------------------

    def _watch(self) -> None:
        while self._running:
            gevent.sleep(1.0)
            if self._owner is None or self._owner.dead:
                self.restarts += 1
                log.error("the floor's owner greenlet died; restarting it")
                self._owner = gevent.spawn(self._run)

    def _run(self) -> None:
        handled = 0
        while True:
            handled += 1
            if handled % YIELD_EVERY == 0 and not self._inbox.empty():
                # A get() with items waiting never yields: under a backlog the owner
                # would starve every other greenlet (the lease keeper among them).
                gevent.sleep(0)
            kind, payload = self._inbox.get()
            try:
                changes = self._handle(kind, payload)
            except Exception:
                self.failed_events += 1
                log.exception("floor: %s %r failed (skipped)", kind, payload)
                changes = []
            self._progress_at = time.monotonic()
            if changes:
                self._notify(changes)

    def _notify(self, changes: list[Change]) -> None:
        for listener in list(self.listeners):
            try:
                listener(changes)
            except Exception:
                log.exception("floor listener failed")

    def _handle(self, kind: str, payload: Any) -> list[Change]:
        if kind == "event":
            if self._buffer is not None and len(self._buffer) < MAX_BUFFERED:
                self._buffer.append(payload)
                return []
            return self.floor.apply(payload)
        if kind == "resync_begin":
            self._buffer = [] if self._buffer is None else self._buffer
            return []
        if kind == "resync":
            names, events, legs = payload
            changes = self.floor.reconcile(names, events, legs, time.time())
            changes += self._flush_buffer()
            self.resyncs += 1
            changes.append(Change("snapshot", "floor", self.floor.snapshot()))
            changes.append(Change("resynced", "floor", self.floor.to_restore()))
            return changes
        if kind == "resync_failed":
            return self._flush_buffer()
        if kind == "intend":
            return self.floor.intend(*payload)
        if kind == "notice":
            return self.floor.notice(payload)
        if kind == "withdraw":
            return self.floor.withdraw(*payload)
        if kind == "presence":
            return self.floor.load_presence(payload)
        if kind == "transferred":
            return self.floor.mark_transferred(*payload)
        if kind == "service_levels":
            return self.floor.set_service_levels(payload)
        raise ValueError(f"unknown floor input {kind!r}")

    def _flush_buffer(self) -> list[Change]:
        buffered, self._buffer = self._buffer or [], None
        changes: list[Change] = []
        for view in buffered:
            try:
                changes += self.floor.apply(view)
            except Exception:
                self.failed_events += 1
                log.exception("floor: buffered %r failed (skipped)", view)
        return changes
