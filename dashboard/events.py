"""Socket.IO events: every name the server emits and what each carries (README lists
them). Payloads use the REST API's models, so a page reads one shape from both.

Rooms: ``agent:<agent name>`` (the agent's own page), ``supervisors`` (supervisors and
engineers see the whole floor). An agent never receives another agent's call. An agent's
page gets each of its changes as it happens; supervisors get the floor's changes in
batches (``floor_batch``), one frame per page every 20 ms rather than one per change
(a floor of 2,000 agents makes thousands a second). A supervisor who is also an agent
gets both on the same socket: its own agent's events and the batches.

=============  ===========================  ===========================================
event          to                           payload
=============  ===========================  ===========================================
snapshot       the connecting client, and   ``{"user", "agent", "calls", "link",``
               everyone after a resync      ``"wrap_up", "notices"}`` (the call
                                            awaiting a disposition, or null; the
                                            agent's notices of the last minute, at
                                            most 3, oldest first), plus
                                            ``"floor"`` (agents, calls, queues) for
                                            supervisors
agent          agent room                   an agent (``AgentOut``), at once
call           agent room                   a live call (``CallOut``), at once
call_ended     agent room                   the call as it ended (``CallOut``), at once
floor_batch    supervisors                  every ``batch_interval`` (20 ms) while the
                                            floor changes: ``{"agents": [AgentOut],``
                                            ``"calls": [CallOut], "ended": [CallOut],``
                                            ``"queues": [QueueOut], "at"}``: the latest
                                            view of each agent / call / queue that
                                            changed since the last batch (keyed by
                                            name / uuid / name, the last change wins);
                                            ``ended`` has every call that ended, in
                                            order. Apply ``ended`` (remove) before
                                            ``calls`` (upsert; one with ``ended_at``
                                            removes): a call in both ended and came
                                            back (a uuid used again)
link           everyone                     FreeSWITCH link ``{"connected", "state",
                                            "since"}``
notice         agent room, supervisors      ``{"agent", "text", "at"}``: a short message
                                            for the agent (e.g. put back after a
                                            FreeSWITCH restart)
phone_dropped  agent room                   ``{"agent", "at"}``: FreeSWITCH reported the
                                            agent's phone unregistered or expired (the
                                            page's softphone registers again at once)
tiers          supervisors                  ``{"items": [TierOut...]}``: every tier,
                                            after a supervisor changed one
agent_message  agent room                   ``{"agent", "from", "text", "at"}``: a
                                            supervisor's message, shown in a popup
=============  ===========================  ===========================================
"""

from __future__ import annotations

from typing import Any

from dashboard.api.schemas import AgentOut, CallOut, QueueOut
from esl_controller.domain.floor import NOTICE_SECONDS
from esl_controller.domain.model import AgentView, CallView, Notice, QueueView, Snapshot
from esl_controller.esl.client import Health

SNAPSHOT = "snapshot"
AGENT = "agent"
CALL = "call"
CALL_ENDED = "call_ended"
FLOOR_BATCH = "floor_batch"
LINK = "link"
NOTICE = "notice"
PHONE_DROPPED = "phone_dropped"
TIERS = "tiers"
AGENT_MESSAGE = "agent_message"

SUPERVISORS = "supervisors"


def agent_room(agent: str) -> str:
    return f"agent:{agent}"


def agent_payload(view: AgentView, now: float) -> dict[str, Any]:
    return AgentOut.of(view, now).model_dump(mode="json")


def call_payload(view: CallView) -> dict[str, Any]:
    return CallOut.of(view).model_dump(mode="json")


def queue_payload(view: QueueView) -> dict[str, Any]:
    return QueueOut.of(view).model_dump(mode="json")


def notice_payload(notice: Notice) -> dict[str, Any]:
    return {"agent": notice.agent, "text": notice.text, "at": notice.at}


def link_payload(health: Health) -> dict[str, Any]:
    return {"connected": health.connected, "state": health.state, "since": health.since}


def snapshot_payload(user: dict[str, Any], agent: str | None, supervisor: bool,
                     snap: Snapshot, health: Health, now: float,
                     wrap_up: tuple[str, float] | None = None) -> dict[str, Any]:  # fmt: skip
    """What one client may see right now."""
    view = snap.agents.get(agent) if agent else None
    notices = snap.notices.get(agent, ()) if agent else ()
    payload: dict[str, Any] = {
        "user": user,
        "agent": agent_payload(view, now) if view else None,
        "calls": [call_payload(c) for c in snap.calls.values() if agent and c.agent == agent],
        "link": link_payload(health),
        "wrap_up": {"call_uuid": wrap_up[0], "until": wrap_up[1]} if wrap_up else None,
        "notices": [notice_payload(n) for n in notices if now - n.at < NOTICE_SECONDS],
    }
    if supervisor:
        payload["floor"] = {
            "agents": [agent_payload(a, now) for a in snap.agents.values()],
            "calls": [call_payload(c) for c in snap.calls.values()],
            "queues": [queue_payload(q) for q in snap.queues.values()],
        }
    return payload
