"""The floor service: one greenlet owns the :class:`Floor`, fed by live events and resyncs.

Live events arrive from the ESL event connection; a resync (after every connect) reads
FreeSWITCH's lists over the command connection. Both are put on one queue that a single
owner greenlet drains, so the model is only ever changed by one greenlet, in order.
Listeners (Socket.IO fan-out, the recorder) get the change records from that greenlet
and must not block it: they enqueue and return.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import gevent
import gevent.queue

from esl_controller.domain.floor import Floor
from esl_controller.domain.model import Change, Snapshot
from esl_controller.domain.resync import agent_events, member_events
from esl_controller.errors import CallCenterError
from esl_controller.esl import replies
from esl_controller.esl.commands import callcenter as cc
from esl_controller.esl.events import Event
from esl_controller.esl.typed_events import typed_event

log = logging.getLogger(__name__)

Listener = Callable[[list[Change]], None]
ApiCall = Callable[[object], str]


class FloorService:
    def __init__(self, api: ApiCall, *, service_level_seconds: float = 20.0) -> None:
        self.api = api
        self.service_level_seconds = service_level_seconds
        self.floor = Floor(service_level_seconds)
        self.listeners: list[Listener] = []
        self.resyncs = 0
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._owner: gevent.Greenlet | None = None

    def start(self) -> None:
        if self._owner is None:
            self._owner = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._owner is not None:
            self._owner.kill(block=False)
            self._owner = None

    def snapshot(self) -> Snapshot:
        return self.floor.snapshot()

    def ringing_leg(self, agent: str) -> str | None:
        """The leg ringing the agent's phone right now (an offer or a dial-out), if any."""
        return self.floor.ringing.get(agent)

    # -- inputs (any greenlet) -------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """ESL event handler: parse to a typed view here, apply in the owner greenlet."""
        view = typed_event(event)
        if view is not None:
            self._inbox.put(("event", view))

    def mark_transferred(self, call_uuid: str) -> None:
        """Record that the product transferred the call away (outcome "transferred")."""
        self._inbox.put(("transferred", (call_uuid, time.time())))

    def unmark_transferred(self, call_uuid: str) -> None:
        self._inbox.put(("transferred", (call_uuid, None)))

    def set_pause_reason(self, agent: str, reason: str | None) -> None:
        """Record why the product paused an agent (FreeSWITCH has no reason field)."""
        self._inbox.put(("pause_reason", (agent, reason)))

    def on_connected(self) -> None:
        """The ESL client's hook: read FreeSWITCH's state and replace the model with it."""
        try:
            agents = replies.json_api(self.api(cc.json_query("agent list")))
            queues = replies.json_api(self.api(cc.json_query("queue list")))
            members = []
            for queue in queues:
                name = queue.get("name", "")
                if name:
                    reply = self.api(cc.json_query("queue list members", name))
                    members += replies.json_api(reply)
        except CallCenterError as exc:
            log.warning("resync failed: %s", exc)
            return
        events = agent_events(agents) + member_events(members)
        names = [q.get("name", "") for q in queues if q.get("name")]
        self._inbox.put(("resync", (names, events)))

    # -- the owner greenlet ----------------------------------------------------------

    def _calls_gone(self, fresh: Floor) -> list[Change]:
        """Calls the old model had that FreeSWITCH no longer knows (it restarted, or an
        event was lost): they ended unseen. Recording them keeps the history whole."""
        now = time.time()
        gone = []
        for uuid, call in self.floor.calls.items():
            if uuid not in fresh.calls:
                ended = replace(call, ended_at=now, outcome=call.outcome or "lost",
                                cause=call.cause or "LOST_WITH_SWITCH")  # fmt: skip
                gone.append(Change("call_ended", uuid, ended))
        return gone

    def _run(self) -> None:
        while True:
            kind, payload = self._inbox.get()
            if kind == "resync":
                fresh = Floor(self.service_level_seconds)
                changes: list[Change] = []
                names, events = payload
                for name in names:
                    changes += fresh.add_queue(name)
                for view in events:
                    changes += fresh.apply(view)
                changes += self._calls_gone(fresh)
                self.floor = fresh
                self.resyncs += 1
                changes.append(Change("snapshot", "floor", fresh.snapshot()))
            elif kind == "pause_reason":
                changes = self.floor.set_pause_reason(*payload)
            elif kind == "transferred":
                changes = self.floor.mark_transferred(*payload)
            else:
                changes = self.floor.apply(payload)
            if changes:
                for listener in list(self.listeners):
                    try:
                        listener(changes)
                    except Exception:
                        log.exception("floor listener failed")
