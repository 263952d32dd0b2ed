"""The floor model and its reducers: typed FreeSWITCH events in, changes out.

One greenlet owns a :class:`Floor` and calls :meth:`Floor.apply` for every event (live, or
synthesized from ``callcenter_config`` lists during a resync: one code path). Each call
returns the :class:`Change` records the adapters fan out (Socket.IO, the recorder).
Views are immutable; :meth:`Floor.snapshot` is a consistent copy for readers.

Pure Python: no gevent, Flask, greenswitch or SQLAlchemy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from esl_controller.domain.bounded import bounded_text
from esl_controller.domain.model import (
    Activity,
    AgentView,
    CallView,
    Change,
    Intent,
    Notice,
    PhoneCheck,
    Presence,
    QueueView,
    RegistrationsLeft,
    Snapshot,
)
from esl_controller.esl import typed_events as ev

NOT_A_MISS = (
    "ORIGINATOR_CANCEL",
    "LOSE_RACE",
    "USER_BUSY",
    "CALL_REJECTED",
    "NO_ROUTE_DESTINATION",
)
CANCEL_OUTCOMES = {
    "BREAK_OUT": "abandoned",
    "TIMEOUT": "timeout",
    "NO_AGENT_TIMEOUT": "no_agent",
    "EXIT_WITH_KEY": "exit_key",
}
_USER_RE = re.compile(r"user/([^@/\s]+)")
# An intent whose event never came (the command reached FreeSWITCH but its event was
# lost with the connection) stops waiting after this long.
INTENT_TTL = 60.0
# Statuses whose reason the page shows: why an agent is paused, or who logged them out.
REASONED = ("On Break", "Logged Out")
# The caller chooses their caller-ID name: pages and supervisors see at most this much
# (cleaned of control characters; the history keeps its own column-sized cut).
MAX_CALLER_TEXT = 256
# Contacts of one user remembered as gone until it registers again (a phone that keeps
# un-REGISTERing without ever registering must not grow the floor).
MAX_GONE = 8
# Notices kept per agent for a page that connects after they were sent.
KEPT_NOTICES = 3
NOTICE_SECONDS = 60.0


def new_agent(name: str) -> AgentView:
    return AgentView(
        name=name, status="Logged Out", state="Waiting", status_since=None, state_since=None,
        pause_reason=None, call_uuid=None, queue=None, phone_online=None, missed_in_a_row=0,
        calls_answered=0, last_call_ended_at=None, wrap_up_time=0,
    )  # fmt: skip


def new_queue(name: str, service_level_seconds: float = 20.0) -> QueueView:
    return QueueView(name, (), 0, 0, 0, 0, 0.0, 0.0, 0, 0.0, service_level_seconds)


class Floor:
    def __init__(self, service_level_seconds: float = 20.0) -> None:
        self.service_level_seconds = service_level_seconds
        # Per-queue thresholds (the product's ``service-level-seconds``); others use the
        # floor's default.
        self.service_levels: dict[str, float] = {}
        self.agents: dict[str, AgentView] = {}
        self.calls: dict[str, CallView] = {}
        self.queues: dict[str, QueueView] = {}
        self.contacts: dict[str, str] = {}  # phone user -> agent name
        # Registrations, per phone user: the sequence of its sofia events (an answer to a
        # PhoneCheck counts only if no event came after the question), the host to ask
        # about, the contacts gone since it last registered, and the question pending.
        self.phone_seq: dict[str, int] = {}
        self.phone_domains: dict[str, str] = {}
        self.phone_gone: dict[str, tuple[str, ...]] = {}
        self.phone_asked: dict[str, tuple[int, str]] = {}
        self.legs: dict[str, str] = {}  # agent leg uuid -> call uuid
        self.ringing: dict[str, str] = {}  # agent -> the leg mod_callcenter is ringing
        self.last_time: float | None = None
        # The product's own state: survives every resync (see reconcile()).
        self.presence: dict[str, Presence] = {}
        self.notices: dict[str, tuple[Notice, ...]] = {}
        self.intents: dict[str, list[Intent]] = {}
        self._prior: dict[int, Presence | None] = {}  # intent seq -> presence before it
        # Queue calls mod_callcenter no longer lists (its member-queue-end was lost with a
        # connection) whose caller leg is still up: they end with that leg's hangup.
        self.detached: set[str] = set()
        # FreeSWITCH announced its shutdown: callers it hangs up now did not abandon.
        self.shutting_down = False
        self._handlers: dict[type, Callable[[Any], list[Change]]] = {
            ev.AgentStatusChanged: self._status,
            ev.AgentStateChanged: self._state,
            ev.AgentAdded: lambda e: self._touch_agent(e.agent),
            ev.AgentContactChanged: self._contact,
            ev.AgentMaxNoAnswer: self._max_no_answer,
            ev.AgentSettingsRead: self._settings,
            ev.MemberQueueStart: self._member_start,
            ev.AgentOffering: self._offering,
            ev.BridgeAgentStart: self._bridge_start,
            ev.BridgeAgentFail: self._bridge_fail,
            ev.BridgeAgentEnd: self._bridge_end,
            ev.MemberQueueEnd: self._member_end,
            ev.ChannelEvent: self._channel,
            ev.PhoneRegistration: self._phone,
            RegistrationsLeft: self._registrations_left,
            ev.Playback: self._playback,
            ev.SwitchShutdown: self._shutdown,
        }

    # -- entry points ----------------------------------------------------------------

    def apply(self, event: object) -> list[Change]:
        handler = self._handlers.get(type(event))
        if handler is None:
            return []
        meta = getattr(event, "meta", None)
        stamp = meta.timestamp if meta is not None else None
        if stamp is not None and (self.last_time is None or stamp > self.last_time):
            self.last_time = stamp
        return handler(event)

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.agents), dict(self.calls), dict(self.queues), self.last_time,
                        dict(self.presence), dict(self.notices))  # fmt: skip

    def add_queue(self, name: str) -> list[Change]:
        """A queue FreeSWITCH has loaded, shown with zeros before its first caller."""
        return [] if name in self.queues else self._put_queue(self._queue(name))

    def set_service_levels(self, levels: dict[str, float]) -> list[Change]:
        """Each queue's service-level threshold in seconds: answers from now on count
        against it (those already counted stay as they were)."""
        self.service_levels = dict(levels)
        changes: list[Change] = []
        for name, queue in list(self.queues.items()):
            wanted = self.service_levels.get(name, self.service_level_seconds)
            if queue.service_level_seconds != wanted:
                changes += self._put_queue(replace(queue, service_level_seconds=wanted))
        return changes

    # -- the product's own state ----------------------------------------------------

    def notice(self, notice: Notice) -> list[Change]:
        """A short message for the agent's page: sent now, and kept a while (the last
        ``KEPT_NOTICES`` of the last ``NOTICE_SECONDS``) for a page that connects later."""
        kept = [n for n in self.notices.get(notice.agent, ())
                if notice.at - n.at < NOTICE_SECONDS]  # fmt: skip
        self.notices[notice.agent] = (*kept[-(KEPT_NOTICES - 1) :], notice)
        return [Change("notice", notice.agent, notice)]

    def intend(self, agent: str, intent: Intent, signed_in: bool | None = None) -> list[Change]:
        """The product is about to ask FreeSWITCH for ``intent.status``: remember why (the
        reason, who) until its agent-status-change arrives, and make it the agent's chosen
        status. ``signed_in`` changes who counts as signed in (sign-in / sign-out)."""
        self.intents.setdefault(agent, []).append(intent)
        old = self.presence.get(agent)
        self._prior[intent.seq] = old
        if len(self._prior) > 10_000:  # intents that never matched nor failed
            self._prior.pop(next(iter(self._prior)))
        presence = Presence(
            agent=agent,
            signed_in=signed_in if signed_in is not None else bool(old and old.signed_in),
            status=intent.status, reason=intent.reason, seq=intent.seq, by=intent.by,
            at=intent.at,
        )  # fmt: skip
        return self._put_presence(presence)

    def withdraw(self, agent: str, seq: int) -> list[Change]:
        """The command of intent ``seq`` failed: forget it, and the chosen status goes back
        to what it was (unless a newer choice was made meanwhile)."""
        pending = self.intents.get(agent, [])
        self.intents[agent] = [i for i in pending if i.seq != seq]
        prior = self._prior.pop(seq, None)
        current = self.presence.get(agent)
        if current is None or current.seq != seq:
            return []
        if prior is None:
            del self.presence[agent]
            return [
                Change(
                    "presence",
                    agent,
                    replace(current, signed_in=False, status="Logged Out", reason=None),
                )
            ]
        return self._put_presence(replace(prior, seq=seq))  # newer than what it undoes

    def load_presence(self, rows: list[Presence]) -> list[Change]:
        """Presence read back from the database at start (the controller restarted)."""
        for row in rows:
            self.presence.setdefault(row.agent, row)
        return []

    def adopt_calls(self, views: list[CallView]) -> list[Change]:
        """Calls another controller had open when this one took over (before the first
        resync): kept as they were — times, hold, transfer marks — so the resync keeps
        those FreeSWITCH still has and ends the others ``lost``, each once."""
        for view in views:
            if view.ended_at is not None or view.uuid in self.calls:
                continue
            self.calls[view.uuid] = view
            if view.agent_leg and view.agent_leg != view.uuid:
                self.legs[view.agent_leg] = view.uuid
            if view.agent and view.agent_leg == view.uuid and view.answered_at is None:
                self.ringing[view.agent] = view.uuid  # a dial-out still ringing the agent
        return []

    def to_restore(self) -> list[Presence]:
        """Signed-in agents FreeSWITCH forgot (it restarted, with truncate-agents-on-load,
        or the agent was deleted): the switch says Logged Out while the product's chosen
        status says otherwise."""
        out = []
        for presence in self.presence.values():
            if not presence.signed_in or presence.status == "Logged Out":
                continue
            view = self.agents.get(presence.agent)
            if view is None or view.status == "Logged Out":
                out.append(presence)
        return out

    def _put_presence(self, presence: Presence) -> list[Change]:
        self.presence[presence.agent] = presence
        return [Change("presence", presence.agent, presence)]

    def _match_intent(self, agent: str, status: str, now: float) -> Intent | None:
        """The oldest pending intent for this status; older intents for other statuses
        were superseded (FreeSWITCH applies one agent's commands in order)."""
        pending = [i for i in self.intents.get(agent, []) if now - i.at < INTENT_TTL]
        for index, intent in enumerate(pending):
            if intent.status == status:
                for done in pending[: index + 1]:
                    self._prior.pop(done.seq, None)
                self.intents[agent] = pending[index + 1 :]
                return intent
        self.intents[agent] = pending
        return None

    def mark_transferred(
        self, call_uuid: str, at: float | None, destination: str | None = None
    ) -> list[Change]:
        """The product blind-transferred this call (uuid_transfer) to ``destination``:
        FreeSWITCH's events only show the queue call ending, as if the caller had simply
        finished. ``None`` takes the mark back (the transfer command failed)."""
        call = self.calls.get(call_uuid)
        if call is None or call.transferred_at == at:
            return []
        where = destination if at is not None else None
        return self._put_call(replace(call, transferred_at=at, transfer_destination=where))

    # -- helpers ---------------------------------------------------------------------

    def _now(self, meta: ev.Meta | None = None) -> float:
        if meta is not None and meta.timestamp is not None:
            return meta.timestamp
        return self.last_time or 0.0

    def _agent(self, name: str) -> AgentView:
        return self.agents.get(name) or new_agent(name)

    def _put_agent(self, view: AgentView) -> list[Change]:
        self.agents[view.name] = view
        return [Change("agent", view.name, view)]

    def _queue(self, name: str) -> QueueView:
        return self.queues.get(name) or new_queue(
            name, self.service_levels.get(name, self.service_level_seconds)
        )

    def _put_queue(self, view: QueueView) -> list[Change]:
        self.queues[view.name] = view
        return [Change("queue", view.name, view)]

    def _put_call(self, view: CallView) -> list[Change]:
        self.calls[view.uuid] = view
        return [Change("call", view.uuid, view)]

    def _touch_agent(self, name: str) -> list[Change]:
        return [] if name in self.agents else self._put_agent(new_agent(name))

    # -- agents ----------------------------------------------------------------------

    def _activity(self, old: AgentView, now: float) -> list[Change]:
        start = max(filter(None, (old.status_since, old.state_since)), default=None)
        if start is None or now <= start:
            return []
        act = Activity(old.name, old.status, old.state, old.pause_reason, start, now)
        return [Change("activity", old.name, act)]

    def _status(self, e: ev.AgentStatusChanged) -> list[Change]:
        old = self._agent(e.agent)
        now = self._now(e.meta)
        changes: list[Change] = []
        # A live event has an Event-Sequence; a resync's synthetic one has none and must
        # not consume the intent whose own event is still on its way.
        live = e.meta is not None and e.meta.sequence is not None
        intent = self._match_intent(e.agent, e.status, now) if live else None
        presence = self.presence.get(e.agent)
        if intent is not None:
            reason = intent.reason
        elif old.status == e.status:
            reason = old.pause_reason  # a repeat, or a resync of what we already show
        elif presence is not None and presence.status == e.status:
            reason = presence.reason
        else:
            reason = None
            if live and presence is not None:
                # Changed on the switch itself (fs_cli, max-no-answer): the product adopts
                # it, so a restart later puts back what the agent really had.
                changes += self._put_presence(replace(presence, status=e.status, reason=None,
                                                      by="FreeSWITCH", at=now))  # fmt: skip
        if e.status not in REASONED:
            reason = None
        if e.status == old.status and reason == old.pause_reason and old.status_since:
            return changes
        changes += self._activity(old, now)
        missed = 0 if e.status == "Available" else old.missed_in_a_row
        view = replace(old, status=e.status, status_since=now, pause_reason=reason,
                       missed_in_a_row=missed)  # fmt: skip
        return changes + self._put_agent(view)

    def _state(self, e: ev.AgentStateChanged) -> list[Change]:
        old = self._agent(e.agent)
        now = self._now(e.meta)
        if e.state == old.state and old.state_since:
            return []
        changes = self._activity(old, now)
        call = old.call_uuid if e.state in ("Receiving", "In a queue call") else None
        view = replace(old, state=e.state, state_since=now, call_uuid=call)
        return changes + self._put_agent(view)

    def _contact(self, e: ev.AgentContactChanged) -> list[Change]:
        match = _USER_RE.search(e.contact)
        if match:
            self.contacts[match.group(1)] = e.agent
        return self._touch_agent(e.agent)

    def _settings(self, e: ev.AgentSettingsRead) -> list[Change]:
        view = self._agent(e.agent)
        ended = view.last_call_ended_at
        if e.last_bridge_end and (ended is None or e.last_bridge_end > ended):
            ended = e.last_bridge_end
        if e.agent in self.agents and (view.wrap_up_time, view.last_call_ended_at) == (
            e.wrap_up_time, ended,
        ):  # fmt: skip
            return []  # a resync read what the floor already shows
        return self._put_agent(replace(view, wrap_up_time=e.wrap_up_time,
                                       last_call_ended_at=ended))  # fmt: skip

    def _max_no_answer(self, e: ev.AgentMaxNoAnswer) -> list[Change]:
        view = replace(self._agent(e.agent), missed_in_a_row=e.no_answer_count or 0)
        return self._put_agent(view)

    def _phone(self, e: ev.PhoneRegistration) -> list[Change]:
        """A phone registered: online. One of its registrations went: with
        ``multiple-registrations`` the user may still have others (the browser and a desk
        phone), so the floor asks (a ``phone_check`` change, answered by
        :meth:`_registrations_left`) and the phone stays as it was meanwhile."""
        seq = self.phone_seq[e.user] = self.phone_seq.get(e.user, 0) + 1
        domain = e.host or (e.realm if e.realm != "unknown" else "")
        if domain:
            self.phone_domains[e.user] = domain
        if e.online:
            self.phone_gone.pop(e.user, None)
        elif e.contact:
            self.phone_gone[e.user] = (*self.phone_gone.get(e.user, ()), e.contact)[-MAX_GONE:]
        agent = self.contacts.get(e.user)
        if agent is None:
            return []
        if e.online or e.user not in self.phone_domains:
            # Nothing to ask about without a host: the event is all there is.
            return self._put_agent(replace(self._agent(agent), phone_online=e.online))
        # A WebSocket closing without an un-REGISTER (the agent closed its last tab) fires
        # sofia::unregister with no contact *before* mod_sofia deletes the row: an answer
        # asked at once still counts it. The cause tells the watch to ask a little later.
        cause = "disconnect" if e.kind == "unregister" and not e.contact else e.kind
        return [self._ask_phone(agent, e.user, seq, cause)]

    def _ask_phone(self, agent: str, user: str, seq: int, cause: str) -> Change:
        asked = self.phone_asked.get(user)
        if asked is None or asked[0] != seq:  # a resync asking again keeps the event's cause
            self.phone_asked[user] = (seq, cause)
        check = PhoneCheck(agent, user, self.phone_domains[user], seq,
                           self.phone_gone.get(user, ()), cause)  # fmt: skip
        return Change("phone_check", agent, check)

    def _registrations_left(self, f: RegistrationsLeft) -> list[Change]:
        asked = self.phone_asked.get(f.user)
        if asked is None or asked[0] != f.seq or self.phone_seq.get(f.user) != f.seq:
            return []  # a later registration event (or question) decides instead
        del self.phone_asked[f.user]
        agent = self.contacts.get(f.user)
        if agent is None:
            return []
        if f.remaining is None:
            if asked[1] == "resync":
                return []  # nothing happened to the phone; the switch could not say more
            online = False  # the switch reported a registration gone and says no more
        else:
            online = f.remaining > 0
        view = self._agent(agent)
        if view.phone_online is online:
            return []
        return self._put_agent(replace(view, phone_online=online))

    def _phone_checks(self) -> list[Change]:
        """After a resync: ask again about every phone whose registration the floor knew
        (events lost with the connection may have changed it)."""
        changes: list[Change] = []
        for user, agent in self.contacts.items():
            view = self.agents.get(agent)
            if view is None or view.phone_online is None or user not in self.phone_domains:
                continue
            changes.append(self._ask_phone(agent, user, self.phone_seq.get(user, 0), "resync"))
        return changes

    # -- queue calls -----------------------------------------------------------------

    def _member_start(self, e: ev.MemberQueueStart) -> list[Change]:
        m = e.member
        if m.session_uuid in self.calls:
            return []  # already known (a resync and a buffered live event both tell it)
        now = self._now(e.meta)
        call = CallView(
            uuid=m.session_uuid, direction="inbound", queue=m.queue, member_uuid=m.member_uuid,
            agent=None, agent_leg=None, cid_name=bounded_text(m.cid_name, MAX_CALLER_TEXT),
            cid_number=bounded_text(m.cid_number, MAX_CALLER_TEXT),
            joined_at=now, offered_at=None, answered_at=None, held_since=None, hold_seconds=0.0,
            transferred_at=None, ended_at=None, cause=None, outcome=None,
        )  # fmt: skip
        queue = self._queue(m.queue)
        queue = replace(queue, waiting=(*queue.waiting, m.session_uuid), offered=queue.offered + 1)
        return self._put_call(call) + self._put_queue(queue)

    def _offering(self, e: ev.AgentOffering) -> list[Change]:
        changes: list[Change] = []
        call = self.calls.get(e.member.session_uuid)
        if call is not None and call.offered_at is None:
            changes += self._put_call(replace(call, offered_at=self._now(e.meta)))
        agent = replace(self._agent(e.agent), call_uuid=e.member.session_uuid, queue=e.member.queue)
        return changes + self._put_agent(agent)

    def _bridge_start(self, e: ev.BridgeAgentStart) -> list[Change]:
        now = e.answered_at or self._now(e.meta)
        changes: list[Change] = []
        call = self.calls.get(e.member.session_uuid)
        if call is not None and call.answered_at is not None and call.agent == e.agent:
            return []  # already bridged (resync and buffered event overlap)
        if call is not None:
            call = replace(call, agent=e.agent, agent_leg=e.agent_uuid, answered_at=now)
            changes += self._put_call(call)
            if e.agent_uuid:
                self.legs[e.agent_uuid] = call.uuid
            queue = self._queue(e.member.queue)
            wait = max(0.0, now - (call.joined_at or now))
            queue = replace(
                queue,
                waiting=tuple(u for u in queue.waiting if u != call.uuid),
                answered=queue.answered + 1,
                total_answer_wait=queue.total_answer_wait + wait,
                answered_within_sl=queue.answered_within_sl
                + (1 if wait <= queue.service_level_seconds else 0),
            )
            changes += self._put_queue(queue)
        old = self._agent(e.agent)
        agent = replace(old, call_uuid=e.member.session_uuid, queue=e.member.queue,
                        missed_in_a_row=0, calls_answered=old.calls_answered + 1)  # fmt: skip
        return changes + self._put_agent(agent)

    def _bridge_fail(self, e: ev.BridgeAgentFail) -> list[Change]:
        old = self._agent(e.agent)
        missed = old.missed_in_a_row + (0 if e.hangup_cause in NOT_A_MISS else 1)
        return self._put_agent(replace(old, call_uuid=None, missed_in_a_row=missed))

    def _bridge_end(self, e: ev.BridgeAgentEnd) -> list[Change]:
        now = e.ended_at or self._now(e.meta)
        changes: list[Change] = []
        call = self.calls.get(e.member.session_uuid)
        answered = call.answered_at if call is not None else None
        if call is not None and answered is not None:
            held = call.hold_seconds + (now - call.held_since if call.held_since else 0.0)
            call = replace(call, held_since=None, hold_seconds=held)
            changes += self._put_call(call)
            queue = self._queue(e.member.queue)
            queue = replace(queue, total_handle=queue.total_handle + (now - answered),
                            handled=queue.handled + 1,
                            total_hold=queue.total_hold + held)  # fmt: skip
            changes += self._put_queue(queue)
        if e.agent_uuid:
            self.legs.pop(e.agent_uuid, None)
        agent = replace(self._agent(e.agent), call_uuid=None, last_call_ended_at=now)
        return changes + self._put_agent(agent)

    def _member_end(self, e: ev.MemberQueueEnd) -> list[Change]:
        now = e.left_at or self._now(e.meta)
        call = self.calls.get(e.member.session_uuid)
        if call is None:
            return []
        queue = self._queue(e.member.queue)
        waiting = tuple(u for u in queue.waiting if u != call.uuid)
        if e.cause == "Terminated":
            outcome = "transferred" if call.transferred_at else "answered"
            queue = replace(queue, waiting=waiting)
        elif self.shutting_down:
            # The switch hung the caller up on its way down: lost with the switch, not
            # an abandoned call (it would inflate the queue's abandon rate).
            ended = replace(call, ended_at=now, outcome="lost",
                            cause=call.cause or "SYSTEM_SHUTDOWN")  # fmt: skip
            self.calls.pop(call.uuid, None)
            return self._put_queue(replace(queue, waiting=waiting)) + [
                Change("call_ended", call.uuid, ended)
            ]
        else:
            outcome = CANCEL_OUTCOMES.get(e.cancel_reason or "", "abandoned")
            queue = replace(queue, waiting=waiting, abandoned=queue.abandoned + 1)
        ended = replace(call, ended_at=now, outcome=outcome)
        self.calls.pop(call.uuid, None)
        return self._put_queue(queue) + [Change("call_ended", call.uuid, ended)]

    # -- channels --------------------------------------------------------------------

    def _click_to_call(self, e: ev.ChannelEvent) -> list[Change] | None:
        """The product's dial-out: the agent's own leg rings first (it can be answered
        like an offer), then is bridged to the number; None for events handled below."""
        agent = e.click_to_call_agent or ""
        now = self._now(e.meta)
        call = self.calls.get(e.uuid)
        if e.name == "CHANNEL_CREATE" and call is None:
            self.ringing[agent] = e.uuid
            return self._put_call(CallView(
                uuid=e.uuid, direction="outbound", queue=None, member_uuid=None, agent=agent,
                agent_leg=e.uuid, cid_name="", cid_number=e.click_to_call_number or "",
                joined_at=now, offered_at=now, answered_at=None, held_since=None,
                hold_seconds=0.0, transferred_at=None, ended_at=None, cause=None, outcome=None,
            ))  # fmt: skip
        if e.name in ("CHANNEL_ANSWER", "CHANNEL_HANGUP") and self.ringing.get(agent) == e.uuid:
            del self.ringing[agent]
        if call is None:
            return []
        if e.name == "CHANNEL_ANSWER" and call.answered_at is None:
            return self._put_call(replace(call, answered_at=now))
        if e.name == "CHANNEL_HANGUP_COMPLETE":
            held = call.hold_seconds + (now - call.held_since if call.held_since else 0.0)
            ended = replace(call, ended_at=now, cause=e.hangup_cause, held_since=None,
                            hold_seconds=held,
                            outcome="transferred" if call.transferred_at else
                            "answered" if call.answered_at else "no_answer")  # fmt: skip
            del self.calls[e.uuid]
            return [Change("call_ended", e.uuid, ended)]
        return None

    def _playback(self, e: ev.Playback) -> list[Change]:
        """Something starts or stops playing to the far party of a call: the caller's own
        channel (a queue call), or the channel bridged to the agent's leg (a dial-out). A
        playback on the agent's own leg is not the caller's. Only a start means the file
        opened (missing hold music fires none), so the page claims music only on one."""
        call = self.calls.get(e.uuid)
        if call is None and e.partner:
            bridged = self.calls.get(self.legs.get(e.partner, e.partner))
            call = bridged if bridged is not None and bridged.agent_leg == e.partner else None
        if call is None or e.uuid == call.agent_leg:
            return []
        playing = (e.path or "unknown") if e.started else None
        if call.playing == playing:
            return []
        return self._put_call(replace(call, playing=playing))

    def _consult(self, e: ev.ChannelEvent) -> list[Change]:
        """The consult leg of an attended transfer names the call it belongs to."""
        call = self.calls.get(e.consult_call_uuid or "")
        if call is None:
            return []
        now = self._now(e.meta)
        if e.name == "CHANNEL_CREATE" and call.consult_leg is None:
            return self._put_call(replace(call, consult_leg=e.uuid,
                                          consult_destination=e.consult_destination))  # fmt: skip
        if call.consult_leg != e.uuid:
            return []
        if e.name == "CHANNEL_ANSWER" and call.consult_answered_at is None:
            return self._put_call(replace(call, consult_answered_at=now))
        if e.name == "CHANNEL_HANGUP":
            return self._put_call(replace(call, consult_leg=None, consult_destination=None,
                                          consult_answered_at=None))  # fmt: skip
        return []

    def _channel(self, e: ev.ChannelEvent) -> list[Change]:
        if e.consult_call_uuid:
            return self._consult(e)
        if e.click_to_call_agent:
            handled = self._click_to_call(e)
            if handled is not None:
                return handled
        if e.cc_side == "agent" and e.cc_agent:
            # mod_callcenter's originate variables name the agent on its ringing leg.
            if e.name == "CHANNEL_CREATE":
                self.ringing[e.cc_agent] = e.uuid
            elif (
                e.name in ("CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_DESTROY")
                and self.ringing.get(e.cc_agent) == e.uuid
            ):
                del self.ringing[e.cc_agent]
        call_uuid = e.uuid if e.uuid in self.calls else self.legs.get(e.uuid)
        call = self.calls.get(call_uuid or "")
        if call is None:
            return []
        now = self._now(e.meta)
        # att_xfer: the agent's leg leaving an *answered* consultation (``*`` from the
        # product, or the agent's phone hanging up) bridges the caller to the consulted
        # party, so the call was transferred there. Before the answer it is not: the
        # consult leg's originate is abandoned and the caller is left alone.
        if (
            e.name == "CHANNEL_HANGUP"
            and e.uuid == call.agent_leg
            and call.consult_leg is not None
            and call.consult_answered_at is not None
            and call.transferred_at is None
        ):
            to = call.consult_destination
            return self._put_call(replace(call, transferred_at=now, transfer_destination=to))
        if e.name == "CHANNEL_HOLD" and call.held_since is None:
            return self._put_call(replace(call, held_since=now))
        if e.name == "CHANNEL_UNHOLD" and call.held_since is not None:
            held = call.hold_seconds + (now - call.held_since)
            # The hold music ends with the hold (its PLAYBACK_STOP may come a little later).
            return self._put_call(replace(call, held_since=None, hold_seconds=held,
                                          playing=None))  # fmt: skip
        # A caller re-entering the dialplan (RINGING again) while with an agent was
        # transferred: mod_callcenter then ends the queue call (README quirk 18).
        if (
            e.name == "CHANNEL_CALLSTATE"
            and e.uuid == call.uuid
            and call.answered_at
            and e.call_state == "RINGING"
            and call.transferred_at is None
        ):
            return self._put_call(replace(call, transferred_at=now))
        if e.name == "CHANNEL_HANGUP_COMPLETE" and e.uuid == call.uuid:
            if call.uuid in self.detached:
                return self._end_detached(call, now, e.hangup_cause)
            return self._put_call(replace(call, cause=e.hangup_cause))
        return []

    def _shutdown(self, e: ev.SwitchShutdown) -> list[Change]:
        self.shutting_down = True
        return []

    # -- resync ----------------------------------------------------------------------

    def reconcile(
        self,
        queues: list[str],
        events: list[object],
        live_legs: set[str] | None,
        now: float,
    ) -> list[Change]:
        """Bring the floor in line with what FreeSWITCH listed, through the same reducers
        as live events, without throwing away what only the product knows (presence,
        reasons, counters, phone registration, hold time, transfer marks). Phones whose
        registration the floor knew are asked about again (``phone_check`` changes):
        events lost with the connection may have added or removed registrations.

        ``live_legs`` are the channel uuids FreeSWITCH still has (``show channels``), or
        None when they could not be read: a call is ended ``lost`` only when none of its
        legs is left, never merely because mod_callcenter stopped listing its member."""
        changes: list[Change] = []
        self.shutting_down = False  # whatever we talk to now is up
        for name in queues:
            changes += self.add_queue(name)
        listed_agents: set[str] = set()
        listed_calls: set[str] = set()
        for view in events:
            if isinstance(view, ev.AgentStatusChanged):
                listed_agents.add(view.agent)
            elif isinstance(view, ev.MemberQueueStart):
                listed_calls.add(view.member.session_uuid)
            changes += self.apply(view)
        for name, agent in list(self.agents.items()):
            if name not in listed_agents and agent.status != "Logged Out":
                # The switch no longer has this agent at all (deleted, or a restart
                # dropped an agent that was only added at runtime).
                changes += self._status(ev.AgentStatusChanged(ev.Meta(None, now), name,
                                                              "Logged Out"))  # fmt: skip
        for uuid, call in list(self.calls.items()):
            if uuid in listed_calls:
                self.detached.discard(uuid)
                continue
            legs = {leg for leg in (call.uuid, call.agent_leg, call.consult_leg) if leg}
            if live_legs is not None and legs & live_legs:
                if call.member_uuid is not None:
                    self.detached.add(uuid)
                continue
            if call.member_uuid is None and live_legs is None:
                continue  # a dial-out: only the channel list can tell it is gone
            changes += self._drop_call(call, now, call.outcome or "lost",
                                       call.cause or "LOST_WITH_SWITCH")  # fmt: skip
        if live_legs is not None:
            self.ringing = {a: leg for a, leg in self.ringing.items() if leg in live_legs}
            self.legs = {leg: c for leg, c in self.legs.items() if c in self.calls}
        return changes + self._phone_checks()

    def _end_detached(self, call: CallView, now: float, cause: str | None) -> list[Change]:
        outcome = call.outcome or (
            ("transferred" if call.transferred_at else "answered")
            if call.answered_at
            else "abandoned"
        )
        return self._drop_call(call, now, outcome, cause)

    def _drop_call(self, call: CallView, now: float, outcome: str,
                   cause: str | None) -> list[Change]:  # fmt: skip
        """End a call the events did not end (lost with the switch, or detached)."""
        self.detached.discard(call.uuid)
        self.calls.pop(call.uuid, None)
        changes: list[Change] = []
        if call.queue and call.uuid in self._queue(call.queue).waiting:
            queue = self._queue(call.queue)
            changes += self._put_queue(
                replace(queue, waiting=tuple(u for u in queue.waiting if u != call.uuid))
            )
        for agent in list(self.agents.values()):
            if agent.call_uuid == call.uuid:
                changes += self._put_agent(replace(agent, call_uuid=None))
        held = call.hold_seconds + (now - call.held_since if call.held_since else 0.0)
        ended = replace(call, ended_at=now, outcome=outcome, cause=cause, held_since=None,
                        hold_seconds=held)  # fmt: skip
        return changes + [Change("call_ended", call.uuid, ended)]
