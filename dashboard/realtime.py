"""Socket.IO: sign-in checked on connect, rooms by who may see what, and one publisher
greenlet that turns the floor's change records into events.

The floor's owner greenlet only appends to the publisher's queue (it must never wait on
a slow browser); the publisher emits in order, so one client sees changes in the order
FreeSWITCH made them. A resync sends every client a fresh snapshot.

An agent's own page gets each of its changes at once (one socket each). The supervisors'
room gets the whole floor, so it gets :data:`~dashboard.events.FLOOR_BATCH` every
``batch_interval`` (20 ms) instead: the latest view of each agent, call and queue that
changed since the last batch, plus every call that ended (never coalesced away). One
process could not write 2,000 events/s x 50 supervisor pages as single frames.

While changes wait (the floor made them faster than they go out, e.g. thousands of callers
placed at once), the publisher merges them as they arrive, so a backlog costs one emit per
agent, call and queue rather than one per change: a state change (``agent``, ``call``,
``queue``: a page shows the latest view) replaces the waiting one of the same key in its
place in the line; an event (``call_ended``, ``notice``, ``phone_dropped``, ``snapshot``)
always goes, in order, and the state of the agent or call it concerns that waits before it
goes before it (a later state of that key waits after the event; nothing merges across a
``snapshot``). Without a backlog each change goes at once, as it is.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections import Counter, OrderedDict
from typing import Any

import gevent
import gevent.queue
from flask import request, session
from flask_socketio import SocketIO, join_room

from dashboard import events as ev
from dashboard.auth import revoked
from dashboard.db import off_hub
from dashboard.deps import Dependencies
from esl_controller.domain.model import AgentView, CallView, Change, Notice, QueueView
from esl_controller.services.users import UserRecord

log = logging.getLogger(__name__)

# Changes a page shows the latest of: while they wait, a newer one of the same kind and
# key replaces the older (see Publisher._take).
STATE_KINDS = frozenset({"agent", "call", "queue"})
# Changes that each go, in order, never merged.
EVENT_KINDS = frozenset({"call_ended", "notice", "phone_dropped", "snapshot"})
# A list of changes this long is a backlog of its own (a resync's: several per agent).
MERGE_LIST = 100
# A backlog this long is logged once it has gone out (how far behind the pages were).
BACKLOG_LOGGED = 1000


class Publisher:
    def __init__(self, socketio: SocketIO, deps: Dependencies,
                 batch_interval: float = 0.020) -> None:  # fmt: skip
        self.socketio = socketio
        self.batch_interval = batch_interval
        self.deps = deps
        self.clients: dict[str, UserRecord] = {}  # sid -> user
        self.sessions: dict[str, str] = {}  # socket sid -> web session id
        self.agents_online: Counter[str] = Counter()
        self._call_agent: dict[str, str] = {}
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._greenlets: list[gevent.Greenlet] = []
        self._link: dict[str, Any] | None = None
        self._batch = SupervisorBatch()
        self._due: float | None = None  # monotonic time the pending batch goes out
        # Changes taken from the inbox, not yet published, in order (merged: _take).
        self._pending: OrderedDict[int, Change] = OrderedDict()
        self._open: dict[tuple[str, str], int] = {}  # (kind, key) -> its mergeable entry
        self._seq = itertools.count()
        self._peak = 0  # the longest backlog since the publisher last caught up
        self._merged = 0  # changes replaced by a newer one meanwhile
        self._lined: Counter[str] = Counter()  # the entries lined up meanwhile, by kind

    # -- wiring ----------------------------------------------------------------------

    def start(self) -> None:
        if not self._greenlets:
            self._greenlets = [gevent.spawn(self._run), gevent.spawn(self._watch_link)]

    def stop(self) -> None:
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self._greenlets = []

    def on_changes(self, changes: list[Change]) -> None:
        """Floor listener: never blocks."""
        self._inbox.put(changes)

    def phone_dropped(self, agent: str) -> None:
        """PhoneWatch listener: FreeSWITCH dropped this agent's phone registration; its
        page is told so (after the agent change that says so, in order). Never blocks."""
        self._inbox.put([Change("phone_dropped", agent, agent)])

    def backlog(self) -> int:
        """Changes waiting to go out (merged ones once) plus lists not yet taken."""
        return len(self._pending) + int(self._inbox.qsize())

    def page_open(self, agent: str) -> bool:
        return self.agents_online[agent] > 0

    # -- clients ---------------------------------------------------------------------

    def connect(self, sid: str, user: UserRecord, session_id: str = "") -> None:
        self.clients[sid] = user
        self.sessions[sid] = session_id
        if user.agent:
            join_room(ev.agent_room(user.agent))
            self.agents_online[user.agent] += 1
        if user.has_role("supervisor"):
            join_room(ev.SUPERVISORS)
        self.socketio.emit(ev.SNAPSHOT, self.snapshot_for(user), to=sid)

    def signed_out(self, session_id: str) -> None:
        """A web session ended: its pages' sockets go too (they would keep receiving)."""
        for sid, owner in list(self.sessions.items()):
            if owner == session_id:
                self.socketio.server.disconnect(sid)

    def disconnect(self, sid: str) -> None:
        self.sessions.pop(sid, None)
        user = self.clients.pop(sid, None)
        if user is not None and user.agent:
            self.agents_online[user.agent] -= 1
            if self.agents_online[user.agent] <= 0:
                del self.agents_online[user.agent]

    def snapshot_for(self, user: UserRecord) -> dict[str, Any]:
        who = {"username": user.username, "role": user.role, "agent": user.agent,
               "extension": user.extension, "display_name": user.display_name}  # fmt: skip
        wrap_up = self.deps.wrap_up.waiting_for(user.agent) if user.agent else None
        return ev.snapshot_payload(who, user.agent, user.has_role("supervisor"),
                                   self.deps.floor.snapshot(), self.deps.health(),
                                   time.time(), wrap_up)  # fmt: skip

    # -- the publisher greenlet ------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                if not self._pending:
                    wait = None if self._due is None else max(0.0, self._due - time.monotonic())
                    with contextlib.suppress(gevent.queue.Empty):
                        self._take(self._inbox.get(timeout=wait))
                while self._inbox.qsize():  # a backlog: merged into what already waits
                    self._take(self._inbox.get_nowait())
                self._note_backlog()
                if self._pending:
                    self._publish(self._next())
                    self._note_backlog()  # caught up?
                if self._due is not None and time.monotonic() >= self._due:
                    self._flush()  # on time even while a backlog waits
            except Exception:
                log.exception("publishing a change failed")

    def _take(self, changes: list[Change]) -> None:
        """Line up changes from the floor. While others wait (a backlog), or the list is
        long, each state change is merged into the waiting one of its key; otherwise each
        goes as it is. Kinds this publisher does not send (activity, presence, phone_check,
        link, resynced: the recorder's and the services') are left out."""
        merge = bool(self._pending) or self._inbox.qsize() > 0 or len(changes) > MERGE_LIST
        for change in changes:
            kind = change.kind
            if kind in STATE_KINDS:
                slot = (kind, change.key)
                token = self._open.get(slot)
                if merge and token is not None:
                    self._pending[token] = change  # the newest view, in the older one's place
                    self._merged += 1
                else:
                    self._lined[kind] += 1
                    token = next(self._seq)
                    self._open[slot] = token
                    self._pending[token] = change
            elif kind in EVENT_KINDS:
                if kind == "snapshot":
                    # Nothing merges across it (a later state goes after it). The states
                    # waiting before it still go: the controller role's pages get their
                    # snapshot from the web workers, a separate path that may fail.
                    self._open.clear()
                else:
                    for slot in self._concerns(change):
                        self._open.pop(slot, None)  # its state waiting now goes before it
                self._lined[kind] += 1
                self._pending[next(self._seq)] = change

    @staticmethod
    def _concerns(change: Change) -> list[tuple[str, str]]:
        """The states an event follows: the page must see them first."""
        if change.kind == "call_ended":
            agent = getattr(change.view, "agent", None)
            return [("call", change.key)] + ([("agent", agent)] if agent else [])
        return [("agent", change.key)]  # notice, phone_dropped: keyed by the agent

    def _next(self) -> Change:
        token, change = self._pending.popitem(last=False)
        slot = (change.kind, change.key)
        if self._open.get(slot) == token:
            del self._open[slot]
        return change

    def _note_backlog(self) -> None:
        waiting = len(self._pending)
        if waiting > self._peak:
            self._peak = waiting
        elif not waiting and self._peak:
            if self._peak >= BACKLOG_LOGGED:
                lined = ", ".join(f"{kind} {n}" for kind, n in self._lined.most_common())
                log.warning("the pages were up to %d changes behind (%d merged away; lined "
                            "up: %s)", self._peak, self._merged, lined)  # fmt: skip
            self._peak = self._merged = 0
            self._lined.clear()

    def _later(self) -> None:
        """Something for the supervisors: it goes out with the next batch."""
        if self._due is None:
            self._due = time.monotonic() + self.batch_interval

    def _flush(self) -> None:
        self._due = None
        if self._batch:
            batch, self._batch = self._batch, SupervisorBatch()
            self.socketio.emit(ev.FLOOR_BATCH, batch.payload(), to=ev.SUPERVISORS)

    def _publish(self, change: Change) -> None:
        view = change.view
        if change.kind == "agent" and isinstance(view, AgentView):
            payload = ev.agent_payload(view, time.time())
            self.socketio.emit(ev.AGENT, payload, to=ev.agent_room(view.name))
            self._batch.agents[view.name] = payload
            self._later()
        elif change.kind in ("call", "call_ended") and isinstance(view, CallView):
            rooms = []
            before = self._call_agent.get(view.uuid)
            if view.agent:
                rooms.append(ev.agent_room(view.agent))
            if before and before != view.agent:
                rooms.append(ev.agent_room(before))  # it left this agent: let the page know
            name = ev.CALL if change.kind == "call" else ev.CALL_ENDED
            payload = ev.call_payload(view)
            if rooms:
                self.socketio.emit(name, payload, to=rooms)
            self._batch.call(payload, ended=change.kind == "call_ended")
            self._later()
            if change.kind == "call_ended" or view.ended_at is not None:
                self._call_agent.pop(view.uuid, None)
            elif view.agent:
                self._call_agent[view.uuid] = view.agent
        elif change.kind == "notice" and isinstance(view, Notice):
            payload = ev.notice_payload(view)
            self.socketio.emit(ev.NOTICE, payload, to=[ev.agent_room(view.agent), ev.SUPERVISORS])
        elif change.kind == "phone_dropped":
            payload = {"agent": change.key, "at": time.time()}
            self.socketio.emit(ev.PHONE_DROPPED, payload, to=ev.agent_room(change.key))
        elif change.kind == "queue" and isinstance(view, QueueView):
            self._batch.queues[view.name] = view  # its payload is built when it goes out
            self._later()
        elif change.kind == "snapshot":
            self._flush()  # ended calls first: the snapshot no longer has them
            self._call_agent = {}
            for sid, user in list(self.clients.items()):
                self.socketio.emit(ev.SNAPSHOT, self.snapshot_for(user), to=sid)

    def _watch_link(self) -> None:
        while True:
            link = ev.link_payload(self.deps.health())
            if link != self._link:
                self._link = link
                self.socketio.emit(ev.LINK, link)
            gevent.sleep(0.5)


class SupervisorBatch:
    """What the supervisors' next :data:`~dashboard.events.FLOOR_BATCH` carries: per agent,
    call and queue the last view (a later change replaces an earlier one), and every call
    that ended, in the order they ended."""

    def __init__(self) -> None:
        self.agents: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.ended: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, QueueView] = {}

    def __bool__(self) -> bool:
        return bool(self.agents or self.calls or self.ended or self.queues)

    def call(self, payload: dict[str, Any], ended: bool) -> None:
        uuid = payload["uuid"]
        if ended:
            # The page applies "ended" before "calls": an update of this uuid from before
            # its end must not bring it back, one from after it (a uuid reused) must.
            self.calls.pop(uuid, None)
            self.ended[uuid] = payload
        else:
            self.calls[uuid] = payload

    def payload(self) -> dict[str, Any]:
        return {
            "agents": list(self.agents.values()),
            "calls": list(self.calls.values()),
            "ended": list(self.ended.values()),
            "queues": [ev.queue_payload(q) for q in self.queues.values()],
            "at": time.time(),
        }


def register_socketio(socketio: SocketIO, publisher: Publisher, deps: Dependencies) -> None:
    @socketio.on("connect")
    def on_connect(auth: Any = None) -> bool:
        user_id = session.get("user_id")
        user = None
        if isinstance(user_id, int) and session.get("sid") not in revoked():
            user = off_hub(lambda: deps.users.get(user_id))
        if user is None:
            return False  # not signed in: the client sees connect_error
        session_id = session.get("sid")
        publisher.connect(request.sid, user,  # type: ignore[attr-defined]
                          session_id if isinstance(session_id, str) else "")  # fmt: skip
        return True

    @socketio.on("disconnect")
    def on_disconnect(*_: Any) -> None:
        publisher.disconnect(request.sid)  # type: ignore[attr-defined]
