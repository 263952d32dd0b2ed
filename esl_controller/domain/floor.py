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

from esl_controller.domain.model import (
    Activity,
    AgentView,
    CallView,
    Change,
    QueueView,
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


def new_agent(name: str) -> AgentView:
    return AgentView(
        name=name, status="Logged Out", state="Waiting", status_since=None, state_since=None,
        pause_reason=None, call_uuid=None, queue=None, phone_online=None, missed_in_a_row=0,
        calls_answered=0, last_call_ended_at=None, wrap_up_time=0,
    )  # fmt: skip


def new_queue(name: str) -> QueueView:
    return QueueView(name, (), 0, 0, 0, 0, 0.0, 0.0, 0)


class Floor:
    def __init__(self, service_level_seconds: float = 20.0) -> None:
        self.service_level_seconds = service_level_seconds
        self.agents: dict[str, AgentView] = {}
        self.calls: dict[str, CallView] = {}
        self.queues: dict[str, QueueView] = {}
        self.contacts: dict[str, str] = {}  # phone user -> agent name
        self.legs: dict[str, str] = {}  # agent leg uuid -> call uuid
        self.ringing: dict[str, str] = {}  # agent -> the leg mod_callcenter is ringing
        self.last_time: float | None = None
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
        }

    # -- entry points ----------------------------------------------------------------

    def apply(self, event: object) -> list[Change]:
        handler = self._handlers.get(type(event))
        if handler is None:
            return []
        meta = getattr(event, "meta", None)
        if meta is not None and meta.timestamp is not None:
            self.last_time = meta.timestamp
        return handler(event)

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.agents), dict(self.calls), dict(self.queues), self.last_time)

    def add_queue(self, name: str) -> list[Change]:
        """A queue FreeSWITCH has loaded, shown with zeros before its first caller."""
        return [] if name in self.queues else self._put_queue(new_queue(name))

    def set_pause_reason(self, agent: str, reason: str | None) -> list[Change]:
        """The reason code comes from the product, not from FreeSWITCH."""
        view = replace(self._agent(agent), pause_reason=reason)
        return self._put_agent(view)

    def mark_transferred(self, call_uuid: str, at: float | None) -> list[Change]:
        """The product blind-transferred this call (uuid_transfer): FreeSWITCH's events
        only show the queue call ending, as if the caller had simply finished. ``None``
        takes the mark back (the transfer command failed)."""
        call = self.calls.get(call_uuid)
        if call is None or call.transferred_at == at:
            return []
        return self._put_call(replace(call, transferred_at=at))

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
        return self.queues.get(name) or new_queue(name)

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
        changes = self._activity(old, now)
        reason = old.pause_reason if e.status == "On Break" else None
        missed = 0 if e.status == "Available" else old.missed_in_a_row
        view = replace(old, status=e.status, status_since=now, pause_reason=reason,
                       missed_in_a_row=missed)  # fmt: skip
        return changes + self._put_agent(view)

    def _state(self, e: ev.AgentStateChanged) -> list[Change]:
        old = self._agent(e.agent)
        now = self._now(e.meta)
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
        return self._put_agent(replace(view, wrap_up_time=e.wrap_up_time,
                                       last_call_ended_at=ended))  # fmt: skip

    def _max_no_answer(self, e: ev.AgentMaxNoAnswer) -> list[Change]:
        view = replace(self._agent(e.agent), missed_in_a_row=e.no_answer_count or 0)
        return self._put_agent(view)

    def _phone(self, e: ev.PhoneRegistration) -> list[Change]:
        agent = self.contacts.get(e.user)
        if agent is None:
            return []
        return self._put_agent(replace(self._agent(agent), phone_online=e.online))

    # -- queue calls -----------------------------------------------------------------

    def _member_start(self, e: ev.MemberQueueStart) -> list[Change]:
        m = e.member
        now = self._now(e.meta)
        call = CallView(
            uuid=m.session_uuid, direction="inbound", queue=m.queue, member_uuid=m.member_uuid,
            agent=None, agent_leg=None, cid_name=m.cid_name, cid_number=m.cid_number,
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
                + (1 if wait <= self.service_level_seconds else 0),
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
                            handled=queue.handled + 1)  # fmt: skip
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
                            outcome="answered" if call.answered_at else "no_answer")  # fmt: skip
            del self.calls[e.uuid]
            return [Change("call_ended", e.uuid, ended)]
        return None

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
        if e.name == "CHANNEL_HOLD" and call.held_since is None:
            return self._put_call(replace(call, held_since=now))
        if e.name == "CHANNEL_UNHOLD" and call.held_since is not None:
            held = call.hold_seconds + (now - call.held_since)
            return self._put_call(replace(call, held_since=None, hold_seconds=held))
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
            return self._put_call(replace(call, cause=e.hangup_cause))
        return []
